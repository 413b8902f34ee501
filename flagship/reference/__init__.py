"""The API reference for client developers, generated from the migrated database and the code
that serves each part: the OpenAPI 3.1 document (docs/reference/README.md), and what is
generated from it or beside it: TypeScript types for supabase-js and a Postman collection
(docs/reference/clients.md), the Python SDK (docs/reference/python-sdk.md). Dev tooling and
the local gateway use it; the edge and the worker never import it."""
