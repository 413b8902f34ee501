"""Activity stream, XP and streaks: the incremental stats always equal the recomputed ones."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from flagship.testing.harness import api_error, as_user, create_user

RECORD = "select private.record_activity(%s, %s, 'lesson', %s, '{}', %s, %s)"


def stats(db, user):
    return db.execute(
        "select xp, activity_count, current_streak, longest_streak, last_active_on"
        " from accounts.stats where user_id = %s",
        (user.id,),
    ).fetchone()


def recomputed(db, user):
    return db.execute("select * from private.recompute_stats(%s)", (user.id,)).fetchone()


def test_streaks_across_days(db):
    user = create_user(db)
    start = datetime.now(UTC) - timedelta(days=10)
    for day in (0, 1, 1, 2, 5, 6):
        db.execute(
            RECORD, (user.id, "lesson.completed", f"l{day}", 10, start + timedelta(days=day))
        )
    got = stats(db, user)
    assert (got["xp"], got["activity_count"]) == (60, 6)
    assert (got["current_streak"], got["longest_streak"]) == (2, 3)
    assert dict(got) == dict(recomputed(db, user))


def test_randomised_sequences_match_recompute(db):
    rng = random.Random(7)
    user = create_user(db)
    base = datetime.now(UTC) - timedelta(days=60)
    for _ in range(80):
        # mostly forward in time, sometimes back-dated (imports)
        offset = rng.choice([rng.randint(0, 59), rng.randint(40, 59)])
        db.execute(
            RECORD, (user.id, "x.did", "o", rng.randint(0, 50), base + timedelta(days=offset))
        )
        assert dict(stats(db, user)) == dict(recomputed(db, user))


def test_timezone_decides_the_day(db):
    user = create_user(db)
    db.execute(
        "insert into accounts.settings (user_id, prefs) values (%s, %s)",
        (user.id, '{"timezone": "Asia/Tokyo"}'),
    )
    at = datetime(2026, 1, 1, 20, 0, tzinfo=UTC)  # already Jan 2 in Tokyo
    db.execute(RECORD, (user.id, "x.did", "o", 1, at))
    day = db.execute("select activity_day from accounts.activity where actor_id = %s", (user.id,))
    assert str(day.fetchone()["activity_day"]) == "2026-01-02"


@pytest.mark.parametrize(
    ("verb", "xp", "when"),
    [
        ("Bad Verb", 1, None),
        ("ok.verb", -1, None),
        ("ok.verb", 10001, None),
        ("ok.verb", 1, "future"),
    ],
)
def test_invalid_activity(db, verb, xp, when):
    user = create_user(db)
    at = datetime.now(UTC) + timedelta(days=2) if when == "future" else datetime.now(UTC)
    with api_error(db, "activity_invalid", "22023"):
        db.execute(RECORD, (user.id, verb, "o", xp, at))


def test_stream_is_private_and_append_only(db, cast):
    db.execute(RECORD, (cast.owner.id, "x.did", "o", 5, datetime.now(UTC)))
    with as_user(db, cast.owner):
        assert len(db.execute("select * from api.accounts_my_activity").fetchall()) == 1
        with api_error(db, None, "42501"):
            db.execute("update accounts.activity set xp = 999")
        with api_error(db, None, "42501"):
            db.execute(
                "select private.record_activity(%s, 'x.y', 'o', 'o', '{}', 100)", (cast.owner.id,)
            )
    with as_user(db, cast.member):
        assert db.execute("select * from api.accounts_my_activity").fetchall() == []
    with api_error(db, "forbidden", "42501"):
        db.execute("update accounts.activity set xp = 999 where actor_id = %s", (cast.owner.id,))


def test_stats_follow_visibility_and_privacy(db, cast):
    db.execute(RECORD, (cast.owner.id, "x.did", "o", 5, datetime.now(UTC)))
    query = "select count(*) as n from api.accounts_profile_stats where user_id = %s"
    with as_user(db, cast.member):
        assert db.execute(query, (cast.owner.id,)).fetchone()["n"] == 1
    with as_user(db, "anon"):
        assert db.execute(query, (cast.owner.id,)).fetchone()["n"] == 0  # members-only profile
    with as_user(db, cast.owner):
        db.execute(
            'select api.accounts_update_my_settings(\'{"privacy": {"show_activity": false}}\')'
        )
    with as_user(db, cast.member):
        assert db.execute(query, (cast.owner.id,)).fetchone()["n"] == 0
    with as_user(db, cast.owner):
        assert db.execute(query, (cast.owner.id,)).fetchone()["n"] == 1
