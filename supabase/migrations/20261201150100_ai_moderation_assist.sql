-- ai: moderation assist. New and edited forum posts and new private messages queue
-- `ai.moderation_requested`; the worker scores the text (OpenAI moderation when configured,
-- the local heuristics of ai/nlp/moderation.py otherwise) and records it through
-- private.ai_record_moderation. A score at or above the policy's threshold enters the
-- existing review queue as one weighted *system* flag (community.flags.source = 'system',
-- no flagger). The system never hides or deletes anything: a moderator decides, and the
-- weight (a third of the auto-hide threshold) alone never reaches the auto-hide threshold.

-- System flags in the flag pipeline ---------------------------------------------------------
alter table community.flags alter column flagger_id drop not null;
alter table community.flags add column source text not null default 'member'
check (source in ('member', 'system'));
alter table community.flags add constraint flags_flagger_source_check
check ((source = 'member') = (flagger_id is not null));
comment on column community.flags.source is
'member: raised by flagger_id through api.community_report; system: raised by moderation
assist (private.ai_system_flag), flagger_id null, its scores in the message.';
create unique index flags_system_item_idx on community.flags (review_item_id)
where source = 'system';

-- Scores ------------------------------------------------------------------------------------
create table ai.moderation_scores (
    id bigint generated always as identity primary key,
    target_type text not null check (target_type in ('post', 'message')),
    target_id bigint not null,
    score numeric(5, 4) not null check (score between 0 and 1),
    categories jsonb not null default '{}' check (jsonb_typeof(categories) = 'object'),
    top_category text,
    source text not null check (source in ('local', 'openai')),
    model text not null check (char_length(model) between 1 and 100),
    text_digest text not null check (char_length(text_digest) = 64),
    flagged boolean not null default false,
    review_item_id bigint references community.review_items (id) on delete set null,
    scored_at timestamptz not null default now(),
    unique (target_type, target_id)
);
comment on table ai.moderation_scores is
'The latest moderation-assist score of each post and message (0 = nothing to see, 1 =
almost surely abuse or spam), its categories and where it came from; flagged when it
reached the threshold and raised a system flag (review_item_id). Staff read it; message
rows carry scores only, never the text.';
create index moderation_scores_review_item_idx on ai.moderation_scores (review_item_id);
create index moderation_scores_flagged_idx on ai.moderation_scores (scored_at desc)
where flagged;
alter table ai.moderation_scores enable row level security;
create policy moderation_scores_read on ai.moderation_scores for select to authenticated
using ((select private.jwt_is_staff()));
grant select on ai.moderation_scores to authenticated, service_role;

create function private.ai_moderation_policy() returns jsonb
language sql immutable
set search_path = ''
as $$
    select '{"threshold": 0.6, "weight": 1.0}'::jsonb
$$;
comment on function private.ai_moderation_policy() is
'Moderation assist: the score at which content gets a system flag, and that flag''s weight
(community hide_threshold is 3.0, so a system flag alone never auto-hides).';
revoke execute on function private.ai_moderation_policy() from public;

-- Queueing ----------------------------------------------------------------------------------
create function private.ai_queue_moderation() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_type text := case tg_table_name when 'posts' then 'post' else 'message' end;
begin
    if new.deleted_at is not null or btrim(new.body) = '' then
        return null;
    end if;
    perform ops.enqueue('ai.moderation_requested',
        jsonb_build_object('target_type', v_type, 'target_id', new.id),
        v_type || ':' || new.id || ':' || encode(sha256(convert_to(new.body, 'UTF8')), 'hex'));
    return null;
end;
$$;
comment on function private.ai_queue_moderation() is
'Trigger: a post written or edited, or a message sent, queues ai.moderation_requested (once
per text).';
revoke execute on function private.ai_queue_moderation() from public;
create trigger posts_ai_moderation after insert or update of body on community.posts
for each row execute function private.ai_queue_moderation();
create trigger messages_ai_moderation after insert on community.messages
for each row execute function private.ai_queue_moderation();

-- Worker ------------------------------------------------------------------------------------
create function private.ai_moderation_text(p_type text, p_id bigint) returns text
language sql stable
set search_path = ''
as $$
    select case p_type
        when 'post' then (
            select p.body from community.posts as p where p.id = p_id and p.deleted_at is null
        )
        when 'message' then (
            select m.body from community.messages as m
            where m.id = p_id and m.deleted_at is null
        )
    end
$$;
comment on function private.ai_moderation_text(text, bigint) is
'Worker: the current text of a post or message to score (null when deleted or gone).';
revoke execute on function private.ai_moderation_text(text, bigint) from public;
grant execute on function private.ai_moderation_text(text, bigint) to service_role;

create function private.ai_system_flag(
    p_type text, p_id bigint, p_reason text, p_message text
) returns bigint
language plpgsql
set search_path = ''
as $$
declare
    v_author uuid;
    v_snapshot jsonb;
    v_weight numeric := (private.ai_moderation_policy() ->> 'weight')::numeric;
    v_item community.review_items;
begin
    if p_type = 'post' then
        select p.author_id, jsonb_build_object('body', p.body, 'thread_id', p.thread_id,
                                               'post_number', p.post_number)
        into v_author, v_snapshot
        from community.posts as p where p.id = p_id;
    else
        -- Staff do not read conversations: a message's snapshot names it, never its body.
        select m.sender_id, jsonb_build_object('conversation_id', m.conversation_id)
        into v_author, v_snapshot
        from community.messages as m where m.id = p_id;
    end if;
    if v_snapshot is null then
        return null;
    end if;
    select * into v_item from community.review_items as r
    where r.target_type = p_type and r.target_id = p_id::text and r.status = 'pending';
    if found and exists (
        select 1 from community.flags as f
        where f.review_item_id = v_item.id and f.source = 'system'
    ) then
        return v_item.id; -- one system flag per pending item (an edit is not a second flag)
    end if;
    insert into community.review_items as r (target_type, target_id, target_author_id,
                                             snapshot, total_weight, flag_count)
    values (p_type, p_id::text, v_author, v_snapshot, v_weight, 1)
    on conflict (target_type, target_id) where status = 'pending'
    do update set total_weight = r.total_weight + excluded.total_weight,
        flag_count = r.flag_count + 1, version = r.version + 1
    returning * into v_item;
    insert into community.flags (review_item_id, target_type, target_id, flagger_id, reason,
                                 message, weight, source)
    values (v_item.id, p_type, p_id::text, null, p_reason, left(p_message, 1000), v_weight,
            'system');
    insert into community.review_history (review_item_id, actor_id, action, to_status, version,
                                          note)
    values (v_item.id, null, 'flagged', 'pending', v_item.version, 'moderation assist: '
            || p_reason);
    perform private.audit('community.system_flagged', p_type, p_id::text,
        jsonb_build_object('review_item_id', v_item.id, 'weight', v_weight,
            'target_user_id', v_author), left(p_message, 500));
    return v_item.id;
end;
$$;
comment on function private.ai_system_flag(text, bigint, text, text) is
'Moderation assist: put a post or message in the review queue with one system flag (weight
from private.ai_moderation_policy, reason spam / abuse / other, the scores as its message).
Never hides or deletes; one system flag per pending review item. Returns the item id.';
revoke execute on function private.ai_system_flag(text, bigint, text, text) from public;

create function private.ai_record_moderation(
    p_type text, p_id bigint, p_result jsonb, p_digest text
) returns jsonb
language plpgsql
set search_path = ''
as $$
declare
    v_policy jsonb := private.ai_moderation_policy();
    v_score numeric := round((p_result ->> 'score')::numeric, 4);
    v_top text := nullif(p_result ->> 'top_category', '');
    v_flag boolean;
    v_reason text;
    v_item bigint;
    v_text text := private.ai_moderation_text(p_type, p_id);
begin
    if v_text is null or encode(sha256(convert_to(v_text, 'UTF8')), 'hex') <> p_digest then
        return jsonb_build_object('recorded', false); -- gone, or edited since
    end if;
    v_flag := v_score >= (v_policy ->> 'threshold')::numeric;
    if v_flag then
        v_reason := case
            when v_top in ('link_spam', 'repetition_spam', 'spam') then 'spam'
            when v_top in ('toxicity', 'negativity', 'harassment', 'harassment/threatening',
                           'hate', 'hate/threatening', 'violence', 'violence/graphic')
                then 'abuse'
            else 'other'
        end;
        v_item := private.ai_system_flag(p_type, p_id, v_reason, format(
            'Moderation assist (%s, %s): score %s, strongest signal %s.',
            p_result ->> 'source', p_result ->> 'model', v_score, coalesce(v_top, 'none')));
    end if;
    insert into ai.moderation_scores as s (target_type, target_id, score, categories,
        top_category, source, model, text_digest, flagged, review_item_id)
    values (p_type, p_id, v_score, coalesce(p_result -> 'categories', '{}'), v_top,
            p_result ->> 'source', p_result ->> 'model', p_digest, v_flag, v_item)
    on conflict (target_type, target_id) do update set
        score = excluded.score, categories = excluded.categories,
        top_category = excluded.top_category, source = excluded.source,
        model = excluded.model, text_digest = excluded.text_digest,
        flagged = s.flagged or excluded.flagged,
        review_item_id = coalesce(excluded.review_item_id, s.review_item_id),
        scored_at = now();
    return jsonb_build_object('recorded', true, 'flagged', v_flag, 'review_item_id', v_item);
end;
$$;
comment on function private.ai_record_moderation(text, bigint, jsonb, text) is
'Worker: keep the moderation score {score, categories, top_category, source, model} of a post
or message whose current text has the sha256 p_digest, and raise a system flag when the
score reaches the threshold. Returns {recorded, flagged, review_item_id}; idempotent.';
revoke execute on function private.ai_record_moderation(text, bigint, jsonb, text) from public;
grant execute on function private.ai_record_moderation(text, bigint, jsonb, text) to service_role;

-- API ---------------------------------------------------------------------------------------
create view api.ai_moderation_scores with (security_invoker = true) as
select
    s.target_type,
    s.target_id,
    s.score,
    s.categories,
    s.top_category,
    s.source,
    s.model,
    s.flagged,
    s.review_item_id,
    s.scored_at
from ai.moderation_scores as s
where (select private.key_may_read('api.ai_moderation_scores'));
comment on view api.ai_moderation_scores is
'Staff: the moderation-assist score of each scored post and message (never the text),
whether it raised a system flag and its review item. Other callers see no rows.';
grant select on api.ai_moderation_scores to authenticated, service_role;

insert into accounts.api_object_scopes (object, kind, access, scope) values
('api.ai_moderation_scores', 'view', 'scope', 'community:moderation:read');

-- Event catalogue ---------------------------------------------------------------------------
select ops.register_event_type(
    'ai.moderation_requested', 1,
    'Score a new or edited forum post, or a new private message, for abuse and spam '
    || '(OpenAI moderation when configured, local heuristics otherwise); at the threshold '
    || 'it enters the review queue as a system flag.',
    $json${
      "type": "object",
      "required": ["target_type", "target_id"],
      "additionalProperties": false,
      "properties": {
        "target_type": {"enum": ["post", "message"]},
        "target_id": {"type": "integer", "minimum": 1}
      }
    }$json$::jsonb,
    '{"target_type": "post", "target_id": 42}'::jsonb,
    'sync.ai_features', false
);
