-- ai: the outbox topic of the AI index in the event catalogue (events_catalogue migration).

select ops.register_event_type(
    'ai.index_source', 1,
    'A source of the AI retrieval index changed (created, edited, hidden, deleted): the worker '
    || 're-reads its public text and replaces its chunks. Internal: not for webhooks.',
    '{"type": "object", "additionalProperties": false, "required": ["kind", "id"],
      "properties": {
        "kind": {"enum": ["lesson", "challenge", "forum_post", "doc"]},
        "id": {"type": "string", "minLength": 1, "maxLength": 64}}}',
    '{"kind": "lesson", "id": "7d0b3c1e-2a4f-4f7e-9a43-2f1d8f0c6b11"}',
    'sync.ai', false
);
