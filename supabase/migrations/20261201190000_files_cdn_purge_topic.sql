-- files: the catalogue row of files.cdn_purge (queued by the files_cdn_purge trigger of
-- 20261201100000_files_cdn_purge.sql). Its own file because it must sort after the
-- event catalogue (20261201120000_events_catalogue.sql) creates ops.register_event_type.
select ops.register_event_type(
    'files.cdn_purge', 1,
    'An object of a public bucket was replaced, moved or deleted: the CDN in front of '
    || 'Storage must drop its unversioned public URLs (sync.cdn posts them to CDN_PURGE_URL).',
    $json${
      "type": "object",
      "required": ["bucket_id", "name", "version", "reason"],
      "properties": {
        "bucket_id": {"type": "string"},
        "name": {"type": "string"},
        "version": {"type": ["string", "null"]},
        "reason": {"enum": ["replaced", "moved", "deleted"]}
      }
    }$json$,
    $json${
      "bucket_id": "avatars",
      "name": "6f1c2a34-8e0b-4c55-9d7e-2b3a4c5d6e7f/avatar.png",
      "version": "0b7e4f0e-3c1d-4d6a-9a51-6f3f1e2d9c84",
      "reason": "replaced"
    }$json$,
    'sync.cdn', false
);
