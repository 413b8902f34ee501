"""GET /rest/v1/: the platform's OpenAPI 3.1 document, served where PostgREST serves its own.

The document is the one `flagship reference build` commits (flagship.reference), generated
from the live database of the chosen schema and the mounted edge app's `openapi()`. It is
built once per schema cache: a `NOTIFY pgrst, 'reload schema'` (sent by `flagship db
migrate`) gives the service a new cache object, and the next request builds afresh. The
`servers` entry names the request's own origin; the rest is byte for byte the committed file.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

from psycopg_pool import ConnectionPool

from flagship.reference import document
from gateway.rest.errors import PgrstError

OPENAPI = "application/openapi+json"
JSON = "application/json"
HOST = re.compile(r"^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$|^\[[0-9A-Fa-f:.]{2,45}\](:\d{1,5})?$")
MAX_ORIGINS = 16  # rendered copies kept per document (one per Host the gateway is reached by)


def media_type(accept: str | None) -> str:
    """application/openapi+json or application/json for the Accept header; anything else is
    PGRST107 (406) as PostgREST answers at its root."""
    if not accept:
        return OPENAPI
    wanted = []
    for part in accept.split(","):
        kind = part.split(";", 1)[0].strip().lower()
        if not kind:
            continue
        if kind in (OPENAPI, "*/*", "application/*"):
            return OPENAPI
        if kind == JSON:
            return JSON
        wanted.append(kind)
    if not wanted:
        return OPENAPI
    raise PgrstError(
        406, "PGRST107", "None of these media types are available: " + ", ".join(wanted)
    )


def origin_of(request) -> str:
    """The origin the client used (scheme and Host), or the local default for a Host that is
    not a plain host[:port]."""
    host = request.headers.get("host", "")
    if not HOST.match(host):
        return document.LOCAL_SERVER
    scheme = "https" if request.url.scheme == "https" else "http"
    return f"{scheme}://{host}"


class ReferenceCache:
    """The built document per (schema cache, schema), and its rendering per origin."""

    def __init__(self, pool: ConnectionPool, edge_openapi: Callable[[], dict[str, Any]]):
        self.pool = pool
        self.edge_openapi = edge_openapi
        self._lock = threading.Lock()
        # The schema cache the document was built from, held (not its id, which a new cache
        # could reuse) and compared by identity.
        self._key: tuple[object, str] | None = None
        self._doc: dict[str, Any] | None = None
        self._texts: dict[str, str] = {}
        self.builds = 0  # how many times the document was generated (tests read it)

    def text(self, cache: object, schema: str, origin: str) -> str:
        """Run in a worker thread: it may query the database."""
        with self._lock:
            if self._key is None or self._key[0] is not cache or self._key[1] != schema:
                self._doc = self._build(schema)
                self._key = (cache, schema)
                self._texts = {}
            text = self._texts.get(origin)
            if text is None:
                text = document.render(document.with_server(self._doc, origin))
                if len(self._texts) >= MAX_ORIGINS:
                    self._texts.clear()
                self._texts[origin] = text
            return text

    def _build(self, schema: str) -> dict[str, Any]:
        with self.pool.connection() as conn:
            conn.read_only = True
            with conn.transaction():
                # The reference tables are readable by anon, as api.ops_error_codes is.
                conn.execute("set local role anon")
                doc = document.build(conn, self.edge_openapi(), schema)
        self.builds += 1
        return doc
