"""Caller authentication: Supabase JWTs, API keys, and signatures of inbound webhooks."""
