-- ai: bounded retrieval. Measured at 100k chunks (EXPLAIN (ANALYZE, BUFFERS), a learner):
-- the any-word fallback read up to 2,000 matches from the fat chunks table (4,168 heap
-- pages for three words) and ranked all of them; the fused read then ran one statement per
-- candidate under RLS, each starting the whole chunks_read policy plan again.
--
-- Now: the any-word arm takes, for each word, the chunks where that word weighs most from
-- ai.chunk_terms (postings ordered by impact: an index range scan of at most 2k entries per
-- word), ranks only those (ts_rank_cd of the any-word query, which is the sum of the
-- impacts), and api.ai_search reads the fused candidates under RLS in windows of
-- 2 x p_limit, one statement per window (the policy still decides every row it returns).

create table ai.chunk_terms (
    term text not null,
    impact real not null,
    chunk_id bigint not null
);
comment on table ai.chunk_terms is
'Postings of the retrieval index: one row per (lexeme of ai.chunks.tsv, chunk) with the
lexeme''s impact in that chunk (private.ai_term_impact: what ts_rank_cd gives the chunk for
that word alone; a title occurrence weighs 1, a content one 0.1). The primary key read
backwards lists a word''s chunks by impact, for the any-word arm of private.ai_candidates.
Kept by the statement triggers chunks_terms_* (rows of a changed or deleted chunk are found
by recomputing their impact). Read only by definer retrieval functions.';
alter table ai.chunk_terms enable row level security;
grant select on ai.chunk_terms to service_role;

create function private.ai_term_impact(p_weights text[]) returns real
language sql immutable
set search_path = ''
as $$
    select coalesce(sum(case w when 'A' then 1.0 when 'B' then 0.4 when 'C' then 0.2
        else 0.1 end), 0)::real
    from unnest(p_weights) as w
$$;
comment on function private.ai_term_impact(text[]) is
'Impact of a lexeme in a tsvector from the weights of its positions (ts_rank_cd''s default
weights {0.1, 0.2, 0.4, 1.0}): its rank for a one-word query, and its share of the rank for
an any-word query (each occurrence is a cover of its own).';
revoke execute on function private.ai_term_impact(text[]) from public;

-- One function per event: each sees only the transition tables its event has.
create function private.ai_chunk_terms_insert() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    insert into ai.chunk_terms (term, impact, chunk_id)
    select t.lexeme, private.ai_term_impact(t.weights), n.id
    from new_chunks as n cross join lateral unnest(n.tsv) as t
    on conflict do nothing;
    return null;
end;
$$;
comment on function private.ai_chunk_terms_insert() is
'Statement trigger on ai.chunks: postings of the inserted chunks.';
revoke execute on function private.ai_chunk_terms_insert() from public;

create function private.ai_chunk_terms_delete() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    delete from ai.chunk_terms as ct
    using old_chunks as o cross join lateral unnest(o.tsv) as t
    where ct.term = t.lexeme and ct.impact = private.ai_term_impact(t.weights)
      and ct.chunk_id = o.id;
    return null;
end;
$$;
comment on function private.ai_chunk_terms_delete() is
'Statement trigger on ai.chunks: the postings of deleted chunks go with them.';
revoke execute on function private.ai_chunk_terms_delete() from public;

create function private.ai_chunk_terms_update() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    -- only chunks whose text changed (the worker also updates embeddings in place)
    delete from ai.chunk_terms as ct
    using old_chunks as o
    join new_chunks as n on n.id = o.id
    cross join lateral unnest(o.tsv) as t
    where o.tsv is distinct from n.tsv
      and ct.term = t.lexeme and ct.impact = private.ai_term_impact(t.weights)
      and ct.chunk_id = o.id;
    insert into ai.chunk_terms (term, impact, chunk_id)
    select t.lexeme, private.ai_term_impact(t.weights), n.id
    from new_chunks as n
    join old_chunks as o on o.id = n.id
    cross join lateral unnest(n.tsv) as t
    where o.tsv is distinct from n.tsv
    on conflict do nothing;
    return null;
end;
$$;
comment on function private.ai_chunk_terms_update() is
'Statement trigger on ai.chunks: postings of chunks whose text changed (old out, new in).';
revoke execute on function private.ai_chunk_terms_update() from public;

-- Existing chunks first, then the triggers keep it.
insert into ai.chunk_terms (term, impact, chunk_id)
select
    t.lexeme,
    private.ai_term_impact(t.weights) as impact,
    c.id
from ai.chunks as c cross join lateral unnest(c.tsv) as t;
-- The key after the load: one sorted build instead of millions of random inserts.
alter table ai.chunk_terms add primary key (term, impact, chunk_id);
analyze ai.chunk_terms;

create trigger chunks_terms_insert after insert on ai.chunks
referencing new table as new_chunks
for each statement execute function private.ai_chunk_terms_insert();
create trigger chunks_terms_update after update on ai.chunks
referencing old table as old_chunks new table as new_chunks
for each statement execute function private.ai_chunk_terms_update();
create trigger chunks_terms_delete after delete on ai.chunks
referencing old table as old_chunks
for each statement execute function private.ai_chunk_terms_delete();


-- Candidates ------------------------------------------------------------------------------
create function private.ai_fts_any_ranked(
    p_terms text[], p_q tsquery, p_model text, p_kinds text[], p_admin boolean,
    p_courses text[], p_events text[], p_categories text[], p_k int, p_reach text
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
            from (
                -- per word, the 2k chunks it weighs most in (a backward range scan of the
                -- postings' primary key): at most 2k x words candidates, whatever the words
                select distinct w.chunk_id from unnest($9::text[]) as q (term)
                cross join lateral (
                    select ct.chunk_id from ai.chunk_terms as ct
                    where ct.term = q.term
                    order by ct.impact desc, ct.chunk_id desc
                    limit 2 * $8
                ) as w
            ) as x
            join ai.chunks as c on c.id = x.chunk_id
            where $2 is not null and ($3::text[] is null or c.source_kind = any($3)) and %s
            order by ts_rank_cd(c.tsv, $1) desc, c.id
            limit $8
        ) as f
    $sql$, p_reach) into v_out
    using p_q, p_model, p_kinds, p_admin, p_courses, p_events, p_categories, p_k, p_terms;
    return v_out;
end;
$$;
comment on function private.ai_fts_any_ranked(
    text[], tsquery, text, text[], boolean, text[], text[], text[], int, text
) is
'The any-word arm: the p_k best chunks within reach (p_reach) for p_q (the words of p_terms
joined by or) by ts_rank_cd, ranked among the 2 x p_k chunks each word weighs most in
(ai.chunk_terms). For ai_candidates only.';
revoke execute on function private.ai_fts_any_ranked(
    text[], tsquery, text, text[], boolean, text[], text[], text[], int, text
) from public;

create or replace function private.ai_candidates(
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
            v_fts := private.ai_fts_any_ranked(
                tsvector_to_array(to_tsvector('english', p_query)),
                replace(v_q::text, ' & ', ' | ')::tsquery, p_model, p_kinds, v_admin, v_courses,
                v_events, v_categories, v_k, v_reach);
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
(every word; when fewer than k/4, any word: private.ai_fts_any_ranked) and the k nearest
vectors (where pgvector exists) among chunks the caller could reach, fused by reciprocal
rank (constant 60). Validates the arguments of api.ai_search. Returns ids and ranks only;
api.ai_search reads the rows under RLS.';

create or replace function api.ai_search(
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
    v_window int := 2 * least(greatest(p_limit, 1), 50);
    v_ids bigint[];
    v_fts int[];
    v_vec int[];
    v_scores double precision[];
    v_from int := 1;
    v_found int := 0;
    v_n int;
begin
    select array_agg(x.chunk_id order by x.score desc, x.chunk_id),
        array_agg(x.fts_rank order by x.score desc, x.chunk_id),
        array_agg(x.vector_rank order by x.score desc, x.chunk_id),
        array_agg(x.score order by x.score desc, x.chunk_id)
    into v_ids, v_fts, v_vec, v_scores
    from private.ai_candidates(p_query, p_embedding,
        coalesce(p_model, 'all-MiniLM-L6-v2-onnx-int8'), p_kinds, p_limit) as x;
    -- Best candidates first, 2 x p_limit at a time, each window read under RLS in one
    -- statement (chunks_read decides every row), until p_limit readable chunks are found.
    while v_found < v_max and v_from <= coalesce(cardinality(v_ids), 0) loop
        return query
        select c.id, c.source_kind, c.source_id, c.title, c.content, k.score, k.fts, k.vec
        from unnest(
            v_ids[v_from:v_from + v_window - 1], v_fts[v_from:v_from + v_window - 1],
            v_vec[v_from:v_from + v_window - 1], v_scores[v_from:v_from + v_window - 1]
        ) with ordinality as k (id, fts, vec, score, n)
        join ai.chunks as c on c.id = k.id
        order by k.n
        limit v_max - v_found;
        get diagnostics v_n = row_count;
        v_found := v_found + v_n;
        v_from := v_from + v_window;
    end loop;
end;
$$;
comment on function api.ai_search(text, real[], text, text[], int) is
'Hybrid search of the AI index as the caller: full text (every word, else any of the words)
and, with p_embedding (384 floats from p_model, default the local all-MiniLM-L6-v2), vector
similarity, fused by reciprocal rank. Only chunks whose source you may read (the source''s
own rules decide). Errors: invalid_argument, text_too_long.';
