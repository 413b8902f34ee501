-- ai: the assistant's conversations (per user, under RLS), the CTF hint context (what the
-- caller may read of a challenge: its description and the hints released to them), and the
-- output guard every answer passes before a word of it reaches the client.

-- Conversations ------------------------------------------------------------------------------
create table ai.conversations (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null references auth.users (id) on delete cascade,
    mode text not null default 'assistant' check (mode in ('assistant', 'ctf_hint')),
    challenge_id uuid references ctf.challenges (id) on delete set null,
    title text not null default '' check (char_length(title) <= 200),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    check ((mode = 'ctf_hint') = (challenge_id is not null) or challenge_id is null)
);
comment on table ai.conversations is
'Assistant conversations, one owner each. mode ctf_hint: Socratic hints for challenge_id.
Written by the edge through private.ai_open_conversation; owners read theirs.';
create index conversations_user_idx on ai.conversations (user_id, updated_at desc);
create index conversations_challenge_idx on ai.conversations (challenge_id);
alter table ai.conversations enable row level security;
create policy conversations_read on ai.conversations for select to authenticated
using (user_id = (select auth.uid()));
grant select on ai.conversations to authenticated, service_role;
create trigger conversations_touch before update on ai.conversations
for each row execute function private.touch_updated_at();

create table ai.messages (
    id bigint generated always as identity primary key,
    conversation_id uuid not null references ai.conversations (id) on delete cascade,
    user_id uuid not null references auth.users (id) on delete cascade,
    role text not null check (role in ('user', 'assistant')),
    content text not null check (char_length(content) <= 20000),
    citations jsonb not null default '[]' check (jsonb_typeof(citations) = 'array'),
    refused boolean not null default false,
    model text check (char_length(model) <= 100),
    created_at timestamptz not null default now()
);
comment on table ai.messages is
'Messages of a conversation (user_id = its owner, for the policy). citations: the sources an
answer used [{n, kind, source_id, title}], all retrieved as the owner. refused: the output
guard withheld the answer (content is then the refusal notice, never the withheld text).';
create index messages_conversation_idx on ai.messages (conversation_id, id);
create index messages_user_idx on ai.messages (user_id);
alter table ai.messages enable row level security;
create policy messages_read on ai.messages for select to authenticated
using (user_id = (select auth.uid()));
grant select on ai.messages to authenticated, service_role;

create function private.ai_open_conversation(
    p_conversation uuid, p_mode text, p_challenge uuid
) returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
    v_row ai.conversations;
begin
    if p_conversation is not null then
        select * into v_row from ai.conversations as c
        where c.id = p_conversation and c.user_id = v_uid;
        if v_row.id is null then
            perform private.raise_error('ai_conversation_not_found', 'No such conversation.',
                'PT404');
        end if;
        if v_row.mode <> p_mode or v_row.challenge_id is distinct from p_challenge then
            perform private.arg_error('mode', 'The conversation has another mode or challenge.');
        end if;
        return v_row.id;
    end if;
    if p_mode not in ('assistant', 'ctf_hint') then
        perform private.arg_error('mode', 'mode is assistant or ctf_hint.');
    end if;
    if (p_mode = 'ctf_hint') <> (p_challenge is not null) then
        perform private.arg_error('challenge_id', 'challenge_id is required in ctf_hint mode only.');
    end if;
    insert into ai.conversations (user_id, mode, challenge_id)
    values (v_uid, p_mode, p_challenge) returning id into v_row.id;
    return v_row.id;
end;
$$;
comment on function private.ai_open_conversation(uuid, text, uuid) is
'The caller''s conversation p_conversation (checked: theirs, same mode), or a new one.
Errors: not_authenticated, ai_conversation_not_found, invalid_argument.';
revoke execute on function private.ai_open_conversation(uuid, text, uuid) from public;
grant execute on function private.ai_open_conversation(uuid, text, uuid) to authenticated;

create function private.ai_add_message(
    p_conversation uuid, p_role text, p_content text, p_citations jsonb, p_refused boolean,
    p_model text
) returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
    v_id bigint;
begin
    if not exists (
        select 1 from ai.conversations as c where c.id = p_conversation and c.user_id = v_uid
    ) then
        perform private.raise_error('ai_conversation_not_found', 'No such conversation.', 'PT404');
    end if;
    insert into ai.messages (conversation_id, user_id, role, content, citations, refused, model)
    values (p_conversation, v_uid, p_role, left(p_content, 20000), coalesce(p_citations, '[]'),
        coalesce(p_refused, false), p_model)
    returning id into v_id;
    update ai.conversations as c
    set title = case when c.title = '' and p_role = 'user' then left(p_content, 80) else c.title end
    where c.id = p_conversation;
    return v_id;
end;
$$;
comment on function private.ai_add_message(uuid, text, text, jsonb, boolean, text) is
'Append a message to the caller''s own conversation (the first user message names it).';
revoke execute on function private.ai_add_message(uuid, text, text, jsonb, boolean, text)
from public;
grant execute on function private.ai_add_message(uuid, text, text, jsonb, boolean, text)
to authenticated;

create view api.ai_my_conversations with (security_invoker = true) as
select
    c.id,
    c.mode,
    c.challenge_id,
    c.title,
    c.created_at,
    c.updated_at
from ai.conversations as c
where
    (select private.key_may_read('api.ai_my_conversations'))
    and c.user_id = (select auth.uid());
comment on view api.ai_my_conversations is 'Your assistant conversations (newest by updated_at).';
grant select on api.ai_my_conversations to authenticated, service_role;

create view api.ai_my_messages with (security_invoker = true) as
select
    m.id,
    m.conversation_id,
    m.role,
    m.content,
    m.citations,
    m.refused,
    m.model,
    m.created_at
from ai.messages as m
where
    (select private.key_may_read('api.ai_my_messages'))
    and m.user_id = (select auth.uid());
comment on view api.ai_my_messages is
'Messages of your conversations, with the citations of each answer (filter by
conversation_id, order by id).';
grant select on api.ai_my_messages to authenticated, service_role;

create function api.ai_delete_conversation(p_conversation_id uuid) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
begin
    delete from ai.conversations as c where c.id = p_conversation_id and c.user_id = v_uid;
    if not found then
        perform private.raise_error('ai_conversation_not_found', 'No such conversation.', 'PT404');
    end if;
end;
$$;
comment on function api.ai_delete_conversation(uuid) is
'Delete one of your conversations and its messages. Errors: not_authenticated,
ai_conversation_not_found.';
revoke execute on function api.ai_delete_conversation(uuid) from public, anon;
grant execute on function api.ai_delete_conversation(uuid) to authenticated;

-- CTF hint mode: only what the caller may read ---------------------------------------------
create function private.ai_hint_context(p_challenge uuid) returns jsonb
language plpgsql stable
security invoker
set search_path = ''
as $$
declare
    v_out jsonb;
begin
    -- Invoker: ctf's own policies decide (released, event started, registered, prerequisites
    -- solved for the description; unlocked by the caller's team for each hint).
    select jsonb_build_object(
        'challenge_id', ch.id, 'title', ch.title, 'category', ch.category,
        'description', cc.description,
        'hints', coalesce((
            select jsonb_agg(jsonb_build_object('title', h.title, 'content', hc.content)
                order by h.position, h.id)
            from ctf.hints as h join ctf.hint_contents as hc on hc.hint_id = h.id
            where h.challenge_id = ch.id
        ), '[]'))
    into v_out
    from ctf.challenges as ch
    join ctf.challenge_contents as cc on cc.challenge_id = ch.id
    where ch.id = p_challenge;
    if v_out is null then
        perform private.raise_error('ctf_challenge_not_found', 'No such challenge.', 'PT404');
    end if;
    return v_out;
end;
$$;
comment on function private.ai_hint_context(uuid) is
'As the caller, under ctf''s RLS: the challenge''s public description and the hints released
to the caller (unlocked by their team), for the hint mode. Errors: ctf_challenge_not_found.';
revoke execute on function private.ai_hint_context(uuid) from public;
grant execute on function private.ai_hint_context(uuid) to authenticated;

-- The output guard ---------------------------------------------------------------------------
create function private.ai_output_candidates(p_text text) returns text[]
language sql immutable
set search_path = ''
as $$
    with t as (select left(coalesce(p_text, ''), 50000) as v),
    squeezed as (
        -- the same text without spacing or markup, so "f l a g { x }" or `flag{x}` match too
        select regexp_replace(t.v, '[[:space:]`*\u200b\u200c\u200d\ufeff]+', '', 'g') as v from t
    )
    select coalesce(array_agg(distinct c.v), '{}') from (
        select (regexp_matches(t.v, '[A-Za-z0-9_]{1,40}\{[^{}]{1,200}\}', 'g'))[1] as v from t
        union all
        select (regexp_matches(s.v, '[A-Za-z0-9_]{1,40}\{[^{}]{1,200}\}', 'g'))[1] from squeezed as s
        union all
        select btrim(w, '.,;:!?"''()[]<>`*') from t, regexp_split_to_table(t.v, '[[:space:]]+') as w
    ) as c
    where char_length(c.v) between 4 and 512
$$;
comment on function private.ai_output_candidates(text) is
'Every string of an answer that could be a flag: flag-shaped strings (also with spacing and
markup removed) and each word, 4 to 512 characters.';
revoke execute on function private.ai_output_candidates(text) from public;

create function private.ai_guard_output(p_text text) returns jsonb
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    v_uid uuid := (select auth.uid());
    v_candidates text[] := private.ai_output_candidates(p_text);
    v_digests bytea[];
    v_digests_ci bytea[];
    v_lower text := lower(regexp_replace(coalesce(p_text, ''), '[[:space:]]+', ' ', 'g'));
    v_reasons text[] := '{}';
begin
    select array_agg(sha256(convert_to(c, 'UTF8'))), array_agg(sha256(convert_to(lower(c), 'UTF8')))
    into v_digests, v_digests_ci
    from unnest(v_candidates) as c;
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
    -- explanations, case-insensitively unless the key says otherwise.
    if exists (
        select 1
        from learning.enrollments as e
        join learning.questions as q on q.course_id = e.course_id
        join learning.question_keys as k on k.question_id = q.id
        where e.user_id = v_uid and not private.learning_course_privileged(e.course_id)
          and (
            exists (
                select 1 from unnest(coalesce(k.accepted_answers, '{}')) as a
                where char_length(btrim(a)) >= 4 and case when k.case_sensitive
                    then position(btrim(a) in coalesce(p_text, '')) > 0
                    else position(lower(btrim(a)) in v_lower) > 0 end
            )
            or (char_length(k.explanation) >= 24 and position(
                lower(regexp_replace(btrim(k.explanation), '[[:space:]]+', ' ', 'g')) in v_lower
            ) > 0)
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
caller learns in. Never says which challenge or question.';
revoke execute on function private.ai_guard_output(text) from public;
grant execute on function private.ai_guard_output(text) to authenticated, service_role;

insert into ops.error_codes (code, sqlstate, http_status, description) values
(
    'ai_output_refused', 'PT403', 403,
    'The answer was withheld: it contained a flag of an unsolved challenge or answer-key text.'
);

insert into accounts.api_object_scopes (object, kind, access, scope) values
('api.ai_my_conversations', 'view', 'session', null),
('api.ai_my_messages', 'view', 'session', null),
('api.ai_delete_conversation', 'function', 'session', null);
