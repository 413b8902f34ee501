-- Files: the declared result shapes of its api functions that return jsonb.
--
-- One JSON Schema (draft 2020-12) per function, registered with ops.declare_result_shape
-- (20261201200000_ops_api_result_shapes.sql). The OpenAPI document, the TypeScript types and
-- the Python SDK read them; flagship.testing.harness.rpc validates every real result against
-- them, so a change to a function's result changes its shape here in the same commit.

select ops.declare_result_shape('api.files_get_certificate_pdf', '{
    "type": "object",
    "description": "Where the PDF of a valid certificate is stored (fetch from Storage).",
    "properties": {
        "bucket": {"type": "string", "const": "certificates", "description": "Storage bucket."},
        "path": {"type": "string", "description": "Object path in the bucket."},
        "code": {
            "type": "string", "description": "Certificate code.", "pattern": "^FLG-[0-9A-F]{24}$"
        }
    },
    "required": ["bucket", "path", "code"],
    "additionalProperties": false
}'::jsonb);

select ops.declare_result_shape('api.files_get_my_usage', '{
    "type": "object",
    "description": "The caller''s Storage use and quota.",
    "properties": {
        "bytes": {"type": "integer", "description": "Bytes stored.", "minimum": 0},
        "objects": {"type": "integer", "description": "Objects stored.", "minimum": 0},
        "quota": {
            "type": ["integer", "null"],
            "description": "Bytes allowed; null means unlimited, 0 means no uploads."
        }
    },
    "required": ["bytes", "objects", "quota"],
    "additionalProperties": false
}'::jsonb);
