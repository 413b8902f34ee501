"""What each runnable page assumes, seeded before its blocks run: the accounts and content
its "Before you start" section lists. A scenario returns the environment variables its
blocks read (besides SUPABASE_URL and SUPABASE_ANON_KEY, which every page gets)."""

from __future__ import annotations

import json
from collections.abc import Callable

import bcrypt
import psycopg

from flagship.database import connect
from flagship.testing.harness import User, create_user, grant_roles, scalar

Seed = Callable[[psycopg.Connection, str], dict[str, str]]
SCENARIOS: dict[str, Seed] = {}


def scenario(name: str) -> Callable[[Seed], Seed]:
    def register(fn: Seed) -> Seed:
        SCENARIOS[name] = fn
        return fn

    return register


def account(conn: psycopg.Connection, email: str, password: str, *roles: str) -> User:
    """A confirmed email/password account, as Supabase Auth stores it (bcrypt), with global
    roles given by the platform owner."""
    user = create_user(conn, email=email, username=email.split("@")[0].replace(".", "_"))
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(10)).decode()
    conn.execute("update auth.users set encrypted_password = %s where id = %s", (hashed, user.id))
    return grant_roles(conn, user, *roles) if roles else user


def seed(name: str, admin_url: str, tag: str) -> dict[str, str]:
    """Run scenario `name` in its own committed transaction; `tag` keeps names unique."""
    if name not in SCENARIOS:
        raise KeyError(f"unknown scenario {name!r}; have {sorted(SCENARIOS)}")
    with connect(admin_url) as conn:
        env = SCENARIOS[name](conn, tag)
        conn.commit()
    return env


def open_event(conn: psycopg.Connection, event_id: str) -> None:
    conn.execute(
        "update ctf.events set starts_at = now() - interval '1 hour',"
        " ends_at = now() + interval '1 day' where id = %s",
        (event_id,),
    )


def published_course(conn, teacher: User, slug: str, title: str, lessons: dict[str, str]) -> str:
    """A published course with one module and article lessons {title: markdown body}."""
    course = scalar(
        conn, teacher, "select api.learning_create_course(%s, %s, 'A short course')", (slug, title)
    )["id"]
    module = scalar(conn, teacher, "select api.learning_create_module(%s, 'Basics')", (course,))
    for lesson, body in lessons.items():
        scalar(
            conn,
            teacher,
            "select api.learning_create_lesson(%s, %s, 'article', %s)",
            (module, lesson, json.dumps({"body_md": body})),
        )
    scalar(conn, teacher, "select api.learning_publish_course(%s)", (course,))
    return course


PASSWORD = "tutorial-pass-42"


@scenario("first-course-app")
def first_course_app(conn, tag):
    account(conn, "grace@example.com", PASSWORD, "instructor")
    return {"INSTRUCTOR_EMAIL": "grace@example.com", "INSTRUCTOR_PASSWORD": PASSWORD}


@scenario("running-a-ctf")
def running_a_ctf(conn, tag):
    account(conn, "olive@example.com", PASSWORD, "instructor")
    for who in ("pat", "quinn"):
        account(conn, f"{who}@example.com", PASSWORD)
    return {
        "ORGANISER_EMAIL": "olive@example.com",
        "PLAYER_EMAIL": "pat@example.com",
        "TEAMMATE_EMAIL": "quinn@example.com",
        "PASSWORD": PASSWORD,
    }


@scenario("integration-webhooks")
def integration_webhooks(conn, tag):
    admin = account(conn, "ines@example.com", PASSWORD, "admin")
    learner = account(conn, "leo@example.com", PASSWORD)
    course = published_course(conn, admin, "hooks-101", "Webhooks 101", {"Only lesson": "# Hi"})
    scalar(conn, learner, "select api.learning_enroll(%s)", (course,))
    return {
        "ADMIN_EMAIL": "ines@example.com",
        "LEARNER_EMAIL": "leo@example.com",
        "PASSWORD": PASSWORD,
    }


@scenario("ai-assistant")
def ai_assistant(conn, tag):
    teacher = account(conn, "tess@example.com", PASSWORD, "instructor")
    learner = account(conn, "lin@example.com", PASSWORD)
    course = published_course(
        conn,
        teacher,
        "memory-safety",
        "Memory safety",
        {
            "Stack canaries": "A stack canary is a random value placed before the return "
            "address. The function checks it before returning, so a buffer overflow that "
            "overwrites the return address also changes the canary and the program aborts.",
            "ASLR": "Address space layout randomisation loads the stack, heap and libraries at "
            "random addresses, so an exploit cannot rely on fixed addresses.",
        },
    )
    scalar(conn, learner, "select api.learning_enroll(%s)", (course,))
    return {"LEARNER_EMAIL": "lin@example.com", "PASSWORD": PASSWORD}
