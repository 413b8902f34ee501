-- learning: authoring RPCs for course team (courses, course team, modules, lessons, quizzes,
-- questions and keys, prerequisites, accommodations, publishing).
--
-- Creating a course needs the courses.author permission (instructors, admins); everything
-- else needs a team role in that course: owner (all, including course team and archiving),
-- co_instructor (content), ta (accommodations; read-only otherwise). Admins may do all.

create function private.learning_require_course_team(
    p_course uuid,
    p_roles learning.team_role[] default array['owner', 'co_instructor']::learning.team_role[]
) returns uuid
language plpgsql
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
    v_role learning.team_role;
begin
    if p_course is null or not exists (select 1 from learning.courses as c where c.id = p_course)
    then
        perform private.raise_error('learning_course_not_found', 'No such course.', 'PT404');
    end if;
    select s.role into v_role from learning.course_team as s
    where s.course_id = p_course and s.user_id = v_uid;
    if v_role = any(p_roles) or private.user_has_permission(v_uid, 'platform.admin') then
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
comment on function private.learning_require_course_team(uuid, learning.team_role[]) is
'The caller''s id if they hold one of p_roles in the course (or platform.admin, checked
against the tables); else learning_course_not_found (course invisible) or forbidden.';
revoke execute on function private.learning_require_course_team(uuid, learning.team_role[])
from public;

create function private.learning_require_module_team(p_module uuid) returns uuid
language plpgsql
set search_path = ''
as $$
declare
    v_course uuid;
begin
    select m.course_id into v_course from learning.modules as m where m.id = p_module;
    if v_course is null then
        perform private.raise_error('learning_module_not_found', 'No such module.', 'PT404');
    end if;
    perform private.learning_require_course_team(v_course);
    return v_course;
end;
$$;
comment on function private.learning_require_module_team(uuid) is
'The course of module p_module if the caller is on its course team (owner, co-instructor)
or an admin; else learning_module_not_found, learning_course_not_found or forbidden.';
revoke execute on function private.learning_require_module_team(uuid) from public;

-- Validate a course field; keys of api.learning_update_course's p_changes.
create function private.learning_check_course_field(p_field text, p_value jsonb) returns void
language plpgsql
set search_path = ''
as $$
declare
    v_text text := p_value #>> '{}';
    v_type text := coalesce(jsonb_typeof(p_value), 'null');  -- SQL null counts as null
begin
    if p_field not in ('slug', 'title', 'summary', 'description', 'level', 'tags',
                       'estimated_hours', 'language', 'price_tier', 'cover_path', 'sequential')
    then
        perform private.arg_error(p_field,
            format('%s is not an editable course field.', left(p_field, 40)));
    end if;
    if v_type = 'null' and p_field in ('estimated_hours', 'cover_path') then
        return;
    end if;
    if p_field = 'slug' and (v_type <> 'string' or v_text !~ '^[a-z0-9]+(-[a-z0-9]+)*$'
                              or char_length(v_text) > 80) then
        perform private.arg_error(p_field,
            'slug is lowercase words joined by hyphens, at most 80 characters.');
    elsif p_field = 'title' and (v_type <> 'string'
                                  or char_length(btrim(v_text)) not between 3 and 200) then
        perform private.arg_error(p_field, 'title is 3-200 characters.');
    elsif p_field = 'summary' and (v_type <> 'string' or char_length(v_text) > 500) then
        perform private.arg_error(p_field, 'summary is at most 500 characters.');
    elsif p_field = 'description' and (v_type <> 'string' or char_length(v_text) > 20000) then
        perform private.arg_error(p_field,
            'description is at most 20000 characters.');
    elsif p_field = 'level' and (v_type <> 'string'
                                  or v_text not in ('beginner', 'intermediate', 'advanced')) then
        perform private.arg_error(p_field,
            'level is beginner, intermediate or advanced.');
    elsif p_field = 'tags' and (
        v_type <> 'array' or jsonb_array_length(p_value) > 20 or exists (
            select 1 from jsonb_array_elements(p_value) as e(v)
            where jsonb_typeof(e.v) <> 'string'
               or (e.v #>> '{}') !~ '^[a-z0-9][a-z0-9+#.-]{0,39}$'
        )
    ) then
        perform private.arg_error(p_field,
            'tags is a list of at most 20 lowercase tags.');
    elsif p_field = 'estimated_hours' and (v_type <> 'number'
                                            or v_text::numeric not between 0 and 10000) then
        perform private.arg_error(p_field, 'estimated_hours is 0-10000.');
    elsif p_field = 'language' and (v_type <> 'string' or v_text !~ '^[a-z]{2}(-[A-Z]{2})?$') then
        perform private.arg_error(p_field, 'language is a code such as en or pt-BR.');
    elsif p_field = 'price_tier' and (v_type <> 'string' or v_text not in ('free', 'pro')) then
        perform private.arg_error(p_field, 'price_tier is free or pro.');
    elsif p_field = 'cover_path' and (v_type <> 'string' or char_length(v_text) > 300
                                       or v_text like '%..%') then
        perform private.arg_error(p_field, 'cover_path is a storage path.');
    elsif p_field = 'sequential' and v_type <> 'boolean' then
        perform private.arg_error(p_field, 'sequential is true or false.');
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
    insert into learning.course_team (course_id, user_id, role) values (v_id, v_uid, 'owner');
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
    perform private.learning_require_course_team(p_course_id);
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
'Course team (owner, co-instructor): change course fields {slug, title, summary,
description, level, tags, estimated_hours, language, price_tier, cover_path, sequential}.
Status changes through api.learning_publish_course / api.learning_archive_course. Errors: not_authenticated,
learning_course_not_found, forbidden, invalid_argument (details.field), learning_slug_taken,
learning_payload_too_large.';
revoke execute on function api.learning_update_course(uuid, jsonb) from public, anon;
grant execute on function api.learning_update_course(uuid, jsonb) to authenticated;

create function api.learning_set_course_team(p_course_id uuid, p_user_id uuid, p_role text)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_actor uuid := private.learning_require_course_team(
        p_course_id, array['owner']::learning.team_role[]
    );
begin
    if p_role is not null and p_role not in ('owner', 'co_instructor', 'ta') then
        perform private.arg_error('p_role', 'p_role is owner, co_instructor, ta or null.');
    end if;
    if p_user_id is null or not exists (select 1 from auth.users as u where u.id = p_user_id) then
        perform private.raise_error('user_not_found', 'No such user.', 'PT404');
    end if;
    -- Keep at least one owner.
    if (p_role is null or p_role <> 'owner') and exists (
        select 1 from learning.course_team as s
        where s.course_id = p_course_id and s.user_id = p_user_id and s.role = 'owner'
    ) and (select count(*) from learning.course_team as s
           where s.course_id = p_course_id and s.role = 'owner') <= 1 then
        perform private.raise_error('conflict', 'A course keeps at least one owner.', 'PT409');
    end if;
    if p_role is null then
        delete from learning.course_team where course_id = p_course_id and user_id = p_user_id;
    else
        insert into learning.course_team (course_id, user_id, role)
        values (p_course_id, p_user_id, p_role::learning.team_role)
        on conflict (course_id, user_id) do update set role = excluded.role;
    end if;
    perform private.audit('learning.course_team_changed', 'course', p_course_id::text,
        jsonb_build_object('user_id', p_user_id, 'role', p_role, 'by', v_actor));
end;
$$;
comment on function api.learning_set_course_team(uuid, uuid, text) is
'Course owner: give a user a team role (owner, co_instructor, ta) or remove it (null).
A course keeps at least one owner. Audited. Errors: not_authenticated,
learning_course_not_found, forbidden, invalid_argument, user_not_found, conflict.';
revoke execute on function api.learning_set_course_team(uuid, uuid, text) from public, anon;
grant execute on function api.learning_set_course_team(uuid, uuid, text) to authenticated;

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
    perform private.learning_require_course_team(p_course_id);
    if p_title is null or char_length(btrim(p_title)) not between 1 and 200 then
        perform private.arg_error('p_title', 'p_title is 1-200 characters.');
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
'Course team: append a module (optionally unlocking at p_unlock_at). Returns its id.
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
    perform private.require_scope('api.learning_update_module');  -- API key scope
    v_course := private.learning_require_module_team(p_module_id);
    if p_changes is null or jsonb_typeof(p_changes) <> 'object'
        or exists (select 1 from jsonb_object_keys(p_changes) as k
                   where k not in ('title', 'unlock_at')) then
        perform private.raise_error('invalid_argument',
            'p_changes is an object with title and/or unlock_at.', '22023');
    end if;
    if p_changes ? 'title' and (jsonb_typeof(p_changes -> 'title') <> 'string'
        or char_length(btrim(p_changes ->> 'title')) not between 1 and 200) then
        perform private.arg_error('title', 'title is 1-200 characters.');
    end if;
    if p_changes ? 'unlock_at' and jsonb_typeof(p_changes -> 'unlock_at') <> 'null' then
        begin
            perform (p_changes ->> 'unlock_at')::timestamptz;
        exception when others then
            perform private.arg_error('unlock_at', 'unlock_at is a timestamp or null.');
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
'Course team: change a module''s title and/or unlock_at (null clears it). Errors:
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
                perform private.arg_error(v_key, 'title is 1-200 characters.');
            end if;
        elsif v_key in ('is_preview', 'is_required') then
            if jsonb_typeof(v_value) <> 'boolean' then
                perform private.arg_error(v_key, v_key || ' is true or false.');
            end if;
        elsif v_key = 'duration_seconds' then
            if jsonb_typeof(v_value) not in ('number', 'null') or (
                jsonb_typeof(v_value) = 'number'
                and ((v_value #>> '{}')::numeric not between 0 and 86400
                     or (v_value #>> '{}')::numeric <> trunc((v_value #>> '{}')::numeric))
            ) then
                perform private.arg_error(v_key,
                    'duration_seconds is a whole number 0-86400.');
            end if;
        elsif v_key = 'body_md' then
            if jsonb_typeof(v_value) <> 'string' or char_length(v_value #>> '{}') > 200000 then
                perform private.arg_error(v_key,
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
                perform private.arg_error(v_key,
                    'attachments are paths <course_id>/... in the course-content bucket.');
            end if;
        else
            perform private.arg_error(v_key,
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
    perform private.require_scope('api.learning_create_lesson');  -- API key scope
    v_course := private.learning_require_module_team(p_module_id);
    if p_kind is null or p_kind not in ('article', 'video', 'lab', 'quiz') then
        perform private.arg_error('p_kind', 'p_kind is article, video, lab or quiz.');
    end if;
    if p_title is null or char_length(btrim(p_title)) not between 1 and 200 then
        perform private.arg_error('p_title', 'p_title is 1-200 characters.');
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
'Course team: append a lesson (article, video, lab, quiz) to a module, with optional
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
    perform private.require_scope('api.learning_update_lesson');  -- API key scope
    select l.course_id into v_course from learning.lessons as l where l.id = p_lesson_id;
    if v_course is null then
        perform private.raise_error('learning_lesson_not_found', 'No such lesson.', 'PT404');
    end if;
    perform private.learning_require_course_team(v_course);
    perform private.learning_check_lesson_changes(v_course, p_changes);
    perform private.learning_apply_lesson_changes(p_lesson_id, p_changes);
end;
$$;
comment on function api.learning_update_lesson(uuid, jsonb) is
'Course team: change lesson fields {title, is_preview, is_required, duration_seconds,
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
    perform private.require_scope('api.learning_delete_lesson');  -- API key scope
    select * into v_lesson from learning.lessons as l where l.id = p_lesson_id;
    if v_lesson.id is null then
        perform private.raise_error('learning_lesson_not_found', 'No such lesson.', 'PT404');
    end if;
    perform private.learning_require_course_team(v_lesson.course_id);
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
'Course team: delete a lesson nobody has completed yet. Errors: not_authenticated,
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
    perform private.learning_require_course_team(p_course_id);
    if not private.learning_lists_all_once(p_module_ids, array(
        select m.id from learning.modules as m where m.course_id = p_course_id
    )) then
        perform private.arg_error('p_module_ids',
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
'Course team: set the order of a course''s modules (every module id exactly once).
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
    perform private.require_scope('api.learning_reorder_lessons');  -- API key scope
    v_course := private.learning_require_module_team(p_module_id);
    if not private.learning_lists_all_once(p_lesson_ids, array(
        select l.id from learning.lessons as l where l.module_id = p_module_id
    )) then
        perform private.arg_error('p_lesson_ids',
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
'Course team: set the order of a module''s lessons (every lesson id exactly once).
Errors: not_authenticated, learning_module_not_found, forbidden, invalid_argument.';
revoke execute on function api.learning_reorder_lessons(uuid, uuid[]) from public, anon;
grant execute on function api.learning_reorder_lessons(uuid, uuid[]) to authenticated;
