-- ai: retrieval as the caller. Who may read a chunk is decided by its source's own rules:
-- the chunks_read policy joins back to the source row under the caller's RLS (challenge
-- contents, forum posts) or calls the learning rules (lesson bodies have no client grant).
-- api.ai_search (security invoker) fuses full-text and vector ranks (reciprocal rank
-- fusion); its candidates come from private.ai_candidates, which only narrows the search
-- to the containers the caller can reach (courses, events, categories) for speed, and the
-- final rows are read from ai.chunks under RLS, so the policy has the last word.

-- Lessons: the rule of api.learning_get_lesson -------------------------------------------
-- get_lesson keeps this rule inline (it also explains *why* a lesson is refused); this is
-- the same composition of the learning predicates as a boolean, and
-- tests/ai/test_ai_retrieval.py checks that the two agree for every role and lesson.
create function private.ai_lesson_readable(p_lesson uuid) returns boolean
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    v_lesson learning.lessons;
    v_course learning.courses;
    v_staff boolean;
    v_enrolled boolean;
begin
    select * into v_lesson from learning.lessons as l where l.id = p_lesson;
    if v_lesson.id is null then
        return false;
    end if;
    select * into v_course from learning.courses as c where c.id = v_lesson.course_id;
    v_staff := private.learning_course_privileged(v_course.id)
        or (select auth.role()) = 'service_role';
    v_enrolled := private.learning_is_enrolled(v_course.id);
    if not private.learning_course_visible_rule(v_course.status, v_staff, v_enrolled) then
        return false;
    end if;
    if not (v_lesson.is_preview and (v_course.status = 'published' or v_enrolled))
        and not private.learning_content_rule(v_course.status, v_course.price_tier, v_staff,
            v_enrolled) then
        return false;
    end if;
    return not (v_enrolled and not v_staff)
        or private.learning_lesson_lock((select auth.uid()), v_lesson.id) is null;
end;
$$;
comment on function private.ai_lesson_readable(uuid) is
'Would api.learning_get_lesson return this lesson''s body to the caller (course visible,
preview or content rule incl. the pro plan, not locked)? For the chunks policy.';
revoke execute on function private.ai_lesson_readable(uuid) from public;
grant execute on function private.ai_lesson_readable(uuid) to anon, authenticated, service_role;

create policy chunks_read on ai.chunks for select to anon, authenticated
using (
    case source_kind
        when 'doc' then true
        when 'lesson' then private.ai_lesson_readable(source_id::uuid)
        when 'challenge'
            then
                exists (
                    select 1 from ctf.challenge_contents as cc
                    where cc.challenge_id = chunks.source_id::uuid
                )
        when 'forum_post'
            then
                exists (
                    select 1 from community.posts as p where p.id = chunks.source_id::bigint
                )
        else false
    end
);

-- Candidates ------------------------------------------------------------------------------
create function private.ai_fts_ranked(
    p_q tsquery, p_model text, p_kinds text[], p_admin boolean, p_courses text[],
    p_events text[], p_categories text[], p_k int, p_reach text
) returns bigint[]
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    v_out bigint[];
begin
    execute format($sql$
        select coalesce(array_agg(f.id order by f.r), '{}') from (
            select c.id, row_number() over (order by ts_rank_cd(c.tsv, $1) desc, c.id) as r
            from ai.chunks as c
            where c.tsv @@ $1 and $2 is not null
              and ($3::text[] is null or c.source_kind = any($3)) and %s
            order by ts_rank_cd(c.tsv, $1) desc, c.id
            limit $8
        ) as f
    $sql$, p_reach) into v_out
    using p_q, p_model, p_kinds, p_admin, p_courses, p_events, p_categories, p_k;
    return v_out;
end;
$$;
comment on function private.ai_fts_ranked(
    tsquery, text, text[], boolean, text[], text[], text[], int, text
) is
'The p_k best full-text matches (ts_rank_cd) among chunks within reach (p_reach, the
expression private.ai_candidates builds). For ai_candidates only.';
revoke execute on function private.ai_fts_ranked(
    tsquery, text, text[], boolean, text[], text[], text[], int, text
) from public;

create function private.ai_candidates(
    p_query text, p_embedding real[], p_model text, p_kinds text[], p_limit int
) returns table (chunk_id bigint, fts_rank int, vector_rank int, score double precision)
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_uid uuid := (select auth.uid());
    v_admin boolean := private.jwt_has_permission('platform.admin');
    v_courses text[];
    v_events text[];
    v_categories text[];
    v_q tsquery;
    v_vec bigint[] := '{}';
    v_fts bigint[] := '{}';
    v_k int;
    -- Could the caller possibly read chunks of this container? A superset of chunks_read
    -- (which decides), written inline so the planner keeps it cheap: $4 admin, $5 course ids
    -- (enrolled or teaching), $6 events (registered or organising), $7 readable categories.
    v_reach constant text := $r$(case c.source_kind when 'doc' then true
        when 'lesson' then $4 or c.preview or c.scope_id = any($5)
        when 'challenge' then $4 or c.scope_id = any($6)
        when 'forum_post' then c.scope_id = any($7) else false end)$r$;
begin
    if coalesce(p_query, '') <> '' or p_embedding is null then
        perform private.arg_text(p_query, 2000, 'p_query');  -- required without a vector
    end if;
    if p_limit is null or p_limit not between 1 and 50 then
        perform private.arg_error('p_limit', 'p_limit is between 1 and 50.');
    end if;
    if p_embedding is not null and cardinality(p_embedding) <> 384 then
        perform private.arg_error('p_embedding', 'p_embedding has 384 dimensions.');
    end if;
    if p_kinds is not null and not p_kinds <@ array['lesson', 'challenge', 'forum_post', 'doc'] then
        perform private.arg_error('p_kinds', 'p_kinds: lesson, challenge, forum_post, doc.');
    end if;
    v_k := greatest(p_limit * 5, 40);
    select coalesce(array_agg(x.id), '{}') into v_courses from (
        select e.course_id::text as id from learning.enrollments as e
        where e.user_id = v_uid and private.learning_enrollment_is_live(e.status)
        union
        select t.course_id::text from learning.course_team as t where t.user_id = v_uid
    ) as x;
    select coalesce(array_agg(x.id), '{}') into v_events from (
        select p.event_id::text as id from ctf.participants as p where p.user_id = v_uid
        union
        select o.event_id::text from ctf.organisers as o where o.user_id = v_uid
    ) as x;
    v_categories := private.community_readable_categories()::text[];
    -- Every word (AND) first: few, precise matches; when they are too few, any of the words
    -- (OR), since a question rarely repeats every word of the passage it is answered by.
    v_q := nullif(plainto_tsquery('english', coalesce(p_query, ''))::text, '')::tsquery;
    if p_embedding is not null and private.ai_has_vectors() then
        perform set_config('hnsw.ef_search', v_k::text, true);
        perform set_config('hnsw.iterative_scan', 'relaxed_order', true);
        execute format($sql$
            select coalesce(array_agg(v.id order by v.distance), '{}') from (
                select c.id, c.embedding operator(extensions.<=>) $1::extensions.vector
                    as distance
                from ai.chunks as c
                where c.embedding is not null and c.embedding_model = $2
                  and ($3::text[] is null or c.source_kind = any($3)) and %s
                order by c.embedding operator(extensions.<=>) $1::extensions.vector
                limit $8
            ) as v
        $sql$, v_reach) into v_vec
        using p_embedding, p_model, p_kinds, v_admin, v_courses, v_events, v_categories, v_k;
    end if;
    if v_q is not null then
        v_fts := private.ai_fts_ranked(v_q, p_model, p_kinds, v_admin, v_courses, v_events,
            v_categories, v_k, v_reach);
        if cardinality(v_fts) < v_k / 4 and numnode(v_q) > 1 then
            v_fts := private.ai_fts_ranked(replace(v_q::text, ' & ', ' | ')::tsquery, p_model,
                p_kinds, v_admin, v_courses, v_events, v_categories, v_k, v_reach);
        end if;
    end if;
    return query
    select coalesce(f.id, v.id), f.r::int, v.r::int,
        (coalesce(1.0 / (60 + f.r), 0) + coalesce(1.0 / (60 + v.r), 0))::double precision
    from unnest(v_fts) with ordinality as f (id, r)
    full join unnest(v_vec) with ordinality as v (id, r) on v.id = f.id;
end;
$$;
comment on function private.ai_candidates(text, real[], text, text[], int) is
'Hybrid candidates for the caller: the k = max(5 x p_limit, 40) best full-text matches
and the k nearest vectors (where pgvector exists) among chunks the caller could reach,
fused by reciprocal rank (constant 60). Validates the arguments of api.ai_search. Returns
ids and ranks only; api.ai_search reads the rows under RLS.';
revoke execute on function private.ai_candidates(text, real[], text, text[], int) from public;
grant execute on function private.ai_candidates(text, real[], text, text[], int)
to anon, authenticated, service_role;

create function api.ai_search(
    p_query text, p_embedding real[] default null, p_model text default null,
    p_kinds text[] default null, p_limit int default 8
) returns table (
    chunk_id bigint, source_kind text, source_id text, title text, content text,
    score double precision, fts_rank int, vector_rank int
)
language plpgsql stable
security invoker
set search_path = ''
as $$
declare
    v_max int := least(greatest(p_limit, 1), 50);  -- p_limit itself is validated below
    v_found int := 0;
    k record;
begin
    -- Best candidates first; each row is read under RLS (chunks_read decides), and the scan
    -- stops once p_limit readable chunks are found, so the policy runs on few rows.
    for k in
        select x.chunk_id, x.fts_rank, x.vector_rank, x.score
        from private.ai_candidates(p_query, p_embedding,
            coalesce(p_model, 'all-MiniLM-L6-v2-onnx-int8'), p_kinds, p_limit) as x
        order by x.score desc, x.chunk_id
    loop
        return query
        select c.id, c.source_kind, c.source_id, c.title, c.content, k.score, k.fts_rank,
            k.vector_rank
        from ai.chunks as c where c.id = k.chunk_id;
        if found then
            v_found := v_found + 1;
            exit when v_found >= v_max;
        end if;
    end loop;
end;
$$;
comment on function api.ai_search(text, real[], text, text[], int) is
'Hybrid search of the AI index as the caller: full text (any of the words) and, with
p_embedding (384 floats from p_model, default the local all-MiniLM-L6-v2), vector
similarity, fused by reciprocal rank. Only chunks whose source you may read (the source''s
own rules decide). Errors: invalid_argument, text_too_long.';
revoke execute on function api.ai_search(text, real[], text, text[], int) from public;
grant execute on function api.ai_search(text, real[], text, text[], int)
to anon, authenticated, service_role;

insert into accounts.api_object_scopes (object, kind, access, scope) values
('api.ai_search', 'function', 'session', null);
