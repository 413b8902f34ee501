"""The exception every edge module raises to answer with a status and a stable code.

A leaf module (no edge imports), so that `edge.errors` (the handlers) and `edge.dberrors`
(the SQLSTATE mapping) can both use it without importing each other in a cycle.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """Raise from an endpoint to answer with a given status and code."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers
