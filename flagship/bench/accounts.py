"""Accounts benchmark: user search, own account, settings and activity over many users.

Full scale: 100,000 users with profiles, skills and countries, 1,000,000 activity rows.
"""

from __future__ import annotations

import json
import random

from flagship.bench.runner import Bench
from flagship.database import as_caller, connect

COUNTRIES = ["FR", "DE", "US", "GB", "IN", "BR", "JP", "NG", "PL", "ES"]
SKILLS = ["web", "pwn", "crypto", "forensics", "reversing", "osint", "cloud", "network"]


def generate(conn, users: int, activity: int) -> None:
    conn.execute(
        """
        insert into auth.users (id, aud, role, email, email_confirmed_at, raw_user_meta_data)
        select gen_random_uuid(), 'authenticated', 'authenticated',
               'bench' || g || '@example.test', now(),
               jsonb_build_object('username', 'u' || left(md5(g::text), 12),
                                  'display_name', 'Person ' || left(md5('d' || g), 8))
        from generate_series(1, %s) as g
        """,
        (users,),
    )
    conn.execute(
        """
        update accounts.profiles set
            country = (%s::text[])[1 + (abs(hashtext(id::text)) %% 10)],
            skills = array[(%s::text[])[1 + (abs(hashtext(username)) %% 8)]],
            visibility = case when abs(hashtext(id::text)) %% 5 = 0 then 'private'
                              else 'public' end::accounts.visibility
        """,
        (COUNTRIES, SKILLS),
    )
    conn.execute(
        """
        insert into accounts.activity (actor_id, verb, object_type, object_id, xp, occurred_at,
                                       activity_day)
        select ids.a[1 + g %% cardinality(ids.a)], 'lesson.completed', 'lesson', g::text, 10,
               now() - (g %% 90) * interval '1 day', (now() - (g %% 90) * interval '1 day')::date
        from (select array(select id from accounts.profiles limit 2000) as a) as ids,
             generate_series(1, %s) as g
        """,
        (activity,),
    )
    conn.execute("analyze")
    conn.commit()


def run(bench: Bench, scale: float) -> None:
    users = max(200, int(100_000 * scale))
    activity = max(1000, int(1_000_000 * scale))
    admin_url, _ = bench.database()
    rng = random.Random(1)
    with connect(admin_url) as conn:
        generate(conn, users, activity)
        ids = [r["id"] for r in conn.execute("select id from accounts.profiles limit 500")]
        names = [
            r["username"] for r in conn.execute("select username from accounts.profiles limit 500")
        ]
        bench.add_line(f"data: {users} users, {activity} activity rows")

        def call(sql, params=None, user=None):
            claims = {"role": "authenticated", "sub": str(user)} if user else {"role": "anon"}
            with conn.transaction(), as_caller(conn, claims):
                conn.execute(sql, params).fetchall()

        bench.measure(
            "search_users text",
            lambda i: call(
                "select * from api.accounts_search_users(p_query => %s)", (rng.choice(names)[:7],)
            ),
            calls=200,
        )
        bench.measure(
            "search_users filters",
            lambda i: call(
                "select * from api.accounts_search_users(p_country => %s, p_skill => %s)",
                (rng.choice(COUNTRIES), rng.choice(SKILLS)),
            ),
            calls=200,
        )
        bench.measure(
            "get_my_account",
            lambda i: call("select api.accounts_get_my_account()", user=ids[i % 500]),
            calls=300,
        )
        bench.measure(
            "update_my_settings",
            lambda i: call(
                "select api.accounts_update_my_settings(%s)",
                (json.dumps({"theme": rng.choice(["dark", "light"])}),),
                user=ids[i % 500],
            ),
            calls=300,
        )

        def record(i):
            # private: called by other domains' definer functions, so as the owner here
            with conn.transaction():
                conn.execute(
                    "select private.record_activity(%s, 'lesson.completed', 'lesson', %s)",
                    (ids[i % 500], str(i)),
                )

        bench.measure("record_activity", record, calls=300)
