"""Shared fixtures: a cast of users for RLS matrices (the database fixtures come from
flagship.testing.plugin)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from flagship.testing.harness import User, create_user, grant_roles


@dataclass
class Cast:
    """The roles every RLS matrix uses. `owner` owns the objects under test."""

    owner: User
    member: User
    moderator: User
    admin: User
    instructor: User

    def get(self, name: str):
        """'anon' and 'service_role' are not users: as_user() takes them by name."""
        if name in ("anon", "service_role"):
            return name
        return getattr(self, name)


def make_cast(db) -> Cast:
    """The five users, created in `db`'s transaction."""
    owner = create_user(db, username="owner_user", display_name="Owner")
    member = create_user(db, username="member_user")
    moderator = grant_roles(db, create_user(db, username="mod_user"), "moderator")
    admin = grant_roles(db, create_user(db, username="admin_user"), "admin")
    instructor = grant_roles(db, create_user(db, username="teach_user"), "instructor")
    return Cast(owner, member, moderator, admin, instructor)


@pytest.fixture
def cast(db) -> Cast:
    return make_cast(db)


@pytest.fixture(scope="module")
def module_cast(module_db) -> Cast:
    """The same users, created once for a module (in `module_db`)."""
    return make_cast(module_db)
