-- learning: authoring, continued — prerequisites, quizzes and questions with their keys,
-- publishing. Uses private.learning_require_course_team from the authoring migration before it.

-- Prerequisites -------------------------------------------------------------------------------
-- The one cycle check, for course and module prerequisites alike.
create function private.learning_prerequisites_form_cycle(
    p_kind text, p_node uuid, p_required uuid[]
) returns boolean
language sql stable
set search_path = ''
as $$
    with recursive edges (node_id, requires_id) as (
        select cp.course_id, cp.requires_course_id from learning.course_prerequisites as cp
        where p_kind = 'course'
        union all
        select mp.module_id, mp.requires_module_id from learning.module_prerequisites as mp
        where p_kind = 'module'
    ),

    reach (id) as (
        select unnest(p_required)
        union
        select e.requires_id from edges as e
        inner join reach on e.node_id = reach.id
    )

    select exists (select 1 from reach where reach.id = p_node)
$$;
comment on function private.learning_prerequisites_form_cycle(text, uuid, uuid[]) is
'Would making p_node (a course when p_kind = ''course'', a module when ''module'') require
p_required close a cycle, i.e. does p_node already follow, transitively, from p_required?
Used by api.learning_set_course_prerequisites and api.learning_set_module_prerequisites.';
revoke execute on function private.learning_prerequisites_form_cycle(text, uuid, uuid[])
from public;
create function api.learning_set_course_prerequisites(p_course_id uuid, p_required uuid[])
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
    perform private.learning_require_course_team(p_course_id);
    p_required := coalesce(p_required, '{}');
    if cardinality(p_required) > 20 or p_course_id = any(p_required) or exists (
        select 1 from unnest(p_required) as r
        where not exists (select 1 from learning.courses as c
                          where c.id = r and c.status <> 'draft')
    ) then
        perform private.arg_error('p_required',
            'p_required lists at most 20 other non-draft courses.');
    end if;
    if private.learning_prerequisites_form_cycle('course', p_course_id, p_required) then
        perform private.arg_error('p_required', 'Prerequisites cannot form a cycle.');
    end if;
    delete from learning.course_prerequisites where course_id = p_course_id;
    insert into learning.course_prerequisites (course_id, requires_course_id)
    select distinct p_course_id, r from unnest(p_required) as r;
end;
$$;
comment on function api.learning_set_course_prerequisites(uuid, uuid[]) is
'Course team: replace the courses a learner must have completed before enrolling.
Errors: not_authenticated, learning_course_not_found, forbidden, invalid_argument
(unknown/draft course, itself, cycle).';
revoke execute on function api.learning_set_course_prerequisites(uuid, uuid[]) from public, anon;
grant execute on function api.learning_set_course_prerequisites(uuid, uuid[]) to authenticated;

create function api.learning_set_module_prerequisites(p_module_id uuid, p_required uuid[])
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_course uuid;
begin
    perform private.require_scope('api.learning_set_module_prerequisites');  -- API key scope
    v_course := private.learning_require_module_team(p_module_id);
    p_required := coalesce(p_required, '{}');
    if cardinality(p_required) > 50 or p_module_id = any(p_required) or exists (
        select 1 from unnest(p_required) as r
        where not exists (select 1 from learning.modules as m
                          where m.id = r and m.course_id = v_course)
    ) then
        perform private.arg_error('p_required',
            'p_required lists other modules of the same course.');
    end if;
    if private.learning_prerequisites_form_cycle('module', p_module_id, p_required) then
        perform private.arg_error('p_required', 'Prerequisites cannot form a cycle.');
    end if;
    delete from learning.module_prerequisites where module_id = p_module_id;
    insert into learning.module_prerequisites (module_id, requires_module_id)
    select distinct p_module_id, r from unnest(p_required) as r;
end;
$$;
comment on function api.learning_set_module_prerequisites(uuid, uuid[]) is
'Course team: replace the modules whose lessons must all be completed before this
module''s lessons unlock. Errors: not_authenticated, learning_module_not_found, forbidden,
invalid_argument (other course, itself, cycle).';
revoke execute on function api.learning_set_module_prerequisites(uuid, uuid[]) from public, anon;
grant execute on function api.learning_set_module_prerequisites(uuid, uuid[]) to authenticated;

-- Quizzes ----------------------------------------------------------------------------------------
create function api.learning_configure_quiz(p_quiz_id uuid, p_settings jsonb) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_course uuid;
    v_key text;
    v_value jsonb;
    v_type text;
begin
    perform private.require_scope('api.learning_configure_quiz');  -- API key scope
    select q.course_id into v_course from learning.quizzes as q where q.id = p_quiz_id;
    if v_course is null then
        perform private.raise_error('learning_quiz_not_found', 'No such quiz.', 'PT404');
    end if;
    perform private.learning_require_course_team(v_course);
    if p_settings is null or jsonb_typeof(p_settings) <> 'object' then
        perform private.raise_error('invalid_argument', 'p_settings is an object.', '22023');
    end if;
    for v_key, v_value in select e.key, e.value from jsonb_each(p_settings) as e loop
        v_type := jsonb_typeof(v_value);
        if v_key = 'passing_score' then
            if v_type <> 'number' or (v_value #>> '{}')::numeric not between 0 and 100 then
                perform private.arg_error(v_key, 'passing_score is 0-100.');
            end if;
        elsif v_key in ('max_attempts', 'time_limit_seconds', 'draw_count') then
            if v_type = 'null' then
                continue;
            end if;
            if v_type <> 'number' or (v_value #>> '{}') !~ '^\d+$' or (
                (v_key = 'max_attempts' and (v_value #>> '{}')::numeric not between 1 and 100)
                or (v_key = 'time_limit_seconds'
                    and (v_value #>> '{}')::numeric not between 10 and 86400)
                or (v_key = 'draw_count' and (v_value #>> '{}')::numeric not between 1 and 200)
            ) then
                perform private.arg_error(v_key,
                    'max_attempts 1-100, time_limit_seconds 10-86400, draw_count 1-200, or null.');
            end if;
        elsif v_key = 'wait_seconds' then
            if v_type <> 'number' or (v_value #>> '{}') !~ '^\d+$'
                or (v_value #>> '{}')::numeric > 2592000 then
                perform private.arg_error(v_key, 'wait_seconds is 0-2592000.');
            end if;
        elsif v_key = 'grading_method' then
            if v_type <> 'string' or (v_value #>> '{}') not in ('highest', 'last', 'first',
                                                                 'average') then
                perform private.arg_error(v_key,
                    'grading_method is highest, last, first or average.');
            end if;
        elsif v_key = 'overdue_policy' then
            if v_type <> 'string' or (v_value #>> '{}') not in ('auto_submit', 'refuse') then
                perform private.arg_error(v_key,
                    'overdue_policy is auto_submit or refuse.');
            end if;
        elsif v_key = 'reveal_policy' then
            if v_type <> 'string' or (v_value #>> '{}') not in (
                'never', 'after_passing', 'after_last_attempt', 'after_due_date') then
                perform private.arg_error(v_key,
                    'reveal_policy is never, after_passing, after_last_attempt or after_due_date.');
            end if;
        elsif v_key in ('shuffle_questions', 'shuffle_options') then
            if v_type <> 'boolean' then
                perform private.arg_error(v_key, v_key || ' is true or false.');
            end if;
        elsif v_key = 'due_at' then
            if v_type <> 'null' then
                begin
                    perform (v_value #>> '{}')::timestamptz;
                exception when others then
                    perform private.arg_error(v_key, 'due_at is a timestamp or null.');
                end;
            end if;
        else
            perform private.arg_error(v_key,
                format('%s is not a quiz setting.', left(v_key, 40)));
        end if;
    end loop;
    update learning.quizzes as q set
        passing_score = coalesce((p_settings ->> 'passing_score')::numeric, q.passing_score),
        max_attempts = case when p_settings ? 'max_attempts'
            then (p_settings ->> 'max_attempts')::int else q.max_attempts end,
        time_limit_seconds = case when p_settings ? 'time_limit_seconds'
            then (p_settings ->> 'time_limit_seconds')::int else q.time_limit_seconds end,
        draw_count = case when p_settings ? 'draw_count'
            then (p_settings ->> 'draw_count')::int else q.draw_count end,
        wait_seconds = coalesce((p_settings ->> 'wait_seconds')::int, q.wait_seconds),
        grading_method = coalesce((p_settings ->> 'grading_method')::learning.grading_method,
            q.grading_method),
        overdue_policy = coalesce((p_settings ->> 'overdue_policy')::learning.overdue_policy,
            q.overdue_policy),
        reveal_policy = coalesce((p_settings ->> 'reveal_policy')::learning.reveal_policy,
            q.reveal_policy),
        shuffle_questions = coalesce((p_settings ->> 'shuffle_questions')::boolean,
            q.shuffle_questions),
        shuffle_options = coalesce((p_settings ->> 'shuffle_options')::boolean,
            q.shuffle_options),
        due_at = case when p_settings ? 'due_at' then (p_settings ->> 'due_at')::timestamptz
                      else q.due_at end
    where q.id = p_quiz_id;
    return (select to_jsonb(q) from learning.quizzes as q where q.id = p_quiz_id);
end;
$$;
comment on function api.learning_configure_quiz(uuid, jsonb) is
'Course team: quiz settings {passing_score, max_attempts, wait_seconds, grading_method
(highest|last|first|average), time_limit_seconds, overdue_policy (auto_submit|refuse),
shuffle_questions, shuffle_options, draw_count, reveal_policy (never|after_passing|
after_last_attempt|after_due_date), due_at}. Errors: not_authenticated,
learning_quiz_not_found, forbidden, invalid_argument (details.field).';
revoke execute on function api.learning_configure_quiz(uuid, jsonb) from public, anon;
grant execute on function api.learning_configure_quiz(uuid, jsonb) to authenticated;

-- A question's key problem, or null when the question can be graded.
create function private.learning_key_problem(p_question uuid) returns text
language sql stable
set search_path = ''
as $$
    select case
        when k.question_id is null then 'no answer key'
        when q.kind = 'single_choice' and (cardinality(k.correct_option_ids) is distinct from 1)
            then 'single choice needs exactly one correct option'
        when q.kind = 'multiple_choice' and coalesce(cardinality(k.correct_option_ids), 0) < 1
            then 'multiple choice needs a correct option'
        when q.kind in ('single_choice', 'multiple_choice') and (
            select count(*) from learning.question_options as o where o.question_id = q.id
        ) < 2 then 'choice questions need at least two options'
        when q.kind = 'true_false' and k.correct_bool is null then 'true/false needs the answer'
        when q.kind = 'short_text' and coalesce(cardinality(k.accepted_answers), 0) < 1
            then 'short text needs accepted answers'
        when q.kind = 'numeric' and k.numeric_answer is null then 'numeric needs the answer'
        when q.kind = 'ordering' and (
            coalesce(cardinality(k.correct_option_ids), 0) < 2
            or cardinality(k.correct_option_ids) <> (
                select count(*) from learning.question_options as o where o.question_id = q.id)
        ) then 'ordering needs every option in order'
    end
    from learning.questions as q
    left join learning.question_keys as k on k.question_id = q.id
    where q.id = p_question
$$;
comment on function private.learning_key_problem(uuid) is
'Why a question cannot be graded (missing or inconsistent key), or null.';
revoke execute on function private.learning_key_problem(uuid) from public;

-- Saving a question, in phases: target (quiz, course team, id), validation, the question
-- row, its options, its answer key.
create function private.learning_question_target(
    p_quiz_id uuid, p_question jsonb, out course_id uuid, out question_id uuid
)
language plpgsql stable
set search_path = ''
as $$
begin
    select q.course_id into course_id from learning.quizzes as q where q.id = p_quiz_id;
    if course_id is null then
        perform private.raise_error('learning_quiz_not_found', 'No such quiz.', 'PT404');
    end if;
    perform private.learning_require_course_team(course_id);
    if p_question is null or jsonb_typeof(p_question) <> 'object' then
        perform private.raise_error('invalid_argument', 'p_question is an object.', '22023');
    end if;
    if octet_length(p_question::text) > 65536 then
        perform private.raise_error('learning_payload_too_large', 'The question is too large.',
            'PT413', jsonb_build_object('limit', 65536));
    end if;
    if p_question ? 'id' then
        begin
            question_id := (p_question ->> 'id')::uuid;
        exception when others then
            perform private.arg_error('id', 'id is a question id.');
        end;
        if not exists (select 1 from learning.questions as q
                       where q.id = question_id and q.quiz_id = p_quiz_id) then
            perform private.raise_error('learning_question_not_found',
                'No such question in this quiz.', 'PT404');
        end if;
    end if;
end;
$$;
comment on function private.learning_question_target(uuid, jsonb) is
'Phase 1 of api.learning_save_question: the quiz''s course (caller must be on its course
team), the payload is an object of at most 64 KiB, and the question id to replace (null: a
new question). Raises learning_quiz_not_found, forbidden, invalid_argument,
learning_payload_too_large, learning_question_not_found.';
revoke execute on function private.learning_question_target(uuid, jsonb) from public;

create function private.learning_check_question(p_question jsonb) returns void
language plpgsql immutable
set search_path = ''
as $$
declare
    v_kind text := p_question ->> 'kind';
    v_options jsonb := coalesce(p_question -> 'options', '[]');
begin
    if v_kind is null or v_kind not in ('single_choice', 'multiple_choice', 'true_false',
                                        'short_text', 'numeric', 'ordering') then
        perform private.arg_error('kind', 'kind is single_choice, multiple_choice,
true_false, short_text, numeric or ordering.');
    end if;
    if jsonb_typeof(p_question -> 'prompt') is distinct from 'string'
        or char_length(btrim(p_question ->> 'prompt')) not between 1 and 5000 then
        perform private.arg_error('prompt', 'prompt is 1-5000 characters.');
    end if;
    if p_question ? 'points' and (jsonb_typeof(p_question -> 'points') <> 'number'
        or (p_question ->> 'points')::numeric <= 0 or (p_question ->> 'points')::numeric > 1000)
    then
        perform private.arg_error('points', 'points is more than 0, at most 1000.');
    end if;
    if jsonb_typeof(v_options) <> 'array' or jsonb_array_length(v_options) > 50 or exists (
        select 1 from jsonb_array_elements(v_options) as o(v)
        where jsonb_typeof(o.v) <> 'object'
           or jsonb_typeof(o.v -> 'label') is distinct from 'string'
           or char_length(o.v ->> 'label') not between 1 and 1000
           or (o.v ? 'correct' and jsonb_typeof(o.v -> 'correct') <> 'boolean')
    ) then
        perform private.arg_error('options',
            'options is a list of at most 50 {label, correct} objects.');
    end if;
    if v_kind in ('single_choice', 'multiple_choice', 'ordering')
        and jsonb_array_length(v_options) < 2 then
        perform private.arg_error('options', 'This kind needs at least two options.');
    end if;
    if v_kind in ('true_false', 'short_text', 'numeric') and jsonb_array_length(v_options) > 0 then
        perform private.arg_error('options', 'This kind takes no options.');
    end if;
    perform private.learning_check_question_answer(p_question);
end;
$$;
comment on function private.learning_check_question(jsonb) is
'Phase 2 of api.learning_save_question: kind, prompt, points and options are well formed,
then the answer fields (private.learning_check_question_answer). Raises invalid_argument
(details.field).';
revoke execute on function private.learning_check_question(jsonb) from public;

create function private.learning_check_question_answer(p_question jsonb) returns void
language plpgsql immutable
set search_path = ''
as $$
declare
    v_kind text := p_question ->> 'kind';
begin
    if v_kind = 'true_false' and jsonb_typeof(p_question -> 'answer') is distinct from 'boolean'
    then
        perform private.arg_error('answer', 'A true/false question needs answer.');
    end if;
    if v_kind = 'numeric' and (
        jsonb_typeof(p_question -> 'answer') is distinct from 'number'
        or (p_question ? 'tolerance' and (jsonb_typeof(p_question -> 'tolerance') <> 'number'
                                          or (p_question ->> 'tolerance')::numeric < 0))
    ) then
        perform private.arg_error('answer',
            'A numeric question needs answer (number) and an optional tolerance >= 0.');
    end if;
    if v_kind = 'short_text' and (
        jsonb_typeof(p_question -> 'accepted_answers') is distinct from 'array'
        or jsonb_array_length(p_question -> 'accepted_answers') not between 1 and 50
        or exists (select 1 from jsonb_array_elements(p_question -> 'accepted_answers') as a(v)
                   where jsonb_typeof(a.v) <> 'string' or char_length(a.v #>> '{}') > 1000)
    ) then
        perform private.arg_error('accepted_answers',
            'A short-text question needs 1-50 accepted answers.');
    end if;
    if p_question ? 'explanation' and (
        jsonb_typeof(p_question -> 'explanation') <> 'string'
        or char_length(p_question ->> 'explanation') > 5000) then
        perform private.arg_error('explanation', 'explanation is at most 5000 characters.');
    end if;
end;
$$;
comment on function private.learning_check_question_answer(jsonb) is
'The answer fields of a question payload: answer (true_false, numeric), tolerance,
accepted_answers (short_text), explanation. Raises invalid_argument (details.field).';
revoke execute on function private.learning_check_question_answer(jsonb) from public;

create function private.learning_write_question(
    p_quiz_id uuid, p_course uuid, p_id uuid, p_question jsonb
) returns uuid
language plpgsql
set search_path = ''
as $$
declare
    v_id uuid := p_id;
    v_points numeric := coalesce((p_question ->> 'points')::numeric, 1);
begin
    if v_id is null then
        insert into learning.questions (quiz_id, course_id, kind, prompt, points, position)
        select p_quiz_id, p_course, (p_question ->> 'kind')::learning.question_kind,
               btrim(p_question ->> 'prompt'), v_points, coalesce(max(q.position) + 1, 0)
        from learning.questions as q where q.quiz_id = p_quiz_id
        returning id into v_id;
    else
        update learning.questions set kind = (p_question ->> 'kind')::learning.question_kind,
            prompt = btrim(p_question ->> 'prompt'), points = v_points
        where id = v_id;
        delete from learning.question_options where question_id = v_id;
    end if;
    return v_id;
end;
$$;
comment on function private.learning_write_question(uuid, uuid, uuid, jsonb) is
'Phase 3 of api.learning_save_question: insert the question at the end of the bank, or
update it (p_id) and drop its options. Returns its id.';
revoke execute on function private.learning_write_question(uuid, uuid, uuid, jsonb) from public;

create function private.learning_write_options(p_id uuid, p_kind text, p_options jsonb)
returns uuid[]
language sql
set search_path = ''
as $$
    with opts as (
        insert into learning.question_options (question_id, position, label)
        select p_id, (o.n - 1)::int, o.v ->> 'label'
        from jsonb_array_elements(p_options) with ordinality as o (v, n)
        returning id, position
    )

    select array(
        select opts.id from opts
        inner join jsonb_array_elements(p_options) with ordinality as o (v, n)
            on opts.position = o.n - 1
        where p_kind = 'ordering' or coalesce((o.v ->> 'correct')::boolean, false)
        order by opts.position
    )
$$;
comment on function private.learning_write_options(uuid, text, jsonb) is
'Phase 4 of api.learning_save_question: insert the options in order; returns the ids of the
correct ones (for ordering: all of them, in the correct order).';
revoke execute on function private.learning_write_options(uuid, text, jsonb) from public;

create function private.learning_write_key(p_id uuid, p_question jsonb, p_correct uuid[])
returns void
language plpgsql
set search_path = ''
as $$
declare
    v_kind text := p_question ->> 'kind';
    v_problem text;
begin
    insert into learning.question_keys as k (question_id, correct_option_ids, correct_bool,
        accepted_answers, case_sensitive, numeric_answer, tolerance, explanation)
    values (
        p_id,
        case when v_kind in ('single_choice', 'multiple_choice', 'ordering') then p_correct end,
        case when v_kind = 'true_false' then (p_question ->> 'answer')::boolean end,
        case when v_kind = 'short_text'
             then array(select jsonb_array_elements_text(p_question -> 'accepted_answers')) end,
        coalesce((p_question ->> 'case_sensitive')::boolean, false),
        case when v_kind = 'numeric' then (p_question ->> 'answer')::numeric end,
        coalesce((p_question ->> 'tolerance')::numeric, 0),
        p_question ->> 'explanation'
    )
    on conflict (question_id) do update set
        correct_option_ids = excluded.correct_option_ids, correct_bool = excluded.correct_bool,
        accepted_answers = excluded.accepted_answers, case_sensitive = excluded.case_sensitive,
        numeric_answer = excluded.numeric_answer, tolerance = excluded.tolerance,
        explanation = excluded.explanation;
    v_problem := private.learning_key_problem(p_id);
    if v_problem is not null then
        perform private.raise_error('learning_quiz_incomplete', v_problem, 'PT409',
            jsonb_build_object('problems', jsonb_build_array(
                jsonb_build_object('question_id', p_id, 'problem', v_problem))));
    end if;
end;
$$;
comment on function private.learning_write_key(uuid, jsonb, uuid[]) is
'Phase 5 of api.learning_save_question: record the answer key, then refuse an inconsistent
one (learning_quiz_incomplete, details.problems), which rolls the whole save back.';
revoke execute on function private.learning_write_key(uuid, jsonb, uuid[]) from public;

create function api.learning_save_question(p_quiz_id uuid, p_question jsonb) returns uuid
language plpgsql
-- Definer: writes the answer key, which no client role can touch.
security definer
set search_path = ''
as $$
declare
    v_target record;
    v_id uuid;
begin
    perform private.require_scope('api.learning_save_question');  -- API key scope
    select * into v_target from private.learning_question_target(p_quiz_id, p_question);
    perform private.learning_check_question(p_question);
    v_id := private.learning_write_question(p_quiz_id, v_target.course_id,
        v_target.question_id, p_question);
    perform private.learning_write_key(v_id, p_question, private.learning_write_options(
        v_id, p_question ->> 'kind', coalesce(p_question -> 'options', '[]')));
    return v_id;
end;
$$;
comment on function api.learning_save_question(uuid, jsonb) is
'Course team: add a question to a quiz''s bank, or replace one ({"id": ...}), with its
answer key. p_question: {kind, prompt, points?, explanation?, options: [{label, correct?}]
(choice kinds; for ordering, list options in the correct order), answer (true_false:
boolean; numeric: number), tolerance?, accepted_answers (short_text), case_sensitive?}.
Replacing a question replaces its options. Errors: not_authenticated,
learning_quiz_not_found, learning_question_not_found, forbidden, invalid_argument
(details.field), learning_quiz_incomplete (inconsistent key), learning_payload_too_large.';
revoke execute on function api.learning_save_question(uuid, jsonb) from public, anon;
grant execute on function api.learning_save_question(uuid, jsonb) to authenticated;

create function api.learning_delete_question(p_question_id uuid) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_course uuid;
begin
    perform private.require_scope('api.learning_delete_question');  -- API key scope
    select q.course_id into v_course from learning.questions as q where q.id = p_question_id;
    if v_course is null then
        perform private.raise_error('learning_question_not_found', 'No such question.', 'PT404');
    end if;
    perform private.learning_require_course_team(v_course);
    if exists (select 1 from learning.attempts as a
               where a.status = 'in_progress' and p_question_id = any(a.question_ids)) then
        perform private.raise_error('conflict',
            'An open attempt contains this question; try again later.', 'PT409');
    end if;
    delete from learning.questions where id = p_question_id;
end;
$$;
comment on function api.learning_delete_question(uuid) is
'Course team: remove a question from the bank (not while an open attempt contains it).
Errors: not_authenticated, learning_question_not_found, forbidden, conflict.';
revoke execute on function api.learning_delete_question(uuid) from public, anon;
grant execute on function api.learning_delete_question(uuid) to authenticated;

create function api.learning_get_quiz_for_authoring(p_quiz_id uuid) returns jsonb
language plpgsql stable
-- Definer: returns the answer keys, to course team only.
security definer
set search_path = ''
as $$
declare
    v_quiz learning.quizzes;
begin
    perform private.require_scope('api.learning_get_quiz_for_authoring');  -- API key scope
    select * into v_quiz from learning.quizzes as q where q.id = p_quiz_id;
    if v_quiz.id is null then
        perform private.raise_error('learning_quiz_not_found', 'No such quiz.', 'PT404');
    end if;
    perform private.learning_require_course_team(v_quiz.course_id,
        array['owner', 'co_instructor']::learning.team_role[]);
    return to_jsonb(v_quiz) || jsonb_build_object('questions', coalesce((
        select jsonb_agg(jsonb_build_object(
            'id', q.id, 'kind', q.kind, 'prompt', q.prompt, 'points', q.points,
            'position', q.position,
            'options', coalesce((select jsonb_agg(jsonb_build_object('id', o.id,
                'label', o.label) order by o.position)
                from learning.question_options as o where o.question_id = q.id), '[]'),
            'key', (select to_jsonb(k) - 'question_id' from learning.question_keys as k
                    where k.question_id = q.id),
            'problem', private.learning_key_problem(q.id)
        ) order by q.position)
        from learning.questions as q where q.quiz_id = v_quiz.id
    ), '[]'));
end;
$$;
comment on function api.learning_get_quiz_for_authoring(uuid) is
'Course owner or co-instructor: a quiz with its whole bank, options and answer keys.
Errors: not_authenticated, learning_quiz_not_found, forbidden.';
revoke execute on function api.learning_get_quiz_for_authoring(uuid) from public, anon;
grant execute on function api.learning_get_quiz_for_authoring(uuid) to authenticated;

-- Publishing -----------------------------------------------------------------------------------
create function api.learning_publish_course(p_course_id uuid) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_problems jsonb;
begin
    perform private.learning_require_course_team(p_course_id);
    if not exists (select 1 from learning.lessons as l where l.course_id = p_course_id) then
        perform private.raise_error('learning_course_empty',
            'A course needs at least one lesson to be published.', 'PT409');
    end if;
    select jsonb_agg(p) into v_problems from (
        select jsonb_build_object('lesson_id', l.id, 'quiz_id', qz.id,
                                  'problem', 'quiz has no questions') as p
        from learning.lessons as l
        join learning.quizzes as qz on qz.lesson_id = l.id
        where l.course_id = p_course_id
          and not exists (select 1 from learning.questions as q where q.quiz_id = qz.id)
        union all
        select jsonb_build_object('lesson_id', qz.lesson_id, 'quiz_id', qz.id,
                                  'problem', 'draw_count exceeds the bank')
        from learning.quizzes as qz
        where qz.course_id = p_course_id and qz.draw_count > (
            select count(*) from learning.questions as q where q.quiz_id = qz.id)
        union all
        select jsonb_build_object('quiz_id', q.quiz_id, 'question_id', q.id,
                                  'problem', private.learning_key_problem(q.id))
        from learning.questions as q
        where q.course_id = p_course_id and private.learning_key_problem(q.id) is not null
    ) as x;
    if v_problems is not null then
        perform private.raise_error('learning_quiz_incomplete',
            'Some quizzes cannot be graded yet.', 'PT409',
            jsonb_build_object('problems', v_problems));
    end if;
    update learning.courses set status = 'published', published_at = coalesce(published_at, now())
    where id = p_course_id;
    return jsonb_build_object('id', p_course_id, 'status', 'published');
end;
$$;
comment on function api.learning_publish_course(uuid) is
'Course team: publish (or re-publish) a course after validation: at least one lesson,
every quiz has questions, every question a consistent answer key. Errors:
not_authenticated, learning_course_not_found, forbidden, learning_course_empty,
learning_quiz_incomplete (details.problems).';
revoke execute on function api.learning_publish_course(uuid) from public, anon;
grant execute on function api.learning_publish_course(uuid) to authenticated;

create function api.learning_archive_course(p_course_id uuid) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
begin
    perform private.learning_require_course_team(p_course_id, array['owner']::learning.team_role[]);
    update learning.courses set status = 'archived' where id = p_course_id;
    return jsonb_build_object('id', p_course_id, 'status', 'archived');
end;
$$;
comment on function api.learning_archive_course(uuid) is
'Course owner: archive a course (out of the catalog; enrolled learners keep access; no new
enrollments). Errors: not_authenticated, learning_course_not_found, forbidden.';
revoke execute on function api.learning_archive_course(uuid) from public, anon;
grant execute on function api.learning_archive_course(uuid) to authenticated;

create function api.learning_set_accommodation(
    p_course_id uuid, p_user_id uuid, p_extra_time_pct int, p_note text default null
) returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
    perform private.learning_require_course_team(p_course_id,
        array['owner', 'co_instructor', 'ta']::learning.team_role[]);
    if p_extra_time_pct is not null and p_extra_time_pct not between 0 and 400 then
        perform private.arg_error('p_extra_time_pct', 'p_extra_time_pct is 0-400.');
    end if;
    if char_length(p_note) > 500 then
        perform private.arg_error('p_note', 'p_note is at most 500 characters.');
    end if;
    if not exists (select 1 from learning.enrollments as e
                   where e.course_id = p_course_id and e.user_id = p_user_id) then
        perform private.raise_error('learning_not_enrolled',
            'That learner is not enrolled in this course.', '42501');
    end if;
    if p_extra_time_pct is null then
        delete from learning.accommodations where course_id = p_course_id and user_id = p_user_id;
    else
        insert into learning.accommodations (course_id, user_id, extra_time_pct, note)
        values (p_course_id, p_user_id, p_extra_time_pct, p_note)
        on conflict (course_id, user_id) do update
        set extra_time_pct = excluded.extra_time_pct, note = excluded.note;
    end if;
    perform private.audit('learning.accommodation_set', 'course', p_course_id::text,
        jsonb_build_object('user_id', p_user_id, 'extra_time_pct', p_extra_time_pct));
end;
$$;
comment on function api.learning_set_accommodation(uuid, uuid, int, text) is
'Course team (TAs too): give an enrolled learner extra time on timed quizzes
(p_extra_time_pct 0-400, null removes). Audited. Errors: not_authenticated,
learning_course_not_found, forbidden, invalid_argument, learning_not_enrolled.';
revoke execute on function api.learning_set_accommodation(uuid, uuid, int, text) from public, anon;
grant execute on function api.learning_set_accommodation(uuid, uuid, int, text) to authenticated;
