"""CTF benchmark: submit (correct / incorrect), scoreboard top 100, team page, challenge list,
concurrent submission throughput (from Python threads, and from pgbench), and scoreboard reads
at 10% vs 100% of the submissions.

Full scale (--scale 1): 20,000 players in 6,000 teams, 400 challenges, 2,000,000 submissions
(10% correct, i.e. ~200,000 solves). Data is generated set-based in SQL; standings are built
by the same full recompute the organiser RPC uses, then kept incrementally by the measured
calls.
"""

from __future__ import annotations

import os
import random
import re
import statistics
import subprocess
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from psycopg import sql

from flagship import migrate
from flagship.bench.runner import Bench, explain_uses_index, start_service, stop_process
from flagship.database import as_caller, connect
from flagship.embedded import binary
from flagship.testing.harness import with_database
from flagship.testing.servers import free_port

SCORINGS = ["static", "linear", "logarithmic", "rctf"]


def script(conn, sql: str, params: dict) -> None:
    """Run several statements (separated by `;` at line ends) with shared named parameters."""
    for statement in sql.split(";\n"):
        if statement.strip():
            conn.execute(statement, params)


def generate_base(conn, players: int, teams: int, challenges: int) -> str:
    conn.execute(
        """
        insert into auth.users (id, aud, role, email, email_confirmed_at, raw_user_meta_data)
        select gen_random_uuid(), 'authenticated', 'authenticated',
               'ctf' || g || '@example.test', now(),
               jsonb_build_object('username', 'p' || g)
        from generate_series(1, %s) as g
        """,
        (players,),
    )
    event = conn.execute(
        """
        insert into ctf.events (slug, title, mode, starts_at, ends_at, wrong_per_minute)
        values ('bench', 'Bench CTF', 'teams', now() - interval '2 days',
                now() + interval '2 days', 1000)
        returning id
        """
    ).fetchone()["id"]
    conn.execute(
        """
        insert into ctf.teams (event_id, name, captain_id)
        select %s, 'team ' || g, null from generate_series(1, %s) as g
        """,
        (event, teams),
    )
    # player k joins team (k mod teams): ~players/teams members each
    conn.execute(
        """
        with t as (select id, row_number() over (order by id) - 1 as n from ctf.teams
                   where event_id = %(e)s),
             u as (select id, row_number() over (order by id) - 1 as n from auth.users)
        insert into ctf.participants (event_id, user_id, team_id, joined_at)
        select %(e)s, u.id, t.id, now() - interval '2 days'
        from u join t on t.n = u.n %% %(teams)s
        """,
        {"e": event, "teams": teams},
    )
    conn.execute(
        """
        update ctf.teams as t set captain_id = (
            select p.user_id from ctf.participants as p where p.team_id = t.id limit 1)
        where t.event_id = %s
        """,
        (event,),
    )
    # challenges: a quarter of each scoring kind; dynamic ones decay over 50-500 solves
    conn.execute(
        """
        insert into ctf.challenges (event_id, title, category, state, scoring, initial,
                                    minimum, decay, first_blood_bonus, position)
        select %(e)s, 'challenge ' || g, (array['web','pwn','crypto','rev','misc'])[1 + g %% 5],
               'visible', (%(s)s::ctf.scoring[])[1 + g %% 4], 500, 50,
               case when g %% 4 = 3 then 6000 else 50 + (g * 37) %% 450 end,
               '{1.05,1.03,1.01}', g
        from generate_series(1, %(n)s) as g
        """,
        {"e": event, "n": challenges, "s": SCORINGS},
    )
    script(
        conn,
        """
        insert into ctf.challenge_contents (challenge_id, event_id, description)
        select id, event_id, 'Find the flag of ' || title from ctf.challenges
        where event_id = %(e)s;
        insert into ctf.flags (challenge_id, kind, digest)
        select id, 'static', sha256(convert_to('flag{' || title || '}', 'UTF8'))
        from ctf.challenges where event_id = %(e)s;
        insert into ctf.standings (event_id, team_id)
        select event_id, id from ctf.teams where event_id = %(e)s;
        """,
        {"e": event},
    )
    return str(event)


def generate_submissions(conn, event: str, count: int, offset: int) -> None:
    """`count` submissions (10% correct: those become solves) spread over the event."""
    script(
        conn,
        """
        create temporary table if not exists bench_ids as
        select
            array(select id from ctf.challenges where event_id = %(e)s order by position) as ch,
            array(select user_id from ctf.participants where event_id = %(e)s
                  order by user_id) as us;
        insert into ctf.submissions (event_id, challenge_id, team_id, user_id, result, correct,
                                     submitted_at)
        select %(e)s, x.ch, p.team_id, x.us,
               case when x.ok then 'correct' else 'incorrect' end, x.ok,
               now() - interval '2 days' + (x.g %% 170000) * interval '1 second'
        from (
            select g,
                   -- popular challenges first: a skewed pick
                   b.ch[1 + floor(power(random(), 2) * cardinality(b.ch))::int] as ch,
                   b.us[1 + ((g::bigint * 7919) %% cardinality(b.us))::int] as us,
                   g %% 10 = 0 as ok
            from bench_ids as b, generate_series(%(o)s + 1, %(o)s + %(n)s) as g
        ) as x
        join ctf.participants as p on p.event_id = %(e)s and p.user_id = x.us;
        insert into ctf.solves (event_id, challenge_id, team_id, user_id, solved_at)
        select distinct on (s.challenge_id, s.team_id) s.event_id, s.challenge_id, s.team_id,
               s.user_id, s.submitted_at
        from ctf.submissions as s
        where s.event_id = %(e)s and s.correct and s.id > (
            select coalesce(max(id), 0) - %(n)s from ctf.submissions)
        order by s.challenge_id, s.team_id, s.submitted_at
        on conflict (challenge_id, team_id) do nothing;
        update ctf.solves as s set blood_rank = r.rn
        from (select id, row_number() over (partition by challenge_id
                                            order by solved_at, id) as rn
              from ctf.solves where event_id = %(e)s) as r
        where s.id = r.id and s.blood_rank is distinct from r.rn;
        """,
        {"e": event, "n": count, "o": offset},
    )
    conn.execute("select private.ctf_recompute_event(%s)", (event,))
    conn.commit()
    # vacuum so that autovacuum does not wake up in the middle of the measurements
    conn.autocommit = True
    conn.execute("vacuum (analyze) ctf.submissions, ctf.solves, ctf.standings, ctf.challenges")
    conn.autocommit = False


def dataset_name(scale: float) -> str:
    """The kept copy of the generated dataset of a scale (it records its own migrations)."""
    return f"bench_ctf_data_{int(scale * 1000)}"


def _drop(conn, name: str) -> None:
    conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def from_kept(bench: Bench, scale: float) -> str | None:
    """The run's database cloned from the kept dataset (a file copy) and brought up to date,
    or None when none is kept or a migration it applied has changed since (then it is
    dropped and the data is generated again)."""
    name = dataset_name(scale)
    with connect(bench.admin_url, autocommit=True) as conn:
        if not conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone():
            return None
        # the application database belongs to `postgres`, as on Supabase (sql/platform)
        conn.execute(
            sql.SQL("create database {} owner postgres template {}").format(
                sql.Identifier(bench.dbname), sql.Identifier(name)
            )
        )
    admin = with_database(bench.admin_url, bench.dbname)
    local = {m.version: m.sql for m in migrate.migrations()}
    with connect(admin, autocommit=True) as conn:
        applied = conn.execute(
            "select version, statements[1] as sql from supabase_migrations.schema_migrations"
        ).fetchall()
    if any(local.get(r["version"]) != r["sql"] for r in applied):
        with connect(bench.admin_url, autocommit=True) as conn:
            _drop(conn, bench.dbname)
            _drop(conn, name)
        return None
    migrate.migrate(with_database(bench.admin_url, bench.dbname, bench.app_user))
    return admin


def keep_dataset(bench: Bench, scale: float) -> None:
    """Keep the freshly generated dataset for the next runs."""
    with connect(bench.admin_url, autocommit=True) as conn:
        _drop(conn, dataset_name(scale))
        conn.execute(
            sql.SQL("create database {} template {}").format(
                sql.Identifier(dataset_name(scale)), sql.Identifier(bench.dbname)
            )
        )


class Settler:
    """What the worker does after each solve (ctf.solve → private.ctf_solve_delivered):
    settle the moved challenges and rebuild the out-of-date document, on its own connection,
    beside the measured calls (every 50 ms rather than after each solve)."""

    def __init__(self, url: str, event: str):
        self.url, self.event = url, event
        self.stop = threading.Event()
        self.samples_ms: list[float] = []
        self.rebuilds_ms: list[float] = []
        self.rows = 0
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=120)

    def _loop(self) -> None:
        with connect(self.url, autocommit=True) as conn:
            while not self.stop.is_set():
                moved = conn.execute(
                    "select id from ctf.challenges where event_id = %s and value <> scored_value",
                    (self.event,),
                ).fetchall()
                for r in moved:
                    t0 = time.perf_counter()
                    n = conn.execute(
                        "select private.ctf_settle_challenge(%s) as n", (r["id"],)
                    ).fetchone()["n"]
                    self.samples_ms.append((time.perf_counter() - t0) * 1000)
                    self.rows += n
                t0 = time.perf_counter()
                if conn.execute(
                    "select private.ctf_refresh_board(%s, false) as built", (self.event,)
                ).fetchone()["built"]:
                    self.rebuilds_ms.append((time.perf_counter() - t0) * 1000)
                self.stop.wait(0.05)

    def line(self) -> str:
        def p(data: list[float], q: float) -> str:
            return f"{sorted(data)[int(len(data) * q)]:.2f}"

        data, built = self.samples_ms, self.rebuilds_ms
        settles = (
            f"{len(data)} settles, {self.rows} stored rows moved, p50 {p(data, 0.5)} ms, "
            f"p95 {p(data, 0.95)} ms"
            if data
            else "nothing to settle"
        )
        rebuilds = (
            f"{len(built)} document rebuilds, p50 {p(built, 0.5)} ms, p95 {p(built, 0.95)} ms"
            if built
            else "no document rebuild"
        )
        return f"worker (off the request path): {settles}; {rebuilds}"


class LockSampler:
    """Samples pg_stat_activity every 10 ms: which waits the submitting backends are in."""

    def __init__(self, url: str):
        self.url = url
        self.stop = threading.Event()
        self.samples = 0
        self.waits: Counter = Counter()
        self.on: Counter = Counter()  # what the waiting locks are on
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=30)

    def _loop(self) -> None:
        with connect(self.url, autocommit=True) as conn:
            while not self.stop.is_set():
                rows = conn.execute(
                    "select wait_event_type, wait_event, state from pg_stat_activity"
                    " where datname = current_database() and pid <> pg_backend_pid()"
                    " and backend_type = 'client backend'"
                ).fetchall()
                self.samples += 1
                for r in rows:
                    if r["state"] == "active":
                        self.waits[f"{r['wait_event_type'] or 'CPU'}:{r['wait_event'] or '-'}"] += 1
                for r in conn.execute(
                    "select l.locktype, coalesce(l.relation::regclass::text,"
                    " l.classid::regclass::text, '') as rel"
                    " from pg_locks as l where not l.granted"
                ).fetchall():
                    self.on[f"{r['locktype']} {r['rel']}".strip()] += 1
                self.stop.wait(0.01)

    def line(self) -> str:
        total = sum(self.waits.values()) or 1
        top = ", ".join(f"{k} {100 * v / total:.0f}%" for k, v in self.waits.most_common(6))
        locks = sum(v for k, v in self.waits.items() if k.startswith("Lock:"))
        on_total = sum(self.on.values()) or 1
        on = ", ".join(f"{k} {100 * v / on_total:.0f}%" for k, v in self.on.most_common(5))
        return (
            f"active backends by wait ({self.samples} samples): {top}; "
            f"waiting on locks {100 * locks / total:.1f}%; ungranted locks on: {on}"
        )


# The gateway's request shape (gateway/rest/app.py): BEGIN, the caller's settings, the
# pre-request function and the call pipelined in one round trip over the extended protocol
# with prepared statements (psycopg prepares repeated statements), then COMMIT. The pair is
# read from the bench's input table inside the statements (the gateway has it as parameters).
PGBENCH_SUBMIT = """\\set k :client_id * {per} + :n + 1
\\set n :n + 1
\\startpipeline
begin;
select set_config('search_path', 'api, extensions', true),
 set_config('role', 'authenticated', true),
 set_config('request.jwt.claims',
   json_build_object('role', 'authenticated', 'sub', user_id)::text, true),
 set_config('request.method', 'POST', true),
 set_config('request.path', '/rpc/ctf_submit', true),
 set_config('request.headers', '{{}}', true),
 set_config('request.cookies', '{{}}', true)
 from public.bench_submit_pairs where k = :k;
select private.pre_request();
select api.ctf_submit(p.challenge_id, p.flag) from public.bench_submit_pairs as p where p.k = :k;
\\endpipeline
commit;
"""


def pgbench_submits(url: str, pairs: list, clients: int, per: int) -> float:
    """Submit `pairs` (90% made wrong) from `clients` pgbench connections, `per` each, every
    pair once; returns transactions per second."""
    local = random.Random(7)
    with connect(url, autocommit=True) as conn:
        conn.execute(
            "create table public.bench_submit_pairs"
            " (k int primary key, user_id uuid, challenge_id uuid, flag text)"
        )
        with conn.cursor().copy(
            "copy public.bench_submit_pairs (k, user_id, challenge_id, flag) from stdin"
        ) as copy:
            for k, (user, cid, flag) in enumerate(pairs, start=1):
                copy.write_row((k, user, cid, "flag{wrong}" if local.random() < 0.9 else flag))
        conn.execute("grant select on public.bench_submit_pairs to authenticated")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            script = Path(tmp) / "submit.sql"
            script.write_text(PGBENCH_SUBMIT.format(per=per))
            out = subprocess.run(
                [
                    binary("pgbench"),
                    "-n",
                    "-M",
                    "prepared",
                    "-c",
                    str(clients),
                    "-j",
                    "2",
                    "-t",
                    str(per),
                    "-D",
                    "n=0",
                    "-f",
                    str(script),
                    url,
                ],
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
        if out.returncode != 0 or "failed transactions: 0 " not in out.stdout:
            raise RuntimeError(f"pgbench failed: {out.stdout[-500:]} {out.stderr[-500:]}")
        return float(re.search(r"tps = ([0-9.]+)", out.stdout).group(1))
    finally:
        with connect(url, autocommit=True) as conn:
            conn.execute("drop table public.bench_submit_pairs")


class RealWorker:
    """`python -m sync` beside a run, as in production: it delivers the run's `ctf.solve`
    jobs (settle, rebuild the document, publish the top ten) and runs `ctf.refresh_boards`.
    Jobs of other topics left by the data generation (AI indexing) and the other schedules
    are deferred for a day first (on a fresh copy every hourly schedule is due, and
    `ai.refresh_recommendations` alone holds the worker's loop for 11 s at 20,000 users), so
    the worker spends the run on the solves. On exit: how many solves it delivered, the
    backlog when the load stopped, and how long it took to drain it."""

    def __init__(self, admin_url: str, app_url: str):
        self.admin_url, self.app_url = admin_url, app_url
        self.line_text = ""

    def _pending(self, conn) -> int:
        return conn.execute(
            "select count(*) as n from ops.outbox where topic like 'ctf.%' and status <> 'done'"
        ).fetchone()["n"]

    def _delivered(self, conn) -> int:
        return conn.execute(
            "select count(*) as n from ops.outbox where topic = 'ctf.solve' and status = 'done'"
        ).fetchone()["n"]

    def __enter__(self):
        with connect(self.admin_url, autocommit=True) as conn:
            conn.execute(
                "update ops.outbox set run_after = now() + interval '1 day'"
                " where status = 'pending' and topic not like 'ctf.%'"
            )
            conn.execute(
                "update ops.schedules set next_run_at = now() + interval '1 day'"
                " where name <> 'ctf.refresh_boards'"
            )
            self.before = self._delivered(conn)
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": self.app_url,
            "SYNC_LOG_LEVEL": "warning",
            "SYNC_PROBE_PORT": str(port),
        }
        self.process = start_service("sync", env, f"http://127.0.0.1:{port}/readyz", 60)
        return self

    def __exit__(self, *exc):
        try:
            with connect(self.admin_url, autocommit=True) as conn:
                backlog = self._pending(conn)
                t0 = time.perf_counter()
                while self._pending(conn) and time.perf_counter() - t0 < 120:
                    time.sleep(0.1)
                drained = time.perf_counter() - t0
                left = self._pending(conn)
                delivered = self._delivered(conn) - self.before
        finally:
            stop_process(self.process)
        self.line_text = (
            f"worker (python -m sync beside the run): {delivered} ctf.solve jobs delivered; "
            f"backlog when the load stopped {backlog}, drained in {drained:.1f}s"
            + (f" ({left} still pending after 120 s)" if left else "")
        )

    def line(self) -> str:
        return self.line_text


def run(bench: Bench, scale: float) -> None:
    players = max(300, int(20_000 * scale))
    teams = max(90, int(6_000 * scale))
    challenges = max(40, int(400 * scale))
    submissions = max(20_000, int(2_000_000 * scale))
    rng = random.Random(1)
    started = time.perf_counter()
    admin_url = from_kept(bench, scale)
    kept = admin_url is not None
    if not kept:
        admin_url, _ = bench.database()
    conn = connect(admin_url)
    with conn:
        conn.execute("set synchronous_commit = off")
        conn.commit()

        def call(sql_text, params=None, user=None):
            claims = {"role": "authenticated", "sub": user} if user else {"role": "anon"}
            # reset=False: the transaction commits right after, as behind the gateway
            with conn.transaction(), as_caller(conn, claims, reset=False):
                return conn.execute(sql_text, params).fetchall()

        def top100(i):
            call("select * from api.ctf_get_scoreboard(%s)", (event,))

        if not kept:
            event = generate_base(conn, players, teams, challenges)
            conn.commit()
            generate_submissions(conn, event, submissions // 10, 0)
            # every measured call is its own committed transaction, as an API request is
            conn.autocommit = True
            small = bench.measure("scoreboard top 100 (10% subs)", top100, calls=200)
            generate_submissions(conn, event, submissions - submissions // 10, submissions // 10)
            conn.close()
            keep_dataset(bench, scale)
            conn = connect(admin_url, autocommit=True)
            conn.execute("set synchronous_commit = off")
        conn.autocommit = True
        event = str(conn.execute("select id from ctf.events where slug = 'bench'").fetchone()["id"])
        users = [
            (str(r["user_id"]), str(r["team_id"]))
            for r in conn.execute(
                "select user_id, team_id from ctf.participants where event_id = %s", (event,)
            )
        ]

        def challenge_states():
            # "moving": a dynamic value not yet at its minimum, so a solve moves the value
            # (every earlier solver's exact score); "still": static, or already at the minimum
            return [
                (str(r["id"]), r["title"], "still" if r["still"] else "moving")
                for r in conn.execute(
                    "select id, title, scoring = 'static' or value <= minimum as still"
                    " from ctf.challenges where event_id = %s",
                    (event,),
                )
            ]

        chals = challenge_states()
        team_ids = list({t for _, t in users})
        counts = conn.execute(
            "select (select count(*) from ctf.submissions) as subs,"
            " (select count(*) from ctf.solves) as solves"
        ).fetchone()
        bench.add_line(
            f"data: {players} players, {teams} teams, {challenges} challenges, "
            f"{counts['subs']} submissions, {counts['solves']} solves "
            + (
                f"(a kept copy of the generated data, cloned in "
                f"{time.perf_counter() - started:.0f}s)"
                if kept
                else f"(generated in {time.perf_counter() - started:.0f}s)"
            )
        )
        full = bench.measure("scoreboard top 100", top100, calls=300)
        bench.measure(
            "scoreboard document (top 100)",
            lambda i: call("select api.ctf_get_scoreboard_document(%s)", (event,)),
            calls=300,
            note="what GET /rest/v1/rpc/ctf_get_scoreboard_document runs",
        )

        def in_database(sql_text):
            # the server's own execution time of the statement, as the caller
            times = []
            for _ in range(100):
                with conn.transaction(), as_caller(conn, {"role": "anon"}):
                    plan = conn.execute(
                        "explain (analyze, format json) " + sql_text, (event,)
                    ).fetchone()
                times.append(next(iter(plan.values()))[0]["Execution Time"])
            return statistics.median(times)

        bench.add_line(
            "in the database, p50 of 100 (explain analyze): top 100 "
            f"{in_database('select * from api.ctf_get_scoreboard(%s)'):.3f} ms, document "
            f"{in_database('select api.ctf_get_scoreboard_document(%s)'):.3f} ms"
        )
        if not kept:
            bench.add_line(
                f"scoreboard p50 at {submissions // 10} vs {counts['subs']} submissions: "
                f"{small.percentile(50):.3f} ms vs {full.percentile(50):.3f} ms"
            )
        settler = Settler(admin_url, event).__enter__()

        def wrong(i):
            user, _ = rng.choice(users)
            cid = rng.choice(chals)[0]
            call("select api.ctf_submit(%s, %s)", (cid, f"flag{{nope {i}}}"), user)

        bench.measure("submit incorrect", wrong, calls=500)

        chals = challenge_states()
        solved = {
            (str(r["challenge_id"]), str(r["team_id"]))
            for r in conn.execute("select challenge_id, team_id from ctf.solves")
        }

        def unsolved_pairs(kinds, n):
            out, used = [], set()
            while len(out) < n:
                user, team = rng.choice(users)
                cid, title, scoring = rng.choice(chals)
                if scoring in kinds and (cid, team) not in solved and (cid, team) not in used:
                    used.add((cid, team))
                    out.append((user, cid, f"flag{{{title}}}"))
            return out

        static_pairs = unsolved_pairs({"still"}, 400)
        moving_pairs = unsolved_pairs({"moving"}, 130)

        def correct_from(pairs):
            def fn(i):
                user, cid, flag = pairs[i]
                r = call("select api.ctf_submit(%s, %s) as r", (cid, flag), user)[0]["r"]
                assert r["status"] == "correct", r

            return fn

        bench.measure(
            "submit correct",
            correct_from(static_pairs),
            calls=390,
            warmup=10,
            note="value unchanged (static, or dynamic at its minimum)",
        )
        avg_solvers = conn.execute(
            "select avg(solve_count)::int as n from ctf.challenges"
            " where scoring <> 'static' and value > minimum"
        ).fetchone()["n"]
        bench.measure(
            "submit correct, value moves",
            correct_from(moving_pairs),
            calls=95,
            warmup=5,
            note=f"dynamic: ~{avg_solvers} earlier solvers, not re-scored in the solve",
        )

        def explained(pairs):
            # the server's own time and buffers of one committed submit, as the caller
            times, hits, reads = [], [], []
            for user, cid, flag in pairs:
                claims = {"role": "authenticated", "sub": user}
                with conn.transaction(), as_caller(conn, claims):
                    plan = conn.execute(
                        "explain (analyze, buffers, format json) select api.ctf_submit(%s, %s)",
                        (cid, flag),
                    ).fetchone()
                top = next(iter(plan.values()))[0]
                times.append(top["Execution Time"])
                hits.append(top["Plan"].get("Shared Hit Blocks", 0))
                reads.append(top["Plan"].get("Shared Read Blocks", 0))
            times.sort()
            p95 = times[int(len(times) * 0.95)]
            return (
                f"p50 {statistics.median(times):.2f} ms, p95 {p95:.2f} ms, buffers hit "
                f"{statistics.median(hits):.0f} read {statistics.median(reads):.0f}"
            )

        bench.add_line(
            "in the database (explain (analyze, buffers), before commit): submit correct, "
            f"value moves: {explained(moving_pairs[100:130])}; "
            f"incorrect: {explained([(u, c, 'flag{no}') for u, c, _ in moving_pairs[100:130]])}"
        )
        with conn.transaction():
            plan = conn.execute(
                "explain (analyze, buffers, format json)"
                " select * from private.ctf_live_top(%s, 100)",
                (event,),
            ).fetchone()
            top = next(iter(plan.values()))[0]
            moved = conn.execute(
                "select count(*) as n from ctf.challenges where event_id = %s"
                " and value <> scored_value",
                (event,),
            ).fetchone()["n"]
        bench.add_line(
            f"live top 100 in the database (a rebuild, or a read of an out-of-date document): "
            f"{top['Execution Time']:.2f}"
            f" ms, buffers hit {top['Plan'].get('Shared Hit Blocks', 0)}, {moved} challenges"
            " unsettled at that moment"
        )
        bench.measure(
            "team page",
            lambda i: call(
                "select api.ctf_get_team_page(%s)", (rng.choice(team_ids),), rng.choice(users)[0]
            ),
            calls=300,
        )
        bench.measure(
            "challenge list",
            lambda i: call(
                "select id, title, value, solved, locked from api.ctf_list_challenges(%s)",
                (event,),
                rng.choice(users)[0],
            ),
            calls=200,
            note=f"{challenges} challenges",
        )
        plan = explain_uses_index(
            conn,
            "select team_id from ctf.standings_stored where event_id = %s and ranked"
            " and last_score_at is not null order by score desc, last_score_at, team_id"
            " limit 100",
            (event,),
        )
        bench.add_line("top-100 plan: " + " / ".join(ln.strip() for ln in plan.splitlines()[:2]))
        conn.rollback()
        settler.__exit__(None, None, None)
        bench.add_line(settler.line())
        conn.close()

    # Throughput: 32 connections submitting at once (90% wrong, 10% correct).
    threads, per_thread = 32, max(20, int(150 * min(scale * 4, 1)))
    pairs = unsolved_pairs({"still", "moving"}, threads * per_thread)
    done, errors = [0], []
    lock = threading.Lock()
    barrier = threading.Barrier(threads + 1)

    def worker(k):
        local = random.Random(k)
        try:
            with connect(admin_url) as c:
                barrier.wait()
                for j in range(per_thread):
                    user, cid, flag = pairs[k * per_thread + j]
                    if local.random() < 0.9:
                        flag = "flag{wrong}"
                    claims = {"role": "authenticated", "sub": user}
                    # as the gateway runs a request: BEGIN, settings and call pipelined
                    with c.pipeline(), c.transaction(), as_caller(c, claims, reset=False):
                        c.execute("select api.ctf_submit(%s, %s)", (cid, flag))
                    with lock:
                        done[0] += 1
        except Exception as exc:  # reported below
            errors.append(repr(exc))

    workers = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    with Settler(admin_url, event) as settler, LockSampler(admin_url) as sampler:
        barrier.wait()
        t0 = time.perf_counter()
        for w in workers:
            w.join()
        elapsed = time.perf_counter() - t0
    bench.add_line(
        f"throughput: {done[0]} submissions from {threads} connections in {elapsed:.1f}s = "
        f"{done[0] / elapsed:.0f}/s (errors: {len(errors)}{' ' + errors[0] if errors else ''})"
    )
    bench.add_line(sampler.line())
    bench.add_line(settler.line())
    # The same mix driven by pgbench (C, libpq; the yardstick is pgbench's TPC-B-like
    # transaction at 32 clients): the Python threads above share the two cores with the server.
    # Three times as many as the Python run: a run of a few seconds is noisy on two cores.
    per_client = 3 * per_thread
    more = unsolved_pairs({"still", "moving"}, threads * per_client)
    app_url = with_database(bench.admin_url, bench.dbname, bench.app_user)
    with RealWorker(admin_url, app_url) as worker:
        rate = pgbench_submits(admin_url, more, threads, per_client)
    bench.add_line(
        f"throughput, pgbench driving the same mix: {threads * per_client} submissions from "
        f"{threads} connections = {rate:.0f}/s (each as the gateway sends a request: BEGIN, "
        "the caller's settings, the pre-request and api.ctf_submit pipelined, then COMMIT)"
    )
    bench.add_line(worker.line())
    with connect(admin_url) as conn:
        mismatches = conn.execute(
            "select jsonb_array_length(private.ctf_standings_mismatches(%s)) as n", (event,)
        ).fetchone()["n"]
        bench.add_line(f"standings == recompute after the run: {mismatches == 0}")
