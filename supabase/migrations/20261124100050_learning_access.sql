-- learning: who may see and read what. The rules (course visible, enrolled, can read
-- content) as private functions, the row-level security of every learning table, and the
-- course-content bucket. Continues 20261124100000_learning_schema.sql (the tables).

-- Policy helpers -------------------------------------------------------------------------
create function private.learning_course_team_role(p_course uuid) returns learning.team_role
language sql stable
security definer
set search_path = ''
as $$
    select s.role from learning.course_team as s
    where s.course_id = p_course and s.user_id = (select auth.uid())
$$;
comment on function private.learning_course_team_role(uuid) is
'The caller''s team role in a course, or null. Definer: policies call it without
recursing into course_team''s own policy.';

create function private.learning_is_course_team(p_course uuid) returns boolean
language sql stable
security definer
set search_path = ''
as $$
    select exists (
        select 1 from learning.course_team as s
        where s.course_id = p_course and s.user_id = (select auth.uid())
    )
$$;
comment on function private.learning_is_course_team(uuid) is
'Does the caller teach the course (any team role)?';

-- The rules, written once. Each takes the facts it needs, so that a definer RPC that has
-- already read the course and the caller's enrollment applies the same rule without reading
-- them again. The courses_read policy keeps an inline copy of the visibility rule (a policy
-- calling a function per row is slower); tests/learning/test_learning_rules.py checks that
-- the two agree for every role and course status.
create function private.learning_enrollment_is_live(p_status learning.enrollment_status)
returns boolean
language sql immutable
set search_path = ''
as $$
    select coalesce(p_status in ('active', 'completed'), false)
$$;
comment on function private.learning_enrollment_is_live(learning.enrollment_status) is
'The "enrolled" rule: an enrollment counts while it is active or completed (not withdrawn).';

create function private.learning_course_visible_rule(
    p_status learning.course_status, p_privileged boolean, p_enrolled boolean
) returns boolean
language sql immutable
set search_path = ''
as $$
    select coalesce(
        p_status = 'published' or p_privileged or (p_status = 'archived' and p_enrolled), false
    )
$$;
comment on function private.learning_course_visible_rule(
    learning.course_status, boolean, boolean
) is
'The course visibility rule: published; or the caller is privileged on it (course team,
admin); or archived and the caller is enrolled. Drafts are for the privileged only.';

create function private.learning_content_rule(
    p_status learning.course_status, p_tier learning.price_tier,
    p_privileged boolean, p_enrolled boolean
) returns boolean
language sql stable
set search_path = ''
as $$
    select case
        when p_privileged then true
        when not coalesce(p_enrolled, false) or p_status is null or p_status = 'draft' then false
        when p_tier <> 'pro' then true
        -- a pro course's content follows the plan: lapsed means locked
        else private.user_has_entitlement((select auth.uid()), 'pro')
    end
$$;
comment on function private.learning_content_rule(
    learning.course_status, learning.price_tier, boolean, boolean
) is
'The "can read content" rule (lesson bodies, attachments, course-content objects): the
course team and admins; enrolled learners of a non-draft course, for a pro course only with
the pro entitlement (checked last, only when needed).';

create function private.learning_course_privileged(p_course uuid) returns boolean
language sql stable
set search_path = ''
as $$
    select private.learning_is_course_team(p_course)
        or private.jwt_has_permission('platform.admin')
$$;
comment on function private.learning_course_privileged(uuid) is
'Is the caller privileged on the course: its course team, or a platform admin (JWT)? They see
drafts, read every lesson and are never locked or charged.';

create function private.learning_is_enrolled(p_course uuid) returns boolean
language sql stable
security definer
set search_path = ''
as $$
    select exists (
        select 1 from learning.enrollments as e
        where e.course_id = p_course and e.user_id = (select auth.uid())
          and private.learning_enrollment_is_live(e.status)
    )
$$;
comment on function private.learning_is_enrolled(uuid) is
'Is the caller enrolled (active or completed) in the course?';

create function private.learning_course_visible(p_course uuid) returns boolean
language sql stable
security definer
set search_path = ''
as $$
    -- "published or": a fast path for the catalog policies (the rule is true for published
    -- courses), so they look nothing else up for the common case.
    select coalesce((
        select c.status = 'published' or private.learning_course_visible_rule(
            c.status, private.learning_course_privileged(c.id),
            c.status = 'archived' and private.learning_is_enrolled(c.id)
        )
        from learning.courses as c where c.id = p_course
    ), false)
$$;
comment on function private.learning_course_visible(uuid) is
'May the caller see the course (private.learning_course_visible_rule): published; archived
and enrolled; course team; admin.';

create function private.learning_can_read_content(p_object_name text) returns boolean
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    v_first text := split_part(p_object_name, '/', 1);
    v_course uuid;
    v_status learning.course_status;
    v_tier learning.price_tier;
begin
    if v_first !~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
        return false;
    end if;
    v_course := v_first::uuid;
    select c.status, c.price_tier into v_status, v_tier
    from learning.courses as c where c.id = v_course;
    return private.learning_content_rule(v_status, v_tier,
        private.learning_course_privileged(v_course), private.learning_is_enrolled(v_course));
end;
$$;
comment on function private.learning_can_read_content(text) is
'Storage policy helper: object <course_id>/... of course-content is readable by enrolled
learners and course team (and admins). Malformed paths are never readable.';

create function private.learning_can_write_content(p_object_name text) returns boolean
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    v_first text := split_part(p_object_name, '/', 1);
begin
    if v_first !~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
        return false;
    end if;
    return coalesce(private.learning_course_team_role(v_first::uuid) in ('owner', 'co_instructor'),
        false)
        or private.jwt_has_permission('platform.admin');
end;
$$;
comment on function private.learning_can_write_content(text) is
'Storage policy helper: owners and co-instructors (and admins) upload course content.';

revoke execute on function private.learning_course_team_role(uuid) from public;
revoke execute on function private.learning_is_course_team(uuid) from public;
revoke execute on function private.learning_is_enrolled(uuid) from public;
revoke execute on function private.learning_enrollment_is_live(learning.enrollment_status)
from public;
revoke execute on function private.learning_course_visible_rule(
    learning.course_status, boolean, boolean
) from public;
revoke execute on function private.learning_content_rule(
    learning.course_status, learning.price_tier, boolean, boolean
) from public;
revoke execute on function private.learning_course_privileged(uuid) from public;
revoke execute on function private.learning_course_visible(uuid) from public;
revoke execute on function private.learning_can_read_content(text) from public;
revoke execute on function private.learning_can_write_content(text) from public;
-- The rule functions are called only inside definer functions: no grant to API roles.
grant execute on function private.learning_is_course_team(uuid), private.learning_is_enrolled(uuid),
private.learning_course_visible(uuid) to anon, authenticated, service_role;
grant execute on function private.learning_can_read_content(text),
private.learning_can_write_content(text) to authenticated, service_role;

-- Row-level security -------------------------------------------------------------------------
alter table learning.courses enable row level security;
alter table learning.course_team enable row level security;
alter table learning.modules enable row level security;
alter table learning.module_prerequisites enable row level security;
alter table learning.course_prerequisites enable row level security;
alter table learning.lessons enable row level security;
alter table learning.lesson_contents enable row level security;
alter table learning.enrollments enable row level security;
alter table learning.lesson_progress enable row level security;
alter table learning.quizzes enable row level security;
alter table learning.questions enable row level security;
alter table learning.question_options enable row level security;
alter table learning.question_keys enable row level security;
alter table learning.accommodations enable row level security;
alter table learning.attempts enable row level security;
alter table learning.attempt_answers enable row level security;
alter table learning.quiz_results enable row level security;
alter table learning.certificates enable row level security;
alter table learning.certificate_events enable row level security;
alter table learning.reviews enable row level security;

-- Catalog structure: as visible as its course. courses_read is the inline copy of
-- private.learning_course_visible_rule (tested to agree); the others call the function.
create policy courses_read on learning.courses for select to anon, authenticated
using (
    status = 'published'
    or (select private.jwt_has_permission('platform.admin'))
    or private.learning_is_course_team(id)
    or (status = 'archived' and private.learning_is_enrolled(id))
);
create policy course_team_read on learning.course_team for select to anon, authenticated
using (private.learning_course_visible(course_id));
create policy modules_read on learning.modules for select to anon, authenticated
using (private.learning_course_visible(course_id));
create policy lessons_read on learning.lessons for select to anon, authenticated
using (private.learning_course_visible(course_id));
create policy course_prerequisites_read on learning.course_prerequisites for select
to anon, authenticated using (private.learning_course_visible(course_id));
create policy module_prerequisites_read on learning.module_prerequisites for select
to anon, authenticated
using (exists (select 1 from learning.modules as m where m.id = module_id));
create policy quizzes_read on learning.quizzes for select to anon, authenticated
using (private.learning_course_visible(course_id));
grant select on learning.courses, learning.course_team, learning.modules, learning.lessons,
learning.course_prerequisites, learning.module_prerequisites, learning.quizzes
to anon, authenticated;

-- Learner data: own rows, course team, admins.
create policy enrollments_read on learning.enrollments for select to authenticated
using (
    user_id = (select auth.uid())
    or (select private.jwt_has_permission('platform.admin'))
    or private.learning_is_course_team(course_id)
);
create policy lesson_progress_read on learning.lesson_progress for select to authenticated
using (
    user_id = (select auth.uid())
    or (select private.jwt_has_permission('platform.admin'))
    or private.learning_is_course_team(course_id)
);
create policy attempts_read on learning.attempts for select to authenticated
using (
    user_id = (select auth.uid())
    or (select private.jwt_has_permission('platform.admin'))
    or private.learning_is_course_team(course_id)
);
create policy quiz_results_read on learning.quiz_results for select to authenticated
using (
    user_id = (select auth.uid())
    or (select private.jwt_has_permission('platform.admin'))
    or private.learning_is_course_team(course_id)
);
create policy accommodations_read on learning.accommodations for select to authenticated
using (
    user_id = (select auth.uid())
    or (select private.jwt_has_permission('platform.admin'))
    or private.learning_is_course_team(course_id)
);
create policy certificates_read on learning.certificates for select to authenticated
using (
    user_id = (select auth.uid())
    or (select private.jwt_has_permission('platform.admin'))
    or private.learning_is_course_team(course_id)
);
create policy certificate_events_read on learning.certificate_events for select
to authenticated
using (exists (select 1 from learning.certificates as c where c.id = certificate_id));
grant select on learning.enrollments, learning.lesson_progress, learning.attempts,
learning.quiz_results, learning.accommodations, learning.certificates,
learning.certificate_events to authenticated;

-- Course team-only: the question bank (no keys) and graded answers.
create policy questions_read on learning.questions for select to authenticated
using (
    (select private.jwt_has_permission('platform.admin'))
    or private.learning_is_course_team(course_id)
);
create policy question_options_read on learning.question_options for select to authenticated
using (exists (select 1 from learning.questions as q where q.id = question_id));
create policy attempt_answers_read on learning.attempt_answers for select to authenticated
using (
    exists (
        select 1 from learning.attempts as a
        where
            a.id = attempt_id
            and (
                (select private.jwt_has_permission('platform.admin'))
                or private.learning_is_course_team(a.course_id)
            )
    )
);
grant select on learning.questions, learning.question_options, learning.attempt_answers
to authenticated;

-- Reviews are public for visible courses.
create policy reviews_read on learning.reviews for select to anon, authenticated
using (private.learning_course_visible(course_id));
grant select on learning.reviews to anon, authenticated;

-- lesson_contents and question_keys: no policy, no grant to anon/authenticated.
grant select, insert, update, delete on all tables in schema learning to service_role;
-- ... except the answer keys, which not even the API's service role reads directly.
revoke all on learning.question_keys from service_role;

-- Storage: the private course-content bucket, path <course_id>/<anything>.
insert into storage.buckets (id, name, public, file_size_limit)
values ('course-content', 'course-content', false, 524288000)
on conflict (id) do nothing;

create policy course_content_read on storage.objects for select to authenticated
using (bucket_id = 'course-content' and private.learning_can_read_content(name));
create policy course_content_insert on storage.objects for insert to authenticated
with check (bucket_id = 'course-content' and private.learning_can_write_content(name));
create policy course_content_update on storage.objects for update to authenticated
using (bucket_id = 'course-content' and private.learning_can_write_content(name))
with check (bucket_id = 'course-content' and private.learning_can_write_content(name));
create policy course_content_delete on storage.objects for delete to authenticated
using (bucket_id = 'course-content' and private.learning_can_write_content(name));
