"""Deleting an event deletes everything recorded under it: submissions and solves go through
their challenges (they do not reference the event row), the documents with the event, and the
pending document changes at the next rebuild pass."""

from __future__ import annotations

from ctfkit import build_scene, submit

from flagship.database import connect


def count(db, table: str, event: str) -> int:
    return db.execute(
        f"select count(*) as n from {table} where event_id = %s", (event,)
    ).fetchone()["n"]


def test_deleting_an_event_leaves_nothing_of_it(fresh_db):
    with connect(fresh_db) as db:
        s = build_scene(db)
        assert submit(db, s.player, s.challenge, "flag{nope}")["status"] == "incorrect"
        assert submit(db, s.player, s.challenge, "flag{one}")["status"] == "correct"
        db.commit()
        recorded = ("ctf.submissions", "ctf.solves", "ctf.scoreboard_changes")
        assert all(count(db, t, s.event) > 0 for t in recorded)
        # the copy of the event id is the challenge's own event
        assert (
            db.execute(
                "select count(*) as n from ctf.submissions as x join ctf.challenges as c"
                " on c.id = x.challenge_id where x.event_id <> c.event_id"
            ).fetchone()["n"]
            == 0
        )
        db.execute("delete from ctf.events where id = %s", (s.event,))
        db.commit()
        assert count(db, "ctf.submissions", s.event) == 0
        assert count(db, "ctf.solves", s.event) == 0
        assert count(db, "ctf.scoreboards", s.event) == 0
        db.execute("select private.ctf_refresh_boards()")
        db.commit()
        assert count(db, "ctf.scoreboard_changes", s.event) == 0
