"""AI features benchmark: recommendations (latency and offline quality), sentiment accuracy,
and the local NLP operations.

`flagship bench ai` (ai-core's module) calls `measure(bench, admin_url, scale)` on its own
migrated database; `flagship bench ai_features` runs the same on a database of its own.

Offline evaluation of the recommender (`evaluate_recommender`): generated learners belong to
one of several topic clusters and take 4-7 courses, mostly from their cluster (Zipf-popular
inside it), sometimes a globally popular one. One course per learner is held out; the rest
are enrollments, the schedule's refresh runs, and for every learner `api.ai_recommend` is
called *as that learner*. Hit rate@10: the share of learners whose held-out course is in
their top 10. Coverage: the share of the catalogue recommended to anyone. The baseline
recommends the 10 most taken courses the learner has not taken.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass

from ai.nlp import detect_language, keywords, score_moderation, sentiment, summarize
from ai.nlp.evaluation import evaluate_sentiment
from flagship.bench.runner import Bench
from flagship.database import as_caller, connect

LEVELS = ["beginner", "intermediate", "advanced"]
TOPICS = ["web", "pwn", "crypto", "forensics", "reversing", "cloud", "network", "osint"]


@dataclass
class RecData:
    courses: list[str]
    users: list[str]
    taken: dict[str, list[str]]  # training enrollments per user
    held_out: dict[str, str]


@dataclass
class RecReport:
    users: int
    courses: int
    hit_rate: float
    coverage: float
    baseline_hit_rate: float
    baseline_coverage: float

    def line(self) -> str:
        return (
            f"recommend_hit_rate@10={self.hit_rate:.3f} coverage={self.coverage:.3f}"
            f" | popularity baseline hit_rate@10={self.baseline_hit_rate:.3f}"
            f" coverage={self.baseline_coverage:.3f} ({self.users} learners held out,"
            f" {self.courses} courses)"
        )


def _zipf(rng: random.Random, items: list[str], s: float = 1.1) -> str:
    weights = [1 / (i + 1) ** s for i in range(len(items))]
    return rng.choices(items, weights)[0]


def generate_recommendation_data(
    conn, seed: int = 7, courses: int = 48, users: int = 300, clusters: int = 6
) -> RecData:
    """Courses, learners and held-out enrollments, inserted in conn's transaction."""
    rng = random.Random(seed)
    teacher = conn.execute(
        """
        insert into auth.users (id, aud, role, email, email_confirmed_at, raw_user_meta_data)
        values (gen_random_uuid(), 'authenticated', 'authenticated', %s, now(),
                jsonb_build_object('username', %s::text))
        returning id::text
        """,
        (f"rec-teacher-{seed}@example.test", f"rec_teacher_{seed}"),
    ).fetchone()["id"]
    course_ids: list[str] = []
    by_cluster: dict[int, list[str]] = {c: [] for c in range(clusters)}
    for i in range(courses):
        cluster = i % clusters
        row = conn.execute(
            """
            insert into learning.courses (slug, title, summary, level, tags, status,
                                          published_at, created_by)
            values (%s, %s, 'Generated', %s::learning.course_level, %s, 'published', now(), %s)
            returning id::text
            """,
            (
                f"rec-{seed}-{i}",
                f"Course {i} on {TOPICS[cluster % len(TOPICS)]}",
                LEVELS[i % 3],
                [TOPICS[cluster % len(TOPICS)], f"cluster-{cluster}"],
                teacher,
            ),
        ).fetchone()
        course_ids.append(row["id"])
        by_cluster[cluster].append(row["id"])
    popular = course_ids[:]
    rng.shuffle(popular)
    user_ids = [
        r["id"]
        for r in conn.execute(
            """
            insert into auth.users (id, aud, role, email, email_confirmed_at, raw_user_meta_data)
            select gen_random_uuid(), 'authenticated', 'authenticated',
                   'rec' || %s::text || '-' || g || '@example.test', now(),
                   jsonb_build_object('username', 'rec' || %s::text || '_' || g)
            from generate_series(1, %s) as g
            returning id::text
            """,
            (seed, seed, users),
        ).fetchall()
    ]
    taken: dict[str, list[str]] = {}
    held_out: dict[str, str] = {}
    rows = []
    for user in user_ids:
        own = by_cluster[rng.randrange(clusters)]
        chosen: list[str] = []
        for _ in range(rng.randint(4, 7)):
            pool = own if rng.random() < 0.85 else popular
            pick = _zipf(rng, pool)
            if pick not in chosen:
                chosen.append(pick)
        if len(chosen) < 2:
            continue
        held = chosen.pop(rng.randrange(len(chosen)))
        taken[user], held_out[user] = chosen, held
        rows += [(user, c) for c in chosen]
    with conn.cursor() as cur:
        cur.executemany(
            "insert into learning.enrollments (user_id, course_id, status, completed_at)"
            " values (%s, %s, 'completed', now())",
            rows,
        )
    return RecData(course_ids, list(taken), taken, held_out)


def recommend_as(conn, user: str, kind: str = "course", limit: int = 10) -> list[dict]:
    """api.ai_recommend as the user (a PostgREST-style request context), in a savepoint."""
    with conn.transaction(), as_caller(conn, {"role": "authenticated", "sub": user}):
        return conn.execute("select * from api.ai_recommend(%s, %s)", (kind, limit)).fetchall()


def evaluate_recommender(conn, data: RecData, k: int = 10) -> RecReport:
    conn.execute("select private.ai_refresh_recommendations()")
    counts = Counter(c for courses in data.taken.values() for c in courses)
    ranking = [c for c, _ in counts.most_common()] + [c for c in data.courses if c not in counts]
    hits = base_hits = 0
    seen: set[str] = set()
    base_seen: set[str] = set()
    for user in data.users:
        recs = [str(r["item_id"]) for r in recommend_as(conn, user, "course", k)]
        seen.update(recs)
        hits += data.held_out[user] in recs
        mine = set(data.taken[user])
        base = [c for c in ranking if c not in mine][:k]
        base_seen.update(base)
        base_hits += data.held_out[user] in base
    n = len(data.users)
    return RecReport(
        users=n,
        courses=len(data.courses),
        hit_rate=hits / n,
        coverage=len(seen) / len(data.courses),
        baseline_hit_rate=base_hits / n,
        baseline_coverage=len(base_seen) / len(data.courses),
    )


SAMPLE = (
    "SQL injection lets an attacker change the queries an application sends to its database. "
    "Parameterised queries keep user input out of the SQL text. Stored procedures help only "
    "when they do not build SQL from strings. Input validation is a second line of defence. "
) * 4


def measure(bench: Bench, admin_url: str, scale: float) -> None:
    """The AI features' operations on an already migrated database (admin_url)."""
    users = max(200, int(3_000 * scale))
    courses = max(40, int(400 * scale))
    with connect(admin_url) as conn:
        data = generate_recommendation_data(conn, seed=11, courses=courses, users=users)
        conn.commit()
        conn.execute("analyze")

        # The refresh is a schedule, not a request: its duration is a report line, not a
        # p95 row (worst_p95_ms is about what callers wait for).
        start = time.perf_counter()
        conn.execute("select private.ai_refresh_recommendations()")
        conn.commit()
        bench.add_line(
            f"ai.refresh_recommendations (schedule): {(time.perf_counter() - start) * 1000:.0f} ms"
            f" for {users} generated learners, {courses} courses and the run's other data"
        )
        sample = data.users[: min(len(data.users), 400)]
        bench.measure(
            "ai_recommend(course)",
            lambda i: recommend_as(conn, sample[i % len(sample)]),
            calls=300,
            note="as the learner, top 10 (target p95 <= 20 ms)",
        )
        bench.measure(
            "ai_recommend(lesson)",
            lambda i: recommend_as(conn, sample[i % len(sample)], "lesson"),
            calls=100,
            note="skill gaps",
        )
        report = evaluate_recommender(conn, data)
        conn.rollback()
    bench.add_line(report.line())
    bench.add_line(evaluate_sentiment().line())
    bench.measure("nlp.sentiment", lambda i: sentiment(SAMPLE[i % 50 :]), calls=200)
    bench.measure("nlp.moderation_local", lambda i: score_moderation(SAMPLE[i % 50 :]), calls=200)
    bench.measure("nlp.keywords", lambda i: keywords(SAMPLE[i % 50 :]), calls=50)
    bench.measure("nlp.summarize", lambda i: summarize(SAMPLE[i % 50 :]), calls=50)
    bench.measure("nlp.language", lambda i: detect_language(SAMPLE[i % 50 :]), calls=50)


def run(bench: Bench, scale: float) -> None:
    admin_url, _ = bench.database()
    measure(bench, admin_url, scale)
