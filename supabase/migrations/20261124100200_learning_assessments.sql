-- learning: quiz attempts, server-side grading, reveal policy.
--
-- A learner never receives an answer key except through api.learning_get_attempt_review once the
-- quiz's reveal policy allows it. Questions reach learners only as part of their own
-- attempt (api.learning_get_attempt), in that attempt's drawn and shuffled order.
--
-- Answers (p_answers) are a JSON object {question_id: response}:
--   single_choice   "option-uuid"            multiple_choice ["option-uuid", ...]
--   true_false      true | false             short_text      "text"
--   numeric         12.5                     ordering        ["option-uuid", ... all of them]
-- null (or a missing key) leaves a question unanswered.

-- Validation ---------------------------------------------------------------------------------
create function private.learning_check_answers(p_attempt learning.attempts, p_answers jsonb)
returns void
language plpgsql
set search_path = ''
as $$
declare
    v_key text;
    v_value jsonb;
    v_qid uuid;
    v_kind learning.question_kind;
    v_options jsonb;
    v_ids text[];
begin
    if p_answers is null then
        return;
    end if;
    if jsonb_typeof(p_answers) <> 'object' then
        perform private.raise_error('learning_answer_invalid',
            'p_answers is an object {question_id: response}.', '22023');
    end if;
    if octet_length(p_answers::text) > 65536 then
        perform private.raise_error('learning_payload_too_large',
            'The answers are larger than 64 KiB.', 'PT413', jsonb_build_object('limit', 65536));
    end if;
    for v_key, v_value in select e.key, e.value from jsonb_each(p_answers) as e loop
        if v_key !~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
            perform private.raise_error('learning_answer_invalid',
                'Answer keys are question ids of this attempt.', '22023',
                jsonb_build_object('question_id', left(v_key, 64), 'reason', 'not_in_attempt'));
        end if;
        v_qid := v_key::uuid;
        if not v_qid = any(p_attempt.question_ids) then
            perform private.raise_error('learning_answer_invalid',
                'That question is not part of this attempt.', '22023',
                jsonb_build_object('question_id', v_qid, 'reason', 'not_in_attempt'));
        end if;
        if jsonb_typeof(v_value) = 'null' then
            continue;
        end if;
        select q.kind into v_kind from learning.questions as q where q.id = v_qid;
        v_options := coalesce(p_attempt.option_order -> v_key, '[]'::jsonb);
        if v_kind = 'single_choice' then
            if jsonb_typeof(v_value) <> 'string' then
                perform private.raise_error('learning_answer_invalid',
                    'A single-choice answer is one option id.', '22023',
                    jsonb_build_object('question_id', v_qid, 'reason', 'type'));
            end if;
            if not v_options ? (v_value #>> '{}') then
                perform private.raise_error('learning_option_mismatch',
                    'That option does not belong to this question.', '22023',
                    jsonb_build_object('question_id', v_qid));
            end if;
        elsif v_kind in ('multiple_choice', 'ordering') then
            if jsonb_typeof(v_value) <> 'array' or jsonb_array_length(v_value) > 50
                or exists (select 1 from jsonb_array_elements(v_value) as x(v)
                           where jsonb_typeof(x.v) <> 'string') then
                perform private.raise_error('learning_answer_invalid',
                    'This answer is a list of option ids.', '22023',
                    jsonb_build_object('question_id', v_qid, 'reason', 'type'));
            end if;
            v_ids := array(select jsonb_array_elements_text(v_value));
            if exists (select 1 from unnest(v_ids) as i where not v_options ? i) then
                perform private.raise_error('learning_option_mismatch',
                    'Those options do not belong to this question.', '22023',
                    jsonb_build_object('question_id', v_qid));
            end if;
            if cardinality(v_ids) <> (select count(distinct i) from unnest(v_ids) as i) then
                perform private.raise_error('learning_answer_invalid',
                    'An option is listed twice.', '22023',
                    jsonb_build_object('question_id', v_qid, 'reason', 'duplicate'));
            end if;
            if v_kind = 'ordering' and cardinality(v_ids) <> jsonb_array_length(v_options) then
                perform private.raise_error('learning_answer_invalid',
                    'An ordering answer lists every option once.', '22023',
                    jsonb_build_object('question_id', v_qid, 'reason', 'incomplete_order'));
            end if;
        elsif v_kind = 'true_false' then
            if jsonb_typeof(v_value) <> 'boolean' then
                perform private.raise_error('learning_answer_invalid',
                    'A true/false answer is true or false.', '22023',
                    jsonb_build_object('question_id', v_qid, 'reason', 'type'));
            end if;
        elsif v_kind = 'short_text' then
            if jsonb_typeof(v_value) <> 'string' or char_length(v_value #>> '{}') > 1000 then
                perform private.raise_error('learning_answer_invalid',
                    'A short-text answer is a string of at most 1000 characters.', '22023',
                    jsonb_build_object('question_id', v_qid, 'reason', 'type'));
            end if;
        elsif v_kind = 'numeric' then
            if jsonb_typeof(v_value) <> 'number' then
                perform private.raise_error('learning_answer_invalid',
                    'A numeric answer is a number.', '22023',
                    jsonb_build_object('question_id', v_qid, 'reason', 'type'));
            end if;
        end if;
    end loop;
end;
$$;
comment on function private.learning_check_answers(learning.attempts, jsonb) is
'Validate answers against an attempt: known questions of this attempt only, option ids of
the same question only, right JSON type per question kind, 64 KiB at most.';
revoke execute on function private.learning_check_answers(learning.attempts, jsonb) from public;

-- Grading ------------------------------------------------------------------------------------
create function private.learning_score_answer(
    p_kind learning.question_kind, p_key learning.question_keys, p_response jsonb
) returns numeric
language plpgsql immutable
set search_path = ''
as $$
declare
    v_ids text[];
    v_key text[];
    v_right int;
    v_wrong int;
    v_text text;
begin
    if p_response is null or jsonb_typeof(p_response) = 'null' or p_key.question_id is null then
        return 0;
    end if;
    v_key := coalesce(p_key.correct_option_ids::text[], '{}');
    if p_kind = 'single_choice' then
        return case when (p_response #>> '{}') = any(v_key) then 1 else 0 end;
    elsif p_kind = 'multiple_choice' then
        v_ids := array(select jsonb_array_elements_text(p_response));
        v_right := (select count(*) from unnest(v_ids) as i where i = any(v_key));
        v_wrong := cardinality(v_ids) - v_right;
        if cardinality(v_key) = 0 then
            return 0;
        end if;
        return greatest(0, (v_right - v_wrong)::numeric / cardinality(v_key));
    elsif p_kind = 'true_false' then
        return case when (p_response #>> '{}')::boolean = p_key.correct_bool then 1 else 0 end;
    elsif p_kind = 'short_text' then
        v_text := regexp_replace(btrim(p_response #>> '{}'), '\s+', ' ', 'g');
        return case when exists (
            select 1 from unnest(p_key.accepted_answers) as a
            where case when p_key.case_sensitive
                       then regexp_replace(btrim(a), '\s+', ' ', 'g') = v_text
                       else lower(regexp_replace(btrim(a), '\s+', ' ', 'g')) = lower(v_text) end
        ) then 1 else 0 end;
    elsif p_kind = 'numeric' then
        return case when abs((p_response #>> '{}')::numeric - p_key.numeric_answer)
                         <= p_key.tolerance then 1 else 0 end;
    elsif p_kind = 'ordering' then
        v_ids := array(select jsonb_array_elements_text(p_response));
        if cardinality(v_key) = 0 then
            return 0;
        end if;
        return (
            select count(*) from generate_subscripts(v_key, 1) as i
            where v_ids[i] = v_key[i]
        )::numeric / cardinality(v_key);
    end if;
    return 0;
end;
$$;
comment on function private.learning_score_answer(
    learning.question_kind, learning.question_keys, jsonb
) is
'Fraction of a question''s points (0..1) earned by a response. Partial credit: multiple
choice (right picks minus wrong picks, over the number of right options, floored at 0) and
ordering (share of options in the right place). Short text ignores case (unless the key is
case-sensitive) and extra whitespace; numeric accepts |answer - key| <= tolerance.';
revoke execute on function private.learning_score_answer(
    learning.question_kind, learning.question_keys, jsonb
) from public;

-- Update the learner's quiz grade after an attempt closed, and what follows from a pass.
create function private.learning_update_quiz_result(p_attempt learning.attempts)
returns learning.quiz_results
language plpgsql
set search_path = ''
as $$
declare
    v_quiz learning.quizzes;
    v_grade numeric;
    v_result learning.quiz_results;
    v_newly_passed boolean;
begin
    select * into v_quiz from learning.quizzes as q where q.id = p_attempt.quiz_id;
    select case v_quiz.grading_method
        when 'highest' then max(a.score)
        when 'average' then round(avg(a.score), 2)
        when 'first' then (array_agg(a.score order by a.attempt_no))[1]
        when 'last' then (array_agg(a.score order by a.attempt_no desc))[1]
    end into v_grade
    from learning.attempts as a
    where a.quiz_id = p_attempt.quiz_id and a.user_id = p_attempt.user_id
      and a.status <> 'in_progress';

    select * into v_result from learning.quiz_results as r
    where r.user_id = p_attempt.user_id and r.quiz_id = p_attempt.quiz_id;
    v_newly_passed := not v_result.passed and v_grade >= v_quiz.passing_score;
    update learning.quiz_results set
        final_score = v_grade,
        passed = v_grade >= v_quiz.passing_score,
        passed_at = case when v_newly_passed then now() else passed_at end,
        last_submitted_at = coalesce(p_attempt.submitted_at, now())
    where user_id = p_attempt.user_id and quiz_id = p_attempt.quiz_id
    returning * into v_result;

    perform private.record_activity(p_attempt.user_id, 'quiz.attempt_submitted', 'quiz',
        p_attempt.quiz_id::text,
        jsonb_build_object('attempt_id', p_attempt.id, 'score', p_attempt.score,
                           'status', p_attempt.status), 0);
    if v_newly_passed then
        perform private.record_activity(p_attempt.user_id, 'quiz.passed', 'quiz',
            p_attempt.quiz_id::text, jsonb_build_object('grade', v_grade), 50);
        -- Passing a quiz completes its lesson (once), which may complete the course.
        insert into learning.lesson_progress as lp (user_id, course_id, lesson_id, completed_at)
        select p_attempt.user_id, p_attempt.course_id, v_quiz.lesson_id, now()
        where exists (
            select 1 from learning.enrollments as e
            where e.user_id = p_attempt.user_id and e.course_id = p_attempt.course_id
        )
        on conflict (user_id, course_id, lesson_id) do update
        set completed_at = coalesce(lp.completed_at, now()), updated_at = now();
        perform private.learning_refresh_progress(p_attempt.user_id, p_attempt.course_id);
    end if;
    return v_result;
end;
$$;
comment on function private.learning_update_quiz_result(learning.attempts) is
'Recompute the learner''s quiz grade (grading method over closed attempts), record the
submission (and 50 XP on a first pass), complete the quiz lesson when passed.';
revoke execute on function private.learning_update_quiz_result(learning.attempts) from public;

-- Grade an attempt with the given answers and close it with the given status.
create function private.learning_grade_attempt(
    p_attempt_id uuid, p_answers jsonb, p_status learning.attempt_status, p_at timestamptz
) returns learning.attempts
language plpgsql
set search_path = ''
as $$
declare
    v_attempt learning.attempts;
    v_questions uuid[];
begin
    select a.question_ids into v_questions from learning.attempts as a where a.id = p_attempt_id;
    insert into learning.attempt_answers (attempt_id, question_id, response, points_awarded,
                                          max_points, is_correct)
    select p_attempt_id, q.id, p_answers -> q.id::text,
           round(q.points * s.fraction, 2), q.points, s.fraction = 1
    from learning.questions as q
    left join learning.question_keys as k on k.question_id = q.id
    cross join lateral (
        select case when p_status = 'expired' then 0
                    else private.learning_score_answer(q.kind, k, p_answers -> q.id::text)
               end as fraction
    ) as s
    where q.id = any(v_questions);

    update learning.attempts as a set
        status = p_status,
        submitted_at = p_at,
        saved_answers = coalesce(p_answers, '{}'),
        points = g.points,
        max_points = g.max_points,
        score = case when g.max_points > 0 then round(100 * g.points / g.max_points, 2) else 0 end,
        passed = case when g.max_points > 0 then round(100 * g.points / g.max_points, 2) else 0 end
                 >= (select qz.passing_score from learning.quizzes as qz where qz.id = a.quiz_id)
    from (
        select coalesce(sum(aa.points_awarded), 0) as points,
               coalesce(sum(aa.max_points), 0) as max_points
        from learning.attempt_answers as aa where aa.attempt_id = p_attempt_id
    ) as g
    where a.id = p_attempt_id
    returning a.* into v_attempt;
    perform private.learning_update_quiz_result(v_attempt);
    return v_attempt;
end;
$$;
comment on function private.learning_grade_attempt(
    uuid, jsonb, learning.attempt_status, timestamptz
) is
'Grade every question of the attempt against its key (server-side, partial credit), store
the graded answers, close the attempt and update the quiz grade. status expired scores 0.';
revoke execute on function private.learning_grade_attempt(
    uuid, jsonb, learning.attempt_status, timestamptz
) from public;

-- Close an attempt whose deadline passed without a submission, per the overdue policy.
create function private.learning_close_overdue(p_attempt learning.attempts)
returns learning.attempts
language plpgsql
set search_path = ''
as $$
declare
    v_policy learning.overdue_policy;
begin
    select q.overdue_policy into v_policy from learning.quizzes as q where q.id = p_attempt.quiz_id;
    if v_policy = 'auto_submit' then
        return private.learning_grade_attempt(p_attempt.id, p_attempt.saved_answers,
            'auto_submitted', p_attempt.deadline_at);
    end if;
    return private.learning_grade_attempt(p_attempt.id, p_attempt.saved_answers, 'expired',
        p_attempt.deadline_at);
end;
$$;
comment on function private.learning_close_overdue(learning.attempts) is
'Close an overdue attempt: auto_submit grades the answers saved before the deadline;
refuse closes it as expired with score 0. Either way it counts as an attempt.';
revoke execute on function private.learning_close_overdue(learning.attempts) from public;

create function private.learning_close_all_overdue() returns int
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_attempt learning.attempts;
    v_n int := 0;
begin
    for v_attempt in
        select * from learning.attempts as a
        where a.status = 'in_progress' and a.deadline_at < now()
        order by a.deadline_at
        for update skip locked
    loop
        perform private.learning_close_overdue(v_attempt);
        v_n := v_n + 1;
    end loop;
    return v_n;
end;
$$;
comment on function private.learning_close_all_overdue() is
'Scheduled job (service role): close every overdue attempt per its quiz''s policy, so grades
and completion do not wait for the learner to come back.';
revoke execute on function private.learning_close_all_overdue() from public;
grant execute on function private.learning_close_all_overdue() to service_role;

-- The options of one question in the attempt's order. Written as index lookups
-- (question_options by question_id, ordered by position in the attempt) so that the plan
-- never hashes the whole options table.
create function private.learning_attempt_options(p_option_order jsonb, p_question uuid)
returns jsonb
language sql stable
set search_path = ''
as $$
    select coalesce(jsonb_agg(jsonb_build_object('id', o.id, 'label', o.label)
                              order by array_position(x.ids, o.id)), '[]')
    from (
        select array(
            select e::uuid from jsonb_array_elements_text(p_option_order -> p_question::text) as e
        ) as ids
    ) as x
    cross join learning.question_options as o
    where o.question_id = p_question
$$;
comment on function private.learning_attempt_options(jsonb, uuid) is
'Options (id, label) of a question in the order an attempt shows them; never correctness.';
revoke execute on function private.learning_attempt_options(jsonb, uuid) from public;

-- What the learner sees of an attempt: questions in attempt order, options in attempt
-- order, no keys.
create function private.learning_attempt_view(p_attempt learning.attempts) returns jsonb
language sql stable
set search_path = ''
as $$
    select jsonb_build_object(
        'id', p_attempt.id, 'quiz_id', p_attempt.quiz_id, 'course_id', p_attempt.course_id,
        'attempt_no', p_attempt.attempt_no, 'status', p_attempt.status,
        'started_at', p_attempt.started_at, 'deadline_at', p_attempt.deadline_at,
        'submitted_at', p_attempt.submitted_at, 'server_time', now(),
        'score', p_attempt.score, 'passed', p_attempt.passed,
        'saved_answers', p_attempt.saved_answers,
        'questions', coalesce((
            select jsonb_agg(jsonb_build_object(
                'id', q.id, 'kind', q.kind, 'prompt', q.prompt, 'points', q.points,
                'options', private.learning_attempt_options(p_attempt.option_order, q.id)
            ) order by array_position(p_attempt.question_ids, q.id))
            from learning.questions as q
            where q.id = any(p_attempt.question_ids)
        ), '[]')
    )
$$;
comment on function private.learning_attempt_view(learning.attempts) is
'An attempt as its learner sees it: questions and options in this attempt''s order,
saved answers, deadline; never a key.';
revoke execute on function private.learning_attempt_view(learning.attempts) from public;

-- API ------------------------------------------------------------------------------------------
create function api.learning_start_attempt(p_quiz_id uuid) returns jsonb
language plpgsql
-- Definer: draws questions from the bank (which learners cannot read) and writes attempts.
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
    v_quiz learning.quizzes;
    v_result learning.quiz_results;
    v_open learning.attempts;
    v_attempt learning.attempts;
    v_lock text;
    v_extra int;
    v_questions uuid[];
    v_deadline timestamptz;
    v_wait_until timestamptz;
begin
    select * into v_quiz from learning.quizzes as q where q.id = p_quiz_id;
    if v_quiz.id is null or not private.learning_course_visible(v_quiz.course_id) then
        perform private.raise_error('learning_quiz_not_found', 'No such quiz.', 'PT404');
    end if;
    perform private.learning_require_enrollment(v_uid, v_quiz.course_id);
    v_lock := private.learning_lesson_lock(v_uid, v_quiz.lesson_id);
    if v_lock is not null then
        perform private.raise_error('learning_lesson_locked', 'This quiz is locked.', 'PT423',
            jsonb_build_object('reason', v_lock));
    end if;

    -- One row per learner and quiz, locked: concurrent starts are serialised.
    insert into learning.quiz_results (user_id, quiz_id, course_id)
    values (v_uid, v_quiz.id, v_quiz.course_id)
    on conflict (user_id, quiz_id) do nothing;
    select * into v_result from learning.quiz_results as r
    where r.user_id = v_uid and r.quiz_id = v_quiz.id for update;

    select * into v_open from learning.attempts as a
    where a.quiz_id = v_quiz.id and a.user_id = v_uid and a.status = 'in_progress';
    if v_open.id is not null then
        if v_open.deadline_at is null or v_open.deadline_at >= now() then
            return private.learning_attempt_view(v_open);  -- resume the open attempt
        end if;
        perform private.learning_close_overdue(v_open);
        select * into v_result from learning.quiz_results as r
        where r.user_id = v_uid and r.quiz_id = v_quiz.id;
    end if;

    if v_quiz.due_at is not null and v_quiz.due_at <= now() then
        perform private.raise_error('learning_quiz_closed', 'The quiz is past its due date.',
            'PT409', jsonb_build_object('due_at', v_quiz.due_at));
    end if;
    if v_quiz.max_attempts is not null and v_result.attempts_used >= v_quiz.max_attempts then
        perform private.raise_error('learning_attempt_limit_reached',
            'No attempts left for this quiz.', 'PT409',
            jsonb_build_object('max_attempts', v_quiz.max_attempts));
    end if;
    v_wait_until := v_result.last_submitted_at + make_interval(secs => v_quiz.wait_seconds);
    if v_quiz.wait_seconds > 0 and v_wait_until > now() then
        perform private.raise_error('learning_attempt_wait',
            'Wait before starting another attempt.', 'PT429',
            jsonb_build_object('retry_after',
                greatest(1, ceil(extract(epoch from (v_wait_until - now()))))::int));
    end if;

    v_questions := array(
        select d.id from (
            select q.id, q.position from learning.questions as q
            where q.quiz_id = v_quiz.id
            order by case when v_quiz.draw_count is not null then random() end, q.position
            limit v_quiz.draw_count
        ) as d
        order by case when v_quiz.shuffle_questions then random() end, d.position
    );
    if cardinality(v_questions) = 0 then
        perform private.raise_error('learning_quiz_incomplete', 'This quiz has no questions.',
            'PT409');
    end if;
    select coalesce(ac.extra_time_pct, 0) into v_extra from learning.accommodations as ac
    where ac.course_id = v_quiz.course_id and ac.user_id = v_uid;
    if v_quiz.time_limit_seconds is not null then
        v_deadline := now() + make_interval(
            secs => v_quiz.time_limit_seconds * (100 + coalesce(v_extra, 0)) / 100.0);
    end if;
    if v_quiz.due_at is not null then
        v_deadline := least(coalesce(v_deadline, v_quiz.due_at), v_quiz.due_at);
    end if;

    insert into learning.attempts (quiz_id, user_id, course_id, attempt_no, deadline_at,
                                   question_ids, option_order)
    values (
        v_quiz.id, v_uid, v_quiz.course_id, v_result.attempts_used + 1, v_deadline, v_questions,
        coalesce((
            select jsonb_object_agg(q.id::text, (
                select coalesce(jsonb_agg(o.id order by
                    case when v_quiz.shuffle_options or q.kind = 'ordering' then random() end,
                    o.position), '[]')
                from learning.question_options as o where o.question_id = q.id
            ))
            from learning.questions as q where q.id = any(v_questions)
        ), '{}')
    )
    returning * into v_attempt;
    update learning.quiz_results set attempts_used = attempts_used + 1
    where user_id = v_uid and quiz_id = v_quiz.id;
    perform private.record_activity(v_uid, 'quiz.attempt_started', 'quiz', v_quiz.id::text,
        jsonb_build_object('attempt_id', v_attempt.id), 0);
    return private.learning_attempt_view(v_attempt);
end;
$$;
comment on function api.learning_start_attempt(uuid) is
'Start (or resume) an attempt at a quiz. Questions are drawn from the bank (draw_count)
and shuffled per attempt, options too; the deadline is the time limit plus the learner''s
extra time, capped by the quiz due date. An overdue open attempt is first closed per the
overdue policy. Returns the attempt (questions without keys). Errors: not_authenticated,
learning_quiz_not_found, learning_not_enrolled, learning_lesson_locked, learning_quiz_closed,
learning_attempt_limit_reached, learning_attempt_wait (details.retry_after),
learning_quiz_incomplete.';
revoke execute on function api.learning_start_attempt(uuid) from public, anon;
grant execute on function api.learning_start_attempt(uuid) to authenticated;

create function private.learning_own_attempt(p_attempt_id uuid, p_lock boolean)
returns learning.attempts
language plpgsql
set search_path = ''
as $$
declare
    v_attempt learning.attempts;
begin
    if p_lock then
        select * into v_attempt from learning.attempts as a
        where a.id = p_attempt_id and a.user_id = (select auth.uid()) for update;
    else
        select * into v_attempt from learning.attempts as a
        where a.id = p_attempt_id and a.user_id = (select auth.uid());
    end if;
    if v_attempt.id is null then
        perform private.raise_error('learning_attempt_not_found', 'No such attempt.', 'PT404');
    end if;
    return v_attempt;
end;
$$;
comment on function private.learning_own_attempt(uuid, boolean) is
'The caller''s own attempt (optionally locked), or learning_attempt_not_found: another
learner''s attempt id is indistinguishable from a missing one.';
revoke execute on function private.learning_own_attempt(uuid, boolean) from public;

create function api.learning_get_attempt(p_attempt_id uuid) returns jsonb
language plpgsql stable
security definer
set search_path = ''
as $$
begin
    perform private.require_user();
    return private.learning_attempt_view(private.learning_own_attempt(p_attempt_id, false));
end;
$$;
comment on function api.learning_get_attempt(uuid) is
'Your attempt: its questions and options in this attempt''s order, saved answers, deadline
and server time (never the keys). Errors: not_authenticated, learning_attempt_not_found.';
revoke execute on function api.learning_get_attempt(uuid) from public, anon;
grant execute on function api.learning_get_attempt(uuid) to authenticated;

create function api.learning_save_answers(p_attempt_id uuid, p_answers jsonb) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_attempt learning.attempts;
begin
    perform private.require_user();
    v_attempt := private.learning_own_attempt(p_attempt_id, true);
    if v_attempt.status <> 'in_progress' then
        perform private.raise_error('learning_attempt_closed', 'The attempt is closed.', 'PT409');
    end if;
    if v_attempt.deadline_at is not null and now() > v_attempt.deadline_at then
        perform private.raise_error('learning_attempt_expired',
            'The time limit has passed.', 'PT409',
            jsonb_build_object('deadline_at', v_attempt.deadline_at));
    end if;
    perform private.learning_check_answers(v_attempt, p_answers);
    update learning.attempts set saved_answers = saved_answers || coalesce(p_answers, '{}')
    where id = v_attempt.id
    returning saved_answers into v_attempt.saved_answers;
    return jsonb_build_object('attempt_id', v_attempt.id, 'saved_answers',
        v_attempt.saved_answers, 'deadline_at', v_attempt.deadline_at, 'server_time', now());
end;
$$;
comment on function api.learning_save_answers(uuid, jsonb) is
'Save answers of an open attempt (merged into earlier saves) before its deadline; with the
auto_submit policy, what is saved is graded when time runs out. Errors: not_authenticated,
learning_attempt_not_found, learning_attempt_closed, learning_attempt_expired,
learning_answer_invalid, learning_option_mismatch, learning_payload_too_large.';
revoke execute on function api.learning_save_answers(uuid, jsonb) from public, anon;
grant execute on function api.learning_save_answers(uuid, jsonb) to authenticated;

create function api.learning_submit_attempt(p_attempt_id uuid, p_answers jsonb default null)
returns jsonb
language plpgsql
-- Definer: grading reads the answer keys; the caller only gets the grade (and the keys
-- later, per the reveal policy, through api.learning_get_attempt_review).
security definer
set search_path = ''
as $$
declare
    v_attempt learning.attempts;
    v_quiz learning.quizzes;
    v_result learning.quiz_results;
    v_late boolean;
begin
    perform private.require_user();
    v_attempt := private.learning_own_attempt(p_attempt_id, true);
    if v_attempt.status <> 'in_progress' then
        perform private.raise_error('learning_attempt_closed',
            'The attempt was already submitted.', 'PT409');
    end if;
    select * into v_quiz from learning.quizzes as q where q.id = v_attempt.quiz_id;
    v_late := v_attempt.deadline_at is not null and now() > v_attempt.deadline_at;
    if v_late then
        if v_quiz.overdue_policy = 'refuse' then
            perform private.raise_error('learning_attempt_expired',
                'The time limit has passed; the attempt is closed without these answers.',
                'PT409', jsonb_build_object('deadline_at', v_attempt.deadline_at));
        end if;
        -- auto_submit: grade what was saved before the deadline; late answers are ignored.
        v_attempt := private.learning_grade_attempt(v_attempt.id, v_attempt.saved_answers,
            'auto_submitted', v_attempt.deadline_at);
    else
        perform private.learning_check_answers(v_attempt, p_answers);
        v_attempt := private.learning_grade_attempt(v_attempt.id,
            v_attempt.saved_answers || coalesce(p_answers, '{}'), 'submitted', now());
    end if;
    select * into v_result from learning.quiz_results as r
    where r.user_id = v_attempt.user_id and r.quiz_id = v_attempt.quiz_id;
    return jsonb_build_object(
        'attempt_id', v_attempt.id, 'status', v_attempt.status, 'late', v_late,
        'points', v_attempt.points, 'max_points', v_attempt.max_points,
        'score', v_attempt.score, 'passed', v_attempt.passed,
        'quiz_grade', v_result.final_score, 'quiz_passed', v_result.passed,
        'attempts_used', v_result.attempts_used,
        'attempts_left', case when v_quiz.max_attempts is null then null
                              else greatest(v_quiz.max_attempts - v_result.attempts_used, 0) end
    );
end;
$$;
comment on function api.learning_submit_attempt(uuid, jsonb) is
'Submit an attempt with its final answers (merged over saved ones) and get the grade:
score (0-100, partial credit), passed, the quiz grade by its grading method, attempts left.
After the deadline: auto_submit quizzes grade the answers saved in time (late = true);
refuse quizzes raise learning_attempt_expired and the attempt closes with 0.
Errors: not_authenticated, learning_attempt_not_found, learning_attempt_closed,
learning_attempt_expired, learning_answer_invalid, learning_option_mismatch,
learning_payload_too_large.';
revoke execute on function api.learning_submit_attempt(uuid, jsonb) from public, anon;
grant execute on function api.learning_submit_attempt(uuid, jsonb) to authenticated;

create function private.learning_reveal_allowed(p_attempt learning.attempts) returns boolean
language sql stable
set search_path = ''
as $$
    select case q.reveal_policy
        when 'never' then false
        when 'after_passing' then coalesce(r.passed, false)
        when 'after_last_attempt' then
            q.max_attempts is not null and coalesce(r.attempts_used, 0) >= q.max_attempts
            and not exists (select 1 from learning.attempts as a
                            where a.quiz_id = q.id and a.user_id = p_attempt.user_id
                              and a.status = 'in_progress')
        when 'after_due_date' then q.due_at is not null and q.due_at <= now()
    end
    from learning.quizzes as q
    left join learning.quiz_results as r on r.quiz_id = q.id and r.user_id = p_attempt.user_id
    where q.id = p_attempt.quiz_id
$$;
comment on function private.learning_reveal_allowed(learning.attempts) is
'Does the quiz''s reveal policy let the attempt''s learner see correct answers now?';
revoke execute on function private.learning_reveal_allowed(learning.attempts) from public;

create function api.learning_get_attempt_review(p_attempt_id uuid) returns jsonb
language plpgsql stable
-- Definer: reads answer keys, returning them only when the reveal policy allows (or to
-- course team).
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
    v_attempt learning.attempts;
    v_reveal boolean;
begin
    select * into v_attempt from learning.attempts as a where a.id = p_attempt_id;
    if v_attempt.id is null or not (
        v_attempt.user_id = v_uid or private.learning_is_course_team(v_attempt.course_id)
        or private.user_has_permission(v_uid, 'platform.admin')
    ) then
        perform private.raise_error('learning_attempt_not_found', 'No such attempt.', 'PT404');
    end if;
    if v_attempt.status = 'in_progress' then
        perform private.raise_error('conflict', 'Submit the attempt before reviewing it.',
            'PT409');
    end if;
    v_reveal := v_attempt.user_id <> v_uid or private.learning_reveal_allowed(v_attempt);
    return jsonb_build_object(
        'attempt_id', v_attempt.id, 'quiz_id', v_attempt.quiz_id, 'status', v_attempt.status,
        'score', v_attempt.score, 'passed', v_attempt.passed, 'points', v_attempt.points,
        'max_points', v_attempt.max_points, 'submitted_at', v_attempt.submitted_at,
        'revealed', v_reveal,
        'questions', coalesce((
            select jsonb_agg(
                jsonb_build_object(
                    'id', q.id, 'kind', q.kind, 'prompt', q.prompt, 'points', q.points,
                    'response', aa.response,
                    'options', private.learning_attempt_options(v_attempt.option_order, q.id)
                )
                || case when v_reveal then jsonb_build_object(
                    'points_awarded', aa.points_awarded, 'is_correct', aa.is_correct,
                    'correct_option_ids', k.correct_option_ids,
                    'correct_bool', k.correct_bool,
                    'accepted_answers', k.accepted_answers,
                    'numeric_answer', k.numeric_answer, 'tolerance', k.tolerance,
                    'explanation', k.explanation)
                   else '{}'::jsonb end
                order by array_position(v_attempt.question_ids, q.id))
            from learning.questions as q
            left join learning.attempt_answers as aa
                on aa.attempt_id = v_attempt.id and aa.question_id = q.id
            left join learning.question_keys as k on k.question_id = q.id
            where q.id = any(v_attempt.question_ids)
        ), '[]')
    );
end;
$$;
comment on function api.learning_get_attempt_review(uuid) is
'Review a closed attempt. Your responses and the total score always; per-question marks,
correct answers and explanations only when the quiz''s reveal policy allows (never, after
passing, after the last attempt, after the due date). Course team see everything.
Errors: not_authenticated, learning_attempt_not_found, conflict (attempt still open).';
revoke execute on function api.learning_get_attempt_review(uuid) from public, anon;
grant execute on function api.learning_get_attempt_review(uuid) to authenticated;
