"""What sending an email needs to know, shared by the edge and the worker."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol


class MailConfig(Protocol):
    """The settings `mail.mailer` reads (EdgeSettings and MailSettings both qualify)."""

    link_secret: str
    resend_api_key: str | None
    resend_api_url: str
    email_from: str
    public_url: str
    site_url: str


@dataclass(frozen=True)
class MailSettings:
    link_secret: str  # signs unsubscribe links; the edge verifies them with the same secret
    resend_api_key: str | None = None
    resend_api_url: str = "https://api.resend.com"
    email_from: str = "Flagship <no-reply@flagship.local>"
    public_url: str = "http://127.0.0.1:54321"  # where /functions/v1 is reachable (links)
    site_url: str = "http://127.0.0.1:3000"

    @classmethod
    def from_env(cls, env: Mapping[str, str], link_secret: str) -> MailSettings:
        return cls(
            link_secret=link_secret,
            resend_api_key=env.get("RESEND_API_KEY") or None,
            resend_api_url=env.get("RESEND_API_URL", "https://api.resend.com"),
            email_from=env.get("EMAIL_FROM", "Flagship <no-reply@flagship.local>"),
            public_url=env.get("EDGE_PUBLIC_URL", "http://127.0.0.1:54321").rstrip("/"),
            site_url=env.get("SITE_URL", "http://127.0.0.1:3000").rstrip("/"),
        )
