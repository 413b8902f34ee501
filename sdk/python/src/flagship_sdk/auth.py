"""User sessions over Supabase Auth (supabase-py's `auth`), as typed results.

The session lives in the supabase-py client; PostgREST calls carry its access token from
sign-in on, and `session()` refreshes it when it has expired.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flagship_sdk._transport import Transport


@dataclass(frozen=True, slots=True, kw_only=True)
class Session:
    """A signed-in user's tokens."""

    access_token: str
    refresh_token: str
    expires_at: int | None
    user_id: str
    email: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SignUp:
    """A new account: `session` is None until the email is confirmed."""

    user_id: str
    email: str | None
    session: Session | None


def _session(raw: Any) -> Session | None:
    if raw is None:
        return None
    return Session(
        access_token=raw.access_token,
        refresh_token=raw.refresh_token,
        expires_at=raw.expires_at,
        user_id=str(raw.user.id),
        email=raw.user.email,
    )


class Auth:
    """Sign up, sign in (email and password), confirm, sign out."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def sign_up(
        self,
        *,
        email: str,
        password: str,
        display_name: str | None = None,
        redirect_to: str | None = None,
    ) -> SignUp:
        options: dict[str, Any] = {}
        if display_name is not None:
            options["data"] = {"display_name": display_name}
        if redirect_to is not None:
            options["email_redirect_to"] = redirect_to
        with self._t.mapped():
            answer = self._t.supabase.auth.sign_up(
                {"email": email, "password": password, "options": options}
            )
        assert answer.user is not None
        return SignUp(
            user_id=str(answer.user.id), email=answer.user.email, session=_session(answer.session)
        )

    def sign_in(self, *, email: str, password: str) -> Session:
        with self._t.mapped():
            answer = self._t.supabase.auth.sign_in_with_password(
                {"email": email, "password": password}
            )
        session = _session(answer.session)
        assert session is not None
        return session

    def verify_email(self, *, token_hash: str, kind: str = "signup") -> Session | None:
        """Confirm an address with the token hash of its emailed link (signs in)."""
        with self._t.mapped():
            answer = self._t.supabase.auth.verify_otp({"token_hash": token_hash, "type": kind})
        return _session(answer.session)

    def set_session(self, *, access_token: str, refresh_token: str) -> Session:
        """Adopt tokens obtained elsewhere (a browser's session handed to a server)."""
        with self._t.mapped():
            answer = self._t.supabase.auth.set_session(access_token, refresh_token)
        session = _session(answer.session)
        assert session is not None
        return session

    def session(self) -> Session | None:
        """The current session (refreshed first when expired), or None."""
        with self._t.mapped():
            return _session(self._t.supabase.auth.get_session())

    def sign_out(self) -> None:
        with self._t.mapped():
            self._t.supabase.auth.sign_out()
