-- learning: api views for learners and course team (security_invoker, so the table policies
-- apply), course team analytics, and the data provider for export and account deletion.

-- Catalog views ------------------------------------------------------------------------------
create view api.learning_courses with (security_invoker = true) as
select
    c.id,
    c.slug,
    c.title,
    c.summary,
    c.description,
    c.level,
    c.tags,
    c.estimated_hours,
    c.language,
    c.price_tier,
    c.status,
    c.cover_path,
    c.sequential,
    c.published_at,
    c.enrollment_count,
    c.rating_avg,
    c.rating_count,
    c.created_at,
    c.updated_at
from learning.courses as c
where (select private.key_may_read('api.learning_courses'));
comment on view api.learning_courses is
'Courses you may see: published ones; drafts of courses you teach; archived ones you are
enrolled in; all for admins. For the catalog with search and paging use api.learning_list_courses.';
grant select on api.learning_courses to anon, authenticated, service_role;

create view api.learning_course_modules with (security_invoker = true) as
select
    m.id,
    m.course_id,
    m.position,
    m.title,
    m.unlock_at
from learning.modules as m
where (select private.key_may_read('api.learning_course_modules'));
comment on view api.learning_course_modules is 'Modules of the courses you may see.';
grant select on api.learning_course_modules to anon, authenticated, service_role;

create view api.learning_course_lessons with (security_invoker = true) as
select
    l.id,
    l.course_id,
    l.module_id,
    l.position,
    l.title,
    l.kind,
    l.is_preview,
    l.is_required,
    l.duration_seconds
from learning.lessons as l
where (select private.key_may_read('api.learning_course_lessons'));
comment on view api.learning_course_lessons is
'Lessons of the courses you may see, without bodies (see api.learning_get_lesson).';
grant select on api.learning_course_lessons to anon, authenticated, service_role;

create view api.learning_course_team with (security_invoker = true) as
select
    s.course_id,
    s.user_id,
    s.role
from learning.course_team as s
where (select private.key_may_read('api.learning_course_team'));
comment on view api.learning_course_team is 'Who teaches the courses you may see.';
grant select on api.learning_course_team to anon, authenticated, service_role;

create view api.learning_course_prerequisites with (security_invoker = true) as
select
    p.course_id,
    p.requires_course_id
from learning.course_prerequisites as p
where (select private.key_may_read('api.learning_course_prerequisites'));
comment on view api.learning_course_prerequisites is
'Courses to complete before enrolling in a course.';
grant select on api.learning_course_prerequisites to anon, authenticated, service_role;

create view api.learning_quizzes with (security_invoker = true) as
select
    q.id,
    q.course_id,
    q.lesson_id,
    q.passing_score,
    q.max_attempts,
    q.wait_seconds,
    q.grading_method,
    q.time_limit_seconds,
    q.overdue_policy,
    q.draw_count,
    q.reveal_policy,
    q.due_at
from learning.quizzes as q
where (select private.key_may_read('api.learning_quizzes'));
comment on view api.learning_quizzes is
'Quiz rules (no questions, no keys) of the courses you may see.';
grant select on api.learning_quizzes to anon, authenticated, service_role;

create view api.learning_course_reviews with (security_invoker = true) as
select
    r.id,
    r.course_id,
    r.user_id,
    r.rating,
    r.body,
    r.reply_body,
    r.reply_by,
    r.replied_at,
    r.created_at,
    r.updated_at
from learning.reviews as r
where (select private.key_may_read('api.learning_course_reviews'));
comment on view api.learning_course_reviews is
'Reviews of the courses you may see (user_id null: the author deleted their account).';
grant select on api.learning_course_reviews to anon, authenticated, service_role;

-- The learner's own data -----------------------------------------------------------------------
create view api.learning_my_enrollments with (security_invoker = true) as
select
    e.course_id,
    c.slug,
    c.title,
    e.status,
    e.enrolled_at,
    e.completed_at,
    e.lessons_completed,
    e.progress_pct,
    e.last_activity_at
from learning.enrollments as e
inner join learning.courses as c on e.course_id = c.id
where
    (select private.key_may_read('api.learning_my_enrollments'))
    and (e.user_id = (select auth.uid()));
comment on view api.learning_my_enrollments is 'Your enrollments with progress.';
grant select on api.learning_my_enrollments to authenticated, service_role;

create view api.learning_my_lesson_progress with (security_invoker = true) as
select
    p.course_id,
    p.lesson_id,
    p.completed_at,
    p.position_seconds,
    p.updated_at
from learning.lesson_progress as p
where
    (select private.key_may_read('api.learning_my_lesson_progress'))
    and (p.user_id = (select auth.uid()));
comment on view api.learning_my_lesson_progress is 'Your lesson completions and resume positions.';
grant select on api.learning_my_lesson_progress to authenticated, service_role;

create view api.learning_my_quiz_attempts with (security_invoker = true) as
select
    a.id,
    a.quiz_id,
    a.course_id,
    a.attempt_no,
    a.status,
    a.started_at,
    a.deadline_at,
    a.submitted_at,
    a.score,
    a.passed
from learning.attempts as a
where
    (select private.key_may_read('api.learning_my_quiz_attempts'))
    and (a.user_id = (select auth.uid()));
comment on view api.learning_my_quiz_attempts is
'Your quiz attempts and their scores (questions through api.learning_get_attempt, answers through
api.learning_get_attempt_review).';
grant select on api.learning_my_quiz_attempts to authenticated, service_role;

create view api.learning_my_quiz_results with (security_invoker = true) as
select
    r.quiz_id,
    r.course_id,
    r.attempts_used,
    r.final_score,
    r.passed,
    r.passed_at,
    r.last_submitted_at
from learning.quiz_results as r
where
    (select private.key_may_read('api.learning_my_quiz_results'))
    and (r.user_id = (select auth.uid()));
comment on view api.learning_my_quiz_results is 'Your grade per quiz (by its grading method).';
grant select on api.learning_my_quiz_results to authenticated, service_role;

create view api.learning_my_certificates with (security_invoker = true) as
select
    c.id,
    c.code,
    c.course_id,
    c.course_title,
    c.holder_name,
    c.issued_at,
    c.status,
    c.status_changed_at,
    c.status_reason,
    c.holder_username
from learning.certificates as c
where
    (select private.key_may_read('api.learning_my_certificates'))
    and (c.user_id = (select auth.uid()));
comment on view api.learning_my_certificates is
'Your certificates; share the code, anyone can check it with api.learning_verify_certificate.';
grant select on api.learning_my_certificates to authenticated, service_role;

create view api.learning_certificate_history with (security_invoker = true) as
select
    e.id,
    e.certificate_id,
    e.status,
    e.reason,
    e.actor_id,
    e.occurred_at
from learning.certificate_events as e
where (select private.key_may_read('api.learning_certificate_history'));
comment on view api.learning_certificate_history is
'Status history of certificates you may see (your own; your courses''; all for admins).';
grant select on api.learning_certificate_history to authenticated, service_role;

-- Course team views -------------------------------------------------------------------------------
create view api.learning_course_roster with (security_invoker = true) as
select
    e.course_id,
    e.user_id,
    p.username,
    p.display_name,
    e.status,
    e.enrolled_at,
    e.completed_at,
    e.lessons_completed,
    e.progress_pct,
    e.last_activity_at,
    a.extra_time_pct,
    (
        select count(*) from learning.quiz_results as r
        where r.user_id = e.user_id and r.course_id = e.course_id and r.passed
    ) as quizzes_passed
from learning.enrollments as e
left join accounts.profiles as p on e.user_id = p.id
left join learning.accommodations as a on e.course_id = a.course_id and e.user_id = a.user_id
where
    (select private.key_may_read('api.learning_course_roster'))
    and (
        private.learning_is_course_team(e.course_id)
        or (select private.jwt_has_permission('platform.admin'))
        or (select auth.role()) = 'service_role'
    );
comment on view api.learning_course_roster is
'Course team: learners of the courses you teach, with progress, quizzes passed and extra time.
(Profile fields follow profile visibility.)';
grant select on api.learning_course_roster to authenticated, service_role;

create view api.learning_course_attempts with (security_invoker = true) as
select
    a.id,
    a.quiz_id,
    a.course_id,
    a.user_id,
    a.attempt_no,
    a.status,
    a.started_at,
    a.deadline_at,
    a.submitted_at,
    a.score,
    a.passed
from learning.attempts as a
where
    (select private.key_may_read('api.learning_course_attempts'))
    and (
        private.learning_is_course_team(a.course_id)
        or (select private.jwt_has_permission('platform.admin'))
        or (select auth.role()) = 'service_role'
    );
comment on view api.learning_course_attempts is
'Course team: quiz attempts in the courses you teach.';
grant select on api.learning_course_attempts to authenticated, service_role;

create view api.learning_course_enrollment_stats with (security_invoker = true) as
select
    e.course_id,
    (date_trunc('day', e.enrolled_at at time zone 'UTC'))::date as day,
    count(*) as enrollments,
    count(*) filter (where e.completed_at is not null) as completions,
    count(*) filter (where e.status = 'withdrawn') as withdrawals
from learning.enrollments as e
where
    (select private.key_may_read('api.learning_course_enrollment_stats'))
    and (
        private.learning_is_course_team(e.course_id)
        or (select private.jwt_has_permission('platform.admin'))
        or (select auth.role()) = 'service_role'
    )
group by e.course_id, (date_trunc('day', e.enrolled_at at time zone 'UTC'))::date;
comment on view api.learning_course_enrollment_stats is
'Course team analytics: enrollments per course and UTC day (and how many of them completed or
withdrew since).';
grant select on api.learning_course_enrollment_stats to authenticated, service_role;

create view api.learning_course_lesson_funnel with (security_invoker = true) as
select
    l.course_id,
    l.id as lesson_id,
    m.position as module_position,
    l.position as lesson_position,
    l.title,
    l.kind,
    (
        select count(*) from learning.lesson_progress as lp
        where lp.lesson_id = l.id and lp.completed_at is not null
    ) as completions,
    (
        select count(*) from learning.enrollments as e
        where e.course_id = l.course_id
    ) as enrollments
from learning.lessons as l
inner join learning.modules as m on l.module_id = m.id
where
    (select private.key_may_read('api.learning_course_lesson_funnel'))
    and (
        private.learning_is_course_team(l.course_id)
        or (select private.jwt_has_permission('platform.admin'))
        or (select auth.role()) = 'service_role'
    );
comment on view api.learning_course_lesson_funnel is
'Course team analytics: per lesson (in course order), how many learners completed it out of all
enrollments: where learners drop off.';
grant select on api.learning_course_lesson_funnel to authenticated, service_role;

create view api.learning_quiz_item_difficulty with (security_invoker = true) as
select
    q.course_id,
    q.quiz_id,
    q.id as question_id,
    q.kind,
    q.prompt,
    count(aa.attempt_id) as answered,
    round(avg(aa.points_awarded / nullif(aa.max_points, 0)), 3) as facility,
    round(avg(case when aa.is_correct then 1.0 else 0.0 end), 3) as correct_rate
from learning.questions as q
left join learning.attempt_answers as aa on q.id = aa.question_id
where
    (select private.key_may_read('api.learning_quiz_item_difficulty'))
    and (
        private.learning_is_course_team(q.course_id)
        or (select private.jwt_has_permission('platform.admin'))
        or (select auth.role()) = 'service_role'
    )
group by q.course_id, q.quiz_id, q.id, q.kind, q.prompt;
comment on view api.learning_quiz_item_difficulty is
'Course team analytics: per question, how many graded answers, facility (mean share of points,
0 = hard, 1 = easy) and the share fully correct.';
grant select on api.learning_quiz_item_difficulty to authenticated, service_role;

create view api.learning_course_accommodations with (security_invoker = true) as
select
    a.course_id,
    a.user_id,
    a.extra_time_pct,
    a.note,
    a.updated_at
from learning.accommodations as a
where (select private.key_may_read('api.learning_course_accommodations'));
comment on view api.learning_course_accommodations is
'Extra time on timed quizzes: your own, or your learners'' if you teach the course.';
grant select on api.learning_course_accommodations to authenticated, service_role;

-- Data export and erasure ---------------------------------------------------------------------
create function private.export_learning(p_user uuid) returns jsonb
language sql stable
security definer
set search_path = ''
as $$
    select jsonb_build_object(
        'enrollments', coalesce((select jsonb_agg(to_jsonb(e) - 'user_id' order by e.enrolled_at)
            from learning.enrollments as e where e.user_id = p_user), '[]'),
        'lesson_progress', coalesce((select jsonb_agg(to_jsonb(p) - 'user_id')
            from learning.lesson_progress as p where p.user_id = p_user), '[]'),
        'quiz_attempts', coalesce((select jsonb_agg(jsonb_build_object(
                'id', a.id, 'quiz_id', a.quiz_id, 'attempt_no', a.attempt_no,
                'status', a.status, 'started_at', a.started_at,
                'submitted_at', a.submitted_at, 'score', a.score, 'passed', a.passed,
                'answers', a.saved_answers) order by a.started_at)
            from learning.attempts as a where a.user_id = p_user), '[]'),
        'quiz_results', coalesce((select jsonb_agg(to_jsonb(r) - 'user_id')
            from learning.quiz_results as r where r.user_id = p_user), '[]'),
        'certificates', coalesce((select jsonb_agg(to_jsonb(c) - 'user_id')
            from learning.certificates as c where c.user_id = p_user), '[]'),
        'reviews', coalesce((select jsonb_agg(to_jsonb(r) - 'user_id')
            from learning.reviews as r where r.user_id = p_user), '[]'),
        'accommodations', coalesce((select jsonb_agg(to_jsonb(a) - 'user_id')
            from learning.accommodations as a where a.user_id = p_user), '[]'),
        'teaching', coalesce((select jsonb_agg(jsonb_build_object('course_id', s.course_id,
                'role', s.role))
            from learning.course_team as s where s.user_id = p_user), '[]')
    )
$$;
comment on function private.export_learning(uuid) is
'The learning section of a data export: enrollments, progress, attempts with answers
(never keys), grades, certificates, reviews, accommodations, teaching roles.';
revoke execute on function private.export_learning(uuid) from public;

create function private.erase_learning(p_user uuid) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_course uuid;
begin
    -- Certificates stay verifiable as records, but no longer name anyone.
    insert into learning.certificate_events (certificate_id, status, reason)
    select c.id, 'revoked', 'holder account deleted'
    from learning.certificates as c where c.user_id = p_user;
    update learning.certificates set
        user_id = null, holder_name = null, holder_username = null, status = 'revoked',
        status_changed_at = now(), status_reason = 'holder account deleted'
    where user_id = p_user;
    -- Reviews are authored content: kept, anonymised (the rating aggregate is unchanged).
    update learning.reviews set user_id = null where user_id = p_user;
    update learning.reviews set reply_by = null where reply_by = p_user;
    for v_course in
        select e.course_id from learning.enrollments as e
        where e.user_id = p_user and e.status <> 'withdrawn'
    loop
        update learning.courses set enrollment_count = greatest(enrollment_count - 1, 0)
        where id = v_course;
    end loop;
    delete from learning.attempts where user_id = p_user;
    delete from learning.quiz_results where user_id = p_user;
    delete from learning.accommodations where user_id = p_user;
    delete from learning.enrollments where user_id = p_user;
    delete from learning.course_team where user_id = p_user;
    update learning.courses set created_by = null where created_by = p_user;
end;
$$;
comment on function private.erase_learning(uuid) is
'Account deletion, learning part: delete enrollments, progress, attempts, grades,
accommodations and team roles; anonymise reviews; certificates lose the holder''s name and
are marked revoked (reason: holder account deleted).';
revoke execute on function private.erase_learning(uuid) from public;

insert into accounts.data_providers (name, export_function, erase_function, position)
values ('learning', 'private.export_learning(uuid)', 'private.erase_learning(uuid)', 20);
