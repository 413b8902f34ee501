"""Auth emails through the Send Email Hook, as Supabase Auth sends them.

The hook is a Standard Webhooks POST of `{user, email_data}` to `[auth.hook.send_email] uri`
(our edge's /functions/v1/auth-email-hook), signed with the configured `v1,whsec_…` secret
by the same code the edge verifies with. Anything but a 2xx fails the request that wanted
the email with 500 `unexpected_failure`, as in Supabase Auth (which retries 429/503 answers;
this sender does not). The number of emails per hour is capped by
`[auth.rate_limit] email_sent` (`over_email_send_rate_limit`).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from edge.auth import webhooks
from edge.observability import logger
from gateway.auth.config import AuthSettings
from gateway.auth.errors import AuthError, too_many

log = logger("gateway.auth.mail")
TIMEOUT = 5.0


@dataclass
class EmailData:
    email_action_type: str
    token: str = ""
    token_hash: str = ""
    redirect_to: str = ""
    token_new: str = ""
    token_hash_new: str = ""


def hook_user(user_json: dict[str, Any], new_email: str | None = None) -> dict[str, Any]:
    out = dict(user_json)
    if new_email:
        out["new_email"] = new_email
    return out


class Mailer:
    """Posts to the send-email hook; counts sends against the hourly limit."""

    def __init__(self, settings: AuthSettings, limiter) -> None:
        self.settings = settings
        self.limiter = limiter
        self.client: httpx.Client | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            if self.client is not None:
                self.client.close()
                self.client = None

    def _check_limit(self) -> None:
        # As Supabase Auth: zero means no email at all; with confirmations off (autoconfirm)
        # the hourly counter is not applied.
        limits = self.settings.rate_limits
        if limits.email_sent <= 0:
            raise too_many("over_email_send_rate_limit", "email rate limit exceeded")
        if (
            not self.settings.autoconfirm
            and self.limiter.hit("auth:email_sent", limits.email_sent, limits.email_window_seconds)
            is not None
        ):
            raise too_many("over_email_send_rate_limit", "email rate limit exceeded")

    def send(self, user_json: dict[str, Any], data: EmailData, new_email: str | None = None):
        settings = self.settings
        if not settings.send_email_uri or not settings.send_email_secret:
            raise AuthError(
                500,
                "unexpected_failure",
                "Error sending email: no send-email hook is configured",
            )
        self._check_limit()
        payload = {
            "user": hook_user(user_json, new_email),
            "email_data": {
                "token": data.token,
                "token_hash": data.token_hash,
                "redirect_to": data.redirect_to,
                "email_action_type": data.email_action_type,
                "site_url": settings.external_url,
                "token_new": data.token_new,
                "token_hash_new": data.token_hash_new,
            },
        }
        body = json.dumps(payload).encode()
        webhook_id = f"msg_{uuid.uuid4().hex}"
        stamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "webhook-id": webhook_id,
            "webhook-timestamp": str(stamp),
            "webhook-signature": webhooks.sign(settings.send_email_secret, webhook_id, stamp, body),
        }
        with self._lock:
            if self.client is None:
                self.client = httpx.Client(timeout=TIMEOUT)
            http = self.client
        try:
            response = http.post(settings.send_email_uri, content=body, headers=headers)
        except httpx.HTTPError as exc:
            log.error("send email hook unreachable", error=type(exc).__name__)
            raise AuthError(
                500, "hook_timeout", "Failed to reach hook within maximum time of 5.000000 seconds"
            ) from exc
        if response.status_code // 100 != 2:
            message = _hook_message(response)
            log.error(
                "send email hook failed",
                status=response.status_code,
                action=data.email_action_type,
            )
            # As Supabase Auth: a hook's error answer is our 500 (the hook's message kept).
            action = data.email_action_type
            raise AuthError(500, "unexpected_failure", f"Error sending {action} email: {message}")
        log.info("auth email handed to hook", action=data.email_action_type)


def _hook_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"hook answered {response.status_code}"
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    return str(body.get("message") or f"hook answered {response.status_code}")
