"""JSON Schema (draft 2020-12) validation with one format checker, for every schema the
platform declares: the event catalogue's payloads (the worker, `sync.catalogue`) and the api
functions' result shapes (the tests, `flagship.testing.shapes`).

jsonschema checks `date-time` only with an optional package; Postgres writes timestamptz
into JSON as ISO 8601 with an offset, which the standard library parses. RFC 3339 needs the
date, the time and the offset, so a bare date or a naive timestamp is refused.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

FORMATS = FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parsed = datetime.fromisoformat(value)
    if "T" not in value.upper() or parsed.tzinfo is None:
        raise ValueError(f"{value!r} is not an RFC 3339 date-time (date, time and offset)")
    return True


def validator(schema: Any) -> Draft202012Validator:
    """A validator of `schema` that checks formats (uuid, email, date-time, ...)."""
    return Draft202012Validator(schema, format_checker=FORMATS)
