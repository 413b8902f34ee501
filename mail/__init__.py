"""System email: templates (Jinja2, HTML + text, one layout), unsubscribe tokens, sending.

Used by the edge (Auth hook) and the worker (outbox email jobs); imports neither.
"""
