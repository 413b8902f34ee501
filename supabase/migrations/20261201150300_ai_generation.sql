-- ai: content generation for staff. Quiz question drafts from a lesson, course outline
-- drafts, challenge write-up drafts. The edge (edge/routers/ai_generate.py) asks, as the
-- caller, for the generation context (api.ai_generation_context refuses anyone but the
-- course team or the event's organisers), calls the language model, and keeps the result as
-- a *draft* (private.ai_save_draft, service_role) with its provenance and model. Nothing is
-- published: quiz drafts enter a quiz's bank only when a course team member applies them
-- (api.ai_apply_draft), through the authoring RPC api.learning_save_question.

create table ai.generated_drafts (
    id uuid primary key default gen_random_uuid(),
    kind text not null check (kind in ('quiz_questions', 'course_outline', 'challenge_writeup')),
    course_id uuid references learning.courses (id) on delete cascade,
    lesson_id uuid references learning.lessons (id) on delete cascade,
    challenge_id uuid references ctf.challenges (id) on delete cascade,
    event_id uuid references ctf.events (id) on delete cascade,
    created_by uuid references auth.users (id) on delete set null,
    status text not null default 'draft' check (status in ('draft', 'applied')),
    content jsonb not null check (jsonb_typeof(content) = 'object'),
    model text not null check (char_length(model) between 1 and 100),
    provenance jsonb not null check (jsonb_typeof(provenance) = 'object'),
    applied_to uuid references learning.quizzes (id) on delete set null,
    applied_ids uuid[],
    applied_by uuid references auth.users (id) on delete set null,
    applied_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    check (
        (kind = 'quiz_questions' and course_id is not null and lesson_id is not null)
        or (kind = 'course_outline' and course_id is not null)
        or (kind = 'challenge_writeup' and challenge_id is not null and event_id is not null)
    )
);
comment on table ai.generated_drafts is
'Machine-generated drafts for staff, each with the model that wrote it and its provenance
{generator, provider, model, source, prompt_sha256, generated_at, usage}. Written only by
the edge (private.ai_save_draft); read by the course team / the event''s organisers.
Never published automatically: a quiz draft is applied by a person (api.ai_apply_draft).';
create index generated_drafts_course_idx on ai.generated_drafts (course_id, created_at desc);
create index generated_drafts_lesson_idx on ai.generated_drafts (lesson_id);
create index generated_drafts_challenge_idx on ai.generated_drafts (challenge_id);
create index generated_drafts_event_idx on ai.generated_drafts (event_id, created_at desc);
create index generated_drafts_created_by_idx on ai.generated_drafts (created_by);
create index generated_drafts_applied_to_idx on ai.generated_drafts (applied_to);
create index generated_drafts_applied_by_idx on ai.generated_drafts (applied_by);
create trigger generated_drafts_touch before update on ai.generated_drafts
for each row execute function private.touch_updated_at();
alter table ai.generated_drafts enable row level security;
create policy generated_drafts_read on ai.generated_drafts for select to authenticated
using (
    (select private.jwt_has_permission('platform.admin'))
    or (course_id is not null and private.learning_is_course_team(course_id))
    or (event_id is not null and event_id in (select private.ctf_organised_events()))
);
grant select on ai.generated_drafts to authenticated, service_role;

-- Context, as the caller -------------------------------------------------------------------
create function api.ai_generation_context(p_kind text, p_target uuid) returns jsonb
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    v_lesson learning.lessons;
    v_course learning.courses;
    v_challenge ctf.challenges;
begin
    perform private.require_user();
    if p_target is null then
        perform private.arg_error('p_target', 'p_target is required.');
    end if;
    if p_kind = 'quiz_questions' then
        select * into v_lesson from learning.lessons where id = p_target;
        if not found then
            perform private.raise_error('learning_lesson_not_found', 'No such lesson.', 'PT404');
        end if;
        perform private.learning_require_course_team(v_lesson.course_id);
        return jsonb_build_object('kind', p_kind, 'course_id', v_lesson.course_id,
            'lesson_id', v_lesson.id, 'title', v_lesson.title,
            'text', coalesce((select c.body_md from learning.lesson_contents as c
                              where c.lesson_id = v_lesson.id), ''));
    elsif p_kind = 'course_outline' then
        perform private.learning_require_course_team(p_target);
        select * into v_course from learning.courses where id = p_target;
        return jsonb_build_object('kind', p_kind, 'course_id', v_course.id,
            'title', v_course.title, 'level', v_course.level, 'tags', v_course.tags,
            'text', concat_ws(E'\n\n', v_course.summary, v_course.description),
            'modules', coalesce((
                select jsonb_agg(jsonb_build_object('title', m.title, 'lessons', coalesce((
                    select jsonb_agg(l.title order by l.position)
                    from learning.lessons as l where l.module_id = m.id), '[]'))
                    order by m.position)
                from learning.modules as m where m.course_id = v_course.id), '[]'));
    elsif p_kind = 'challenge_writeup' then
        select * into v_challenge from ctf.challenges where id = p_target;
        if not found then
            perform private.raise_error('ctf_challenge_not_found', 'No such challenge.', 'PT404');
        end if;
        perform private.ctf_require_organiser(v_challenge.event_id);
        -- The public description only: flags, hints and an existing write-up never reach
        -- the model.
        return jsonb_build_object('kind', p_kind, 'challenge_id', v_challenge.id,
            'event_id', v_challenge.event_id, 'title', v_challenge.title,
            'category', v_challenge.category, 'tags', v_challenge.tags,
            'difficulty', v_challenge.difficulty,
            'text', coalesce((select c.description from ctf.challenge_contents as c
                              where c.challenge_id = v_challenge.id), ''));
    end if;
    perform private.arg_error('p_kind',
        'p_kind is quiz_questions, course_outline or challenge_writeup.');
    return null;
end;
$$;
comment on function api.ai_generation_context(text, uuid) is
'Staff only: what the generator may read for a draft — p_kind quiz_questions (p_target a
lesson: its title and body; owners and co-instructors of the course), course_outline
(p_target a course: summary, description, current modules; its owners and co-instructors),
challenge_writeup (p_target a challenge: its public description, never flags or hints; the
event''s organisers). Admins may do all. Errors: not_authenticated, invalid_argument,
learning_lesson_not_found, learning_course_not_found, forbidden, ctf_challenge_not_found,
ctf_not_organiser.';
revoke execute on function api.ai_generation_context(text, uuid) from public, anon;
grant execute on function api.ai_generation_context(text, uuid) to authenticated;

-- Drafts ------------------------------------------------------------------------------------
create function private.ai_save_draft(
    p_user uuid, p_context jsonb, p_content jsonb, p_model text, p_provenance jsonb
) returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_kind text := p_context ->> 'kind';
    v_id uuid;
    v_question jsonb;
begin
    if v_kind = 'quiz_questions' then
        if jsonb_typeof(p_content -> 'questions') is distinct from 'array'
            or jsonb_array_length(p_content -> 'questions') not between 1 and 20 then
            perform private.arg_error('questions', 'A quiz draft holds 1-20 questions.');
        end if;
        -- The authoring rules, checked now: a draft that could not be applied is refused.
        for v_question in select q from jsonb_array_elements(p_content -> 'questions') as q loop
            perform private.learning_check_question(v_question);
        end loop;
    end if;
    insert into ai.generated_drafts (kind, course_id, lesson_id, challenge_id, event_id,
                                     created_by, content, model, provenance)
    values (v_kind, (p_context ->> 'course_id')::uuid, (p_context ->> 'lesson_id')::uuid,
            (p_context ->> 'challenge_id')::uuid, (p_context ->> 'event_id')::uuid, p_user,
            p_content, p_model, p_provenance)
    returning id into v_id;
    return v_id;
end;
$$;
comment on function private.ai_save_draft(uuid, jsonb, jsonb, text, jsonb) is
'Edge, as service_role, after api.ai_generation_context accepted the caller: keep a
generated draft with its model and provenance. Quiz drafts must pass the authoring checks
of api.learning_save_question (invalid_argument otherwise).';
revoke execute on function private.ai_save_draft(uuid, jsonb, jsonb, text, jsonb) from public;
grant execute on function private.ai_save_draft(uuid, jsonb, jsonb, text, jsonb) to service_role;

create function api.ai_apply_draft(p_draft_id uuid, p_quiz_id uuid) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_draft ai.generated_drafts;
    v_quiz learning.quizzes;
    v_question jsonb;
    v_ids uuid[] := '{}';
begin
    perform private.require_user();
    select * into v_draft from ai.generated_drafts where id = p_draft_id for update;
    if not found or v_draft.kind <> 'quiz_questions' then
        perform private.raise_error('ai_draft_not_found', 'No such quiz draft.', 'PT404');
    end if;
    perform private.learning_require_course_team(v_draft.course_id);
    if v_draft.status <> 'draft' then
        perform private.raise_error('ai_draft_already_applied',
            'This draft was applied already.', 'PT409');
    end if;
    select * into v_quiz from learning.quizzes where id = p_quiz_id;
    if not found or v_quiz.course_id <> v_draft.course_id then
        perform private.raise_error('learning_quiz_not_found',
            'No such quiz in the draft''s course.', 'PT404');
    end if;
    for v_question in
        select q from jsonb_array_elements(v_draft.content -> 'questions') as q
    loop
        v_ids := v_ids || api.learning_save_question(p_quiz_id, v_question - 'id');
    end loop;
    update ai.generated_drafts set
        status = 'applied', applied_to = p_quiz_id, applied_ids = v_ids,
        applied_by = (select auth.uid()), applied_at = now()
    where id = p_draft_id;
    perform private.audit('ai.draft_applied', 'quiz', p_quiz_id::text,
        jsonb_build_object('draft_id', p_draft_id, 'questions', to_jsonb(v_ids),
            'model', v_draft.model));
    return jsonb_build_object('draft_id', p_draft_id, 'quiz_id', p_quiz_id,
        'question_ids', to_jsonb(v_ids));
end;
$$;
comment on function api.ai_apply_draft(uuid, uuid) is
'Course team (owners, co-instructors): add the questions of a generated quiz draft to a
quiz of the same course, each through api.learning_save_question (the authoring rules
apply), and mark the draft applied (once). Returns {draft_id, quiz_id, question_ids}.
Errors: not_authenticated, ai_draft_not_found, forbidden, ai_draft_already_applied,
learning_quiz_not_found, and those of api.learning_save_question.';
revoke execute on function api.ai_apply_draft(uuid, uuid) from public, anon;
grant execute on function api.ai_apply_draft(uuid, uuid) to authenticated;

create view api.ai_drafts with (security_invoker = true) as
select
    d.id,
    d.kind,
    d.course_id,
    d.lesson_id,
    d.challenge_id,
    d.event_id,
    d.status,
    d.content,
    d.model,
    d.provenance,
    d.created_by,
    d.created_at,
    d.applied_to,
    d.applied_ids,
    d.applied_at
from ai.generated_drafts as d
where (select private.key_may_read('api.ai_drafts'));
comment on view api.ai_drafts is
'Generated drafts of the courses you teach and the events you organise, newest first by
created_at: content, the model that wrote it, provenance, and whether it was applied.';
grant select on api.ai_drafts to authenticated, service_role;

insert into ops.error_codes (code, sqlstate, http_status, description) values
('ai_draft_not_found', 'PT404', 404, 'No such generated draft, or it is not yours to see.'),
('ai_draft_already_applied', 'PT409', 409, 'This generated draft was applied already.');

insert into accounts.api_object_scopes (object, kind, access, scope) values
('api.ai_generation_context', 'function', 'scope', 'learning:courses:write'),
('api.ai_apply_draft', 'function', 'scope', 'learning:courses:write'),
('api.ai_drafts', 'view', 'scope', 'learning:courses:write');
