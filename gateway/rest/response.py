"""The HTTP answer of a planned request: status, body (JSON, object, CSV), headers."""

from __future__ import annotations

import csv
import io
import json
from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from gateway.rest import negotiate
from gateway.rest.errors import PgrstError
from gateway.rest.plan import Plan

CONTENT_TYPES = {
    negotiate.JSON: "application/json; charset=utf-8",
    negotiate.OBJECT: "application/vnd.pgrst.object+json; charset=utf-8",
    negotiate.CSV: "text/csv; charset=utf-8",
}


def _guc_headers(raw: str | None) -> list[tuple[str, str]]:
    if not raw:
        return []
    try:
        items = json.loads(raw)
        assert isinstance(items, list)
        out = []
        for item in items:
            assert isinstance(item, dict) and len(item) == 1
            ((key, value),) = item.items()
            assert isinstance(value, str)
            out.append((str(key), value))
        return out
    except (ValueError, AssertionError) as exc:
        raise PgrstError(
            500,
            "PGRST111",
            "response.headers guc must be a JSON array composed of objects with a single key "
            "and a string value",
        ) from exc


def _guc_status(raw: str | None) -> int | None:
    if not raw:
        return None
    try:
        status = int(raw)
        assert 100 <= status <= 599
        return status
    except (ValueError, AssertionError) as exc:
        raise PgrstError(
            500, "PGRST112", "response.status guc must be a valid status code"
        ) from exc


def to_csv(body: str, labels: list[str]) -> str:
    rows = json.loads(body)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = list(rows[0]) if rows and isinstance(rows[0], dict) else labels
    writer.writerow(header)
    for row in rows:
        values = [row.get(k) for k in header] if isinstance(row, dict) else [row]
        writer.writerow(
            ""
            if v is None
            else (
                json.dumps(v)
                if isinstance(v, dict | list)
                else ("true" if v is True else "false" if v is False else v)
            )
            for v in values
        )
    return out.getvalue().rstrip("\n")


def content_range(offset: int, count: int, total: int | None) -> str:
    span = f"{offset}-{offset + count - 1}" if count > 0 and total != 0 else "*"
    return f"{span}/{'*' if total is None else total}"


def build(plan: Plan, out: dict[str, Any]) -> Response:
    media = plan.media
    headers: dict[str, str] = {}
    count = out.get("page_total") or 0
    total = out.get("total")
    body: str | None = out.get("body")
    status = 200
    if plan.kind == "read" or (plan.kind == "rpc" and not plan.single):
        if total is not None and plan.offset > total and plan.offset > 0:
            raise PgrstError(
                416,
                "PGRST103",
                "Requested range not satisfiable",
                f"An offset of {plan.offset} was requested, but there are only {total} rows.",
            )
        headers["Content-Range"] = content_range(plan.offset, count, total)
        if total is not None and count < total and plan.offset <= total:
            status = 206
    elif plan.kind == "rpc":
        if plan.function is not None and plan.function.return_type == "void":
            status, body = 204, None
        elif body is not None and not plan.scalar and plan.single:
            body = _first(body)
    else:
        headers["Content-Range"] = f"*/{count}"
        if plan.kind == "insert":
            status = 201
            if out.get("location") and plan.relation is not None:
                headers["Location"] = _location(plan, out["location"])
        elif plan.minimal or body is None:
            status = 204
    if (media == negotiate.OBJECT and body is not None and plan.kind != "rpc") or (
        media == negotiate.OBJECT and plan.kind == "rpc" and not plan.single and body
    ):
        body = _first(body)
    if media == negotiate.CSV and body is not None:
        body = to_csv(body, plan.labels)
    applied = plan.prefer.applied(
        "return", "count", "resolution", "missing", "params", "handling", "max-affected"
    )
    if applied:
        headers["Preference-Applied"] = applied
    status = _guc_status(out.get("response_status")) or status
    extra = _guc_headers(out.get("response_headers"))
    if status == 304:
        # Not Modified (a function answered a matching If-None-Match): never a body (RFC 9110)
        body = None
    if plan.method == "HEAD" or status in (204, 304) or body is None:
        reply = Response(None, status, headers=headers)
        if (body is not None or plan.method == "HEAD") and status != 304:
            reply.headers["Content-Type"] = CONTENT_TYPES[media]
    else:
        reply = Response(body, status, headers=headers, media_type=CONTENT_TYPES[media])
    for key, value in extra:
        reply.headers[key] = value
    return reply


def _first(body: str) -> str:
    rows = json.loads(body)
    if isinstance(rows, list):
        return json.dumps(rows[0]) if rows else "null"
    return body


def _location(plan: Plan, raw: str) -> str:
    rows = json.loads(raw)
    if not rows:
        return f"/{plan.relation.name}"
    row = rows[0]
    query = "&".join(f"{k}=eq.{quote(str(v))}" for k, v in row.items())
    return f"/{plan.relation.name}?{query}"
