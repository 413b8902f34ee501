-- events: the emails and notifications the outbox topics lead to.
--
-- What the worker's handlers (sync/notifications.py, sync/lifecycle.py, sync/ctf.py) need
-- from the database, as definer functions they call with the job's payload: what one
-- notification or one digest shows (re-checked at send time: a notification read or switched
-- off since is not emailed), the learner's course completion, CTF solve side effects. Plus
-- the triggers and the schedule that queue lifecycle email: enrollment confirmation, course
-- completion (learning.course_completed, a topic of its own so integrations can mirror
-- completions), and "your CTF starts soon" 24 hours and 1 hour before an event.

-- One notification, one digest --------------------------------------------------------------
create function private.events_notification_message(p_notification_id bigint)
returns jsonb
language sql stable
security definer
set search_path = ''
as $$
    select jsonb_build_object(
        'id', n.id, 'user_id', n.user_id, 'kind', n.kind, 'category', n.category,
        'object_type', n.object_type, 'object_id', n.object_id, 'data', n.data,
        'actor_count', n.actor_count, 'created_at', n.created_at,
        'actor_names', coalesce((
            select jsonb_agg(coalesce(p.display_name, p.username) order by a.ord)
            from unnest(n.actor_ids[1:3]) with ordinality as a (id, ord)
            join accounts.profiles as p on p.id = a.id
        ), '[]'),
        'email', private.user_settings(n.user_id) -> 'notifications' -> n.category ->> 'email'
    )
    from community.notifications as n
    where n.id = p_notification_id and n.read_at is null
$$;
comment on function private.events_notification_message(bigint) is
'Worker: what an email about one notification shows (kind, object, data, up to three actor
names) and the member''s current email preference for its category; null once the
notification is read or gone. Definer: reads notifications and profiles of any user.';
revoke execute on function private.events_notification_message(bigint) from public;
grant execute on function private.events_notification_message(bigint) to service_role;

create function private.events_digest_messages(p_user uuid, p_ids bigint[]) returns jsonb
language sql stable
security definer
set search_path = ''
as $$
    select coalesce(jsonb_agg(private.events_notification_message(n.id)
                              order by n.category, n.id), '[]')
    from community.notifications as n
    where n.user_id = p_user and n.id = any(p_ids) and n.read_at is null
$$;
comment on function private.events_digest_messages(uuid, bigint[]) is
'Worker: the notifications of one digest job that are still unread, grouped by category.';
revoke execute on function private.events_digest_messages(uuid, bigint[]) from public;
grant execute on function private.events_digest_messages(uuid, bigint[]) to service_role;

-- Learning: enrollment confirmation, course completion ------------------------------------
create function private.events_enrollment_emails() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_course learning.courses;
begin
    select * into v_course from learning.courses where id = new.course_id;
    if new.status = 'active' and (tg_op = 'INSERT' or old.status <> 'active') then
        perform ops.enqueue('email.send', jsonb_build_object(
            'template', 'enrollment_confirmation', 'user_id', new.user_id,
            'category', 'learning',
            'data', jsonb_build_object('course_title', v_course.title,
                'course_slug', v_course.slug, 'course_id', v_course.id),
            'object', jsonb_build_object('type', 'course', 'id', v_course.id)
        ), format('enrolled:%s:%s:%s', new.user_id, new.course_id,
                  extract(epoch from new.updated_at)::bigint));
    end if;
    if new.completed_at is not null and (tg_op = 'INSERT' or old.completed_at is null) then
        perform ops.enqueue('learning.course_completed', jsonb_build_object(
            'user_id', new.user_id, 'course_id', new.course_id,
            'course_slug', v_course.slug, 'course_title', v_course.title,
            'completed_at', new.completed_at,
            'certificate_code', (select c.code from learning.certificates as c
                                 where c.user_id = new.user_id
                                   and c.course_id = new.course_id)
        ), format('completed:%s:%s', new.user_id, new.course_id));
    end if;
    return null;
end;
$$;
comment on function private.events_enrollment_emails() is
'Trigger on learning.enrollments: the enrollment confirmation email when an enrollment
becomes active (new or re-enrolled), learning.course_completed when it completes (runs
after the certificate trigger, so the certificate code is known).';
revoke execute on function private.events_enrollment_emails() from public;
-- Named *_z_* so it fires after enrollments_issue_certificate (same-event triggers by name).
create trigger enrollments_z_events after insert or update of status, completed_at
on learning.enrollments
for each row execute function private.events_enrollment_emails();

create function private.events_course_completed(p_payload jsonb) returns bigint
language sql
security definer
set search_path = ''
as $$
    select private.notify(
        (p_payload ->> 'user_id')::uuid, 'course.completed', 'course',
        p_payload ->> 'course_id',
        jsonb_build_object('title', p_payload ->> 'course_title',
            'certificate_code', p_payload ->> 'certificate_code'),
        null, 'course_completed:' || (p_payload ->> 'course_id'))
$$;
comment on function private.events_course_completed(jsonb) is
'Worker (learning.course_completed): the learner''s "course completed" notification (in-app,
and email per their courses preference). Consolidated per course, so a retry adds nothing.';
revoke execute on function private.events_course_completed(jsonb) from public;
grant execute on function private.events_course_completed(jsonb) to service_role;

select ops.register_event_type(
    'learning.course_completed', 1,
    'A learner completed a course (every completion rule holds). Enough for a partner LMS '
    || 'to mirror completions: learner, course, time and the certificate code.',
    $json${
      "type": "object",
      "required": ["user_id", "course_id", "course_slug", "course_title", "completed_at"],
      "properties": {
        "user_id": {"type": "string", "format": "uuid"},
        "course_id": {"type": "string", "format": "uuid"},
        "course_slug": {"type": "string"},
        "course_title": {"type": "string"},
        "completed_at": {"type": "string", "format": "date-time"},
        "certificate_code": {"type": ["string", "null"]}
      }
    }$json$,
    $json${"user_id": "7f0c1d1e-2b1a-4c55-9a3e-0d3c2b1a0f00",
           "course_id": "2c3d4e5f-6071-4b8c-9dae-1f2a3b4c5d6e",
           "course_slug": "web-exploitation-101", "course_title": "Web exploitation 101",
           "completed_at": "2026-12-01T12:00:00+00:00", "certificate_code": "FS-7K2M-9QX4"}$json$,
    'sync.lifecycle', true
);

-- CTF: starting soon, first blood, shared flags --------------------------------------------
create function private.events_ctf_starting_soon() returns int
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_count int := 0;
    v_row record;
begin
    for v_row in
        select e.id as event_id, e.title, e.slug, e.starts_at, p.user_id,
               case when e.starts_at <= now() + interval '1 hour' then '1h' else '24h' end
                   as notice
        from ctf.events as e
        join ctf.participants as p on p.event_id = e.id and not p.banned
        join ctf.teams as t on t.id = p.team_id and not t.banned
        where e.starts_at > now() and e.starts_at <= now() + interval '24 hours'
          and not e.is_practice
    loop
        if not exists (
            select 1 from ops.outbox as o
            where o.topic = 'email.send' and o.dedupe_key
                = format('ctf_soon:%s:%s:%s', v_row.notice, v_row.event_id, v_row.user_id)
        ) then
            perform ops.enqueue('email.send', jsonb_build_object(
                'template', 'ctf_starting_soon', 'user_id', v_row.user_id,
                'category', 'ctf_events',
                'data', jsonb_build_object('event_title', v_row.title,
                    'event_slug', v_row.slug, 'starts_at', v_row.starts_at,
                    'notice', v_row.notice),
                'object', jsonb_build_object('type', 'ctf_event', 'id', v_row.event_id)
            ), format('ctf_soon:%s:%s:%s', v_row.notice, v_row.event_id, v_row.user_id));
            v_count := v_count + 1;
        end if;
    end loop;
    return v_count;
end;
$$;
comment on function private.events_ctf_starting_soon() is
'Scheduler: "your CTF starts soon" to every registered participant (not banned, team not
banned) 24 hours before an event starts and again 1 hour before, once each (dedupe key per
notice, event and user; registering 30 minutes before gets only the 1-hour notice). Returns
how many emails it queued.';
revoke execute on function private.events_ctf_starting_soon() from public;
grant execute on function private.events_ctf_starting_soon() to service_role;
insert into ops.schedules (name, function_name, every) values
('events.ctf_starting_soon', 'private.events_ctf_starting_soon()', '5 minutes');

create function private.events_ctf_first_blood(p_payload jsonb) returns int
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_ch ctf.challenges;
    v_ev ctf.events;
    v_count int := 0;
    v_member uuid;
begin
    select * into v_ch from ctf.challenges where id = (p_payload ->> 'challenge_id')::uuid;
    select * into v_ev from ctf.events where id = (p_payload ->> 'event_id')::uuid;
    if v_ch.id is null or v_ev.id is null then
        return 0;
    end if;
    for v_member in
        select p.user_id from ctf.participants as p
        where p.team_id = (p_payload ->> 'team_id')::uuid
    loop
        if private.notify(v_member, 'ctf.first_blood', 'challenge', v_ch.id::text,
            jsonb_build_object('title', v_ch.title, 'event_title', v_ev.title,
                'event_id', v_ev.id, 'solve_id', p_payload -> 'solve_id'),
            null, 'first_blood:' || v_ch.id) is not null then
            v_count := v_count + 1;
        end if;
    end loop;
    -- Announced on the event's scoreboard topic, unless the scoreboard is frozen.
    if v_ev.freeze_at is null or v_ev.freeze_at > now() then
        perform realtime.send(
            jsonb_build_object('type', 'first_blood', 'challenge_id', v_ch.id,
                'challenge_title', v_ch.title, 'team_id', p_payload ->> 'team_id',
                'team_name', (select t.name from ctf.teams as t
                              where t.id = (p_payload ->> 'team_id')::uuid)),
            'first_blood', private.events_scoreboard_topic(v_ev.id), true);
    end if;
    return v_count;
end;
$$;
comment on function private.events_ctf_first_blood(jsonb) is
'Worker (ctf.first_blood): tell the solving team''s members (one consolidated notification
per challenge) and announce it on the event''s scoreboard topic (not while frozen). Returns
how many members were notified.';
revoke execute on function private.events_ctf_first_blood(jsonb) from public;
grant execute on function private.events_ctf_first_blood(jsonb) to service_role;

create function private.events_ctf_flag_shared(p_payload jsonb) returns int
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_count int := 0;
    v_org uuid;
    v_ch ctf.challenges;
begin
    select * into v_ch from ctf.challenges where id = (p_payload ->> 'challenge_id')::uuid;
    if v_ch.id is null then
        return 0;
    end if;
    for v_org in
        select o.user_id from ctf.organisers as o
        where o.event_id = (p_payload ->> 'event_id')::uuid
    loop
        perform private.notify(v_org, 'ctf.flag_shared', 'ctf_submission',
            p_payload ->> 'submission_id',
            jsonb_build_object('title', v_ch.title, 'event_id', p_payload ->> 'event_id',
                'submitter_team', (select t.name from ctf.teams as t
                                   where t.id = (p_payload ->> 'submitter_team_id')::uuid),
                'owner_team', (select t.name from ctf.teams as t
                               where t.id = (p_payload ->> 'owner_team_id')::uuid)),
            null, 'flag_shared:' || (p_payload ->> 'submission_id'));
        v_count := v_count + 1;
    end loop;
    return v_count;
end;
$$;
comment on function private.events_ctf_flag_shared(jsonb) is
'Worker (ctf.flag_shared): notify each organiser of the event that a team submitted another
team''s unique flag (to review in the sharing reports). Returns how many were notified.';
revoke execute on function private.events_ctf_flag_shared(jsonb) from public;
grant execute on function private.events_ctf_flag_shared(jsonb) to service_role;
