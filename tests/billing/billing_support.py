"""Helpers for billing tests: users, tokens and signed webhook deliveries."""

from __future__ import annotations

import json

import fake_stripe
import httpx

from edge.app import PREFIX
from flagship import config, tokens
from flagship.database import connect
from flagship.testing.harness import User, create_user


def new_user(billing_db, **kwargs) -> User:
    with connect(billing_db) as conn:
        user = create_user(conn, **kwargs)
        conn.commit()
    return user


def token_for(user: User, **overrides) -> str:
    claims = {**user.claims, **overrides}
    return tokens.sign(claims, config.Settings.from_env().jwt_secret)


def auth(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(user)}"}


def signed(evt: dict, *, timestamp: int | None = None, secret: str | None = None):
    """(body, headers) of a webhook delivery, signed as Stripe signs it."""
    body = json.dumps(evt)
    header = fake_stripe.sign(body, secret or fake_stripe.WEBHOOK_SECRET, timestamp)
    return body, {"Stripe-Signature": header, "Content-Type": "application/json"}


def deliver(client, evt: dict, **kwargs) -> httpx.Response:
    body, headers = signed(evt, **kwargs)
    return client.post(f"{PREFIX}/stripe-webhook", content=body, headers=headers)
