-- learning: authoring RPCs for course staff (courses, staff, modules, lessons, quizzes,
-- questions and keys, prerequisites, accommodations, publishing).
--
-- Creating a course needs the courses.author permission (instructors, admins); everything
-- else needs a staff role in that course: owner (all, including staff and archiving),
-- co_instructor (content), ta (accommodations; read-only otherwise). Admins may do all.

create function private.learning_require_staff(
    p_course uuid,
    p_roles learning.staff_role[] default array['owner', 'co_instructor']::learning.staff_role[]
) returns uuid
language plpgsql
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
    v_role learning.staff_role;
begin
    if p_course is null or not exists (select 1 from learning.courses as c where c.id = p_course)
    then
        perform private.raise_error('learning_course_not_found', 'No such course.', 'PT404');
    end if;
    select s.role into v_role from learning.course_staff as s
    where s.course_id = p_course and s.user_id = v_uid;
    if v_role = any(p_roles) or private.holds_permission(v_uid, 'platform.admin') then
        return v_uid;
    end if;
    if v_role is null and not private.learning_course_visible(p_course) then
        perform private.raise_error('learning_course_not_found', 'No such course.', 'PT404');
    end if;
    perform private.raise_error('forbidden', 'You do not have that role in this course.',
        '42501', jsonb_build_object('needs', p_roles));
    return null;
end;
$$;
comment on function private.learning_require_staff(uuid, learning.staff_role[]) is
'The caller''s id if they hold one of p_roles in the course (or platform.admin, checked
against the tables); else learning_course_not_found (course invisible) or forbidden.';
revoke execute on function private.learning_require_staff(uuid, learning.staff_role[])
from public;

create function private.learning_field_error(p_field text, p_message text) returns void
language plpgsql
set search_path = ''
as $$
begin
    perform private.raise_error('invalid_argument', p_message, '22023',
        jsonb_build_object('field', p_field));
end;
$$;
comment on function private.learning_field_error(text, text) is
'Raise invalid_argument naming the offending field.';
revoke execute on function private.learning_field_error(text, text) from public;

-- Validate a course field; keys of api.learning_update_course's p_changes.
create function private.learning_check_course_field(p_field text, p_value jsonb) returns void
language plpgsql
set search_path = ''
as $$
declare
    v_text text := p_value #>> '{}';
    v_type text := jsonb_typeof(p_value);
begin
    if p_field not in ('slug', 'title', 'summary', 'description', 'level', 'tags',
                       'estimated_hours', 'language', 'price_tier', 'cover_path', 'sequential')
    then
        perform private.learning_field_error(p_field,
            format('%s is not an editable course field.', left(p_field, 40)));
    end if;
    if v_type = 'null' and p_field in ('estimated_hours', 'cover_path') then
        return;
    end if;
    if p_field = 'slug' and (v_type <> 'string' or v_text !~ '^[a-z0-9]+(-[a-z0-9]+)*$'
                              or char_length(v_text) > 80) then
        perform private.learning_field_error(p_field,
            'slug is lowercase words joined by hyphens, at most 80 characters.');
    elsif p_field = 'title' and (v_type <> 'string'
                                  or char_length(btrim(v_text)) not between 3 and 200) then
        perform private.learning_field_error(p_field, 'title is 3-200 characters.');
    elsif p_field = 'summary' and (v_type <> 'string' or char_length(v_text) > 500) then
        perform private.learning_field_error(p_field, 'summary is at most 500 characters.');
    elsif p_field = 'description' and (v_type <> 'string' or char_length(v_text) > 20000) then
        perform private.learning_field_error(p_field,
            'description is at most 20000 characters.');
    elsif p_field = 'level' and (v_type <> 'string'
                                  or v_text not in ('beginner', 'intermediate', 'advanced')) then
        perform private.learning_field_error(p_field,
            'level is beginner, intermediate or advanced.');
    elsif p_field = 'tags' and (
        v_type <> 'array' or jsonb_array_length(p_value) > 20 or exists (
            select 1 from jsonb_array_elements(p_value) as e(v)
            where jsonb_typeof(e.v) <> 'string'
               or (e.v #>> '{}') !~ '^[a-z0-9][a-z0-9+#.-]{0,39}$'
        )
    ) then
        perform private.learning_field_error(p_field,
            'tags is a list of at most 20 lowercase tags.');
    elsif p_field = 'estimated_hours' and (v_type <> 'number'
                                            or v_text::numeric not between 0 and 10000) then
        perform private.learning_field_error(p_field, 'estimated_hours is 0-10000.');
    elsif p_field = 'language' and (v_type <> 'string' or v_text !~ '^[a-z]{2}(-[A-Z]{2})?$') then
        perform private.learning_field_error(p_field, 'language is a code such as en or pt-BR.');
    elsif p_field = 'price_tier' and (v_type <> 'string' or v_text not in ('free', 'pro')) then
        perform private.learning_field_error(p_field, 'price_tier is free or pro.');
    elsif p_field = 'cover_path' and (v_type <> 'string' or char_length(v_text) > 300
                                       or v_text like '%..%') then
        perform private.learning_field_error(p_field, 'cover_path is a storage path.');
    elsif p_field = 'sequential' and v_type <> 'boolean' then
        perform private.learning_field_error(p_field, 'sequential is true or false.');
    end if;
end;
$$;
comment on function private.learning_check_course_field(text, jsonb) is
'Validate one field of a course change; raises invalid_argument with details.field.';
revoke execute on function private.learning_check_course_field(text, jsonb) from public;

create function api.learning_create_course(
    p_slug text,
    p_title text,
    p_summary text default '',
    p_level text default 'beginner',
    p_price_tier text default 'free',
    p_language text default 'en'
) returns jsonb
language plpgsql
-- Definer: clients cannot write courses; needs courses.author (checked against tables).
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_permission('courses.author');
    v_id uuid;
begin
    perform private.learning_check_course_field('slug', to_jsonb(p_slug));
    perform private.learning_check_course_field('title', to_jsonb(p_title));
    perform private.learning_check_course_field('summary', to_jsonb(coalesce(p_summary, '')));
    perform private.learning_check_course_field('level', to_jsonb(p_level));
    perform private.learning_check_course_field('price_tier', to_jsonb(p_price_tier));
    perform private.learning_check_course_field('language', to_jsonb(p_language));
    perform private.rate_limit('learning.create_course:' || v_uid, 30, interval '1 hour');
    if exists (select 1 from learning.courses as c where c.slug = p_slug) then
        perform private.raise_error('learning_slug_taken', 'That slug is taken.', 'PT409');
    end if;
    begin
        insert into learning.courses (slug, title, summary, level, price_tier, language,
                                      created_by)
        values (p_slug, btrim(p_title), coalesce(p_summary, ''),
                p_level::learning.course_level, p_price_tier::learning.price_tier, p_language,
                v_uid)
        returning id into v_id;
    exception when unique_violation then
        perform private.raise_error('learning_slug_taken', 'That slug is taken.', 'PT409');
    end;
    insert into learning.course_staff (course_id, user_id, role) values (v_id, v_uid, 'owner');
    return jsonb_build_object('id', v_id, 'slug', p_slug, 'status', 'draft');
end;
$$;
comment on function api.learning_create_course(text, text, text, text, text, text) is
'Create a draft course you own. Needs courses.author. Errors: not_authenticated, forbidden,
invalid_argument (details.field), learning_slug_taken, rate_limited (30 per hour).';
revoke execute on function api.learning_create_course(text, text, text, text, text, text)
from public, anon;
grant execute on function api.learning_create_course(text, text, text, text, text, text)
to authenticated;

create function api.learning_update_course(p_course_id uuid, p_changes jsonb) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_key text;
begin
    perform private.learning_require_staff(p_course_id);
    if p_changes is null or jsonb_typeof(p_changes) <> 'object' or p_changes = '{}' then
        perform private.raise_error('invalid_argument', 'p_changes is a non-empty object.',
            '22023');
    end if;
    if octet_length(p_changes::text) > 65536 then
        perform private.raise_error('learning_payload_too_large', 'p_changes is too large.',
            'PT413', jsonb_build_object('limit', 65536));
    end if;
    for v_key in select jsonb_object_keys(p_changes) loop
        perform private.learning_check_course_field(v_key, p_changes -> v_key);
    end loop;
    if p_changes ? 'slug' and exists (
        select 1 from learning.courses as c
        where c.slug = p_changes ->> 'slug' and c.id <> p_course_id
    ) then
        perform private.raise_error('learning_slug_taken', 'That slug is taken.', 'PT409');
    end if;
    begin
        update learning.courses as c set
            slug = coalesce(p_changes ->> 'slug', c.slug),
            title = coalesce(btrim(p_changes ->> 'title'), c.title),
            summary = coalesce(p_changes ->> 'summary', c.summary),
            description = coalesce(p_changes ->> 'description', c.description),
            level = coalesce((p_changes ->> 'level')::learning.course_level, c.level),
            tags = case when p_changes ? 'tags' then array(
                select distinct jsonb_array_elements_text(p_changes -> 'tags')) else c.tags end,
            estimated_hours = case when p_changes ? 'estimated_hours'
                then (p_changes ->> 'estimated_hours')::numeric else c.estimated_hours end,
            language = coalesce(p_changes ->> 'language', c.language),
            price_tier = coalesce((p_changes ->> 'price_tier')::learning.price_tier,
                c.price_tier),
            cover_path = case when p_changes ? 'cover_path' then p_changes ->> 'cover_path'
                              else c.cover_path end,
            sequential = coalesce((p_changes ->> 'sequential')::boolean, c.sequential)
        where c.id = p_course_id;
    exception when unique_violation then
        perform private.raise_error('learning_slug_taken', 'That slug is taken.', 'PT409');
    end;
    return (select to_jsonb(c) - 'search' from learning.courses as c where c.id = p_course_id);
end;
$$;
comment on function api.learning_update_course(uuid, jsonb) is
'Course staff (owner, co-instructor): change course fields {slug, title, summary,
description, level, tags, estimated_hours, language, price_tier, cover_path, sequential}.
Status changes through api.learning_publish_course / api.learning_archive_course. Errors: not_authenticated,
learning_course_not_found, forbidden, invalid_argument (details.field), learning_slug_taken,
learning_payload_too_large.';
revoke execute on function api.learning_update_course(uuid, jsonb) from public, anon;
grant execute on function api.learning_update_course(uuid, jsonb) to authenticated;

create function api.learning_set_course_staff(p_course_id uuid, p_user_id uuid, p_role text)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_actor uuid := private.learning_require_staff(p_course_id, array['owner']::learning.staff_role[]);
begin
    if p_role is not null and p_role not in ('owner', 'co_instructor', 'ta') then
        perform private.learning_field_error('p_role', 'p_role is owner, co_instructor, ta or null.');
    end if;
    if p_user_id is null or not exists (select 1 from auth.users as u where u.id = p_user_id) then
        perform private.raise_error('user_not_found', 'No such user.', 'PT404');
    end if;
    -- Keep at least one owner.
    if (p_role is null or p_role <> 'owner') and exists (
        select 1 from learning.course_staff as s
        where s.course_id = p_course_id and s.user_id = p_user_id and s.role = 'owner'
    ) and (select count(*) from learning.course_staff as s
           where s.course_id = p_course_id and s.role = 'owner') <= 1 then
        perform private.raise_error('conflict', 'A course keeps at least one owner.', 'PT409');
    end if;
    if p_role is null then
        delete from learning.course_staff where course_id = p_course_id and user_id = p_user_id;
    else
        insert into learning.course_staff (course_id, user_id, role)
        values (p_course_id, p_user_id, p_role::learning.staff_role)
        on conflict (course_id, user_id) do update set role = excluded.role;
    end if;
    perform private.audit('learning.staff_changed', 'course', p_course_id::text,
        jsonb_build_object('user_id', p_user_id, 'role', p_role, 'by', v_actor));
end;
$$;
comment on function api.learning_set_course_staff(uuid, uuid, text) is
'Course owner: give a user a staff role (owner, co_instructor, ta) or remove it (null).
A course keeps at least one owner. Audited. Errors: not_authenticated,
learning_course_not_found, forbidden, invalid_argument, user_not_found, conflict.';
revoke execute on function api.learning_set_course_staff(uuid, uuid, text) from public, anon;
grant execute on function api.learning_set_course_staff(uuid, uuid, text) to authenticated;

-- Modules and lessons ---------------------------------------------------------------------------
create function api.learning_create_module(
    p_course_id uuid, p_title text, p_unlock_at timestamptz default null
) returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_id uuid;
begin
    perform private.learning_require_staff(p_course_id);
    if p_title is null or char_length(btrim(p_title)) not between 1 and 200 then
        perform private.learning_field_error('p_title', 'p_title is 1-200 characters.');
    end if;
    if (select count(*) from learning.modules as m where m.course_id = p_course_id) >= 200 then
        perform private.raise_error('invalid_argument', 'A course has at most 200 modules.',
            '22023');
    end if;
    perform pg_advisory_xact_lock(hashtext('learning.course:' || p_course_id));
    insert into learning.modules (course_id, position, title, unlock_at)
    select p_course_id, coalesce(max(m.position) + 1, 0), btrim(p_title), p_unlock_at
    from learning.modules as m where m.course_id = p_course_id
    returning id into v_id;
    return v_id;
end;
$$;
comment on function api.learning_create_module(uuid, text, timestamptz) is
'Course staff: append a module (optionally unlocking at p_unlock_at). Returns its id.
Errors: not_authenticated, learning_course_not_found, forbidden, invalid_argument.';
revoke execute on function api.learning_create_module(uuid, text, timestamptz) from public, anon;
grant execute on function api.learning_create_module(uuid, text, timestamptz) to authenticated;

create function api.learning_update_module(p_module_id uuid, p_changes jsonb) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_course uuid;
begin
    select m.course_id into v_course from learning.modules as m where m.id = p_module_id;
    if v_course is null then
        perform private.raise_error('learning_module_not_found', 'No such module.', 'PT404');
    end if;
    perform private.learning_require_staff(v_course);
    if p_changes is null or jsonb_typeof(p_changes) <> 'object'
        or exists (select 1 from jsonb_object_keys(p_changes) as k
                   where k not in ('title', 'unlock_at')) then
        perform private.raise_error('invalid_argument',
            'p_changes is an object with title and/or unlock_at.', '22023');
    end if;
    if p_changes ? 'title' and (jsonb_typeof(p_changes -> 'title') <> 'string'
        or char_length(btrim(p_changes ->> 'title')) not between 1 and 200) then
        perform private.learning_field_error('title', 'title is 1-200 characters.');
    end if;
    if p_changes ? 'unlock_at' and jsonb_typeof(p_changes -> 'unlock_at') <> 'null' then
        begin
            perform (p_changes ->> 'unlock_at')::timestamptz;
        exception when others then
            perform private.learning_field_error('unlock_at', 'unlock_at is a timestamp or null.');
        end;
    end if;
    update learning.modules as m set
        title = coalesce(btrim(p_changes ->> 'title'), m.title),
        unlock_at = case when p_changes ? 'unlock_at' then (p_changes ->> 'unlock_at')::timestamptz
                         else m.unlock_at end
    where m.id = p_module_id;
end;
$$;
comment on function api.learning_update_module(uuid, jsonb) is
'Course staff: change a module''s title and/or unlock_at (null clears it). Errors:
not_authenticated, learning_module_not_found, forbidden, invalid_argument.';
revoke execute on function api.learning_update_module(uuid, jsonb) from public, anon;
grant execute on function api.learning_update_module(uuid, jsonb) to authenticated;

create function private.learning_check_lesson_changes(p_course uuid, p_changes jsonb)
returns void
language plpgsql
set search_path = ''
as $$
declare
    v_key text;
    v_value jsonb;
begin
    if p_changes is null or jsonb_typeof(p_changes) <> 'object' then
        perform private.raise_error('invalid_argument', 'p_changes is an object.', '22023');
    end if;
    if octet_length(p_changes::text) > 250000 then
        perform private.raise_error('learning_payload_too_large', 'The lesson is too large.',
            'PT413', jsonb_build_object('limit', 250000));
    end if;
    for v_key, v_value in select e.key, e.value from jsonb_each(p_changes) as e loop
        if v_key = 'title' then
            if jsonb_typeof(v_value) <> 'string'
                or char_length(btrim(v_value #>> '{}')) not between 1 and 200 then
                perform private.learning_field_error(v_key, 'title is 1-200 characters.');
            end if;
        elsif v_key in ('is_preview', 'is_required') then
            if jsonb_typeof(v_value) <> 'boolean' then
                perform private.learning_field_error(v_key, v_key || ' is true or false.');
            end if;
        elsif v_key = 'duration_seconds' then
            if jsonb_typeof(v_value) not in ('number', 'null') or (
                jsonb_typeof(v_value) = 'number'
                and ((v_value #>> '{}')::numeric not between 0 and 86400
                     or (v_value #>> '{}')::numeric <> trunc((v_value #>> '{}')::numeric))
            ) then
                perform private.learning_field_error(v_key,
                    'duration_seconds is a whole number 0-86400.');
            end if;
        elsif v_key = 'body_md' then
            if jsonb_typeof(v_value) <> 'string' or char_length(v_value #>> '{}') > 200000 then
                perform private.learning_field_error(v_key,
                    'body_md is markdown of at most 200000 characters.');
            end if;
        elsif v_key = 'attachments' then
            if jsonb_typeof(v_value) <> 'array' or jsonb_array_length(v_value) > 50
                or exists (
                    select 1 from jsonb_array_elements(v_value) as e(v)
                    where jsonb_typeof(e.v) <> 'string'
                       or (e.v #>> '{}') not like p_course::text || '/_%'
                       or (e.v #>> '{}') like '%..%'
                       or char_length(e.v #>> '{}') > 300
                ) then
                perform private.learning_field_error(v_key,
                    'attachments are paths <course_id>/... in the course-content bucket.');
            end if;
        else
            perform private.learning_field_error(v_key,
                format('%s is not an editable lesson field.', left(v_key, 40)));
        end if;
    end loop;
end;
$$;
comment on function private.learning_check_lesson_changes(uuid, jsonb) is
'Validate lesson fields {title, is_preview, is_required, duration_seconds, body_md,
attachments}; attachments must lie under the course''s folder of course-content.';
revoke execute on function private.learning_check_lesson_changes(uuid, jsonb) from public;

create function private.learning_apply_lesson_changes(p_lesson uuid, p_changes jsonb)
returns void
language sql
set search_path = ''
as $$
    update learning.lessons as l set
        title = coalesce(btrim(p_changes ->> 'title'), l.title),
        is_preview = coalesce((p_changes ->> 'is_preview')::boolean, l.is_preview),
        is_required = coalesce((p_changes ->> 'is_required')::boolean, l.is_required),
        duration_seconds = case when p_changes ? 'duration_seconds'
            then (p_changes ->> 'duration_seconds')::int else l.duration_seconds end
    where l.id = p_lesson;
    update learning.lesson_contents as c set
        body_md = coalesce(p_changes ->> 'body_md', c.body_md),
        attachments = case when p_changes ? 'attachments'
            then array(select jsonb_array_elements_text(p_changes -> 'attachments'))
            else c.attachments end
    where c.lesson_id = p_lesson and (p_changes ? 'body_md' or p_changes ? 'attachments');
$$;
comment on function private.learning_apply_lesson_changes(uuid, jsonb) is
'Apply validated lesson changes to lessons and lesson_contents.';
revoke execute on function private.learning_apply_lesson_changes(uuid, jsonb) from public;

create function api.learning_create_lesson(
    p_module_id uuid, p_title text, p_kind text, p_changes jsonb default '{}'
) returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_course uuid;
    v_id uuid;
begin
    select m.course_id into v_course from learning.modules as m where m.id = p_module_id;
    if v_course is null then
        perform private.raise_error('learning_module_not_found', 'No such module.', 'PT404');
    end if;
    perform private.learning_require_staff(v_course);
    if p_kind is null or p_kind not in ('article', 'video', 'lab', 'quiz') then
        perform private.learning_field_error('p_kind', 'p_kind is article, video, lab or quiz.');
    end if;
    if p_title is null or char_length(btrim(p_title)) not between 1 and 200 then
        perform private.learning_field_error('p_title', 'p_title is 1-200 characters.');
    end if;
    perform private.learning_check_lesson_changes(v_course, coalesce(p_changes, '{}'));
    if (select count(*) from learning.lessons as l where l.module_id = p_module_id) >= 500 then
        perform private.raise_error('invalid_argument', 'A module has at most 500 lessons.',
            '22023');
    end if;
    perform pg_advisory_xact_lock(hashtext('learning.course:' || v_course));
    insert into learning.lessons (course_id, module_id, position, title, kind)
    select v_course, p_module_id, coalesce(max(l.position) + 1, 0), btrim(p_title),
           p_kind::learning.lesson_kind
    from learning.lessons as l where l.module_id = p_module_id
    returning id into v_id;
    insert into learning.lesson_contents (lesson_id) values (v_id);
    if p_kind = 'quiz' then
        insert into learning.quizzes (course_id, lesson_id) values (v_course, v_id);
    end if;
    perform private.learning_apply_lesson_changes(v_id, coalesce(p_changes, '{}'));
    return v_id;
end;
$$;
comment on function api.learning_create_lesson(uuid, text, text, jsonb) is
'Course staff: append a lesson (article, video, lab, quiz) to a module, with optional
fields as in api.learning_update_lesson. A quiz lesson gets a quiz with default settings
(api.learning_configure_quiz). Returns its id. Errors: not_authenticated, learning_module_not_found,
forbidden, invalid_argument (details.field), learning_payload_too_large.';
revoke execute on function api.learning_create_lesson(uuid, text, text, jsonb) from public, anon;
grant execute on function api.learning_create_lesson(uuid, text, text, jsonb) to authenticated;

create function api.learning_update_lesson(p_lesson_id uuid, p_changes jsonb) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_course uuid;
begin
    select l.course_id into v_course from learning.lessons as l where l.id = p_lesson_id;
    if v_course is null then
        perform private.raise_error('learning_lesson_not_found', 'No such lesson.', 'PT404');
    end if;
    perform private.learning_require_staff(v_course);
    perform private.learning_check_lesson_changes(v_course, p_changes);
    perform private.learning_apply_lesson_changes(p_lesson_id, p_changes);
end;
$$;
comment on function api.learning_update_lesson(uuid, jsonb) is
'Course staff: change lesson fields {title, is_preview, is_required, duration_seconds,
body_md, attachments (paths <course_id>/... in course-content)}. Errors: not_authenticated,
learning_lesson_not_found, forbidden, invalid_argument, learning_payload_too_large.';
revoke execute on function api.learning_update_lesson(uuid, jsonb) from public, anon;
grant execute on function api.learning_update_lesson(uuid, jsonb) to authenticated;

create function api.learning_delete_lesson(p_lesson_id uuid) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_lesson learning.lessons;
begin
    select * into v_lesson from learning.lessons as l where l.id = p_lesson_id;
    if v_lesson.id is null then
        perform private.raise_error('learning_lesson_not_found', 'No such lesson.', 'PT404');
    end if;
    perform private.learning_require_staff(v_lesson.course_id);
    if exists (select 1 from learning.courses as c
               where c.id = v_lesson.course_id and c.status <> 'draft')
        and exists (select 1 from learning.lesson_progress as lp
                    where lp.lesson_id = p_lesson_id and lp.completed_at is not null) then
        perform private.raise_error('conflict',
            'Learners have completed this lesson; mark it optional instead.', 'PT409');
    end if;
    delete from learning.lessons where id = p_lesson_id;
end;
$$;
comment on function api.learning_delete_lesson(uuid) is
'Course staff: delete a lesson nobody has completed yet. Errors: not_authenticated,
learning_lesson_not_found, forbidden, conflict.';
revoke execute on function api.learning_delete_lesson(uuid) from public, anon;
grant execute on function api.learning_delete_lesson(uuid) to authenticated;

create function private.learning_lists_all_once(p_given uuid[], p_existing uuid[])
returns boolean
language sql immutable
set search_path = ''
as $$
    select p_given is not null
        and array(select x from unnest(p_given) as x order by x)
        = array(select x from unnest(p_existing) as x order by x)
$$;
comment on function private.learning_lists_all_once(uuid[], uuid[]) is
'Does p_given name every id of p_existing exactly once (a new order for all of them)?';
revoke execute on function private.learning_lists_all_once(uuid[], uuid[]) from public;

create function api.learning_reorder_modules(p_course_id uuid, p_module_ids uuid[]) returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
    perform private.learning_require_staff(p_course_id);
    if not private.learning_lists_all_once(p_module_ids, array(
        select m.id from learning.modules as m where m.course_id = p_course_id
    )) then
        perform private.learning_field_error('p_module_ids',
            'p_module_ids lists every module of the course exactly once.');
    end if;
    perform pg_advisory_xact_lock(hashtext('learning.course:' || p_course_id));
    update learning.modules set position = position + 1000000 where course_id = p_course_id;
    update learning.modules as m set position = o.n - 1
    from unnest(p_module_ids) with ordinality as o(id, n)
    where m.id = o.id;
end;
$$;
comment on function api.learning_reorder_modules(uuid, uuid[]) is
'Course staff: set the order of a course''s modules (every module id exactly once).
Errors: not_authenticated, learning_course_not_found, forbidden, invalid_argument.';
revoke execute on function api.learning_reorder_modules(uuid, uuid[]) from public, anon;
grant execute on function api.learning_reorder_modules(uuid, uuid[]) to authenticated;

create function api.learning_reorder_lessons(p_module_id uuid, p_lesson_ids uuid[]) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_course uuid;
begin
    select m.course_id into v_course from learning.modules as m where m.id = p_module_id;
    if v_course is null then
        perform private.raise_error('learning_module_not_found', 'No such module.', 'PT404');
    end if;
    perform private.learning_require_staff(v_course);
    if not private.learning_lists_all_once(p_lesson_ids, array(
        select l.id from learning.lessons as l where l.module_id = p_module_id
    )) then
        perform private.learning_field_error('p_lesson_ids',
            'p_lesson_ids lists every lesson of the module exactly once.');
    end if;
    perform pg_advisory_xact_lock(hashtext('learning.course:' || v_course));
    update learning.lessons set position = position + 1000000 where module_id = p_module_id;
    update learning.lessons as l set position = o.n - 1
    from unnest(p_lesson_ids) with ordinality as o(id, n)
    where l.id = o.id;
end;
$$;
comment on function api.learning_reorder_lessons(uuid, uuid[]) is
'Course staff: set the order of a module''s lessons (every lesson id exactly once).
Errors: not_authenticated, learning_module_not_found, forbidden, invalid_argument.';
revoke execute on function api.learning_reorder_lessons(uuid, uuid[]) from public, anon;
grant execute on function api.learning_reorder_lessons(uuid, uuid[]) to authenticated;

-- Prerequisites -------------------------------------------------------------------------------
create function api.learning_set_course_prerequisites(p_course_id uuid, p_required uuid[])
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
    perform private.learning_require_staff(p_course_id);
    p_required := coalesce(p_required, '{}');
    if cardinality(p_required) > 20 or p_course_id = any(p_required) or exists (
        select 1 from unnest(p_required) as r
        where not exists (select 1 from learning.courses as c
                          where c.id = r and c.status <> 'draft')
    ) then
        perform private.learning_field_error('p_required',
            'p_required lists at most 20 other non-draft courses.');
    end if;
    -- No cycles: a required course must not (transitively) require this one.
    if exists (
        with recursive reach(id) as (
            select unnest(p_required)
            union
            select cp.requires_course_id from learning.course_prerequisites as cp
            join reach on reach.id = cp.course_id
        )
        select 1 from reach where id = p_course_id
    ) then
        perform private.learning_field_error('p_required', 'Prerequisites cannot form a cycle.');
    end if;
    delete from learning.course_prerequisites where course_id = p_course_id;
    insert into learning.course_prerequisites (course_id, requires_course_id)
    select distinct p_course_id, r from unnest(p_required) as r;
end;
$$;
comment on function api.learning_set_course_prerequisites(uuid, uuid[]) is
'Course staff: replace the courses a learner must have completed before enrolling.
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
    select m.course_id into v_course from learning.modules as m where m.id = p_module_id;
    if v_course is null then
        perform private.raise_error('learning_module_not_found', 'No such module.', 'PT404');
    end if;
    perform private.learning_require_staff(v_course);
    p_required := coalesce(p_required, '{}');
    if cardinality(p_required) > 50 or p_module_id = any(p_required) or exists (
        select 1 from unnest(p_required) as r
        where not exists (select 1 from learning.modules as m
                          where m.id = r and m.course_id = v_course)
    ) then
        perform private.learning_field_error('p_required',
            'p_required lists other modules of the same course.');
    end if;
    if exists (
        with recursive reach(id) as (
            select unnest(p_required)
            union
            select mp.requires_module_id from learning.module_prerequisites as mp
            join reach on reach.id = mp.module_id
        )
        select 1 from reach where id = p_module_id
    ) then
        perform private.learning_field_error('p_required', 'Prerequisites cannot form a cycle.');
    end if;
    delete from learning.module_prerequisites where module_id = p_module_id;
    insert into learning.module_prerequisites (module_id, requires_module_id)
    select distinct p_module_id, r from unnest(p_required) as r;
end;
$$;
comment on function api.learning_set_module_prerequisites(uuid, uuid[]) is
'Course staff: replace the modules whose lessons must all be completed before this
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
    select q.course_id into v_course from learning.quizzes as q where q.id = p_quiz_id;
    if v_course is null then
        perform private.raise_error('learning_quiz_not_found', 'No such quiz.', 'PT404');
    end if;
    perform private.learning_require_staff(v_course);
    if p_settings is null or jsonb_typeof(p_settings) <> 'object' then
        perform private.raise_error('invalid_argument', 'p_settings is an object.', '22023');
    end if;
    for v_key, v_value in select e.key, e.value from jsonb_each(p_settings) as e loop
        v_type := jsonb_typeof(v_value);
        if v_key = 'passing_score' then
            if v_type <> 'number' or (v_value #>> '{}')::numeric not between 0 and 100 then
                perform private.learning_field_error(v_key, 'passing_score is 0-100.');
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
                perform private.learning_field_error(v_key,
                    'max_attempts 1-100, time_limit_seconds 10-86400, draw_count 1-200, or null.');
            end if;
        elsif v_key = 'wait_seconds' then
            if v_type <> 'number' or (v_value #>> '{}') !~ '^\d+$'
                or (v_value #>> '{}')::numeric > 2592000 then
                perform private.learning_field_error(v_key, 'wait_seconds is 0-2592000.');
            end if;
        elsif v_key = 'grading_method' then
            if v_type <> 'string' or (v_value #>> '{}') not in ('highest', 'last', 'first',
                                                                 'average') then
                perform private.learning_field_error(v_key,
                    'grading_method is highest, last, first or average.');
            end if;
        elsif v_key = 'overdue_policy' then
            if v_type <> 'string' or (v_value #>> '{}') not in ('auto_submit', 'refuse') then
                perform private.learning_field_error(v_key,
                    'overdue_policy is auto_submit or refuse.');
            end if;
        elsif v_key = 'reveal_policy' then
            if v_type <> 'string' or (v_value #>> '{}') not in (
                'never', 'after_passing', 'after_last_attempt', 'after_due_date') then
                perform private.learning_field_error(v_key,
                    'reveal_policy is never, after_passing, after_last_attempt or after_due_date.');
            end if;
        elsif v_key in ('shuffle_questions', 'shuffle_options') then
            if v_type <> 'boolean' then
                perform private.learning_field_error(v_key, v_key || ' is true or false.');
            end if;
        elsif v_key = 'due_at' then
            if v_type <> 'null' then
                begin
                    perform (v_value #>> '{}')::timestamptz;
                exception when others then
                    perform private.learning_field_error(v_key, 'due_at is a timestamp or null.');
                end;
            end if;
        else
            perform private.learning_field_error(v_key,
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
'Course staff: quiz settings {passing_score, max_attempts, wait_seconds, grading_method
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

create function api.learning_save_question(p_quiz_id uuid, p_question jsonb) returns uuid
language plpgsql
-- Definer: writes the answer key, which no client role can touch.
security definer
set search_path = ''
as $$
declare
    v_course uuid;
    v_id uuid := null;
    v_kind text := p_question ->> 'kind';
    v_options jsonb := coalesce(p_question -> 'options', '[]');
    v_points numeric;
    v_correct uuid[];
    v_problem text;
begin
    select q.course_id into v_course from learning.quizzes as q where q.id = p_quiz_id;
    if v_course is null then
        perform private.raise_error('learning_quiz_not_found', 'No such quiz.', 'PT404');
    end if;
    perform private.learning_require_staff(v_course);
    if p_question is null or jsonb_typeof(p_question) <> 'object' then
        perform private.raise_error('invalid_argument', 'p_question is an object.', '22023');
    end if;
    if octet_length(p_question::text) > 65536 then
        perform private.raise_error('learning_payload_too_large', 'The question is too large.',
            'PT413', jsonb_build_object('limit', 65536));
    end if;
    if p_question ? 'id' then
        begin
            v_id := (p_question ->> 'id')::uuid;
        exception when others then
            perform private.learning_field_error('id', 'id is a question id.');
        end;
        if not exists (select 1 from learning.questions as q
                       where q.id = v_id and q.quiz_id = p_quiz_id) then
            perform private.raise_error('learning_question_not_found',
                'No such question in this quiz.', 'PT404');
        end if;
    end if;
    if v_kind is null or v_kind not in ('single_choice', 'multiple_choice', 'true_false',
                                        'short_text', 'numeric', 'ordering') then
        perform private.learning_field_error('kind', 'kind is single_choice, multiple_choice,
true_false, short_text, numeric or ordering.');
    end if;
    if jsonb_typeof(p_question -> 'prompt') is distinct from 'string'
        or char_length(btrim(p_question ->> 'prompt')) not between 1 and 5000 then
        perform private.learning_field_error('prompt', 'prompt is 1-5000 characters.');
    end if;
    if p_question ? 'points' and (jsonb_typeof(p_question -> 'points') <> 'number'
        or (p_question ->> 'points')::numeric <= 0 or (p_question ->> 'points')::numeric > 1000)
    then
        perform private.learning_field_error('points', 'points is more than 0, at most 1000.');
    end if;
    v_points := coalesce((p_question ->> 'points')::numeric, 1);
    if jsonb_typeof(v_options) <> 'array' or jsonb_array_length(v_options) > 50 or exists (
        select 1 from jsonb_array_elements(v_options) as o(v)
        where jsonb_typeof(o.v) <> 'object'
           or jsonb_typeof(o.v -> 'label') is distinct from 'string'
           or char_length(o.v ->> 'label') not between 1 and 1000
           or (o.v ? 'correct' and jsonb_typeof(o.v -> 'correct') <> 'boolean')
    ) then
        perform private.learning_field_error('options',
            'options is a list of at most 50 {label, correct} objects.');
    end if;
    if v_kind in ('single_choice', 'multiple_choice', 'ordering')
        and jsonb_array_length(v_options) < 2 then
        perform private.learning_field_error('options', 'This kind needs at least two options.');
    end if;
    if v_kind in ('true_false', 'short_text', 'numeric') and jsonb_array_length(v_options) > 0 then
        perform private.learning_field_error('options', 'This kind takes no options.');
    end if;
    if v_kind = 'true_false' and jsonb_typeof(p_question -> 'answer') is distinct from 'boolean'
    then
        perform private.learning_field_error('answer', 'A true/false question needs answer.');
    end if;
    if v_kind = 'numeric' and (
        jsonb_typeof(p_question -> 'answer') is distinct from 'number'
        or (p_question ? 'tolerance' and (jsonb_typeof(p_question -> 'tolerance') <> 'number'
                                          or (p_question ->> 'tolerance')::numeric < 0))
    ) then
        perform private.learning_field_error('answer',
            'A numeric question needs answer (number) and an optional tolerance >= 0.');
    end if;
    if v_kind = 'short_text' and (
        jsonb_typeof(p_question -> 'accepted_answers') is distinct from 'array'
        or jsonb_array_length(p_question -> 'accepted_answers') not between 1 and 50
        or exists (select 1 from jsonb_array_elements(p_question -> 'accepted_answers') as a(v)
                   where jsonb_typeof(a.v) <> 'string' or char_length(a.v #>> '{}') > 1000)
    ) then
        perform private.learning_field_error('accepted_answers',
            'A short-text question needs 1-50 accepted answers.');
    end if;
    if p_question ? 'explanation' and (
        jsonb_typeof(p_question -> 'explanation') <> 'string'
        or char_length(p_question ->> 'explanation') > 5000) then
        perform private.learning_field_error('explanation', 'explanation is at most 5000 characters.');
    end if;

    if v_id is null then
        insert into learning.questions (quiz_id, course_id, kind, prompt, points, position)
        select p_quiz_id, v_course, v_kind::learning.question_kind, btrim(p_question ->> 'prompt'),
               v_points, coalesce(max(q.position) + 1, 0)
        from learning.questions as q where q.quiz_id = p_quiz_id
        returning id into v_id;
    else
        update learning.questions set kind = v_kind::learning.question_kind,
            prompt = btrim(p_question ->> 'prompt'), points = v_points
        where id = v_id;
        delete from learning.question_options where question_id = v_id;
    end if;
    with opts as (
        insert into learning.question_options (question_id, position, label)
        select v_id, (o.n - 1)::int, o.v ->> 'label'
        from jsonb_array_elements(v_options) with ordinality as o(v, n)
        returning id, position
    )
    select array(
        select opts.id from opts
        join jsonb_array_elements(v_options) with ordinality as o(v, n) on o.n - 1 = opts.position
        where v_kind = 'ordering' or coalesce((o.v ->> 'correct')::boolean, false)
        order by opts.position
    ) into v_correct;
    insert into learning.question_keys as k (question_id, correct_option_ids, correct_bool,
        accepted_answers, case_sensitive, numeric_answer, tolerance, explanation)
    values (
        v_id,
        case when v_kind in ('single_choice', 'multiple_choice', 'ordering') then v_correct end,
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
    v_problem := private.learning_key_problem(v_id);
    if v_problem is not null then
        perform private.raise_error('learning_quiz_incomplete', v_problem, 'PT409',
            jsonb_build_object('problems', jsonb_build_array(
                jsonb_build_object('question_id', v_id, 'problem', v_problem))));
    end if;
    return v_id;
end;
$$;
comment on function api.learning_save_question(uuid, jsonb) is
'Course staff: add a question to a quiz''s bank, or replace one ({"id": ...}), with its
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
    select q.course_id into v_course from learning.questions as q where q.id = p_question_id;
    if v_course is null then
        perform private.raise_error('learning_question_not_found', 'No such question.', 'PT404');
    end if;
    perform private.learning_require_staff(v_course);
    if exists (select 1 from learning.attempts as a
               where a.status = 'in_progress' and p_question_id = any(a.question_ids)) then
        perform private.raise_error('conflict',
            'An open attempt contains this question; try again later.', 'PT409');
    end if;
    delete from learning.questions where id = p_question_id;
end;
$$;
comment on function api.learning_delete_question(uuid) is
'Course staff: remove a question from the bank (not while an open attempt contains it).
Errors: not_authenticated, learning_question_not_found, forbidden, conflict.';
revoke execute on function api.learning_delete_question(uuid) from public, anon;
grant execute on function api.learning_delete_question(uuid) to authenticated;

create function api.learning_get_quiz_for_authoring(p_quiz_id uuid) returns jsonb
language plpgsql stable
-- Definer: returns the answer keys, to course staff only.
security definer
set search_path = ''
as $$
declare
    v_quiz learning.quizzes;
begin
    select * into v_quiz from learning.quizzes as q where q.id = p_quiz_id;
    if v_quiz.id is null then
        perform private.raise_error('learning_quiz_not_found', 'No such quiz.', 'PT404');
    end if;
    perform private.learning_require_staff(v_quiz.course_id,
        array['owner', 'co_instructor']::learning.staff_role[]);
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
    perform private.learning_require_staff(p_course_id);
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
'Course staff: publish (or re-publish) a course after validation: at least one lesson,
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
    perform private.learning_require_staff(p_course_id, array['owner']::learning.staff_role[]);
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
    perform private.learning_require_staff(p_course_id,
        array['owner', 'co_instructor', 'ta']::learning.staff_role[]);
    if p_extra_time_pct is not null and p_extra_time_pct not between 0 and 400 then
        perform private.learning_field_error('p_extra_time_pct', 'p_extra_time_pct is 0-400.');
    end if;
    if char_length(p_note) > 500 then
        perform private.learning_field_error('p_note', 'p_note is at most 500 characters.');
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
'Course staff (TAs too): give an enrolled learner extra time on timed quizzes
(p_extra_time_pct 0-400, null removes). Audited. Errors: not_authenticated,
learning_course_not_found, forbidden, invalid_argument, learning_not_enrolled.';
revoke execute on function api.learning_set_accommodation(uuid, uuid, int, text) from public, anon;
grant execute on function api.learning_set_accommodation(uuid, uuid, int, text) to authenticated;
