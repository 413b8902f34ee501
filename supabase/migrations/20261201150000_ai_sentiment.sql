-- ai: sentiment of course reviews and CTF challenge feedback.
--
-- A review or a feedback comment that is written or edited queues `ai.sentiment_requested`
-- in the same transaction; the worker (sync/ai_features.py) scores the current text with
-- VADER (ai/nlp/sentiment.py) and records it here through private.ai_record_sentiment. The
-- scores are read per course by its course team and per challenge by the event's organisers
-- only (RLS), through api.ai_course_sentiment and api.ai_challenge_sentiment.


-- Scores ------------------------------------------------------------------------------------
create table ai.sentiment_scores (
    id bigint generated always as identity primary key,
    source text not null check (source in ('course_review', 'ctf_feedback')),
    review_id uuid references learning.reviews (id) on delete cascade,
    course_id uuid references learning.courses (id) on delete cascade,
    challenge_id uuid references ctf.challenges (id) on delete cascade,
    feedback_user_id uuid,
    event_id uuid references ctf.events (id) on delete cascade,
    compound numeric(5, 4) not null check (compound between -1 and 1),
    positive numeric(5, 4) not null check (positive between 0 and 1),
    negative numeric(5, 4) not null check (negative between 0 and 1),
    neutral numeric(5, 4) not null check (neutral between 0 and 1),
    label text not null check (label in ('positive', 'neutral', 'negative')),
    model text not null check (char_length(model) between 1 and 100),
    text_digest text not null check (char_length(text_digest) = 64),
    scored_at timestamptz not null default now(),
    foreign key (challenge_id, feedback_user_id)
    references ctf.feedback (challenge_id, user_id) on delete cascade,
    check (
        (source = 'course_review' and review_id is not null and course_id is not null)
        or (
            source = 'ctf_feedback' and challenge_id is not null
            and feedback_user_id is not null and event_id is not null
        )
    )
);
comment on table ai.sentiment_scores is
'One sentiment score per course review or CTF feedback comment (VADER compound in [-1, 1],
its positive/negative/neutral shares and label), for the text whose sha256 is text_digest.
Written only by the worker (private.ai_record_sentiment); read by the course team of the
course and the organisers of the event.';
create unique index sentiment_scores_review_idx on ai.sentiment_scores (review_id)
where source = 'course_review';
create unique index sentiment_scores_feedback_idx on ai.sentiment_scores (
    challenge_id, feedback_user_id
) where source = 'ctf_feedback';
create index sentiment_scores_course_idx on ai.sentiment_scores (course_id);
create index sentiment_scores_event_idx on ai.sentiment_scores (event_id);
create index sentiment_scores_feedback_fk_idx on ai.sentiment_scores (
    challenge_id, feedback_user_id
);
alter table ai.sentiment_scores enable row level security;
create policy sentiment_scores_read on ai.sentiment_scores for select to authenticated
using (
    (select private.jwt_has_permission('platform.admin'))
    or (course_id is not null and private.learning_is_course_team(course_id))
    or (event_id is not null and event_id in (select private.ctf_organised_events()))
);
grant select on ai.sentiment_scores to authenticated, service_role;

-- Queueing ----------------------------------------------------------------------------------
create function private.ai_queue_review_sentiment() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    perform ops.enqueue('ai.sentiment_requested',
        jsonb_build_object('source', 'course_review', 'review_id', new.id),
        'course_review:' || new.id || ':' || encode(sha256(convert_to(new.body, 'UTF8')), 'hex'));
    return null;
end;
$$;
comment on function private.ai_queue_review_sentiment() is
'Trigger: a review written or edited queues ai.sentiment_requested (once per text).';
revoke execute on function private.ai_queue_review_sentiment() from public;
create trigger reviews_ai_sentiment after insert or update of body on learning.reviews
for each row execute function private.ai_queue_review_sentiment();

create function private.ai_queue_feedback_sentiment() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    if coalesce(btrim(new.comment), '') = '' then
        -- A rating without words has no sentiment to read: forget an older score.
        delete from ai.sentiment_scores
        where challenge_id = new.challenge_id and feedback_user_id = new.user_id;
        return null;
    end if;
    perform ops.enqueue('ai.sentiment_requested',
        jsonb_build_object('source', 'ctf_feedback', 'challenge_id', new.challenge_id,
            'user_id', new.user_id),
        'ctf_feedback:' || new.challenge_id || ':' || new.user_id || ':'
        || encode(sha256(convert_to(new.comment, 'UTF8')), 'hex'));
    return null;
end;
$$;
comment on function private.ai_queue_feedback_sentiment() is
'Trigger: feedback with a comment, written or edited, queues ai.sentiment_requested.';
revoke execute on function private.ai_queue_feedback_sentiment() from public;
create trigger feedback_ai_sentiment after insert or update of comment on ctf.feedback
for each row execute function private.ai_queue_feedback_sentiment();

-- Worker ------------------------------------------------------------------------------------
create function private.ai_sentiment_text(p_payload jsonb) returns text
language sql stable
set search_path = ''
as $$
    select case p_payload ->> 'source'
        when 'course_review' then (
            select r.body from learning.reviews as r
            where r.id = (p_payload ->> 'review_id')::uuid
        )
        when 'ctf_feedback' then (
            select f.comment from ctf.feedback as f
            where f.challenge_id = (p_payload ->> 'challenge_id')::uuid
              and f.user_id = (p_payload ->> 'user_id')::uuid
        )
    end
$$;
comment on function private.ai_sentiment_text(jsonb) is
'Worker: the current text of an ai.sentiment_requested item (null when it is gone).';
revoke execute on function private.ai_sentiment_text(jsonb) from public;
grant execute on function private.ai_sentiment_text(jsonb) to service_role;

create function private.ai_record_sentiment(p_payload jsonb, p_score jsonb, p_digest text)
returns boolean
language plpgsql
set search_path = ''
as $$
declare
    v_review learning.reviews;
    v_feedback ctf.feedback;
begin
    if p_payload ->> 'source' = 'course_review' then
        select * into v_review from learning.reviews where id = (p_payload ->> 'review_id')::uuid;
        if not found or encode(sha256(convert_to(v_review.body, 'UTF8')), 'hex') <> p_digest then
            return false; -- deleted or edited since: the newer job scores the newer text
        end if;
        insert into ai.sentiment_scores as s (source, review_id, course_id, compound, positive,
            negative, neutral, label, model, text_digest)
        values ('course_review', v_review.id, v_review.course_id,
            (p_score ->> 'compound')::numeric, (p_score ->> 'positive')::numeric,
            (p_score ->> 'negative')::numeric, (p_score ->> 'neutral')::numeric,
            p_score ->> 'label', p_score ->> 'model', p_digest)
        on conflict (review_id) where source = 'course_review' do update set
            compound = excluded.compound, positive = excluded.positive,
            negative = excluded.negative, neutral = excluded.neutral, label = excluded.label,
            model = excluded.model, text_digest = excluded.text_digest, scored_at = now();
        return true;
    end if;
    select * into v_feedback from ctf.feedback
    where challenge_id = (p_payload ->> 'challenge_id')::uuid
      and user_id = (p_payload ->> 'user_id')::uuid;
    if not found or v_feedback.comment is null
        or encode(sha256(convert_to(v_feedback.comment, 'UTF8')), 'hex') <> p_digest then
        return false;
    end if;
    insert into ai.sentiment_scores as s (source, challenge_id, feedback_user_id, event_id,
        compound, positive, negative, neutral, label, model, text_digest)
    values ('ctf_feedback', v_feedback.challenge_id, v_feedback.user_id, v_feedback.event_id,
        (p_score ->> 'compound')::numeric, (p_score ->> 'positive')::numeric,
        (p_score ->> 'negative')::numeric, (p_score ->> 'neutral')::numeric,
        p_score ->> 'label', p_score ->> 'model', p_digest)
    on conflict (challenge_id, feedback_user_id) where source = 'ctf_feedback' do update set
        compound = excluded.compound, positive = excluded.positive,
        negative = excluded.negative, neutral = excluded.neutral, label = excluded.label,
        model = excluded.model, text_digest = excluded.text_digest, scored_at = now();
    return true;
end;
$$;
comment on function private.ai_record_sentiment(jsonb, jsonb, text) is
'Worker: keep the score {compound, positive, negative, neutral, label, model} of the item of
p_payload when its current text still has the sha256 p_digest (idempotent upsert); false
when the item is gone or was edited since (its own job scores the new text).';
revoke execute on function private.ai_record_sentiment(jsonb, jsonb, text) from public;
grant execute on function private.ai_record_sentiment(jsonb, jsonb, text) to service_role;

-- API ---------------------------------------------------------------------------------------
create view api.ai_course_sentiment with (security_invoker = true) as
select
    s.course_id,
    count(*) as reviews_scored,
    round(avg(s.compound), 4) as average_compound,
    count(*) filter (where s.label = 'positive') as positive,
    count(*) filter (where s.label = 'neutral') as neutral,
    count(*) filter (where s.label = 'negative') as negative,
    max(s.scored_at) as last_scored_at
from ai.sentiment_scores as s
where
    (select private.key_may_read('api.ai_course_sentiment'))
    and s.source = 'course_review'
group by s.course_id;
comment on view api.ai_course_sentiment is
'Sentiment of the reviews of the courses you teach (course team; admins): how many were
scored, the mean VADER compound score in [-1, 1] and the count per label. Other callers see
no rows.';
grant select on api.ai_course_sentiment to authenticated, service_role;

create view api.ai_challenge_sentiment with (security_invoker = true) as
select
    s.event_id,
    s.challenge_id,
    count(*) as comments_scored,
    round(avg(s.compound), 4) as average_compound,
    count(*) filter (where s.label = 'positive') as positive,
    count(*) filter (where s.label = 'neutral') as neutral,
    count(*) filter (where s.label = 'negative') as negative,
    max(s.scored_at) as last_scored_at
from ai.sentiment_scores as s
where
    (select private.key_may_read('api.ai_challenge_sentiment'))
    and s.source = 'ctf_feedback'
group by s.event_id, s.challenge_id;
comment on view api.ai_challenge_sentiment is
'Sentiment of the feedback comments per challenge of the events you organise (organisers;
admins): how many were scored, the mean VADER compound score and the count per label.
Players see no rows (their own feedback is in api.ctf_feedback_summary).';
grant select on api.ai_challenge_sentiment to authenticated, service_role;

insert into accounts.api_object_scopes (object, kind, access, scope) values
('api.ai_course_sentiment', 'view', 'scope', 'learning:progress:read'),
('api.ai_challenge_sentiment', 'view', 'scope', 'ctf:scores:read');

-- Event catalogue ---------------------------------------------------------------------------
select ops.register_event_type(
    'ai.sentiment_requested', 1,
    'Score the sentiment of a course review or a CTF feedback comment that was written or '
    || 'edited (VADER, offline); the score is kept in ai.sentiment_scores.',
    $json${
      "type": "object",
      "required": ["source"],
      "additionalProperties": false,
      "properties": {
        "source": {"enum": ["course_review", "ctf_feedback"]},
        "review_id": {"type": "string", "format": "uuid"},
        "challenge_id": {"type": "string", "format": "uuid"},
        "user_id": {"type": "string", "format": "uuid"}
      },
      "oneOf": [
        {"properties": {"source": {"const": "course_review"}}, "required": ["review_id"]},
        {"properties": {"source": {"const": "ctf_feedback"}},
         "required": ["challenge_id", "user_id"]}
      ]
    }$json$::jsonb,
    '{"source": "course_review", "review_id": "6f1c1f43-8e0e-4a53-9d7b-0b0c0f6a1b2c"}'::jsonb,
    'sync.ai_features', false
);
