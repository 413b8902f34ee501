"""RLS matrix of the events domain: the Realtime topics (policies on realtime.messages), the
event catalogue, and the newsletter objects — each role × object × action.

Realtime cannot run here, so the policies are checked the way it checks them: a socket may
join a private topic (and receive its broadcasts) only if a select on realtime.messages for
that topic returns rows as that user; it may send only through an insert policy (none).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from flagship.testing.harness import ANY_HINT, User, create_user, grant_roles
from flagship.testing.matrix import REFUSED_OR_READONLY, Matrix

ROLES = ["anon", "player", "banned", "other_player", "organiser", "admin", "service_role"]
M = Matrix(["events"], ROLES, denied=ANY_HINT, write_refused=REFUSED_OR_READONLY)
ADMIN = M.cells(
    anon="deny",
    player="no",
    banned="no",
    other_player="no",
    organiser="no",
    admin="yes",
    service_role="yes",
)
SESSION_ADMIN = M.same("deny") | {"admin": "yes"}  # newsletter.send: a signed-in admin

# Realtime: who receives which topic.
M.select(
    "realtime.messages",
    "topic = %(scoreboard)s",
    M.cells(
        anon="no",
        player="yes",
        banned="no",
        other_player="no",
        organiser="yes",
        admin="yes",
        service_role="yes",
    ),
    label="scoreboard",
)
M.select(
    "realtime.messages",
    "topic = %(player_topic)s",
    M.cells(
        anon="no",
        player="yes",
        banned="no",
        other_player="no",
        organiser="no",
        admin="no",
        service_role="yes",
    ),
    label="own notifications",
)
M.select(
    "realtime.messages",
    "topic = 'public:lobby'",
    M.cells(
        anon="no",
        player="no",
        banned="no",
        other_player="no",
        organiser="no",
        admin="no",
        service_role="yes",
    ),
    label="unknown topic",
)
M.write(
    "realtime.messages",
    "insert",
    "insert into realtime.messages (topic, extension, event, payload)"
    " values (%(scoreboard)s, 'broadcast', 'scoreboard', '{\"top\": []}')",
    M.same("deny") | {"service_role": "yes"},
)

# The catalogue is public reference data.
M.select("api.events_catalogue", "topic = 'ctf.solve'", M.same("yes"))
M.write("api.events_catalogue", "delete", "delete from api.events_catalogue")

# Newsletter: admins only.
M.select("api.events_newsletter_campaigns", "id = %(campaign)s", ADMIN)
M.select("api.events_newsletter_recipients", "campaign_id = %(campaign)s", ADMIN)
M.write(
    "api.events_newsletter_campaigns",
    "update",
    "update api.events_newsletter_campaigns set status = 'sent'",
)
M.write(
    "api.events_newsletter_recipients", "delete", "delete from api.events_newsletter_recipients"
)
M.execute(
    "api.events_save_newsletter",
    "select api.events_save_newsletter('Hi', 'Body', '{\"kind\": \"everyone\"}')",
    SESSION_ADMIN,
)
M.execute(
    "api.events_preview_newsletter",
    "select api.events_preview_newsletter(%(campaign)s)",
    SESSION_ADMIN,
)
M.execute(
    "api.events_schedule_newsletter",
    "select api.events_schedule_newsletter(%(campaign)s)",
    SESSION_ADMIN,
)
M.execute(
    "api.events_cancel_newsletter",
    "select api.events_cancel_newsletter(%(scheduled)s)",
    SESSION_ADMIN,
)


@dataclass
class Scene:
    player: User
    banned: User
    other_player: User
    organiser: User
    admin: User
    ids: dict

    def get(self, name: str):
        return name if name in ("anon", "service_role") else getattr(self, name)


def build_scene(db) -> Scene:
    s = Scene(
        player=create_user(db),
        banned=create_user(db),
        other_player=create_user(db),
        organiser=create_user(db),
        admin=grant_roles(db, create_user(db), "admin"),
        ids={},
    )
    event, other = (
        db.execute(
            "insert into ctf.events (slug, title) values (%s, %s) returning id", (slug, slug)
        ).fetchone()["id"]
        for slug in ("rt-ctf", "rt-other")
    )
    db.execute(
        "insert into ctf.organisers (event_id, user_id) values (%s, %s)", (event, s.organiser.id)
    )
    for ev, user, banned in (
        (event, s.player, False),
        (event, s.banned, True),
        (other, s.other_player, False),
    ):
        team = db.execute(
            "insert into ctf.teams (event_id, name) values (%s, %s) returning id",
            (ev, user.id[:8]),
        ).fetchone()["id"]
        db.execute(
            "insert into ctf.participants (event_id, user_id, team_id, banned)"
            " values (%s, %s, %s, %s)",
            (ev, user.id, team, banned),
        )
    s.ids["scoreboard"] = f"ctf:event:{event}:scoreboard"
    s.ids["player_topic"] = f"user:{s.player.id}:notifications"
    for topic in (s.ids["scoreboard"], s.ids["player_topic"], "public:lobby"):
        db.execute("select realtime.send('{\"n\": 1}', 'test', %s, true)", (topic,))
    for status in ("draft", "scheduled"):
        s.ids["campaign" if status == "draft" else "scheduled"] = db.execute(
            "insert into ops.newsletter_campaigns (subject, body, audience, status)"
            " values ('Matrix', 'Body', '{\"kind\": \"everyone\"}', %s) returning id",
            (status,),
        ).fetchone()["id"]
    db.execute(
        "insert into ops.newsletter_recipients (campaign_id, email, user_id, chunk)"
        " values (%s, %s, %s, 0)",
        (s.ids["campaign"], s.player.email, s.player.id),
    )
    return s


@pytest.fixture(scope="module")
def module_scene(module_db) -> Scene:
    return build_scene(module_db)


@pytest.fixture
def db(module_db, module_scene):
    """One scene for the module; each test runs in a savepoint rolled back afterwards."""
    module_db.execute("savepoint module_test")
    try:
        yield module_db
    finally:
        module_db.execute("rollback to savepoint module_test")


@pytest.fixture
def scene(module_scene) -> Scene:
    return module_scene


def test_every_events_object_is_in_the_matrix(db):
    assert M.uncovered(db) == []


@M.parametrize("select")
def test_select(db, scene, cell):
    cell.check(db, scene.get(cell.role), scene.ids)


@M.parametrize("write")
def test_write(db, scene, cell):
    cell.check(db, scene.get(cell.role), scene.ids)


@M.parametrize("execute")
def test_execute(db, scene, cell):
    cell.check(db, scene.get(cell.role), scene.ids)
