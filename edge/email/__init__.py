"""System email: templates (Jinja2, HTML + text, one layout), unsubscribe tokens, sending."""
