"""The sync worker: delivers `ops.outbox` jobs (email, webhooks, AI) at least once."""
