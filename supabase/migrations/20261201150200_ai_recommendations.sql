-- ai: recommendations of next courses, challenges and lessons to review.
--
-- A schedule (ops.schedules 'ai.refresh_recommendations', hourly) recomputes, in SQL, each
-- item's neighbours: item-item co-occurrence (cosine over who took what: enrollments, with
-- completions counting double, and solves) and, where the retrieval index has vectors,
-- content similarity (cosine of the mean chunk embedding of each course or challenge), plus
-- popularity per level for the cold start. api.ai_recommend runs as the caller: candidates
-- are ranked from those tables (ids and scores only, through definer helpers), then joined to
-- the caller's own api views, so RLS decides — nothing the caller cannot open is returned.

create table ai.item_neighbours (
    kind text not null check (kind in ('course', 'challenge')),
    item_id uuid not null,
    other_id uuid not null,
    together int not null default 0 check (together >= 0),
    cooccurrence real not null default 0,
    similarity real not null default 0,
    primary key (kind, item_id, other_id),
    check (item_id <> other_id)
);
comment on table ai.item_neighbours is
'Per course or challenge, its nearest items: co-occurrence (cosine over learners/solvers,
together = how many took both) and content similarity (cosine of mean embeddings). Ids and
scores only; rebuilt by private.ai_refresh_recommendations. No client reads it.';
alter table ai.item_neighbours enable row level security;

create table ai.item_popularity (
    kind text not null check (kind in ('course', 'challenge')),
    item_id uuid not null,
    level int not null check (level between 1 and 5),
    users int not null check (users >= 0),
    primary key (kind, item_id)
);
comment on table ai.item_popularity is
'How many learners took each course (solvers solved each challenge), with its level (course
level beginner/intermediate/advanced as 1/3/5, challenge difficulty 1-5): the cold start.
Rebuilt by private.ai_refresh_recommendations. No client reads it.';
create index item_popularity_level_idx on ai.item_popularity (kind, level, users desc);
alter table ai.item_popularity enable row level security;

-- Refresh ------------------------------------------------------------------------------------
create function private.ai_course_level(p_level learning.course_level) returns int
language sql immutable
set search_path = ''
as $$
    select case p_level when 'beginner' then 1 when 'intermediate' then 3 else 5 end
$$;
comment on function private.ai_course_level(learning.course_level) is
'A course level on the 1-5 scale of challenge difficulty.';
revoke execute on function private.ai_course_level(learning.course_level) from public;
grant execute on function private.ai_course_level(learning.course_level) to authenticated,
service_role;

create function private.ai_refresh_recommendations() returns int
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_rows int;
begin
    delete from ai.item_neighbours;
    delete from ai.item_popularity;
    drop table if exists pg_temp.ai_taken;
    create temporary table pg_temp.ai_taken on commit drop as
    select 'course'::text as kind, e.user_id, e.course_id as item_id,
        case when e.completed_at is not null then 1.0 else 0.5 end as w
    from learning.enrollments as e
    where e.status in ('active', 'completed')
    union all
    select distinct on (s.user_id, s.challenge_id) 'challenge', s.user_id, s.challenge_id, 1.0
    from ctf.solves as s where s.user_id is not null;
    insert into ai.item_popularity (kind, item_id, level, users)
    select t.kind, t.item_id,
        coalesce(private.ai_course_level(c.level), ch.difficulty, 1), count(*)
    from pg_temp.ai_taken as t
    left join learning.courses as c on t.kind = 'course' and c.id = t.item_id
    left join ctf.challenges as ch on t.kind = 'challenge' and ch.id = t.item_id
    group by t.kind, t.item_id, c.level, ch.difficulty;
    -- Co-occurrence: cosine of the weighted user vectors of two items; 50 neighbours each.
    insert into ai.item_neighbours (kind, item_id, other_id, together, cooccurrence)
    select p.kind, p.a, p.b, p.together, p.score
    from (
        select a.kind, a.item_id as a, b.item_id as b, count(*)::int as together,
            (sum(a.w * b.w) / sqrt(na.n * nb.n))::real as score,
            row_number() over (
                partition by a.kind, a.item_id order by sum(a.w * b.w) / sqrt(na.n * nb.n) desc
            ) as rank
        from pg_temp.ai_taken as a
        inner join pg_temp.ai_taken as b
            on a.user_id = b.user_id and a.kind = b.kind and a.item_id <> b.item_id
        inner join (
            select t.kind, t.item_id, sum(t.w * t.w) as n from pg_temp.ai_taken as t
            group by t.kind, t.item_id
        ) as na on na.kind = a.kind and na.item_id = a.item_id
        inner join (
            select t.kind, t.item_id, sum(t.w * t.w) as n from pg_temp.ai_taken as t
            group by t.kind, t.item_id
        ) as nb on nb.kind = b.kind and nb.item_id = b.item_id
        group by a.kind, a.item_id, b.item_id, na.n, nb.n
    ) as p
    where p.rank <= 50;
    get diagnostics v_rows = row_count;
    if private.ai_has_vectors() then
        v_rows := v_rows + private.ai_refresh_similarity();
    end if;
    return v_rows;
end;
$$;
comment on function private.ai_refresh_recommendations() is
'Schedule: rebuild ai.item_popularity and ai.item_neighbours (co-occurrence, and content
similarity where the index has vectors). Returns the neighbour rows written.';
revoke execute on function private.ai_refresh_recommendations() from public;
grant execute on function private.ai_refresh_recommendations() to service_role;

create function private.ai_refresh_similarity() returns int
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_rows int;
begin
    -- Dynamic: the vector type exists only where pgvector does.
    execute $sql$
        with items as (
            select 'course'::text as kind, l.course_id as item_id,
                extensions.avg(ch.embedding) as centroid
            from ai.chunks as ch
            inner join learning.lessons as l
                on ch.source_kind = 'lesson' and l.id::text = ch.source_id
            where ch.embedding is not null
            group by l.course_id
            union all
            select 'challenge', c.id, extensions.avg(ch.embedding)
            from ai.chunks as ch
            inner join ctf.challenges as c
                on ch.source_kind = 'challenge' and c.id::text = ch.source_id
            where ch.embedding is not null
            group by c.id
        ),
        pairs as (
            select a.kind, a.item_id as a, b.item_id as b,
                (1 - (a.centroid operator(extensions.<=>) b.centroid))::real as sim,
                row_number() over (
                    partition by a.kind, a.item_id
                    order by a.centroid operator(extensions.<=>) b.centroid
                ) as rank
            from items as a
            inner join items as b on a.kind = b.kind and a.item_id <> b.item_id
        )
        insert into ai.item_neighbours as n (kind, item_id, other_id, similarity)
        select p.kind, p.a, p.b, greatest(p.sim, 0) from pairs as p
        where p.rank <= 20 and p.sim > 0
        on conflict (kind, item_id, other_id) do update set similarity = excluded.similarity
    $sql$;
    get diagnostics v_rows = row_count;
    return v_rows;
end;
$$;
comment on function private.ai_refresh_similarity() is
'Content similarity between courses (their lessons'' chunks) and between challenges (their
description chunks): cosine of mean embeddings, 20 nearest each. Only where pgvector is.';
revoke execute on function private.ai_refresh_similarity() from public;

insert into ops.schedules (name, function_name, every) values
('ai.refresh_recommendations', 'private.ai_refresh_recommendations()', '1 hour');

-- Candidates (ids and scores only) -----------------------------------------------------------
create function private.ai_neighbour_scores(p_kind text, p_seeds uuid[])
returns table (item_id uuid, cooccurrence real, similarity real)
language plpgsql stable
security definer
set search_path = ''
as $$
#variable_conflict use_column
begin
    return query
    select n.other_id, sum(n.cooccurrence)::real, max(n.similarity)::real
    from ai.item_neighbours as n
    where n.kind = p_kind and n.item_id = any(p_seeds) and not n.other_id = any(p_seeds)
    group by n.other_id;
end;
$$;
comment on function private.ai_neighbour_scores(text, uuid[]) is
'The neighbours of the seed items with their summed co-occurrence and best similarity: ids
and numbers only. api.ai_recommend joins them to the caller''s views, which decide access.';
revoke execute on function private.ai_neighbour_scores(text, uuid[]) from public;
grant execute on function private.ai_neighbour_scores(text, uuid[]) to authenticated;

create function private.ai_popular(p_kind text, p_level int, p_limit int)
returns table (item_id uuid, popularity real)
language plpgsql stable
security definer
set search_path = ''
as $$
#variable_conflict use_column
begin
    return query
    with ranked as (
        select p.item_id, p.users, abs(p.level - p_level) as distance
        from ai.item_popularity as p
        where p.kind = p_kind and p.level between p_level - 1 and p_level + 1
        order by abs(p.level - p_level), p.users desc
        limit p_limit
    )
    select r.item_id, ((r.users::real / greatest(max(r.users) over (), 1)) / (1 + r.distance))::real
    from ranked as r;
end;
$$;
comment on function private.ai_popular(text, int, int) is
'The most taken items at a level (and one level either side, ranked lower), popularity in
(0, 1]: the cold start of api.ai_recommend. Ids and numbers only.';
revoke execute on function private.ai_popular(text, int, int) from public;
grant execute on function private.ai_popular(text, int, int) to authenticated;

-- Ranking, as the caller --------------------------------------------------------------------
create function private.ai_recommend_courses(p_limit int)
returns table (kind text, item_id uuid, title text, score real, reasons text[])
language plpgsql stable
set search_path = ''
as $$
#variable_conflict use_column
begin
    return query
    with mine as (
        -- any status: a withdrawn course is not offered again either
        select e.course_id from learning.enrollments as e where e.user_id = (select auth.uid())
    ),
    seeds as (select coalesce(array_agg(m.course_id), '{}') as ids from mine as m),
    lvl as (
        select coalesce(round(avg(private.ai_course_level(c.level)))::int, 1) as v
        from learning.courses as c where c.id in (select m.course_id from mine as m)
    ),
    gaps as (
        -- skill gaps: the tags of courses where the caller failed a quiz
        select coalesce(array_agg(distinct t.tag), '{}') as tags
        from learning.quiz_results as r
        inner join learning.courses as c on r.course_id = c.id
        cross join lateral unnest(c.tags) as t (tag)
        where r.user_id = (select auth.uid()) and not r.passed and r.attempts_used > 0
    ),
    cand as (
        select n.item_id, n.cooccurrence, n.similarity, 0::real as popularity
        from seeds as s cross join lateral private.ai_neighbour_scores('course', s.ids) as n
        union all
        select p.item_id, 0, 0, p.popularity
        from lvl cross join lateral private.ai_popular('course', lvl.v, 50) as p
        union all
        select c.id, 0, 0, 0
        from gaps as g inner join learning.courses as c on c.tags && g.tags
        where c.status = 'published'
    ),
    scored as (
        select c.item_id, sum(c.cooccurrence) as co, max(c.similarity) as sim,
            max(c.popularity) as pop
        from cand as c group by c.item_id
    ),
    ranked as (
        select v.id, v.title, v.enrollment_count, s.co, s.sim, s.pop,
            cardinality(array(select unnest(v.tags) intersect select unnest(g.tags))) as gap
        from scored as s
        inner join api.learning_courses as v on s.item_id = v.id
        cross join gaps as g
        where
            v.status = 'published'
            and (v.price_tier <> 'pro' or private.user_has_entitlement((select auth.uid()), 'pro'))
            and v.id not in (select m.course_id from mine as m)
            and v.id not in (
                select t.course_id from learning.course_team as t
                where t.user_id = (select auth.uid())
            )
    )
    select 'course', r.id, r.title,
        (r.co + 0.5 * r.sim + 0.3 * r.gap + 0.05 * r.pop)::real as score,
        array_remove(array[
            case when r.co > 0 then 'similar_learners' end,
            case when r.sim > 0 then 'similar_content' end,
            case when r.gap > 0 then 'skill_gap' end,
            case when r.pop > 0 then 'popular_at_your_level' end
        ], null)
    from ranked as r
    order by score desc, r.enrollment_count desc, r.id
    limit p_limit;
end;
$$;
comment on function private.ai_recommend_courses(int) is
'api.ai_recommend for courses, as the caller: neighbours of the courses you took
(co-occurrence, content similarity), courses sharing tags with those where you failed a
quiz, popular courses at your level; only published courses you may see and open (pro ones
with the plan), never ones you took or teach.';
revoke execute on function private.ai_recommend_courses(int) from public;
grant execute on function private.ai_recommend_courses(int) to authenticated;

create function private.ai_recommend_challenges(p_limit int)
returns table (kind text, item_id uuid, title text, score real, reasons text[])
language plpgsql stable
set search_path = ''
as $$
#variable_conflict use_column
begin
    return query
    with mine as (
        select s.challenge_id from ctf.solves as s where s.user_id = (select auth.uid())
    ),
    team_solved as (
        select s.challenge_id from ctf.solves as s
        where s.team_id in (select private.ctf_my_teams())
    ),
    seeds as (select coalesce(array_agg(m.challenge_id), '{}') as ids from mine as m),
    lvl as (
        select coalesce(round(avg(c.difficulty))::int, 1) as v
        from ctf.challenges as c where c.id in (select m.challenge_id from mine as m)
    ),
    cand as (
        select n.item_id, n.cooccurrence, n.similarity, 0::real as popularity
        from seeds as s cross join lateral private.ai_neighbour_scores('challenge', s.ids) as n
        union all
        select p.item_id, 0, 0, p.popularity
        from lvl cross join lateral private.ai_popular('challenge', lvl.v, 50) as p
    ),
    scored as (
        select c.item_id, sum(c.cooccurrence) as co, max(c.similarity) as sim,
            max(c.popularity) as pop
        from cand as c group by c.item_id
    )
    select 'challenge', v.id, v.title,
        (s.co + 0.5 * s.sim + 0.05 * s.pop)::real as score,
        array_remove(array[
            case when s.co > 0 then 'similar_players' end,
            case when s.sim > 0 then 'similar_content' end,
            case when s.pop > 0 then 'popular_at_your_level' end
        ], null)
    from scored as s
    inner join api.ctf_challenges as v on s.item_id = v.id
    where
        v.state = 'visible' and not v.locked
        and v.id not in (select m.challenge_id from mine as m)
        and v.id not in (select t.challenge_id from team_solved as t)
    order by score desc, v.solve_count desc, v.id
    limit p_limit;
end;
$$;
comment on function private.ai_recommend_challenges(int) is
'api.ai_recommend for challenges, as the caller: neighbours of what you solved, popular at
your difficulty; only open challenges you may see (released, visible, prerequisites met),
never ones you or your team solved.';
revoke execute on function private.ai_recommend_challenges(int) from public;
grant execute on function private.ai_recommend_challenges(int) to authenticated;

create function private.ai_recommend_lessons(p_limit int)
returns table (kind text, item_id uuid, title text, score real, reasons text[])
language plpgsql stable
set search_path = ''
as $$
#variable_conflict use_column
begin
    return query
    select 'lesson', l.id, l.title,
        (1.0 / (1 + ql.position - l.position))::real as score, array['skill_gap']
    from learning.quiz_results as r
    inner join learning.quizzes as q on r.quiz_id = q.id
    inner join api.learning_course_lessons as ql on q.lesson_id = ql.id
    inner join api.learning_course_lessons as l
        on ql.module_id = l.module_id and l.position < ql.position and l.kind <> 'quiz'
    inner join api.learning_courses as c on l.course_id = c.id
    where
        r.user_id = (select auth.uid()) and not r.passed and r.attempts_used > 0
        and private.learning_is_enrolled(c.id)
        and (c.price_tier <> 'pro' or private.user_has_entitlement((select auth.uid()), 'pro'))
    order by score desc, l.id
    limit p_limit;
end;
$$;
comment on function private.ai_recommend_lessons(int) is
'api.ai_recommend for lessons: skill gaps, as the caller — the lessons before each quiz you
failed, in its module, nearest first; only of courses you are enrolled in and may open.';
revoke execute on function private.ai_recommend_lessons(int) from public;
grant execute on function private.ai_recommend_lessons(int) to authenticated;

create function api.ai_recommend(p_kind text default 'course', p_limit int default 10)
returns table (kind text, item_id uuid, title text, score real, reasons text[])
language plpgsql stable
set search_path = ''
as $$
begin
    perform private.require_user();
    if p_kind is null or p_kind not in ('course', 'challenge', 'lesson') then
        -- invoker: raise_error (arg_error is for definer functions only)
        perform private.raise_error('invalid_argument', 'p_kind is course, challenge or lesson.',
            '22023', jsonb_build_object('field', 'p_kind'));
    end if;
    if p_limit is null or p_limit not between 1 and 50 then
        perform private.raise_error('invalid_argument', 'p_limit is between 1 and 50.',
            '22023', jsonb_build_object('field', 'p_limit'));
    end if;
    if p_kind = 'course' then
        return query select * from private.ai_recommend_courses(p_limit);
    elsif p_kind = 'challenge' then
        return query select * from private.ai_recommend_challenges(p_limit);
    else
        return query select * from private.ai_recommend_lessons(p_limit);
    end if;
end;
$$;
comment on function api.ai_recommend(text, int) is
'What to take next, for the signed-in caller, best first: p_kind course (what similar
learners took, similar content, skill gaps from failed quizzes, popular at your level),
challenge (what similar players solved, popular at your difficulty) or lesson (the lessons
to review before a quiz you failed). Runs as the caller: only what you may see and open,
never what you already took or solved. reasons lists why. Errors: not_authenticated,
invalid_argument (p_kind, p_limit).';
revoke execute on function api.ai_recommend(text, int) from public, anon;
grant execute on function api.ai_recommend(text, int) to authenticated;

insert into accounts.api_object_scopes (object, kind, access, scope) values
('api.ai_recommend', 'function', 'scope', 'learning:courses:read');
