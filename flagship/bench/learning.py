"""Learning benchmark: catalog, course outline, lesson completion and quiz attempts.

Full scale (--scale 1): 2,000 courses (5 modules of 5 lessons each: 50,000 lessons, the last
one of each course a 10-question quiz), 100,000 learners enrolled in 4 courses each, and
2,000,000 lesson completions. Data is generated with set-based SQL; the timed calls run as
API callers (anon or an authenticated learner) exactly as PostgREST would run them.
"""

from __future__ import annotations

import json
import random

from flagship.bench.runner import Bench, explain_uses_index
from flagship.database import as_caller, connect

TAGS = ["web", "pwn", "crypto", "forensics", "reversing", "osint", "cloud", "network"]
WORDS = ["injection", "headers", "buffer", "overflow", "cipher", "forensic", "malware", "phishing"]
LESSONS_PER_MODULE = 5
MODULES_PER_COURSE = 5
QUESTIONS_PER_QUIZ = 10
COURSES_PER_LEARNER = 4


def generate(conn, courses: int, learners: int, completions: int) -> None:
    instructors = max(1, courses // 10)
    conn.execute(
        """
        insert into auth.users (id, aud, role, email, email_confirmed_at, raw_user_meta_data)
        select gen_random_uuid(), 'authenticated', 'authenticated',
               'lb' || g || '@example.test', now(),
               jsonb_build_object('username', 'lb' || g, 'display_name', 'Learner ' || g)
        from generate_series(1, %s) as g
        """,
        (learners + instructors,),
    )
    # Bulk load without per-row foreign-key triggers (the generator writes consistent rows).
    conn.execute("set session_replication_role = replica")
    conn.execute(
        """
        create temporary table bench_users as
        select id, row_number() over (order by email) as n from auth.users
        """
    )
    conn.execute(
        """
        insert into learning.courses (slug, title, summary, description, level, tags,
            estimated_hours, price_tier, status, published_at, created_by, search)
        select 'course-' || g, initcap((%(words)s::text[])[1 + g %% 8]) || ' course ' || g,
               'Summary of course ' || g,
               'Learn ' || (%(words)s::text[])[1 + (g * 7) %% 8] || ' and '
                   || (%(words)s::text[])[1 + (g * 3) %% 8],
               (array['beginner', 'intermediate', 'advanced'])[1 + g %% 3]::learning.course_level,
               array[(%(tags)s::text[])[1 + g %% 8], (%(tags)s::text[])[1 + (g / 8) %% 8]],
               1 + g %% 40, case when g %% 5 = 0 then 'pro' else 'free' end::learning.price_tier,
               'published', now() - (g %% 700) * interval '1 day',
               (select id from bench_users where n = 1 + g %% %(instructors)s), ''
        from generate_series(1, %(courses)s) as g
        """,
        {"words": WORDS, "tags": TAGS, "courses": courses, "instructors": instructors},
    )
    conn.execute(
        """
        update learning.courses set search =
            setweight(to_tsvector('english', title), 'A')
            || setweight(to_tsvector('english', array_to_string(tags, ' ')), 'B')
            || setweight(to_tsvector('english', summary), 'C')
            || setweight(to_tsvector('english', description), 'D')
        """
    )
    conn.execute(
        "insert into learning.course_team (course_id, user_id, role)"
        " select id, created_by, 'owner' from learning.courses"
    )
    conn.execute(
        """
        insert into learning.modules (course_id, position, title)
        select c.id, m, 'Module ' || m from learning.courses as c,
               generate_series(0, %s - 1) as m
        """,
        (MODULES_PER_COURSE,),
    )
    conn.execute(
        """
        insert into learning.lessons (course_id, module_id, position, title, kind,
                                      is_preview, duration_seconds)
        select m.course_id, m.id, p, 'Lesson ' || m.position || '.' || p,
               case when m.position = %(mods)s - 1 and p = %(per)s - 1 then 'quiz'
                    when p %% 2 = 1 then 'video' else 'article' end::learning.lesson_kind,
               m.position = 0 and p = 0, 600
        from learning.modules as m, generate_series(0, %(per)s - 1) as p
        """,
        {"mods": MODULES_PER_COURSE, "per": LESSONS_PER_MODULE},
    )
    conn.execute(
        "insert into learning.lesson_contents (lesson_id, body_md)"
        " select id, repeat('Lesson body text. ', 50) from learning.lessons"
    )
    conn.execute(
        """
        insert into learning.quizzes (course_id, lesson_id, passing_score, shuffle_questions)
        select course_id, id, 70, true from learning.lessons where kind = 'quiz'
        """
    )
    conn.execute(
        """
        insert into learning.questions (quiz_id, course_id, kind, prompt, points, position)
        select q.id, q.course_id, 'single_choice', 'Question ' || n, 1, n
        from learning.quizzes as q, generate_series(0, %s - 1) as n
        """,
        (QUESTIONS_PER_QUIZ,),
    )
    conn.execute(
        """
        insert into learning.question_options (question_id, position, label)
        select q.id, n, 'Option ' || n from learning.questions as q, generate_series(0, 3) as n
        """
    )
    conn.execute(
        """
        insert into learning.question_keys (question_id, correct_option_ids)
        select o.question_id, array[o.id] from learning.question_options as o where o.position = 0
        """
    )
    # Learner u enrolls in COURSES_PER_LEARNER courses; completions fill their first lessons.
    conn.execute(
        """
        create temporary table bench_courses as
        select id, row_number() over (order by slug) as n from learning.courses
        """
    )
    conn.execute(
        """
        insert into learning.enrollments (user_id, course_id, enrolled_at)
        select u.id, c.id, now() - ((u.n + k) %% 365) * interval '1 day'
        from bench_users as u
        cross join generate_series(0, %(k)s - 1) as k
        join bench_courses as c on c.n = 1 + (u.n * 7 + k * 13) %% %(courses)s
        where u.n > %(instructors)s
        on conflict do nothing
        """,
        {"k": COURSES_PER_LEARNER, "courses": courses, "instructors": instructors},
    )
    enrollments = conn.execute("select count(*) as n from learning.enrollments").fetchone()["n"]
    per_enrollment = max(1, min(20, round(completions / max(1, enrollments))))
    conn.execute(
        """
        create temporary table bench_lessons as
        select l.id, l.course_id,
               row_number() over (partition by l.course_id
                                  order by m.position, l.position) - 1 as k
        from learning.lessons as l join learning.modules as m on m.id = l.module_id
        """
    )
    conn.execute("create index on bench_lessons (course_id, k)")
    conn.execute(
        """
        insert into learning.lesson_progress (user_id, course_id, lesson_id, completed_at)
        select e.user_id, e.course_id, l.id, e.enrolled_at + l.k * interval '1 hour'
        from learning.enrollments as e
        join bench_lessons as l on l.course_id = e.course_id and l.k < %s
        """,
        (per_enrollment,),
    )
    conn.execute(
        """
        update learning.enrollments set lessons_completed = %s,
               progress_pct = round(100.0 * %s / %s, 2)
        """,
        (per_enrollment, per_enrollment, MODULES_PER_COURSE * LESSONS_PER_MODULE),
    )
    conn.execute(
        """
        update learning.courses as c set enrollment_count = x.n,
               rating_count = x.n / 10, rating_avg = 1 + (abs(hashtext(c.slug)) % 400) / 100.0
        from (select course_id, count(*) as n from learning.enrollments group by course_id) as x
        where x.course_id = c.id
        """
    )
    conn.execute("set session_replication_role = origin")
    conn.commit()
    conn.autocommit = True
    conn.execute("vacuum analyze")
    conn.autocommit = False


def run(bench: Bench, scale: float) -> None:
    courses = max(20, int(2_000 * scale))
    learners = max(200, int(100_000 * scale))
    completions = max(2_000, int(2_000_000 * scale))
    admin_url, _ = bench.database()
    rng = random.Random(3)
    with connect(admin_url) as conn:
        generate(conn, courses, learners, completions)
        sizes = conn.execute(
            """
            select (select count(*) from learning.courses) as courses,
                   (select count(*) from learning.lessons) as lessons,
                   (select count(*) from learning.enrollments) as enrollments,
                   (select count(*) from learning.lesson_progress) as completions,
                   (select count(*) from auth.users) as users
            """
        ).fetchone()
        conn.commit()
        bench.add_line(
            "data: {courses} courses, {lessons} lessons, {users} users, "
            "{enrollments} enrollments, {completions} lesson completions".format(**sizes)
        )
        # Learners with their enrolled courses, and the lessons they have not completed.
        enrolled = conn.execute(
            """
            select e.user_id::text as u, e.course_id::text as c,
                   (select array_agg(l.id::text order by l.id) from learning.lessons as l
                    where l.course_id = e.course_id and l.kind <> 'quiz'
                      and not exists (select 1 from learning.lesson_progress as p
                                      where p.user_id = e.user_id and p.course_id = e.course_id
                                        and p.lesson_id = l.id)) as todo,
                   (select q.id::text from learning.quizzes as q
                    where q.course_id = e.course_id) as quiz
            from learning.enrollments as e
            -- free courses: a generated learner holds no pro plan, and pro content follows
            -- the plan (private.user_has_entitlement)
            join learning.courses as fc on fc.id = e.course_id and fc.price_tier = 'free'
            order by md5(e.user_id::text || e.course_id::text)
            limit 1200
            """
        ).fetchall()
        conn.commit()

        def call(sql, params=None, user=None):
            claims = {"role": "authenticated", "sub": user} if user else {"role": "anon"}
            with conn.transaction(), as_caller(conn, claims):
                return conn.execute(sql, params).fetchall()

        def listing(i):
            sort = rng.choice(["newest", "popular", "rating"])
            kind = i % 4
            if kind == 0:
                call("select * from api.learning_list_courses(p_sort => %s)", (sort,))
            elif kind == 1:
                call(
                    "select * from api.learning_list_courses(p_tag => %s, p_level => 'beginner',"
                    " p_sort => %s)",
                    (rng.choice(TAGS), sort),
                )
            elif kind == 2:
                call(
                    "select * from api.learning_list_courses(p_query => %s, p_sort => %s)",
                    (rng.choice(WORDS), sort),
                )
            else:
                first = call(
                    "select * from api.learning_list_courses(p_sort => %s, p_tier => 'free')",
                    (sort,),
                )
                call(
                    "select * from api.learning_list_courses(p_sort => %s, p_tier => 'free',"
                    " p_cursor => %s)",
                    (sort, first[-1]["next_cursor"]),
                )

        bench.measure("list_courses (anon)", listing, calls=400, note="filters, text, paging")

        def outline(i):
            row = enrolled[i % len(enrolled)]
            call(
                "select api.learning_get_course_outline(p_course_id => %s)",
                (row["c"],),
                user=row["u"],
            )

        bench.measure("get_course_outline (enrolled)", outline, calls=400)
        bench.measure(
            "get_course_outline (anon)",
            lambda i: call(
                "select api.learning_get_course_outline(p_course_id => %s)",
                (enrolled[i % len(enrolled)]["c"],),
            ),
            calls=200,
        )

        todo = [(r["u"], lesson) for r in enrolled for lesson in (r["todo"] or [])[:2]]
        rng.shuffle(todo)

        def complete(i):
            user, lesson = todo[i % len(todo)]
            call("select api.learning_complete_lesson(%s)", (lesson,), user=user)

        bench.measure("complete_lesson", complete, calls=min(600, len(todo)), warmup=5)

        quizzes = [r for r in enrolled if r["quiz"]]
        started: list[tuple[str, dict]] = []

        def start(i):
            row = quizzes[i % len(quizzes)]
            attempt = call(
                "select api.learning_start_attempt(%s) as a", (row["quiz"],), user=row["u"]
            )
            started.append((row["u"], attempt[0]["a"]))

        bench.measure("start_attempt", start, calls=min(400, len(quizzes)), warmup=5)

        def submit(i):
            user, attempt = started[i % len(started)]
            answers = {q["id"]: rng.choice(q["options"])["id"] for q in attempt["questions"]}
            call(
                "select api.learning_submit_attempt(%s, %s::jsonb)",
                (attempt["id"], json.dumps(answers)),
                user=user,
            )

        bench.measure("submit_attempt", submit, calls=len(started), warmup=0)

        # How the hot queries run (plans of the statements inside the functions).
        plans = {
            "catalog newest": "select id from learning.courses where status = 'published'"
            " order by published_at desc, id desc limit 20",
            "catalog popular+tag": "select id from learning.courses where status = 'published'"
            " and tags @> array['web'] order by enrollment_count desc, id desc limit 20",
            "catalog text": "select id from learning.courses where status = 'published'"
            " and search @@ websearch_to_tsquery('english', 'buffer overflow') limit 20",
            "progress of a learner": "select count(*) from learning.lessons l left join"
            " learning.lesson_progress lp on lp.user_id = '{u}' and lp.course_id = '{c}'"
            " and lp.lesson_id = l.id where l.course_id = '{c}'".format(
                u=enrolled[0]["u"], c=enrolled[0]["c"]
            ),
        }
        for name, query in plans.items():
            plan = explain_uses_index(conn, query)
            used = sorted(
                {
                    w.strip("()")
                    for line in plan.splitlines()
                    for w in line.split()
                    if "_idx" in w or w.endswith("_pkey")
                }
            )
            bench.add_line(f"plan {name}: {', '.join(used) or 'NO INDEX'}")
        conn.rollback()
