"""The API reference for client developers, generated from the migrated database and the code
that serves each part: the OpenAPI 3.1 document (docs/reference/README.md), TypeScript types
for supabase-js and a Postman collection (docs/reference/clients.md). Dev tooling and the
local gateway use it; the edge and the worker never import it."""
