"""AI test scene: content every kind of caller may or may not read, each carrying a unique
marker word, indexed the way the worker indexes it.

- course `open` (free, published, teacher owns): lesson `open_body` (marker opencanary) and
  preview lesson `open_preview` (previewmarker); `learner` is enrolled.
- course `pro` (pro tier, published): lesson `pro_body` (promarker); `learner` and `pro_user`
  are enrolled, only `pro_user` has the pro plan.
- course `draft` (draft): lesson `draft_body` (draftmarker).
- CTF event (started): challenge `released` (releasedmarker, flag{s3cret_released}) and
  `future` (release in a day: futuremarker, flag{s3cret_future}); `player` is registered.
- forum: a public category thread (publicforummarker) and a staff-only one (staffmarker).
- doc `getting-started` (docmarker).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ai.indexer import index_source
from ai.provider import LocalProvider
from ai.settings import AISettings
from flagship.testing.harness import User, create_user, grant_roles, rpc, scalar, subscribe

MARKERS = {
    "open_body": "opencanary",
    "open_preview": "previewmarker",
    "pro_body": "promarker",
    "draft_body": "draftmarker",
    "released": "releasedmarker",
    "future": "futuremarker",
    "public_post": "publicforummarker",
    "staff_post": "staffmarker",
    "doc": "docmarker",
}
FLAGS = {"released": "flag{s3cret_released}", "future": "flag{s3cret_future}"}


@dataclass
class AIScene:
    teacher: User
    learner: User
    pro_user: User
    stranger: User
    admin: User
    moderator: User
    player: User
    organiser: User
    ids: dict[str, str] = field(default_factory=dict)

    def get(self, name: str):
        if name in ("anon", "service_role"):
            return name
        return getattr(self, name)


def provider() -> LocalProvider:
    return LocalProvider(AISettings())


def drain_index_jobs(db, prov=None) -> int:
    """Run every queued ai.index_source job in the test's transaction (as the worker does)."""
    prov = prov or provider()
    rows = db.execute(
        "delete from ops.outbox where topic = 'ai.index_source' returning payload"
    ).fetchall()
    seen = set()
    for row in rows:
        key = (row["payload"]["kind"], str(row["payload"]["id"]))
        if key not in seen:
            seen.add(key)
            index_source(db, prov, *key)
    return len(seen)


def lesson(db, teacher, course: str, module: str, title: str, body: str, preview=False) -> str:
    lid = rpc(
        db,
        teacher,
        "learning_create_lesson",
        p_module_id=module,
        p_title=title,
        p_kind="article",
        p_changes={"is_preview": preview, "body_md": body},
    )
    return str(lid)


def course(db, teacher, slug: str, tier: str = "free", publish: bool = True) -> tuple[str, str]:
    c = rpc(
        db,
        teacher,
        "learning_create_course",
        p_slug=slug,
        p_title=slug.title(),
        p_summary="Summary",
    )
    cid = str(c["id"])
    if tier != "free":
        rpc(db, teacher, "learning_update_course", p_course_id=cid, p_changes={"price_tier": tier})
    module = str(rpc(db, teacher, "learning_create_module", p_course_id=cid, p_title="One"))
    return cid, module


def give_pro(db, user: User) -> None:
    subscribe(db, user)


def build_scene(db) -> AIScene:
    s = AIScene(
        teacher=grant_roles(db, create_user(db, username="ai_teacher"), "instructor"),
        learner=create_user(db, username="ai_learner"),
        pro_user=create_user(db, username="ai_pro"),
        stranger=create_user(db, username="ai_stranger"),
        admin=grant_roles(db, create_user(db, username="ai_admin"), "admin"),
        moderator=grant_roles(db, create_user(db, username="ai_mod"), "moderator"),
        player=create_user(db, username="ai_player"),
        organiser=grant_roles(db, create_user(db, username="ai_org"), "instructor"),
    )
    give_pro(db, s.pro_user)
    ids = s.ids
    text = "Stack {m}: a stack canary detects buffer overflows before the function returns."
    ids["open"], m = course(db, s.teacher, "ai-open-course")
    ids["open_body"] = lesson(
        db, s.teacher, ids["open"], m, "Canaries", text.format(m=MARKERS["open_body"])
    )
    ids["open_preview"] = lesson(
        db,
        s.teacher,
        ids["open"],
        m,
        "Preview",
        text.format(m=MARKERS["open_preview"]),
        preview=True,
    )
    rpc(db, s.teacher, "learning_publish_course", p_course_id=ids["open"])
    ids["pro"], m = course(db, s.teacher, "ai-pro-course", tier="pro")
    ids["pro_body"] = lesson(
        db, s.teacher, ids["pro"], m, "Pro canaries", text.format(m=MARKERS["pro_body"])
    )
    rpc(db, s.teacher, "learning_publish_course", p_course_id=ids["pro"])
    ids["draft"], m = course(db, s.teacher, "ai-draft-course")
    ids["draft_body"] = lesson(
        db, s.teacher, ids["draft"], m, "Draft canaries", text.format(m=MARKERS["draft_body"])
    )
    rpc(db, s.learner, "learning_enroll", p_course_id=ids["open"])
    rpc(db, s.pro_user, "learning_enroll", p_course_id=ids["pro"])
    # The learner enrolled while it was free to enroll (the plan lapsed since): enrolled,
    # but a pro course's content follows the plan.
    db.execute(
        "insert into learning.enrollments (user_id, course_id) values (%s, %s)",
        (s.learner.id, ids["pro"]),
    )
    build_ctf(db, s)
    build_forum(db, s)
    db.execute(
        "insert into ai.docs (slug, title, body_md) values ('getting-started', "
        "'Getting started', %s)",
        (text.format(m=MARKERS["doc"]),),
    )
    drain_index_jobs(db)
    return s


def build_ctf(db, s: AIScene) -> None:
    event = scalar(
        db,
        s.organiser,
        "select api.ctf_create_event(%s::jsonb)",
        (json.dumps({"slug": "ai-ctf", "title": "AI CTF", "mode": "individual"}),),
    )
    db.execute(
        "update ctf.events set starts_at = now() - interval '1 hour', "
        "ends_at = now() + interval '2 days' where id = %s",
        (event,),
    )
    s.ids["event"] = event
    for key, release in (("released", None), ("future", "now() + interval '1 day'")):
        body = {
            "state": "visible",
            "title": f"Stack {key}",
            "category": "pwn",
            "description": f"Smash the stack {MARKERS[key]}: the canary is weak.",
        }
        cid = scalar(
            db,
            s.organiser,
            "select api.ctf_save_challenge(%s, %s::jsonb)",
            (event, json.dumps(body)),
        )
        scalar(db, s.organiser, "select api.ctf_add_flag(%s, 'static', %s)", (cid, FLAGS[key]))
        if release:
            db.execute(f"update ctf.challenges set release_at = {release} where id = %s", (cid,))
        s.ids[key] = cid
    scalar(db, s.player, "select api.ctf_register(%s)", (event,))


def build_forum(db, s: AIScene) -> None:
    for key, level in (("public_post", "everyone"), ("staff_post", "staff")):
        category = db.execute(
            "insert into community.categories (slug, name, read_level, post_level)"
            " values (%s, %s, %s, %s) returning id",
            (f"ai-{level}", f"AI {level}", level, level),
        ).fetchone()["id"]
        author = s.moderator
        thread = rpc(
            db,
            author,
            "community_create_thread",
            p_category_id=category,
            p_title=f"Canaries {level}",
            p_body=f"How does a stack canary work? {MARKERS[key]}",
        )
        s.ids[key + "_thread"] = str(thread)
        s.ids[key] = str(
            db.execute(
                "select id from community.posts where thread_id = %s and post_number = 1",
                (s.ids[key + "_thread"],),
            ).fetchone()["id"]
        )


def has_pgvector(conn) -> bool:
    """pgvector is optional: without it the index is full text only (no vector column)."""
    return bool(
        conn.execute(
            "select exists (select 1 from pg_extension where extname = 'vector') as v"
        ).fetchone()["v"]
    )
