-- ai: the output guard also reads encoded secrets. A model that obeys an injection can be
-- told to hide a flag or an answer from a plain comparison: base64, hex, reversed, rot13,
-- URL-encoded, or with a separator between every character. private.ai_output_decodings
-- turns an answer into every such reading of it; the flag candidates and the answer-key
-- comparison of private.ai_guard_output run over all of them.

-- Bytes as text, never failing: printable ASCII as itself, other bytes as \ooo escapes (so a
-- decoding of garbage, or of a misaligned base64 run, is harmless text rather than an error).
create function private.ai_bytes_text(p_bytes bytea) returns text
language sql immutable
set search_path = ''
as $$
    select encode(p_bytes, 'escape')
$$;
comment on function private.ai_bytes_text(bytea) is
'Decoded bytes as text for the output guard: printable ASCII kept, other bytes escaped.
Never raises (unlike convert_from on bytes that are not UTF-8).';
revoke execute on function private.ai_bytes_text(bytea) from public;

-- %XX escapes of printable ASCII decoded (others kept as written).
create function private.ai_url_decoded(p_text text) returns text
language sql immutable
set search_path = ''
as $$
    select coalesce(string_agg(
        case
            when m.v[1] is not null and ('x' || lpad(m.v[1], 8, '0'))::bit(32)::int between 32 and 126
                then chr(('x' || lpad(m.v[1], 8, '0'))::bit(32)::int)
            when m.v[1] is not null then '%' || m.v[1]
            else m.v[2]
        end, '' order by m.n
    ), '')
    from regexp_matches(p_text, '%([0-9A-Fa-f]{2})|([^%]+|%)', 'g') with ordinality as m (v, n)
$$;
comment on function private.ai_url_decoded(text) is
'The text with URL escapes (%7B) of printable ASCII decoded. For the output guard.';
revoke execute on function private.ai_url_decoded(text) from public;

create function private.ai_output_decodings(p_text text) returns text[]
language sql immutable
set search_path = ''
as $$
    with t as (select left(coalesce(p_text, ''), 50000) as v),
    squeezed as (
        -- without spacing or markup, so "f l a g { x }" or `flag{x}` read as one word
        select regexp_replace(t.v, '[[:space:]`*\u200b\u200c\u200d\ufeff]+', '', 'g') as v from t
    ),
    plain as (
        select t.v from t
        union all
        select s.v from squeezed as s
    ),
    words as (
        -- runs that may be base64 or hex: whole words, and runs of the squeezed text
        select btrim(w.v, '.,;:!?"''()[]<>`*') as v
        from t, regexp_split_to_table(t.v, '[[:space:]]+') as w (v)
        union
        select (regexp_matches(s.v, '[A-Za-z0-9+/_=-]{8,}', 'g'))[1] from squeezed as s
    ),
    base64 as (
        -- base64 or base64url, with or without padding, from each of the 4 alignments (a
        -- run glued to the word before it still decodes)
        select private.ai_bytes_text(decode(case char_length(b.v) % 4
            when 1 then left(b.v, -1)
            else b.v || repeat('=', (4 - char_length(b.v) % 4) % 4)
        end, 'base64')) as v
        from (
            select substr(translate(rtrim(w.v, '='), '-_', '+/'), o) as v
            from words as w, generate_series(1, 4) as o
            where w.v ~ '^[A-Za-z0-9+/_-]{8,}={0,2}$'
        ) as b
        where char_length(b.v) >= 8
    ),
    hex as (
        -- hex digits, also written 0x66 0x6c, \x66\x6c or 66:6c:61
        select private.ai_bytes_text(decode(
            left(h.v, char_length(h.v) - char_length(h.v) % 2), 'hex'
        )) as v
        from (
            -- both alignments: a run glued to a word ending in a hex letter still decodes
            select substr(r.v, o) as v
            from (
                select (regexp_matches(
                    regexp_replace(s.v, '\\x|0x|[:,.-]', '', 'gi'), '[0-9A-Fa-f]{8,}', 'g'
                ))[1] as v
                from squeezed as s
            ) as r, generate_series(1, 2) as o
        ) as h
    ),
    spaced as (
        -- one separator between every character (f-l-a-g-{-x-}, f.l.a.g, "C.o. .S"): every
        -- other character of the run, so a flag that contains the separator survives (one
        -- pattern per separator: a back reference would make the scan slow)
        select regexp_replace(m.v[1], '(.).', '\1', 'g') as v
        from plain as p
        cross join unnest(array[
            '-', '.', '_', '|', ',', '/', ':', ';', '*', '+', '~', '\', '#', '=', '>', '<', '^',
            '&', '!', '?', '''', '"', '`', '@', '$', '%'
        ]) as sep (c)
        cross join lateral regexp_matches(p.v, '(?:.\' || sep.c || '){5,}.', 'g') as m (v)
        where strpos(p.v, sep.c) > 0
    )
    select array_agg(distinct d.v) from (
        select p.v from plain as p
        union all
        select reverse(p.v) from plain as p
        union all
        select translate(p.v, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz',
            'NOPQRSTUVWXYZABCDEFGHIJKLMnopqrstuvwxyzabcdefghijklm') from plain as p
        union all
        select private.ai_url_decoded(p.v) from plain as p where p.v ~ '%[0-9A-Fa-f]{2}'
        union all
        select b.v from base64 as b
        union all
        select h.v from hex as h
        union all
        select sp.v from spaced as sp
    ) as d
    where d.v <> ''
$$;
comment on function private.ai_output_decodings(text) is
'Every reading of an answer the output guard checks: the text, the text without spacing or
markup, each reversed, rot13, URL-decoded, base64 and hex runs decoded, and runs with one
separator between every character read without it.';
revoke execute on function private.ai_output_decodings(text) from public;

create function private.ai_output_candidates_in(p_readings text[]) returns text[]
language sql immutable
set search_path = ''
as $$
    with d as (select unnest(p_readings) as v)
    select coalesce(array_agg(distinct c.v), '{}') from (
        -- flag-shaped strings, and the same with any leading part of the prefix cut (in a
        -- decoding the flag may be glued to the word before it: "isflag{x}")
        select substr(m.v[1], o) || '{' || m.v[2] || '}' as v
        from d
        cross join lateral regexp_matches(
            d.v, '([A-Za-z0-9_]{1,40})\{([^{}]{1,200})\}', 'g'
        ) as m (v)
        cross join lateral generate_series(1, char_length(m.v[1])) as o
        where strpos(d.v, '{') > 0  -- no brace, no flag shape (and no regex scan)
        union all
        select btrim(w, '.,;:!?"''()[]<>`*') from d, regexp_split_to_table(d.v, '[[:space:]]+') as w
    ) as c
    where char_length(c.v) between 4 and 512
$$;
comment on function private.ai_output_candidates_in(text[]) is
'Every string of these readings of an answer that could be a flag: flag-shaped strings (also
without the start of their prefix) and each word, 4 to 512 characters.';
revoke execute on function private.ai_output_candidates_in(text[]) from public;

create or replace function private.ai_output_candidates(p_text text) returns text[]
language sql immutable
set search_path = ''
as $$
    select private.ai_output_candidates_in(private.ai_output_decodings(p_text))
$$;
comment on function private.ai_output_candidates(text) is
'Every string of an answer that could be a flag, in every reading of it
(private.ai_output_decodings; private.ai_output_candidates_in).';

create or replace function private.ai_guard_output(p_text text) returns jsonb
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    v_uid uuid := (select auth.uid());
    v_readings text[] := private.ai_output_decodings(p_text);
    v_candidates text[] := private.ai_output_candidates_in(v_readings);
    v_digests bytea[];
    v_digests_ci bytea[];
    -- every reading, its spacing normalised, as is and lower-cased (for answer keys)
    v_texts text[];
    v_lower text[];
    v_reasons text[] := '{}';
begin
    select array_agg(sha256(convert_to(c, 'UTF8'))), array_agg(sha256(convert_to(lower(c), 'UTF8')))
    into v_digests, v_digests_ci
    from unnest(v_candidates) as c;
    select array_agg(x.v), array_agg(lower(x.v)) into v_texts, v_lower
    from (
        select regexp_replace(d, '[[:space:]]+', ' ', 'g') as v
        from unnest(v_readings) as d
    ) as x;
    -- Flags of challenges the caller has not solved, matched as ctf_match_flags matches a
    -- submission: digests for static kinds, the anchored pattern, the per-team derived flag.
    if exists (
        select 1 from ctf.flags as f
        where not exists (
            select 1 from ctf.solves as s
            where s.challenge_id = f.challenge_id
              and s.team_id in (select t.id from private.ctf_my_teams() as t (id))
        )
        and (
            (f.kind = 'static' and f.digest = any(v_digests))
            or (f.kind = 'static_ci' and f.digest = any(v_digests_ci))
            or (f.kind = 'regex' and exists (
                select 1 from unnest(v_candidates) as c where c ~ ('^(?:' || f.pattern || ')$')))
            or (f.kind = 'team' and exists (
                select 1 from unnest(v_candidates) as c
                join ctf.challenges as ch on ch.id = f.challenge_id
                join ctf.teams as tm on tm.event_id = ch.event_id
                where c like replace(replace(f.template, '_', '\_'), '%s', '%')
                  and private.ctf_team_flag_text(f.secret, f.template, tm.id) = c))
        )
    ) then
        v_reasons := array_append(v_reasons, 'flag');
    end if;
    -- Answer keys of the courses the caller learns in (not teaches): accepted answers and
    -- explanations, case-insensitively unless the key says otherwise, in every reading.
    if exists (
        select 1
        from learning.enrollments as e
        join learning.questions as q on q.course_id = e.course_id
        join learning.question_keys as k on k.question_id = q.id
        where e.user_id = v_uid and not private.learning_course_privileged(e.course_id)
          and (
            exists (
                select 1 from unnest(coalesce(k.accepted_answers, '{}')) as a,
                    unnest(case when k.case_sensitive then v_texts else v_lower end) as x (v)
                where char_length(btrim(a)) >= 4 and position(
                    case when k.case_sensitive then btrim(a) else lower(btrim(a)) end in x.v
                ) > 0
            )
            or (char_length(k.explanation) >= 24 and exists (
                select 1 from unnest(v_lower) as x (v) where position(
                    lower(regexp_replace(btrim(k.explanation), '[[:space:]]+', ' ', 'g')) in x.v
                ) > 0
            ))
            -- spelt out one character at a time ("C o n t e n t"): the squeezed readings
            or exists (
                select 1
                from unnest(coalesce(k.accepted_answers, '{}') || k.explanation) as a,
                    lateral (select regexp_replace(lower(a), '[[:space:]]+', '', 'g') as v) as sa,
                    unnest(v_lower) as x (v)
                where char_length(sa.v) >= 8 and position(sa.v in x.v) > 0
            )
          )
    ) then
        v_reasons := array_append(v_reasons, 'answer_key');
    end if;
    return jsonb_build_object('refused', cardinality(v_reasons) > 0, 'reasons', to_jsonb(v_reasons));
end;
$$;
comment on function private.ai_guard_output(text) is
'May this text be shown to the caller? {refused, reasons}: refused when it contains a flag of
a challenge the caller has not solved (compared as submissions are: sha256 digests, anchored
patterns, per-team flags) or answer-key text (accepted answers, explanations) of a course the
caller learns in, in any reading of the text (private.ai_output_decodings: base64, hex,
reversed, rot13, URL-encoded, one separator between characters). Never says which challenge
or question.';
