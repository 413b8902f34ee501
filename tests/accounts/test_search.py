"""User search: trigram matching, filters, keyset pagination, visibility."""

import json

import pytest

from flagship.testing.harness import api_error, as_user, create_user


@pytest.fixture
def people(db):
    made = {}
    for name, country, skills, vis in [
        ("hackerman", "FR", ["web", "pwn"], "public"),
        ("hacker_jane", "DE", ["crypto"], "members"),
        ("hackett", "FR", ["web"], "private"),
        ("zed", "US", ["forensics"], "public"),
    ]:
        user = create_user(db, username=name)
        db.execute(
            "update accounts.profiles set country = %s, skills = %s, visibility = %s where id = %s",
            (country, skills, vis, user.id),
        )
        made[name] = user
    return made


def search(db, **kwargs):
    args = ", ".join(f"{k} => %({k})s" for k in kwargs)
    return db.execute(f"select * from api.accounts_search_users({args})", kwargs).fetchall()


def test_fuzzy_search_respects_visibility(db, people):
    with as_user(db, "anon"):
        names = [r["username"] for r in search(db, p_query="hacker")]
    assert "hackerman" in names and "hacker_jane" not in names and "hackett" not in names
    with as_user(db, people["zed"]):
        names = [r["username"] for r in search(db, p_query="hacker")]
    assert {"hackerman", "hacker_jane"} <= set(names) and "hackett" not in names
    assert names[0] == "hackerman" or names[0] == "hacker_jane"


def test_filters(db, people, cast):
    with as_user(db, cast.admin):
        fr = {r["username"] for r in search(db, p_country="FR")}
        assert fr == {"hackerman", "hackett"}  # staff see private profiles
        web = {r["username"] for r in search(db, p_skill="web", p_country="FR")}
        assert web == {"hackerman", "hackett"}
        mods = {r["username"] for r in search(db, p_role="moderator")}
        assert mods == {"mod_user"}


def test_keyset_pagination_covers_everything_once(db, people, cast):
    for i in range(7):
        create_user(db, username=f"pager{i}")
    with as_user(db, cast.admin):
        for query in (None, "pager"):
            seen, cursor = [], None
            while True:
                page = search(db, p_query=query, p_cursor=cursor, p_limit=3)
                if not page:
                    break
                seen += [r["id"] for r in page]
                cursor = page[-1]["next_cursor"]
            total = search(db, p_query=query, p_limit=100)
            assert len(seen) == len(set(seen)) == len(total)


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"p_limit": 0}, "invalid_argument"),
        ({"p_limit": 101}, "invalid_argument"),
        ({"p_query": "x"}, "invalid_argument"),
        ({"p_query": "x" * 65}, "invalid_argument"),
        ({"p_country": "fr"}, "invalid_argument"),
        ({"p_skill": "Web Dev"}, "invalid_argument"),
        ({"p_role": "wizard"}, "role_unknown"),
        ({"p_cursor": "not-a-cursor"}, "cursor_invalid"),
        ({"p_cursor": "eyJ4IjogMX0="}, "cursor_invalid"),
    ],
)
def test_bad_search_arguments(db, kwargs, code):
    with as_user(db, "anon"), api_error(db, code, "22023"):
        search(db, **kwargs)


def test_search_uses_trigram_index(db, people):
    for i in range(300):
        create_user(db, username=f"filler{i}")
    db.execute("analyze accounts.profiles")
    db.execute("set local enable_seqscan = off")
    plan = db.execute(
        "explain (format json) select id from accounts.profiles"
        " where lower(username) operator(extensions.%) 'hacker'"
    ).fetchone()
    assert "profiles_username_trgm_idx" in json.dumps(plan)
