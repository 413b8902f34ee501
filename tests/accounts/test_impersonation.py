"""Impersonation attacks: look-alike usernames (UTS #39 skeletons), display names that copy
another user's username or hide invisible characters, staff names."""

from __future__ import annotations

import json

import pytest

from flagship.testing.harness import api_error, create_user, one_row

ZWSP = "\u200b"
RLO = "\u202e"
CYRILLIC_A = "\u0430"


def update(db, user, **changes):
    return one_row(
        db, user, "select * from api.accounts_update_my_profile(%s)", (json.dumps(changes),)
    )


def skeleton(db, text):
    return db.execute("select private.accounts_name_skeleton(%s) as s", (text,)).fetchone()["s"]


@pytest.mark.parametrize(
    ("look_alike", "original"),
    [
        ("aIice", "alice"),  # capital I for l
        ("adrnin", "admin"),  # rn for m
        ("b0b", "bob"),  # zero for o
        ("vvalter", "walter"),  # vv for w
        ("a1ice", "alice"),  # one for l
        (f"{CYRILLIC_A}lice", "alice"),  # Cyrillic a
        ("AIice", "Alice"),
        (f"ali{ZWSP}ce", "alice"),  # invisible character
        ("\uff41lice", "alice"),  # fullwidth a
    ],
)
def test_look_alikes_share_a_skeleton(db, look_alike, original):
    assert skeleton(db, look_alike) == skeleton(db, original)


@pytest.mark.parametrize(("a", "b"), [("alice", "alicia"), ("bob", "rob"), ("ines", "moe")])
def test_different_names_keep_different_skeletons(db, a, b):
    assert skeleton(db, a) != skeleton(db, b)


def test_look_alike_username_is_refused(db):
    create_user(db, username="alice")
    mallory = create_user(db, username="mallory")
    for fake in ("aIice", "a1ice", "AIice"):
        with api_error(db, "username_confusable", "PT409"):
            update(db, mallory, username=fake)
    for same_letters in ("Alice", "ALICE"):  # case differs visibly: taken, not a look-alike
        with api_error(db, "username_taken", "PT409"):
            update(db, mallory, username=same_letters)
    row = db.execute("select username from accounts.profiles where id = %s", (mallory.id,))
    assert row.fetchone()["username"] == "mallory"


@pytest.mark.parametrize("name", ["admin", "Adrnin", "moderator", "support", "r00t", "staff"])
def test_staff_names_are_reserved_as_usernames(db, name):
    mallory = create_user(db, username="mallory")
    with api_error(db, "name_reserved", "PT409"):
        update(db, mallory, username=name)


def test_sign_up_with_a_look_alike_gets_another_username(db):
    alice = create_user(db, username="alice")
    fake = create_user(db, username="aIice", display_name="alice")
    admin_fake = create_user(db, username="adrnin")
    rows = db.execute(
        "select id::text, username, display_name from accounts.profiles where id = any(%s::uuid[])",
        ([alice.id, fake.id, admin_fake.id],),
    ).fetchall()
    got = {r["id"]: r for r in rows}
    assert got[alice.id]["username"] == "alice"
    assert skeleton(db, got[fake.id]["username"]) != skeleton(db, "alice")
    assert got[fake.id]["display_name"] is None  # copied alice's username: dropped
    assert skeleton(db, got[admin_fake.id]["username"]) != skeleton(db, "admin")


@pytest.mark.parametrize(
    ("display_name", "code", "state"),
    [
        ("alice", "display_name_confusable", "PT409"),
        ("Alice", "display_name_confusable", "PT409"),
        (f"{CYRILLIC_A}lice", "display_name_confusable", "PT409"),
        (f"Al{ZWSP}ice Smith", "profile_invalid", "22023"),
        (f"Bob{RLO}gnp.exe", "profile_invalid", "22023"),
        ("Admin", "name_reserved", "PT409"),
        ("Flagship Team", "name_reserved", "PT409"),
        ("Moderator", "name_reserved", "PT409"),
    ],
)
def test_display_name_impersonation_is_refused(db, display_name, code, state):
    create_user(db, username="alice")
    mallory = create_user(db, username="mallory", display_name="Mallory")
    with api_error(db, code, state):
        update(db, mallory, display_name=display_name)
    row = db.execute("select display_name from accounts.profiles where id = %s", (mallory.id,))
    assert row.fetchone()["display_name"] == "Mallory"


def test_honest_display_names_still_work(db):
    alice = create_user(db, username="alice")
    create_user(db, username="bob", display_name="Bob Player")
    assert update(db, alice, display_name="Alice")["display_name"] == "Alice"  # own username
    assert update(db, alice, display_name="Bob Player")["display_name"] == "Bob Player"
    assert update(db, alice, display_name="Zoë Ångström")["display_name"] == "Zoë Ångström"


def test_sign_up_strips_invisible_characters_from_the_display_name(db):
    user = create_user(db, username="carol", display_name=f"Car{ZWSP}ol{RLO}")
    row = db.execute("select display_name from accounts.profiles where id = %s", (user.id,))
    assert row.fetchone()["display_name"] == "Carol"


def test_seed_and_everyday_usernames_are_accepted(db):
    for name in ("ada", "ines", "moe", "alice", "bob", "Neo_1", "admin_user", "mod_user"):
        user = create_user(db, username=name)
        row = db.execute("select username from accounts.profiles where id = %s", (user.id,))
        assert row.fetchone()["username"] == name
