"""Files shared by the gateway's Storage, the edge's upload route and the worker.

- `files.inspect.inspect_upload`: the safe-upload pipeline (magic bytes, allowlists,
  polyglots, images, SVG, PDF, archives), raising `files.errors.UploadRefused`;
- `files.images`: safe decoding, metadata stripping, Supabase-compatible `transform` and
  avatar `variants`;
- `files.paths`: object path rules.

Imports only the standard library, Pillow, pypdf and defusedxml: no edge, sync or gateway.
"""
