-- learning: catalog listing, course outline and lesson delivery, enrollment, progress,
-- completion and certificates, reviews.
--
-- The hot paths (api.learning_list_courses, api.learning_get_course_outline,
-- api.learning_complete_lesson) are definer
-- functions that apply the visibility rules themselves, so the planner can use the partial
-- and GIN indexes (under RLS it may not use non-leakproof operators such as @@ and @>).

-- Shared helpers -------------------------------------------------------------------------
create function private.learning_cache_headers(p_anon_max_age int) returns void
language plpgsql
set search_path = ''
as $$
begin
    if (select auth.uid()) is null then
        perform set_config('response.headers', format(
            '[{"Cache-Control": "public, max-age=%s, stale-while-revalidate=60"}]',
            p_anon_max_age), true);
    else
        perform set_config('response.headers',
            '[{"Cache-Control": "private, no-store"}]', true);
    end if;
end;
$$;
comment on function private.learning_cache_headers(int) is
'Set PostgREST response headers: anonymous catalog reads are publicly cacheable for
p_anon_max_age seconds; signed-in reads (which carry personal state) are not stored.';
revoke execute on function private.learning_cache_headers(int) from public;

-- Why a lesson is locked for a learner (null = unlocked): unlock date of its module,
-- unmet module prerequisites, or sequential progress with an earlier lesson not done.
create function private.learning_lesson_lock(p_user uuid, p_lesson uuid) returns text
language sql stable
set search_path = ''
as $$
    select case
        when m.unlock_at is not null and m.unlock_at > now() then 'unlock_date'
        when exists (
            select 1 from learning.module_prerequisites as mp
            join learning.lessons as rl on rl.module_id = mp.requires_module_id
            left join learning.lesson_progress as lp
                on lp.user_id = p_user and lp.course_id = l.course_id and lp.lesson_id = rl.id
            where mp.module_id = m.id and lp.completed_at is null
        ) then 'module_prerequisites'
        when c.sequential and exists (
            select 1 from learning.lessons as el
            join learning.modules as em on em.id = el.module_id
            left join learning.lesson_progress as lp
                on lp.user_id = p_user and lp.course_id = l.course_id and lp.lesson_id = el.id
            where el.course_id = l.course_id
              and (em.position, el.position) < (m.position, l.position)
              and lp.completed_at is null
        ) then 'sequential'
    end
    from learning.lessons as l
    join learning.modules as m on m.id = l.module_id
    join learning.courses as c on c.id = l.course_id
    where l.id = p_lesson
$$;
comment on function private.learning_lesson_lock(uuid, uuid) is
'Why the lesson is locked for the user (unlock_date, module_prerequisites, sequential), or
null when it is open. Course team are never locked (callers check).';
revoke execute on function private.learning_lesson_lock(uuid, uuid) from public;

-- Recompute an enrollment's progress and complete it when the rules hold: every required
-- lesson completed (quiz lessons complete by passing their quiz). A course without
-- required lessons needs all of its lessons.
create function private.learning_refresh_progress(p_user uuid, p_course uuid) returns boolean
language plpgsql
set search_path = ''
as $$
declare
    v_total int;
    v_done int;
    v_required int;
    v_required_missing int;
    v_completed boolean;
begin
    select count(*)::int,
           count(lp.completed_at)::int,
           count(*) filter (where l.is_required)::int,
           count(*) filter (where l.is_required and lp.completed_at is null)::int
    into v_total, v_done, v_required, v_required_missing
    from learning.lessons as l
    left join learning.lesson_progress as lp
        on lp.user_id = p_user and lp.course_id = p_course and lp.lesson_id = l.id
    where l.course_id = p_course;

    v_completed := v_total > 0 and case
        when v_required > 0 then v_required_missing = 0 else v_done = v_total end;

    update learning.enrollments as e set
        lessons_completed = v_done,
        progress_pct = case when v_total = 0 then 0
                            else round(100.0 * v_done / v_total, 2) end,
        last_activity_at = now(),
        status = case when v_completed and e.status = 'active' then 'completed'
                      else e.status end,
        completed_at = case when v_completed then coalesce(e.completed_at, now())
                            else e.completed_at end
    where e.user_id = p_user and e.course_id = p_course;

    return v_completed;
end;
$$;
comment on function private.learning_refresh_progress(uuid, uuid) is
'Recompute lessons_completed / progress_pct of an enrollment and mark it completed when
the completion rules hold (which fires certificate issuance). Returns whether complete.';
revoke execute on function private.learning_refresh_progress(uuid, uuid) from public;

-- Catalog ----------------------------------------------------------------------------------
create function api.learning_list_courses(
    p_query text default null,
    p_level text default null,
    p_tag text default null,
    p_tier text default null,
    p_sort text default 'newest',
    p_cursor text default null,
    p_limit int default 20
)
returns table (
    id uuid,
    slug text,
    title text,
    summary text,
    level text,
    tags text[],
    estimated_hours numeric,
    language text,
    price_tier text,
    cover_path text,
    published_at timestamptz,
    enrollment_count int,
    rating_avg numeric,
    rating_count int,
    next_cursor text
)
language plpgsql stable
-- Definer: applies "published only" itself, so the partial and GIN indexes are usable
-- (under RLS the planner may not push @@ or @> into an index scan). Drafts never appear.
security definer
set search_path = ''
set plan_cache_mode = 'force_custom_plan'
as $$
declare
    v_query text := nullif(btrim(p_query), '');
    v_tsq tsquery;
    v_after_num numeric;
    v_after_time timestamptz;
    v_after_id uuid;
begin
    perform private.require_scope('api.learning_list_courses');  -- API key scope
    if p_limit is null or p_limit not between 1 and 100 then
        perform private.raise_error('invalid_argument', 'p_limit is between 1 and 100.', '22023',
            jsonb_build_object('field', 'p_limit'));
    end if;
    if p_sort is null or p_sort not in ('newest', 'popular', 'rating') then
        perform private.raise_error('invalid_argument', 'p_sort is newest, popular or rating.',
            '22023', jsonb_build_object('field', 'p_sort'));
    end if;
    if p_level is not null and p_level not in ('beginner', 'intermediate', 'advanced') then
        perform private.raise_error('invalid_argument',
            'p_level is beginner, intermediate or advanced.', '22023',
            jsonb_build_object('field', 'p_level'));
    end if;
    if p_tier is not null and p_tier not in ('free', 'pro') then
        perform private.raise_error('invalid_argument', 'p_tier is free or pro.', '22023',
            jsonb_build_object('field', 'p_tier'));
    end if;
    if p_tag is not null and char_length(p_tag) not between 1 and 40 then
        perform private.raise_error('invalid_argument', 'p_tag is 1-40 characters.', '22023',
            jsonb_build_object('field', 'p_tag'));
    end if;
    if v_query is not null then
        if char_length(v_query) > 200 then
            perform private.raise_error('invalid_argument', 'p_query is at most 200 characters.',
                '22023', jsonb_build_object('field', 'p_query'));
        end if;
        v_tsq := websearch_to_tsquery('english'::regconfig, v_query);
    end if;
    if p_cursor is not null then
        begin
            select (c ->> 'n')::numeric, (c ->> 't')::timestamptz, (c ->> 'i')::uuid
            into strict v_after_num, v_after_time, v_after_id
            from (select convert_from(decode(p_cursor, 'base64'), 'utf8')::jsonb as c) as x;
        exception when others then
            perform private.raise_error('cursor_invalid', 'Bad cursor.', '22023');
        end;
        if v_after_id is null or (p_sort = 'newest' and v_after_time is null)
            or (p_sort <> 'newest' and v_after_num is null) then
            perform private.raise_error('cursor_invalid', 'Bad cursor.', '22023');
        end if;
    end if;
    perform private.learning_cache_headers(60);

    return query
    select
        c.id, c.slug, c.title, c.summary, c.level::text, c.tags, c.estimated_hours, c.language,
        c.price_tier::text, c.cover_path, c.published_at, c.enrollment_count, c.rating_avg,
        c.rating_count,
        encode(convert_to(jsonb_build_object(
            'n', case p_sort when 'popular' then c.enrollment_count::numeric
                             when 'rating' then c.rating_avg end,
            't', case when p_sort = 'newest' then c.published_at end,
            'i', c.id)::text, 'utf8'), 'base64')
    from learning.courses as c
    where c.status = 'published'
      and (p_level is null or c.level = p_level::learning.course_level)
      and (p_tier is null or c.price_tier = p_tier::learning.price_tier)
      and (p_tag is null or c.tags @> array[p_tag])
      and (v_tsq is null or c.search @@ v_tsq)
      and (
          p_cursor is null
          or (p_sort = 'newest' and (c.published_at, c.id) < (v_after_time, v_after_id))
          or (p_sort = 'popular'
              and (c.enrollment_count::numeric, c.id) < (v_after_num, v_after_id))
          or (p_sort = 'rating' and (c.rating_avg, c.id) < (v_after_num, v_after_id))
      )
    order by
        case when p_sort = 'newest' then c.published_at end desc,
        case when p_sort = 'popular' then c.enrollment_count end desc,
        case when p_sort = 'rating' then c.rating_avg end desc,
        c.id desc
    limit p_limit;
end;
$$;
comment on function api.learning_list_courses(text, text, text, text, text, text, int) is
'The course catalog (published courses). Filters: p_query (full-text, web search syntax),
p_level (beginner|intermediate|advanced), p_tag, p_tier (free|pro). p_sort: newest (default),
popular (enrollments), rating. Keyset pagination: pass the last row''s next_cursor as
p_cursor; p_limit 1-100. Anonymous responses carry Cache-Control: public, max-age=60.
Errors: invalid_argument, cursor_invalid.';
revoke execute on function api.learning_list_courses(text, text, text, text, text, text, int)
from public;
grant execute on function api.learning_list_courses(text, text, text, text, text, text, int)
to anon, authenticated, service_role;

-- The modules of an outline, each with its lessons; per-learner state and lock reasons for
-- enrolled learners, bodies where p_full (or for preview lessons).
create function private.learning_outline_modules(
    p_course uuid, p_user uuid, p_enrolled boolean, p_privileged boolean, p_full boolean
) returns jsonb
-- PL/pgSQL: the plan is cached, and body_html (added by the content-rendering migration)
-- is resolved when the function runs.
language plpgsql stable
set search_path = ''
as $$
begin
    return coalesce((
        select jsonb_agg(jsonb_build_object(
            'id', m.id, 'position', m.position, 'title', m.title,
            'unlock_at', m.unlock_at,
            'requires_modules', coalesce((
                select jsonb_agg(mp.requires_module_id)
                from learning.module_prerequisites as mp where mp.module_id = m.id
            ), '[]'),
            'lessons', coalesce((
                select jsonb_agg(
                    jsonb_build_object(
                        'id', l.id, 'position', l.position, 'title', l.title,
                        'kind', l.kind, 'is_preview', l.is_preview,
                        'is_required', l.is_required,
                        'duration_seconds', l.duration_seconds,
                        'completed_at', lp.completed_at,
                        'position_seconds', lp.position_seconds,
                        'locked_reason', case when p_enrolled and not p_privileged
                            then private.learning_lesson_lock(p_user, l.id) end,
                        'quiz', (
                            select jsonb_build_object(
                                'id', q.id, 'passing_score', q.passing_score,
                                'max_attempts', q.max_attempts,
                                'time_limit_seconds', q.time_limit_seconds,
                                'due_at', q.due_at, 'grading_method', q.grading_method)
                            from learning.quizzes as q where q.lesson_id = l.id
                        )
                    )
                    || case when p_full or l.is_preview then jsonb_build_object(
                        'body_md', lc.body_md, 'body_html', lc.body_html,
                        'attachments', lc.attachments)
                       else '{}'::jsonb end
                    order by l.position)
                from learning.lessons as l
                left join learning.lesson_contents as lc on lc.lesson_id = l.id
                left join learning.lesson_progress as lp
                    on p_enrolled and lp.user_id = p_user
                    and lp.course_id = p_course and lp.lesson_id = l.id
                where l.module_id = m.id
            ), '[]')
        ) order by m.position)
        from learning.modules as m where m.course_id = p_course
    ), '[]');
end;
$$;
comment on function private.learning_outline_modules(uuid, uuid, boolean, boolean, boolean) is
'The modules part of api.learning_get_course_outline: modules in order with their lessons,
quiz rules, the learner''s completion, resume position and lock reason (enrolled, not
privileged), and body_md/attachments when p_full or the lesson is a preview.';
revoke execute on function private.learning_outline_modules(uuid, uuid, boolean, boolean, boolean)
from public;

create function api.learning_get_course_outline(
    p_course_id uuid default null, p_slug text default null
)
returns jsonb
language plpgsql stable
-- Definer: lesson bodies live in a table clients cannot read; this function returns them
-- only to enrolled learners and course team (preview lessons to everyone).
security definer
set search_path = ''
as $$
declare
    v_uid uuid := (select auth.uid());
    v_course learning.courses;
    v_staff boolean;
    v_enrolled boolean;
    v_enrollment learning.enrollments;
    v_full boolean;
begin
    perform private.require_scope('api.learning_get_course_outline');  -- API key scope
    if (p_course_id is null) = (p_slug is null) then
        perform private.raise_error('invalid_argument', 'Pass exactly one of p_course_id, p_slug.',
            '22023');
    end if;
    select * into v_course from learning.courses as c
    where (p_course_id is not null and c.id = p_course_id)
       or (p_slug is not null and c.slug = p_slug);
    v_staff := v_course.id is not null and (
        private.learning_course_privileged(v_course.id) or (select auth.role()) = 'service_role');
    if v_uid is not null and v_course.id is not null then
        select * into v_enrollment from learning.enrollments as e
        where e.user_id = v_uid and e.course_id = v_course.id;
    end if;
    v_enrolled := private.learning_enrollment_is_live(v_enrollment.status);
    if v_course.id is null
        or not private.learning_course_visible_rule(v_course.status, v_staff, v_enrolled) then
        perform private.raise_error('learning_course_not_found', 'No such course.', 'PT404');
    end if;
    -- Bodies of a pro course follow the plan: enrolled learners whose plan lapsed see the
    -- outline only.
    v_full := private.learning_content_rule(v_course.status, v_course.price_tier, v_staff,
        v_enrolled);
    perform private.learning_cache_headers(60);

    return jsonb_build_object(
        'id', v_course.id, 'slug', v_course.slug, 'title', v_course.title,
        'summary', v_course.summary, 'description', v_course.description,
        'description_html', v_course.description_html, 'level', v_course.level, 'tags', v_course.tags,
        'estimated_hours', v_course.estimated_hours, 'language', v_course.language,
        'price_tier', v_course.price_tier, 'status', v_course.status,
        'cover_path', v_course.cover_path, 'sequential', v_course.sequential,
        'published_at', v_course.published_at,
        'enrollment_count', v_course.enrollment_count,
        'rating_avg', v_course.rating_avg, 'rating_count', v_course.rating_count,
        'course_team', coalesce((
            select jsonb_agg(jsonb_build_object(
                'user_id', s.user_id, 'role', s.role, 'username', p.username,
                'display_name', p.display_name) order by s.role, p.username)
            from learning.course_team as s
            left join accounts.profiles as p on p.id = s.user_id
            where s.course_id = v_course.id
        ), '[]'),
        'prerequisites', coalesce((
            select jsonb_agg(jsonb_build_object('id', rc.id, 'slug', rc.slug,
                                                'title', rc.title) order by rc.title)
            from learning.course_prerequisites as cp
            join learning.courses as rc on rc.id = cp.requires_course_id
            where cp.course_id = v_course.id
        ), '[]'),
        'viewer', jsonb_build_object(
            'enrolled', v_enrolled, 'on_course_team', v_staff,
            'status', v_enrollment.status, 'progress_pct', v_enrollment.progress_pct,
            'completed_at', v_enrollment.completed_at
        ),
        'modules', private.learning_outline_modules(v_course.id, v_uid, v_enrolled, v_staff,
            v_full)
    );
end;
$$;
comment on function api.learning_get_course_outline(uuid, text) is
'A course with its course team, prerequisites, modules and lessons (pass p_course_id or p_slug).
Lesson bodies (body_md, body_html, attachments) are included only for enrolled learners and course
team, and for preview lessons; enrolled learners also get completion, resume positions and
locked_reason per lesson. Anonymous responses are publicly cacheable (60 s).
Errors: invalid_argument, learning_course_not_found.';
revoke execute on function api.learning_get_course_outline(uuid, text) from public;
grant execute on function api.learning_get_course_outline(uuid, text)
to anon, authenticated, service_role;

create function api.learning_get_lesson(p_lesson_id uuid) returns jsonb
language plpgsql stable
-- Definer: reads lesson_contents, which clients cannot; applies enrollment and locks.
security definer
set search_path = ''
as $$
declare
    v_uid uuid := (select auth.uid());
    v_lesson learning.lessons;
    v_course learning.courses;
    v_staff boolean;
    v_enrolled boolean;
    v_lock text;
begin
    perform private.require_scope('api.learning_get_lesson');  -- API key scope
    select * into v_lesson from learning.lessons as l where l.id = p_lesson_id;
    if v_lesson.id is not null then
        select * into v_course from learning.courses as c where c.id = v_lesson.course_id;
        v_staff := private.learning_course_privileged(v_course.id)
            or (select auth.role()) = 'service_role';
        v_enrolled := private.learning_is_enrolled(v_course.id);
    end if;
    if v_lesson.id is null
        or not private.learning_course_visible_rule(v_course.status, v_staff, v_enrolled) then
        perform private.raise_error('learning_lesson_not_found', 'No such lesson.', 'PT404');
    end if;
    -- Preview lessons are open to everyone on a published course and to enrolled learners.
    if not (v_lesson.is_preview and (v_course.status = 'published' or v_enrolled))
        and not private.learning_content_rule(v_course.status, v_course.price_tier, v_staff,
            v_enrolled) then
        if v_enrolled then
            perform private.raise_error('learning_entitlement_required',
                'This course is part of the pro plan; renew it to continue.', 'PT402',
                jsonb_build_object('feature', 'pro'));
        elsif v_uid is null then
            perform private.raise_error('not_authenticated',
                'Sign in and enroll to read this lesson.', '42501');
        end if;
        perform private.raise_error('learning_not_enrolled',
            'Enroll in the course to read this lesson.', '42501',
            jsonb_build_object('course_id', v_course.id));
    end if;
    if v_enrolled and not v_staff then
        v_lock := private.learning_lesson_lock(v_uid, v_lesson.id);
        if v_lock is not null then
            perform private.raise_error('learning_lesson_locked', 'This lesson is locked.',
                'PT423', jsonb_build_object('reason', v_lock));
        end if;
    end if;
    return (
        select jsonb_build_object(
            'id', v_lesson.id, 'course_id', v_lesson.course_id, 'module_id', v_lesson.module_id,
            'title', v_lesson.title, 'kind', v_lesson.kind, 'is_preview', v_lesson.is_preview,
            'is_required', v_lesson.is_required,
            'duration_seconds', v_lesson.duration_seconds,
            'body_md', coalesce(lc.body_md, ''), 'body_html', lc.body_html,
            'attachments', coalesce(lc.attachments, '{}'),
            'completed_at', lp.completed_at, 'position_seconds', lp.position_seconds,
            'quiz_id', (select q.id from learning.quizzes as q where q.lesson_id = v_lesson.id)
        )
        from (select 1) as one
        left join learning.lesson_contents as lc on lc.lesson_id = v_lesson.id
        left join learning.lesson_progress as lp
            on lp.user_id = v_uid and lp.course_id = v_lesson.course_id
            and lp.lesson_id = v_lesson.id
    );
end;
$$;
comment on function api.learning_get_lesson(uuid) is
'One lesson with its body (body_md markdown; body_html sanitised, null until rendered) and
attachment paths (course-content bucket), for
enrolled learners (once unlocked), course team, and anyone for preview lessons.
Errors: learning_lesson_not_found, not_authenticated, learning_not_enrolled,
learning_lesson_locked (details.reason).';
revoke execute on function api.learning_get_lesson(uuid) from public;
grant execute on function api.learning_get_lesson(uuid) to anon, authenticated, service_role;

-- Enrollment -------------------------------------------------------------------------------
create function api.learning_enroll(p_course_id uuid) returns jsonb
language plpgsql
-- Definer: clients have no write grant on enrollments; this function checks visibility,
-- entitlement (private.user_has_entitlement) and prerequisites first.
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
    v_course learning.courses;
    v_existing learning.enrollments;
    v_staff boolean;
    v_missing jsonb;
    v_row learning.enrollments;
begin
    select * into v_course from learning.courses as c where c.id = p_course_id;
    v_staff := v_course.id is not null and private.learning_course_privileged(v_course.id);
    if v_course.id is null or (v_course.status = 'draft' and not v_staff) then
        perform private.raise_error('learning_course_not_found', 'No such course.', 'PT404');
    end if;
    select * into v_existing from learning.enrollments as e
    where e.user_id = v_uid and e.course_id = v_course.id
    for update;
    if private.learning_enrollment_is_live(v_existing.status) then
        perform private.raise_error('learning_already_enrolled',
            'You are already enrolled in this course.', 'PT409');
    end if;
    if v_course.status = 'archived' then
        perform private.raise_error('learning_course_closed',
            'This course is archived and takes no new enrollments.', 'PT409');
    end if;
    if v_course.price_tier = 'pro' and not v_staff
        and not private.user_has_entitlement(v_uid, 'pro') then
        perform private.raise_error('learning_entitlement_required',
            'This course is part of the pro plan.', 'PT402',
            jsonb_build_object('feature', 'pro'));
    end if;
    select jsonb_agg(jsonb_build_object('id', rc.id, 'slug', rc.slug, 'title', rc.title))
    into v_missing
    from learning.course_prerequisites as cp
    join learning.courses as rc on rc.id = cp.requires_course_id
    where cp.course_id = v_course.id and not exists (
        select 1 from learning.enrollments as e
        where e.user_id = v_uid and e.course_id = cp.requires_course_id
          and e.completed_at is not null
    );
    if v_missing is not null and not v_staff then
        perform private.raise_error('learning_prerequisites_unmet',
            'Complete the prerequisite courses first.', 'PT409',
            jsonb_build_object('missing', v_missing));
    end if;

    begin
        insert into learning.enrollments as e (user_id, course_id)
        values (v_uid, v_course.id)
        on conflict (user_id, course_id) do update set
            status = case when e.completed_at is not null then 'completed'::learning.enrollment_status
                          else 'active'::learning.enrollment_status end,
            withdrawn_at = null, enrolled_at = now()
        where e.status = 'withdrawn'
        returning * into v_row;
    exception when unique_violation then
        v_row := null;
    end;
    if v_row.user_id is null then
        perform private.raise_error('learning_already_enrolled',
            'You are already enrolled in this course.', 'PT409');
    end if;
    update learning.courses set enrollment_count = enrollment_count + 1
    where id = v_course.id;
    perform private.record_activity(v_uid, 'course.enrolled', 'course', v_course.id::text,
        jsonb_build_object('slug', v_course.slug), 0);
    -- A re-enrollment may already satisfy a rule that changed meanwhile.
    perform private.learning_refresh_progress(v_uid, v_course.id);
    select * into v_row from learning.enrollments as e
    where e.user_id = v_uid and e.course_id = v_course.id;
    return jsonb_build_object('course_id', v_row.course_id, 'status', v_row.status,
        'enrolled_at', v_row.enrolled_at, 'progress_pct', v_row.progress_pct);
end;
$$;
comment on function api.learning_enroll(uuid) is
'Enroll in a course. Free courses: anyone signed in; pro courses: only with the pro
entitlement (private.user_has_entitlement). Prerequisite courses must be completed. Enrolling
again after unenrolling resumes the earlier progress. Errors: not_authenticated,
learning_course_not_found, learning_already_enrolled, learning_course_closed,
learning_entitlement_required (PT402), learning_prerequisites_unmet (details.missing).';
revoke execute on function api.learning_enroll(uuid) from public, anon;
grant execute on function api.learning_enroll(uuid) to authenticated;

create function api.learning_unenroll(p_course_id uuid) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
begin
    update learning.enrollments set status = 'withdrawn', withdrawn_at = now()
    where user_id = v_uid and course_id = p_course_id and status in ('active', 'completed');
    if not found then
        perform private.raise_error('learning_not_enrolled',
            'You are not enrolled in this course.', '42501');
    end if;
    update learning.courses set enrollment_count = greatest(enrollment_count - 1, 0)
    where id = p_course_id;
    perform private.record_activity(v_uid, 'course.unenrolled', 'course', p_course_id::text,
        '{}', 0);
end;
$$;
comment on function api.learning_unenroll(uuid) is

'Leave a course. Progress, attempts and any certificate are kept; enrolling again resumes.
Errors: not_authenticated, learning_not_enrolled.';
revoke execute on function api.learning_unenroll(uuid) from public, anon;
grant execute on function api.learning_unenroll(uuid) to authenticated;
