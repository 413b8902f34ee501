"""Community benchmark: category listing, thread page, post creation, unread count, search.

Full scale (--scale 1): 100,000 members, 20,000 threads, 1,000,000 posts (50 per thread),
5,000,000 notifications. Data is generated set-based; calls run as signed-in members under
RLS, the way PostgREST runs them.
"""

from __future__ import annotations

import random

from flagship.bench.runner import Bench, explain_uses_index
from flagship.database import as_caller, connect

# `flagship bench ... --reuse DATABASE` measures a kept database without generating again.
REUSABLE = True

WORDS = [
    "buffer",
    "overflow",
    "stack",
    "canary",
    "heap",
    "tcache",
    "exploit",
    "shellcode",
    "kernel",
    "race",
    "condition",
    "injection",
    "query",
    "sandbox",
    "escape",
    "firmware",
    "packet",
    "capture",
    "wireshark",
    "cipher",
    "padding",
    "oracle",
    "nonce",
    "replay",
    "token",
    "session",
    "cookie",
    "forgery",
    "redirect",
    "traversal",
    "deserialization",
    "gadget",
    "chain",
    "pivot",
    "privilege",
    "escalation",
    "sudo",
    "capability",
    "container",
    "namespace",
    "seccomp",
    "syscall",
    "fuzzing",
    "crash",
    "triage",
    "symbolic",
    "execution",
    "angr",
    "ghidra",
    "radare",
    "disassembly",
    "decompiler",
    "obfuscation",
    "packer",
    "unpacking",
    "malware",
    "beacon",
    "persistence",
    "registry",
    "memory",
    "forensics",
    "volatility",
    "timeline",
    "artifact",
    "steganography",
    "entropy",
    "hash",
    "collision",
    "rainbow",
    "salt",
    "bcrypt",
    "kerberos",
    "ticket",
    "ldap",
    "relay",
    "smb",
    "phishing",
    "osint",
    "recon",
    "subdomain",
    "certificate",
    "transparency",
]


def generate(conn, users: int, threads: int, posts: int, notifications: int) -> None:
    conn.execute(
        """
        insert into auth.users (id, aud, role, email, email_confirmed_at, raw_user_meta_data)
        select gen_random_uuid(), 'authenticated', 'authenticated',
               'cm' || g || '@example.test', now(),
               jsonb_build_object('username', 'm' || left(md5(g::text), 12))
        from generate_series(1, %s) as g
        """,
        (users,),
    )
    conn.execute(
        """
        insert into community.members (user_id, trust_level, trust_locked, days_visited,
                                       last_seen_at)
        select id, 4, true, 20, now() from accounts.profiles
        """
    )
    conn.execute(
        """
        insert into community.categories (slug, name, read_level, post_level, position)
        select 'cat-' || g, 'Category ' || g,
               (case when g <= 16 then 'everyone' when g <= 18 then 'members'
                     when g = 19 then 'pro' else 'staff' end)::community.access_level,
               (case when g <= 16 then 'members' when g <= 18 then 'members'
                     when g = 19 then 'pro' else 'staff' end)::community.access_level, g
        from generate_series(1, 20) as g
        """
    )
    per_thread = max(1, posts // threads)
    conn.execute(
        """
        create temporary table bench_users as
        select row_number() over () as n, id from accounts.profiles
        """
    )
    conn.execute("create index on bench_users (n)")
    conn.execute(
        """
        insert into community.threads (category_id, author_id, title, tags, pinned,
                                       post_count, reaction_count, score, last_activity_at,
                                       created_at)
        select 1 + (g %% 20),
               (select u.id from bench_users as u where u.n = 1 + (g * 7919) %% %(users)s),
               initcap((%(words)s::text[])[1 + g %% cardinality(%(words)s::text[])]) || ' '
                   || (%(words)s::text[])[1 + (g * 31) %% cardinality(%(words)s::text[])]
                   || ' question ' || g,
               array[(%(words)s::text[])[1 + g %% 11]],
               g %% 500 = 0, %(per)s, g %% 40, %(per)s + 2 * (g %% 40),
               now() - (g %% 100000) * interval '37 seconds',
               now() - interval '60 days'
        from generate_series(1, %(threads)s) as g
        """,
        {"users": users, "threads": threads, "per": per_thread, "words": WORDS},
    )
    # Bulk posts count as rendered already: no content.render job per generated post.
    conn.execute("alter table community.posts disable trigger posts_z_render")
    conn.execute(
        """
        insert into community.posts (thread_id, post_number, author_id, body, created_at)
        select t.id, k,
               (select u.id from bench_users as u
                where u.n = 1 + ((t.id * 131 + k * 17) %% %(users)s)),
               (select string_agg((%(words)s::text[])[1 + (h %% cardinality(%(words)s::text[]))]
                                  || ((h / cardinality(%(words)s::text[])) %% 40)::text, ' ')
                from generate_series(1, 18) as w,
                     lateral (select abs(hashint8(t.id * 1000 + k * 20 + w)) as h) as x)
               || ' see post ' || k || ' of thread ' || t.id,
               t.created_at + k * interval '1 minute'
        from community.threads as t, generate_series(1, %(per)s) as k
        """,
        {"users": users, "per": per_thread, "words": WORDS},
    )
    conn.execute("alter table community.posts enable trigger posts_z_render")
    conn.execute(
        """
        insert into community.notifications (user_id, kind, category, object_type, object_id,
                                             group_key, actor_count, data, read_at, created_at,
                                             updated_at)
        select u.id, (array['reply', 'mention', 'reaction', 'message', 'ctf.solved'])[1 + g %% 5],
               (array['replies', 'mentions', 'reactions', 'messages', 'ctf'])[1 + g %% 5],
               'post', g::text, null, 1, '{}',
               case when g %% 10 < 8 then now() - interval '1 day' end,
               now() - (g %% 1000) * interval '1 hour', now() - (g %% 1000) * interval '1 hour'
        from generate_series(1, %(n)s) as g
        join bench_users as u on u.n = 1 + (g %% %(users)s)
        """,
        {"n": notifications, "users": users},
    )
    conn.execute(
        """
        update community.categories as c set
            thread_count = s.threads, post_count = s.posts, last_activity_at = s.last
        from (
            select category_id, count(*) as threads, sum(post_count) as posts,
                   max(last_activity_at) as last
            from community.threads group by category_id
        ) as s
        where s.category_id = c.id
        """
    )
    conn.execute("analyze")
    conn.commit()


def run(bench: Bench, scale: float) -> None:
    users = max(500, int(100_000 * scale))
    threads = max(100, int(20_000 * scale))
    posts = max(5_000, int(1_000_000 * scale))
    notifications = max(10_000, int(5_000_000 * scale))
    admin_url, _ = bench.database()
    rng = random.Random(5)
    with connect(admin_url) as conn:
        if not bench.reused:
            generate(conn, users, threads, posts, notifications)
        posts = conn.execute("select count(*) as n from community.posts").fetchone()["n"]
        ids = [r["id"] for r in conn.execute("select id from accounts.profiles limit 1000")]
        thread_ids = [
            r["id"]
            for r in conn.execute(
                "select id from community.threads where category_id <= 16 order by random()"
                " limit 1000"
            )
        ]
        bench.add_line(
            f"data: {users} members, {threads} threads, {posts} posts,"
            f" {notifications} notifications"
        )

        def word() -> str:
            # Post bodies use WORDS with a 0-39 suffix: about 3,800 distinct terms.
            return f"{rng.choice(WORDS)}{rng.randrange(40)}"

        def call(sql, params=None, user=None):
            claims = {"role": "authenticated", "sub": str(user)} if user else {"role": "anon"}
            with conn.transaction(), as_caller(conn, claims):
                return conn.execute(sql, params).fetchall()

        bench.measure(
            "category listing (latest)",
            lambda i: call(
                "select * from api.community_list_threads(%s, 'latest')",
                (1 + i % 16,),
                user=ids[i % len(ids)],
            ),
            calls=300,
        )
        cursors = {}
        for c in range(1, 17):
            cursors[c] = call(
                "select next_cursor from api.community_list_threads(%s, 'latest')",
                (c,),
                user=ids[0],
            )[-1]["next_cursor"]
        bench.measure(
            "category listing (next page)",
            lambda i: call(
                "select * from api.community_list_threads(%s, 'latest', null, %s)",
                (1 + i % 16, cursors[1 + i % 16]),
                user=ids[i % len(ids)],
            ),
            calls=300,
        )
        bench.measure(
            "category listing (top, all)",
            lambda i: call(
                "select * from api.community_list_threads(null, 'top')", user=ids[i % len(ids)]
            ),
            calls=200,
        )
        bench.measure(
            "thread page",
            lambda i: call(
                "select * from api.community_list_thread_posts(%s, %s, 20)",
                (thread_ids[i % len(thread_ids)], (i % 2) * 20),
                user=ids[i % len(ids)],
            ),
            calls=300,
        )
        bench.measure(
            "thread page (anon)",
            lambda i: call(
                "select * from api.community_list_thread_posts(%s)",
                (thread_ids[(i * 7) % len(thread_ids)],),
            ),
            calls=200,
        )
        bench.measure(
            "post creation",
            lambda i: call(
                "select api.community_create_post(%s, %s)",
                (
                    thread_ids[(i * 13) % len(thread_ids)],
                    f"benchmark reply {i} about {rng.choice(WORDS)} and {rng.choice(WORDS)}",
                ),
                user=ids[i % len(ids)],
            ),
            calls=300,
        )
        bench.measure(
            "unread count",
            lambda i: call(
                "select api.community_count_notifications()", user=ids[(i * 3) % len(ids)]
            ),
            calls=300,
        )
        bench.measure(
            "notification list",
            lambda i: call(
                "select * from api.community_notifications order by updated_at desc, id desc "
                "limit 20",
                user=ids[(i * 5) % len(ids)],
            ),
            calls=200,
        )
        bench.measure(
            "search",
            lambda i: call(
                "select * from api.community_search_forum(%s)",
                (f"{word()} {word()}",),
                user=ids[i % len(ids)],
            ),
            calls=200,
        )
        bench.measure(
            "search (one word)",
            lambda i: call(
                "select * from api.community_search_forum(%s)", (word(),), user=ids[i % len(ids)]
            ),
            calls=100,
        )
        with conn.transaction(), as_caller(conn, {"role": "authenticated", "sub": str(ids[0])}):
            plan = explain_uses_index(
                conn,
                "select * from community.threads as t where t.category_id = 3 and"
                " (t.pinned, t.last_activity_at, t.id) < (false, now(), 999999999)"
                " order by t.pinned desc, t.last_activity_at desc, t.id desc limit 30",
            )
            uses = "threads_category_latest_idx" in plan
            bench.add_line(f"plan: category listing under RLS uses its index: {uses}")
            plan = explain_uses_index(
                conn,
                "select count(*) from community.notifications where user_id = %s"
                " and read_at is null and in_app",
                (ids[0],),
            )
            bench.add_line(
                f"plan: unread count uses the partial index: {'notifications_unread_idx' in plan}"
            )
