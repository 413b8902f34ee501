"""The API reference: one OpenAPI 3.1 document generated from the migrated database and the
code that serves each part (docs/reference/README.md), and the clients generated from it (the
Python SDK, docs/reference/python-sdk.md). Dev tooling and the local gateway use it; the edge
and the worker never import it."""
