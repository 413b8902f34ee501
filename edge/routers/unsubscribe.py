"""One-click unsubscribe (RFC 8058): GET shows what a token does, POST does it.

Mail clients POST `List-Unsubscribe=One-Click` to the URL in `List-Unsubscribe`; a GET
(a person clicking, or a link scanner) never changes anything.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict

from edge.auth.deps import as_service
from edge.deps import Db, Settings
from edge.errors import ApiError, ErrorBody
from mail.unsubscribe import read_token

router = APIRouter(tags=["email"])
Token = Annotated[str, Query(min_length=10, max_length=2000, description="From the email's link")]


class Unsubscription(BaseModel):
    email: str
    category: str
    unsubscribed: bool
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"email": "a***@b.test", "category": "newsletter", "unsubscribed": True}]
        }
    )


def _read(settings, token: str) -> tuple[str, str]:
    found = read_token(settings.link_secret, token)
    if found is None:
        raise ApiError(400, "edge_unsubscribe_invalid", "This unsubscribe link is not valid.")
    return found


def masked(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


ERRORS = {400: {"model": ErrorBody, "description": "Invalid token (edge_unsubscribe_invalid)"}}


@router.get("/unsubscribe", summary="What this unsubscribe link would do", responses=ERRORS)
async def preview(settings: Settings, token: Token) -> Unsubscription:
    email, category = _read(settings, token)
    return Unsubscription(email=masked(email), category=category, unsubscribed=False)


@router.post(
    "/unsubscribe", summary="One-click unsubscribe (List-Unsubscribe-Post)", responses=ERRORS
)
async def unsubscribe(request: Request, db: Db, settings: Settings, token: Token) -> Unsubscription:
    email, category = _read(settings, token)

    async with as_service(request, db) as conn:
        await conn.execute(
            "insert into ops.email_suppressions (email, category, reason)"
            " values (%s, %s, 'unsubscribed') on conflict (email, category) do nothing",
            (email, category),
        )
    return Unsubscription(email=masked(email), category=category, unsubscribed=True)
