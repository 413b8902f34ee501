"""AI benchmark: local embedding throughput, hybrid retrieval at 100k chunks, assistant
time to first token.

Full scale (--scale 1): 100,000 chunks (60% lessons, 35% forum posts, 5% docs) over 1,000
lessons of 200 courses and 800 threads of 16 categories (4 of them staff-only), 2,000
learners enrolled in 3 courses each. Chunk text is generated
from a security vocabulary (about 3,300 distinct terms); vectors are random 384-dimension
ones (embedding 100k chunks on 2 cores would take most of an hour; HNSW search cost does not
depend on where the vectors came from, and random vectors are its hardest case). Retrieval
runs as a signed-in learner through api.ai_search under RLS, exactly as the edge calls it.
The assistant is the real edge app with the real `openai` client pointed at the local fake.

Other AI operations add a function to SECTIONS: `section(bench, world) -> None`.
"""

from __future__ import annotations

import os
import random
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

from ai.embeddings import LocalEmbedder
from ai.settings import AISettings
from flagship import config, tokens
from flagship.bench import ai_features
from flagship.bench.community import WORDS
from flagship.bench.runner import Bench, explain_uses_index
from flagship.database import as_caller, connect
from flagship.testing.fake_openai import API_KEY, FakeOpenAI
from flagship.testing.harness import claims_for

# `flagship bench ... --reuse DATABASE` measures a kept database without generating again.
REUSABLE = True


@dataclass
class World:
    admin_url: str
    app_url: str
    conn: object
    learners: list[str]
    chunks: int
    rng: random.Random = field(default_factory=lambda: random.Random(15))

    def words(self, n: int) -> str:
        return " ".join(f"{self.rng.choice(WORDS)}{self.rng.randrange(40)}" for _ in range(n))

    def call(self, sql: str, params=None, user: str | None = None):
        claims = {"role": "authenticated", "sub": user} if user else {"role": "anon"}
        with self.conn.transaction(), as_caller(self.conn, claims):
            return self.conn.execute(sql, params).fetchall()


def generate(conn, chunks: int, learners: int) -> list[str]:
    conn.execute(
        """
        insert into auth.users (id, aud, role, email, email_confirmed_at, raw_user_meta_data)
        select gen_random_uuid(), 'authenticated', 'authenticated', 'ai' || g || '@example.test',
               now(), jsonb_build_object('username', 'ai' || left(md5(g::text), 12))
        from generate_series(1, %s) as g
        """,
        (learners,),
    )
    conn.execute(
        """
        insert into learning.courses (slug, title, status, published_at)
        select 'bench-ai-' || g, 'Bench course ' || g, 'published', now()
        from generate_series(1, 200) as g
        """
    )
    # Each learner is enrolled in 3 of the 200 courses.
    conn.execute(
        """
        insert into learning.enrollments (user_id, course_id)
        select distinct p.id, c.id
        from accounts.profiles as p
        cross join generate_series(1, 3) as g
        cross join lateral (
            select x.id from learning.courses as x
            order by md5(p.id::text || g::text || x.id::text) limit 1
        ) as c
        on conflict do nothing
        """
    )
    conn.execute(
        """
        insert into community.categories (slug, name, read_level, post_level)
        select 'bench-ai-' || g, 'Bench ' || g,
               (case when g <= 12 then 'everyone' else 'staff' end)::community.access_level,
               (case when g <= 12 then 'members' else 'staff' end)::community.access_level
        from generate_series(1, 16) as g
        """
    )
    # Real sources for the chunks to point at (the policy joins back to them): 5 lessons
    # per course, 50 threads per category; chunks are spread over them (long sources).
    conn.execute(
        """
        insert into learning.modules (course_id, position, title)
        select id, 0, 'Module' from learning.courses
        """
    )
    conn.execute(
        """
        insert into learning.lessons (course_id, module_id, position, title, kind, is_preview)
        select m.course_id, m.id, g, 'Lesson ' || g, 'article', g = 0
        from learning.modules as m, generate_series(0, 4) as g
        """
    )
    author = conn.execute("select id from auth.users limit 1").fetchone()["id"]
    conn.execute(
        """
        insert into community.threads (category_id, author_id, title)
        select c.id, %s, 'Thread ' || g from community.categories as c,
               generate_series(1, 50) as g
        """,
        (author,),
    )
    conn.execute(
        """
        insert into community.posts (thread_id, post_number, author_id, body)
        select id, 1, author_id, 'Bench post' from community.threads
        """
    )
    conn.execute("delete from ops.outbox where topic = 'ai.index_source'")
    words = "array[" + ", ".join(f"'{w}'" for w in WORDS) + "]"
    conn.execute("drop index if exists ai.chunks_embedding_idx")
    conn.execute(
        f"""
        with lessons as (
            select array_agg(id::text order by id) as ids, array_agg(course_id::text order by id)
                   as scopes, array_agg(is_preview order by id) as previews
            from learning.lessons
        ), posts as (
            select array_agg(p.id::text order by p.id) as ids,
                   array_agg(t.category_id::text order by p.id) as scopes
            from community.posts as p join community.threads as t on t.id = p.thread_id
        ), picked as (
            select g, case when g %% 20 < 12 then 'lesson' when g %% 20 < 19 then 'forum_post'
                      else 'doc' end as kind
            from generate_series(1, %(n)s) as g
        )
        insert into ai.chunks (source_kind, source_id, scope_id, position, title, content,
                               preview, embedding_model, embedding)
        select k.kind,
               case k.kind when 'lesson' then l.ids[1 + k.g %% cardinality(l.ids)]
                   when 'forum_post' then p.ids[1 + k.g %% cardinality(p.ids)]
                   else 'doc-' || k.g end,
               case k.kind when 'lesson' then l.scopes[1 + k.g %% cardinality(l.ids)]
                   when 'forum_post' then p.scopes[1 + k.g %% cardinality(p.ids)] end,
               k.g, 'Bench chunk ' || k.g,
               (select string_agg(w[1 + floor(random() * cardinality(w))::int]
                       || floor(random() * 40)::int, ' ')
                from (select {words} as w) as v, generate_series(1, 60) as x where k.g > 0),
               k.kind = 'lesson' and l.previews[1 + k.g %% cardinality(l.ids)],
               'all-MiniLM-L6-v2-onnx-int8',
               (select array_agg(random() - 0.5 + 0 * s) from generate_series(1, 384) as s
                where k.g > 0)::extensions.vector
        from picked as k, lessons as l, posts as p
        """,
        {"n": chunks},
    )
    conn.execute("set maintenance_work_mem = '512MB'")
    conn.execute(
        "create index chunks_embedding_idx on ai.chunks"
        " using hnsw (embedding extensions.vector_cosine_ops)"
    )
    conn.execute("analyze ai.chunks")
    conn.commit()
    return enrolled_learners(conn)


def enrolled_learners(conn) -> list[str]:
    """The learners retrieval runs as (500 of the enrolled ones)."""
    return [
        str(r["user_id"])
        for r in conn.execute(
            "select distinct user_id from learning.enrollments order by user_id limit 500"
        )
    ]


def embedding_throughput(bench: Bench, world: World) -> None:
    embedder = LocalEmbedder()
    texts = [world.words(110) for _ in range(256)]  # ~ a 900-character chunk each
    embedder.embed(texts[:4])  # load the model
    start = time.perf_counter()
    embedder.embed(texts)
    rate = len(texts) / (time.perf_counter() - start)
    bench.add_line(f"local embedding throughput: {rate:.1f} chunks/s (1 thread, 256 chunks)")
    bench.measure(
        "embed one question (local)",
        lambda i: embedder.embed([f"how does {world.words(6)} work?"]),
        calls=100,
    )
    world.query_vector = embedder.embed(["how does a stack canary stop a buffer overflow"])[0]


def retrieval(bench: Bench, world: World) -> None:
    rng = world.rng

    def vector() -> list[float]:
        return [rng.random() - 0.5 for _ in range(384)]

    vectors = [vector() for _ in range(50)]
    sql = "select * from api.ai_search(%s, %s::real[], null, null, 8)"
    bench.measure(
        "hybrid retrieval (learner, 100k)",
        lambda i: world.call(
            sql, (world.words(3), vectors[i % 50]), world.learners[i % len(world.learners)]
        ),
        calls=300,
        note=f"{world.chunks} chunks",
    )
    bench.measure(
        "full-text retrieval (learner)",
        lambda i: world.call(sql, (world.words(2), None), world.learners[i % len(world.learners)]),
        calls=200,
    )
    bench.measure(
        "vector retrieval (learner)",
        lambda i: world.call(sql, ("", vectors[i % 50]), world.learners[i % len(world.learners)]),
        calls=200,
    )
    bench.measure(
        "hybrid retrieval (anon)",
        lambda i: world.call(sql, (world.words(3), vectors[i % 50])),
        calls=200,
    )
    plan = explain_uses_index(
        world.conn,
        "select id from ai.chunks order by embedding operator(extensions.<=>) %s::extensions.vector"
        " limit 40",
        (str(vectors[0]),),
    )
    world.conn.rollback()
    bench.add_line("vector index: " + ("hnsw" if "chunks_embedding_idx" in plan else "none"))


def assistant_ttft(bench: Bench, world: World) -> None:
    from edge.app import create_app
    from edge.settings import EdgeSettings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    base = config.Settings.from_env()
    with connect(world.admin_url) as conn:
        conn.execute(
            "update ai.quotas set per_minute = 100000, daily_requests = 100000,"
            " daily_tokens = 100000000"
        )
        user = world.learners[0]
        claims = claims_for(conn, user)
        conn.commit()
    token = tokens.sign(claims, base.jwt_secret)
    with FakeOpenAI() as fake:
        ai = AISettings(openai_api_key=API_KEY, openai_base_url=fake.base_url, cache_size=1)
        edge = EdgeSettings(jwt_secret=base.jwt_secret, jwt_issuer=base.jwt_issuer, ai=ai)
        with TestClient(create_app(database_url=world.app_url, edge=edge)) as client:
            headers = {"Authorization": f"Bearer {token}"}

            def first_token(i: int) -> None:
                body = {"message": f"question {i}: how does {world.words(4)} work?"}
                with client.stream(
                    "POST", "/functions/v1/assistant", json=body, headers=headers
                ) as r:
                    for line in r.iter_lines():
                        if line.startswith("event: token") or line.startswith("event: refused"):
                            return
                    raise RuntimeError(f"no token: {r.status_code}")

            bench.measure(
                "assistant time to first token (fake model)", first_token, calls=60, warmup=3
            )

            def whole(i: int) -> None:
                body = {"message": f"whole {i}: explain {world.words(4)}", "stream": False}
                r = client.post("/functions/v1/assistant", json=body, headers=headers)
                if r.status_code != 200:
                    raise RuntimeError(r.text)

            bench.measure("assistant whole answer (fake model)", whole, calls=40, warmup=2)


def features(bench: Bench, world: World) -> None:
    """Recommendations (latency, offline hit rate and coverage), sentiment accuracy and the
    offline NLP: flagship.bench.ai_features, on this run's database."""
    ai_features.measure(bench, world.admin_url, world.chunks / 100_000)


SECTIONS: list[Callable[[Bench, World], None]] = [
    embedding_throughput,
    retrieval,
    assistant_ttft,
    features,
]


def run(bench: Bench, scale: float) -> None:
    chunks = max(2_000, int(100_000 * scale))
    learners = max(200, int(2_000 * scale))
    admin_url, app_url = bench.database()
    with connect(admin_url) as conn:
        if bench.reused:
            chunks = conn.execute("select count(*) as n from ai.chunks").fetchone()["n"]
            learners = conn.execute(
                "select count(distinct user_id) as n from learning.enrollments"
            ).fetchone()["n"]
            enrolled = enrolled_learners(conn)
        else:
            enrolled = generate(conn, chunks, learners)
        world = World(admin_url, app_url, conn, enrolled, chunks)
        bench.add_line(f"data: {chunks} chunks, {learners} learners, 200 courses")
        bench.add_line("load average at start: " + " ".join(f"{x:.1f}" for x in os.getloadavg()))
        for section in SECTIONS:
            start = time.perf_counter()
            section(bench, world)
            bench.add_line(f"section {section.__name__}: {time.perf_counter() - start:.0f} s")
