"""Settings: defaults, partial deep updates, validation."""

import json

import pytest

from flagship.testing.harness import api_error, as_user, create_user


def test_defaults_then_partial_update(db):
    user = create_user(db)
    with as_user(db, user):
        before = db.execute("select api.accounts_get_my_settings() as s").fetchone()["s"]
        assert before["theme"] == "system" and before["notifications"]["replies"]["email"] == (
            "immediate"
        )
        after = db.execute(
            "select api.accounts_update_my_settings(%s) as s",
            (json.dumps({"theme": "dark", "notifications": {"replies": {"email": "digest"}}}),),
        ).fetchone()["s"]
    assert after["theme"] == "dark"
    assert after["notifications"]["replies"] == {"in_app": True, "email": "digest"}
    assert after["notifications"]["mentions"] == before["notifications"]["mentions"]
    assert after["timezone"] == "UTC"


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"theme": "neon"}, "theme"),
        ({"theme": 3}, "theme"),
        ({"colour": "red"}, "colour"),
        ({"notifications": {"replies": {"email": "sometimes"}}}, "notifications.replies.email"),
        ({"notifications": {"replies": {"sms": True}}}, "notifications.replies.sms"),
        ({"notifications": "all"}, "notifications"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"privacy": {"show_activity": "yes"}}, "privacy.show_activity"),
        ({"locale": "klingon"}, "locale"),
    ],
)
def test_malformed_settings_are_refused(db, changes, path):
    user = create_user(db)
    with as_user(db, user):
        db.execute("savepoint s")
        try:
            db.execute("select api.accounts_update_my_settings(%s)", (json.dumps(changes),))
        except Exception as exc:
            db.execute("rollback to savepoint s")
            assert exc.diag.message_hint == "settings_invalid"
            assert exc.diag.sqlstate == "22023"
            assert json.loads(exc.diag.message_detail)["path"] == path
        else:
            raise AssertionError("accepted")
    stored = db.execute(
        "select count(*) as n from accounts.settings where user_id = %s", (user.id,)
    )
    assert stored.fetchone()["n"] == 0


@pytest.mark.parametrize("changes", [None, {}, [], "dark"])
def test_update_needs_an_object(db, changes):
    user = create_user(db)
    with as_user(db, user), api_error(db, "invalid_argument", "22023"):
        db.execute(
            "select api.accounts_update_my_settings(%s)",
            (json.dumps(changes) if changes is not None else None,),
        )


def test_timezone_accepted_and_settings_private(db, cast):
    with as_user(db, cast.owner):
        db.execute(
            "select api.accounts_update_my_settings(%s)",
            (json.dumps({"timezone": "Europe/Paris"}),),
        )
    with as_user(db, cast.member):
        rows = db.execute("select * from accounts.settings where user_id = %s", (cast.owner.id,))
        assert rows.fetchall() == []
    with as_user(db, "anon"), api_error(db, None, "42501"):
        db.execute("select api.accounts_get_my_settings()")
