"""Request headers PostgREST reads: Accept, Prefer, Range, Accept-/Content-Profile."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from gateway.rest.errors import PgrstError

OBJECT = "application/vnd.pgrst.object+json"
JSON = "application/json"
CSV = "text/csv"
RANGE = re.compile(r"^\s*(\d+)-(\d*)\s*$")
PREFERENCES = {
    "return": {"minimal", "headers-only", "representation"},
    "count": {"exact", "planned", "estimated"},
    "resolution": {"merge-duplicates", "ignore-duplicates"},
    "missing": {"default", "null"},
    "params": {"single-object"},
    "handling": {"strict", "lenient"},
    "tx": {"commit", "rollback"},
}


def media_type(accept: str | None) -> str:
    """json, object or csv for the Accept header; PGRST107 (406) for anything else."""
    if not accept:
        return JSON
    wanted = []
    for part in accept.split(","):
        kind = part.split(";", 1)[0].strip().lower()
        if not kind:
            continue
        if kind in (JSON, "*/*", "application/*"):
            return JSON
        if kind in (OBJECT, "application/vnd.pgrst.object"):
            return OBJECT
        if kind == CSV or kind == "text/*":
            return CSV
        wanted.append(kind)
    if not wanted:
        return JSON
    raise PgrstError(
        406, "PGRST107", "None of these media types are available: " + ", ".join(wanted)
    )


@dataclass
class Prefer:
    values: dict[str, str] = field(default_factory=dict)
    invalid: list[str] = field(default_factory=list)

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def applied(self, *keys: str) -> str | None:
        parts = [f"{k}={self.values[k]}" for k in keys if k in self.values]
        return ", ".join(parts) or None


def prefer(headers: list[str]) -> Prefer:
    result = Prefer()
    for header in headers:
        for raw in header.split(","):
            raw = raw.strip()
            if not raw:
                continue
            key, _, value = raw.partition("=")
            key, value = key.strip(), value.strip()
            if (key == "max-affected" and value.isdigit()) or (
                key in PREFERENCES and value in PREFERENCES[key]
            ):
                result.values[key] = value
            else:
                result.invalid.append(raw)
    if result.get("handling") == "strict" and result.invalid:
        raise PgrstError(
            400,
            "PGRST122",
            "Invalid preferences given with handling=strict",
            "Invalid preferences: " + ", ".join(result.invalid),
        )
    return result


def byte_range(header: str | None) -> tuple[int, int | None] | None:
    """(offset, limit) of a `Range: 0-9` header (items), None without one."""
    if not header:
        return None
    match = RANGE.match(header)
    if not match:
        return None  # PostgREST ignores a Range it cannot read
    lower = int(match.group(1))
    upper = int(match.group(2)) if match.group(2) else None
    if upper is not None and upper < lower:
        raise PgrstError(
            416,
            "PGRST103",
            "Requested range not satisfiable",
            "The lower boundary must be lower than or equal to the upper boundary in the "
            "Range header.",
        )
    return lower, (upper - lower + 1 if upper is not None else None)


def schema_for(method: str, headers, schemas: tuple[str, ...]) -> tuple[str, bool]:
    """(schema, named) from Accept-Profile (reads) or Content-Profile (writes)."""
    name = headers.get("accept-profile" if method in ("GET", "HEAD") else "content-profile")
    if not name:
        return schemas[0], False
    if name not in schemas:
        raise PgrstError(
            406,
            "PGRST106",
            f"Invalid schema: {name}",
            None,
            "Only the following schemas are exposed: " + ", ".join(schemas),
        )
    return name, True
