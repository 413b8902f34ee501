"""Passwords as Supabase Auth keeps them: bcrypt, cost 10, `$2a$` hashes, and its rules."""

from __future__ import annotations

import bcrypt

from gateway.auth.config import REQUIREMENTS, AuthSettings
from gateway.auth.errors import AuthError, validation

MAX_LENGTH = 72
COST = 10


def hash_password(password: str) -> str:
    """A `$2a$10$…` hash, the format auth.users.encrypted_password holds."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(COST, prefix=b"2a")).decode()


def verify(password: str, encrypted: str | None) -> bool:
    """True when `password` matches the stored bcrypt hash ($2a$, $2b$ or $2y$)."""
    if not encrypted or not password or len(password.encode()) > MAX_LENGTH:
        return False
    stored = encrypted.encode()
    if stored.startswith(b"$2y$"):  # PHP's prefix for the same algorithm
        stored = b"$2b$" + stored[4:]
    try:
        return bcrypt.checkpw(password.encode(), stored)
    except ValueError:
        return False


def weak_reasons(settings: AuthSettings, password: str) -> tuple[list[str], str]:
    """(reasons, message) of what the password lacks; empty when it is acceptable."""
    reasons: list[str] = []
    messages: list[str] = []
    if len(password) < settings.minimum_password_length:
        reasons.append("length")
        messages.append(
            f"Password should be at least {settings.minimum_password_length} characters."
        )
    sets = REQUIREMENTS[settings.password_requirements]
    if any(not any(c in password for c in charset) for charset in sets):
        reasons.append("characters")
        messages.append(
            "Password should contain at least one character of each: " + ", ".join(sets) + "."
        )
    return reasons, " ".join(messages)


def check_strength(settings: AuthSettings, password: str) -> None:
    """Raise Supabase Auth's 422 weak_password (or 400 for over 72 characters)."""
    if len(password) > MAX_LENGTH:
        raise validation(f"Password cannot be longer than {MAX_LENGTH} characters")
    reasons, message = weak_reasons(settings, password)
    if reasons:
        raise AuthError(
            422, "weak_password", message, extra={"weak_password": {"reasons": reasons}}
        )
