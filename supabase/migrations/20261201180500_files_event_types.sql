-- files: the outbox topics of the files domain in the event catalogue (ops.event_types), and
-- accounts.user_deleted, whose handler (sync.files) removes the account's objects. Worker
-- jobs only: no webhook may subscribe to them.

select ops.register_event_type(
    'files.certificate_pdf', 1,
    'Render a certificate''s PDF into the certificates bucket (action render: issued or '
    || 'reinstated) or remove it (action remove: revoked). Queued beside certificate.issued.',
    $json${
      "type": "object",
      "required": ["certificate_id", "code", "action"],
      "properties": {
        "certificate_id": {"type": "string", "format": "uuid"},
        "code": {"type": "string", "pattern": "^FLG-[0-9A-F]{24}$"},
        "user_id": {"type": ["string", "null"], "format": "uuid"},
        "action": {"enum": ["render", "remove"]}
      }
    }$json$,
    $json${"certificate_id": "1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d",
           "code": "FLG-0123456789ABCDEF01234567",
           "user_id": "7f0c1d1e-2b1a-4c55-9a3e-0d3c2b1a0f00", "action": "render"}$json$,
    'sync.files', false
);

select ops.register_event_type(
    'files.avatar_variants', 1,
    'An avatar was stored: write its 64, 128 and 256 px WebP variants at '
    || 'avatars/<user id>/variants/<file>/<size>.webp.',
    $json${
      "type": "object",
      "required": ["bucket", "name"],
      "properties": {
        "bucket": {"const": "avatars"},
        "name": {"type": "string", "minLength": 3, "maxLength": 1024}
      }
    }$json$,
    $json${"bucket": "avatars", "name": "7f0c1d1e-2b1a-4c55-9a3e-0d3c2b1a0f00/me.png"}$json$,
    'sync.files', false
);

select ops.register_event_type(
    'files.remove_objects', 1,
    'Remove a batch of objects of one bucket through Storage (orphans found by the '
    || 'files.clean_orphans schedule), audited with the reason.',
    $json${
      "type": "object",
      "required": ["bucket", "names"],
      "properties": {
        "bucket": {"type": "string", "minLength": 1},
        "names": {"type": "array", "items": {"type": "string", "minLength": 1},
                  "maxItems": 5000},
        "reason": {"type": "string"}
      }
    }$json$,
    $json${"bucket": "avatars", "names": ["7f0c1d1e-2b1a-4c55-9a3e-0d3c2b1a0f00/old.png"],
           "reason": "orphan"}$json$,
    'sync.files', false
);

select ops.register_event_type(
    'accounts.user_deleted', 1,
    'An account was erased (private.erase_user): its stored objects (owned, or in its '
    || 'folders of avatars, certificates, forum and contribution attachments) are removed.',
    $json${
      "type": "object",
      "required": ["user_id"],
      "properties": {"user_id": {"type": "string", "format": "uuid"}}
    }$json$,
    $json${"user_id": "7f0c1d1e-2b1a-4c55-9a3e-0d3c2b1a0f00"}$json$,
    'sync.files', false
);
