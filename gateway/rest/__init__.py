"""A PostgREST-compatible /rest/v1 for the embedded default (see docs/gateway.md).

Modules: `errors` (PostgREST's error bodies and SQLSTATE → HTTP status), `schema_cache`
(relations, columns, functions, relationships from pg_catalog), `query` (query-string and
header parser), `sqlbuild` (the SQL of each request), `response` (JSON/CSV bodies,
Content-Range), `openapi` (the root document), `app` (the ASGI endpoint).
"""
