"""Profiles: sign-up trigger, validation, uniqueness, visibility."""

import json

import pytest

from flagship.testing.harness import api_error, as_user, create_user, denied


def update(db, changes):
    return db.execute(
        "select * from api.accounts_update_my_profile(%s)", (json.dumps(changes),)
    ).fetchone()


def test_signup_creates_profile_and_member_role(db):
    user = create_user(db, username="Neo_1", display_name="  Thomas  ")
    row = db.execute("select * from accounts.profiles where id = %s", (user.id,)).fetchone()
    assert row["username"] == "Neo_1"
    assert row["visibility"] == "members"
    assert user.claims["user_roles"] == ["member"]


@pytest.mark.parametrize("wanted", ["ab", "1abc", "has space", "x" * 40, "drop;table", ""])
def test_signup_never_fails_on_bad_username(db, wanted):
    user = create_user(db, email="someone.else@example.test", username=wanted)
    name = db.execute(
        "select username from accounts.profiles where id = %s", (user.id,)
    ).fetchone()["username"]
    assert name != wanted
    assert 3 <= len(name) <= 24 and name[0].isalpha()


def test_signup_avoids_taken_username_case_insensitively(db):
    create_user(db, username="Trinity")
    second = create_user(db, username="trinity")
    name = db.execute(
        "select username from accounts.profiles where id = %s", (second.id,)
    ).fetchone()["username"]
    assert name.lower() != "trinity"


@pytest.mark.parametrize("bad", ["ab", "9lives", "with-dash", "a" * 25, "émile", "a b c"])
def test_invalid_usernames_are_refused(db, bad):
    user = create_user(db, username="valid_name")
    with as_user(db, user), api_error(db, "username_invalid", "22023"):
        update(db, {"username": bad})
    name = db.execute("select username from accounts.profiles where id = %s", (user.id,))
    assert name.fetchone()["username"] == "valid_name"


def test_username_taken_is_a_conflict(db):
    create_user(db, username="Morpheus")
    user = create_user(db, username="someone")
    with as_user(db, user), api_error(db, "username_taken", "PT409"):
        update(db, {"username": "MORPHEUS"})


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"country": "France"}, "profile_invalid"),
        ({"skills": ["ok", "Not Ok"]}, "profile_invalid"),
        ({"skills": [f"s{i}" for i in range(21)]}, "profile_invalid"),
        ({"bio": "x" * 2001}, "profile_invalid"),
        ({"visibility": "secret"}, "profile_invalid"),
        ({"display_name": ""}, "profile_invalid"),
        ({"id": "00000000-0000-0000-0000-000000000000"}, "profile_invalid"),
        ({"username": None}, "profile_invalid"),
        ({}, "invalid_argument"),
    ],
)
def test_malformed_profile_updates(db, changes, code):
    user = create_user(db)
    with as_user(db, user), api_error(db, code, "22023"):
        update(db, changes)


def test_update_own_profile(db):
    user = create_user(db, username="cypher")
    with as_user(db, user):
        row = update(
            db,
            {"display_name": "Cy", "country": "FR", "skills": ["web", "pwn", "web"], "bio": None},
        )
    assert row["display_name"] == "Cy" and row["country"] == "FR"
    assert sorted(row["skills"]) == ["pwn", "web"]


def test_cannot_edit_another_profile(db):
    victim = create_user(db, username="victim")
    attacker = create_user(db, username="attacker")
    with as_user(db, attacker):
        # No write grant on the table or the view: the RPC is the only way, and it edits
        # only the caller's own row.
        with denied(db):
            db.execute("update accounts.profiles set bio = 'pwned' where id = %s", (victim.id,))
        with denied(db):
            db.execute("update api.accounts_profiles set bio = 'pwned' where id = %s", (victim.id,))
        update(db, {"bio": "mine"})
    bio = db.execute("select bio from accounts.profiles where id = %s", (victim.id,)).fetchone()
    assert bio["bio"] is None


@pytest.mark.parametrize(
    ("visibility", "anon_sees", "member_sees"),
    [("public", True, True), ("members", False, True), ("private", False, False)],
)
def test_visibility(db, cast, visibility, anon_sees, member_sees):
    with as_user(db, cast.owner):
        update(db, {"visibility": visibility})
    query = "select count(*) as n from api.accounts_profiles where id = %s"
    with as_user(db, "anon"):
        assert db.execute(query, (cast.owner.id,)).fetchone()["n"] == int(anon_sees)
    with as_user(db, cast.member):
        assert db.execute(query, (cast.owner.id,)).fetchone()["n"] == int(member_sees)
    for who in (cast.owner, cast.moderator, cast.admin):
        with as_user(db, who):
            assert db.execute(query, (cast.owner.id,)).fetchone()["n"] == 1


def test_email_only_for_owner_and_admin(db, cast):
    with as_user(db, cast.owner):
        assert db.execute("select api.accounts_get_my_account() as a").fetchone()["a"]["email"] == (
            cast.owner.email
        )
    with as_user(db, cast.admin):
        got = db.execute("select api.accounts_get_user(%s) as a", (cast.owner.id,)).fetchone()
        assert got["a"]["email"] == cast.owner.email
    for who in (cast.member, cast.moderator):
        with as_user(db, who), api_error(db, "forbidden", "42501"):
            db.execute("select api.accounts_get_user(%s)", (cast.owner.id,))
    with as_user(db, "anon"):
        cols = db.execute("select * from api.accounts_profiles limit 0")
        assert "email" not in [c.name for c in cols.description]


def test_avatar_must_be_own_uploaded_object(db, cast):
    path = f"{cast.owner.id}/me.png"
    with as_user(db, cast.owner):
        with api_error(db, "profile_invalid"):
            db.execute("select api.accounts_set_my_avatar(%s)", (path,))
        db.execute(
            "insert into storage.objects (bucket_id, name, owner_id) values ('avatars', %s, %s)",
            (path, cast.owner.id),
        )
        row = db.execute("select * from api.accounts_set_my_avatar(%s)", (path,)).fetchone()
        assert row["avatar_path"] == path
        with api_error(db, "profile_invalid"):
            db.execute("select api.accounts_set_my_avatar(%s)", (f"{cast.member.id}/x.png",))
    with as_user(db, cast.member), denied(db):
        db.execute(
            "insert into storage.objects (bucket_id, name, owner_id) values ('avatars', %s, %s)",
            (f"{cast.owner.id}/evil.png", cast.member.id),
        )
