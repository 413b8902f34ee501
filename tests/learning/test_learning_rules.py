"""One rule, several readers: where a policy keeps an inline copy of a learning rule (for the
planner), or a definer RPC applies it to rows it has already read, every reader must answer
the same for every role, course status and price tier.

- course visible: the courses_read policy (inline copy), private.learning_course_visible,
  api.learning_get_course_outline (found or learning_course_not_found);
- can read content: the course-content storage policy (private.learning_can_read_content),
  lesson bodies in the outline, api.learning_get_lesson.
"""

from __future__ import annotations

import itertools

import psycopg
import pytest
from learning_helpers import make_scene

from flagship.testing.harness import one_row

ROLES = ["anon", "stranger", "learner", "teacher", "other", "admin"]
STATES = list(itertools.product(["published", "archived", "draft"], ["free", "pro"]))
CONTENT_REFUSALS = {
    "learning_lesson_not_found",
    "learning_not_enrolled",
    "not_authenticated",
    "learning_entitlement_required",
}


def attempt(db, who, sql, params):
    """(row, None) or (None, error code) for one statement as `who`, in a savepoint."""
    db.execute("savepoint rule_probe")
    try:
        row = one_row(db, who, sql, params)
    except psycopg.Error as exc:
        db.execute("rollback to savepoint rule_probe")
        return None, exc.diag.message_hint or exc.diag.sqlstate
    db.execute("release savepoint rule_probe")
    return row, None


@pytest.fixture
def world(db):
    s = make_scene(db)
    obj = f"{s.course_id}/headers/slides.pdf"
    db.execute(
        "insert into storage.objects (bucket_id, name, owner_id) values ('course-content', %s, %s)",
        (obj, s.teacher.id),
    )
    users = {r: s.get(r) if r != "other" else s.other_teacher for r in ROLES}
    return s, users, obj


@pytest.mark.parametrize(("status", "tier"), STATES)
def test_course_visibility_policy_function_and_outline_agree(db, world, status, tier):
    s, users, _ = world
    db.execute(
        "update learning.courses set status = %s, price_tier = %s where id = %s",
        (status, tier, s.course_id),
    )
    answers = {}
    for role in ROLES:
        params = {"c": s.course_id}
        policy, _ = attempt(
            db, users[role], "select count(*) as n from learning.courses where id = %(c)s", params
        )
        function, _ = attempt(
            db, users[role], "select private.learning_course_visible(%(c)s) as v", params
        )
        outline, error = attempt(
            db, users[role], "select api.learning_get_course_outline(%(c)s) as o", params
        )
        assert error in (None, "learning_course_not_found")
        seen = (policy["n"] == 1, function["v"], outline is not None)
        assert len(set(seen)) == 1, f"{role} on a {status} {tier} course: {seen}"
        answers[role] = seen[0]
    # The rule itself, so that agreement cannot hide a rule that lets everyone in.
    assert answers["teacher"] and answers["admin"]
    for outsider in ("anon", "stranger", "other"):
        assert answers[outsider] is (status == "published")
    assert answers["learner"] is (status != "draft")


@pytest.mark.parametrize(("status", "tier"), STATES)
def test_content_rule_storage_outline_and_lesson_agree(db, world, status, tier):
    s, users, obj = world
    db.execute(
        "update learning.courses set status = %s, price_tier = %s where id = %s",
        (status, tier, s.course_id),
    )
    lesson = s.lessons["headers"]  # not a preview lesson
    for role in ROLES:
        stored, _ = attempt(
            db,
            users[role],
            "select count(*) as n from storage.objects"
            " where bucket_id = 'course-content' and name = %(o)s",
            {"o": obj},
        )
        outline, _ = attempt(
            db,
            users[role],
            "select api.learning_get_course_outline(%(c)s) as o",
            {"c": s.course_id},
        )
        bodies = outline is not None and any(
            "body_md" in le
            for m in outline["o"]["modules"]
            for le in m["lessons"]
            if le["id"] == lesson
        )
        _, error = attempt(
            db, users[role], "select api.learning_get_lesson(%(l)s) as l", {"l": lesson}
        )
        readable = error not in CONTENT_REFUSALS
        storage = stored is not None and stored["n"] == 1
        if role != "anon":  # anon has no storage grant; the RPCs answer for it
            assert storage == bodies == readable, f"{role} on {status} {tier}: storage={storage}"
        assert bodies == readable, f"{role} on a {status} {tier} course"
        expected = role in ("teacher", "admin") or (
            role == "learner" and status != "draft" and tier == "free"
        )
        assert readable is expected, f"{role} on a {status} {tier} course"
