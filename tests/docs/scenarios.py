"""What each runnable page assumes, seeded before its blocks run: the accounts and content
its "Before you start" section lists. A scenario returns the environment variables its
blocks read (besides SUPABASE_URL and SUPABASE_ANON_KEY, which every page gets)."""

from __future__ import annotations

import json
from collections.abc import Callable

import bcrypt
import psycopg

from flagship import config, tokens
from flagship.database import connect
from flagship.testing.harness import User, create_user, grant_roles, refresh, scalar, subscribe

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


# -- reference examples: one signed-in user each, its access token in ACCESS_TOKEN ---------


def token(user: User) -> str:
    """An access token for `user`, as Supabase Auth mints it (claims through the hook)."""
    return tokens.sign(user.claims, config.Settings.from_env().jwt_secret)


@scenario("reference-accounts")
def reference_accounts(conn, tag):
    user = create_user(conn, email="marie@example.com", username="marie", display_name="Marie")
    create_user(conn, email="pierre@example.com", username="pierre", display_name="Pierre")
    return {"ACCESS_TOKEN": token(user), "USER_ID": user.id}


@scenario("reference-learning")
def reference_learning(conn, tag):
    teacher = grant_roles(conn, create_user(conn, username="ref_teacher"), "instructor")
    learner = create_user(conn, username="ref_learner")
    course = published_course(
        conn,
        teacher,
        "intro-to-sql",
        "Intro to SQL",
        {"Select": "# SELECT\nRead rows.", "Where": "# WHERE\nFilter rows."},
    )
    scalar(conn, learner, "select api.learning_enroll(%s)", (course,))
    return {"ACCESS_TOKEN": token(learner), "COURSE_ID": course}


@scenario("reference-ctf")
def reference_ctf(conn, tag):
    organiser = grant_roles(conn, create_user(conn, username="ref_organiser"), "instructor")
    player = create_user(conn, username="ref_player")
    event = scalar(
        conn,
        organiser,
        "select api.ctf_create_event(%s::jsonb)",
        (json.dumps({"slug": "ref-ctf", "title": "Reference CTF", "mode": "teams"}),),
    )
    open_event(conn, event)
    challenge = scalar(
        conn,
        organiser,
        "select api.ctf_save_challenge(%s, %s::jsonb)",
        (
            event,
            json.dumps({"state": "visible", "title": "Warmup", "category": "misc", "initial": 100}),
        ),
    )
    scalar(conn, organiser, "select api.ctf_add_flag(%s, 'static', 'flag{warm}')", (challenge,))
    scalar(conn, player, "select api.ctf_create_team(%s, 'Reference team')", (event,))
    return {"ACCESS_TOKEN": token(player), "EVENT_ID": event, "CHALLENGE_ID": challenge}


@scenario("reference-community")
def reference_community(conn, tag):
    admin = grant_roles(conn, create_user(conn, username="ref_admin"), "admin")
    member = create_user(conn, username="ref_member")
    conn.execute(
        "insert into community.members (user_id, trust_level) values (%s, 2)"
        " on conflict (user_id) do update set trust_level = 2",
        (member.id,),
    )
    category = scalar(
        conn,
        admin,
        "select api.community_save_category('general', 'General', 'Anything goes',"
        " 'everyone', 'members')",
    )
    return {"ACCESS_TOKEN": token(member), "CATEGORY_ID": str(category)}


@scenario("reference-events")
def reference_events(conn, tag):
    admin = grant_roles(conn, create_user(conn, username="ref_hooks_admin"), "admin")
    return {"ACCESS_TOKEN": token(admin)}


@scenario("reference-files")
def reference_files(conn, tag):
    user = create_user(conn, username="ref_files")
    return {"ACCESS_TOKEN": token(user), "USER_ID": user.id}


@scenario("reference-ai")
def reference_ai(conn, tag):
    teacher = grant_roles(conn, create_user(conn, username="ref_ai_teacher"), "instructor")
    learner = create_user(conn, username="ref_ai_learner")
    course = published_course(
        conn,
        teacher,
        "web-security",
        "Web security",
        {
            "Cross-site scripting": "Cross-site scripting (XSS) injects script into a page "
            "another user views. Escape output and set a Content-Security-Policy.",
            "SQL injection": "SQL injection smuggles SQL into a query built from input. "
            "Use bound parameters, never string concatenation.",
        },
    )
    scalar(conn, learner, "select api.learning_enroll(%s)", (course,))
    return {"ACCESS_TOKEN": token(learner)}


@scenario("reference-billing")
def reference_billing(conn, tag):
    user = create_user(conn, username="ref_subscriber")
    subscribe(conn, user, "price_flagship_pro_monthly")
    return {"ACCESS_TOKEN": token(refresh(conn, user))}
