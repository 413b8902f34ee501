-- events: Realtime broadcast topics, guarded by policies on realtime.messages.
--
-- Clients join private channels with supabase.channel(topic, {config: {private: true}});
-- Realtime lets a socket join (and receive) only when a select policy on realtime.messages
-- admits the row for that topic, and lets it send only through an insert policy (there is
-- none here: only the database broadcasts, with realtime.send). Topics:
--   ctf:event:<event id>:scoreboard   participants (not banned) and organisers of the event
--   user:<user id>:notifications      that user only
-- docs/events.md lists the messages and the tables in the supabase_realtime publication.

create function private.events_scoreboard_topic(p_event uuid) returns text
language sql immutable
set search_path = ''
as $$
    select 'ctf:event:' || p_event::text || ':scoreboard'
$$;
comment on function private.events_scoreboard_topic(uuid) is
'The Realtime topic of an event''s scoreboard: ctf:event:<event id>:scoreboard.';
revoke execute on function private.events_scoreboard_topic(uuid) from public;
grant execute on function private.events_scoreboard_topic(uuid) to service_role;

create function private.events_user_topic(p_user uuid) returns text
language sql immutable
set search_path = ''
as $$
    select 'user:' || p_user::text || ':notifications'
$$;
comment on function private.events_user_topic(uuid) is
'The Realtime topic of one user''s notifications: user:<user id>:notifications.';
revoke execute on function private.events_user_topic(uuid) from public;
grant execute on function private.events_user_topic(uuid) to service_role;

create function private.events_realtime_may_read(p_topic text) returns boolean
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    v_uid uuid := (select auth.uid());
    v_id uuid;
begin
    if v_uid is null or p_topic is null then
        return false;
    end if;
    if p_topic ~ '^user:[0-9a-f-]{36}:notifications$' then
        return split_part(p_topic, ':', 2)::uuid = v_uid;
    end if;
    if p_topic ~ '^ctf:event:[0-9a-f-]{36}:scoreboard$' then
        v_id := split_part(p_topic, ':', 3)::uuid;
        return exists (
            select 1 from ctf.participants as p
            join ctf.teams as t on t.id = p.team_id
            where p.event_id = v_id and p.user_id = v_uid and not p.banned and not t.banned
        ) or v_id in (select private.ctf_organised_events());
    end if;
    return false;
end;
$$;
comment on function private.events_realtime_may_read(text) is
'May the caller receive broadcasts of this Realtime topic? Their own notifications topic;
an event''s scoreboard topic when registered for it (not banned) or organising it. Every
other topic: no. Definer: reads participants of any team (the policy must not recurse).';
revoke execute on function private.events_realtime_may_read(text) from public;
grant execute on function private.events_realtime_may_read(text) to authenticated;

create policy events_broadcast_read on realtime.messages for select to authenticated
using (extension = 'broadcast' and (select private.events_realtime_may_read(topic)));

-- Personal notifications --------------------------------------------------------------------
create function private.events_broadcast_notification() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    if new.in_app then
        perform realtime.send(
            jsonb_build_object('id', new.id, 'kind', new.kind, 'category', new.category,
                'object_type', new.object_type, 'object_id', new.object_id,
                'data', new.data, 'actor_count', new.actor_count,
                'updated_at', new.updated_at),
            case when tg_op = 'INSERT' then 'notification' else 'notification_updated' end,
            private.events_user_topic(new.user_id), true);
    end if;
    return null;
end;
$$;
comment on function private.events_broadcast_notification() is
'Trigger on community.notifications: broadcast a new (or consolidated) in-app notification
on its user''s private topic, in the transaction that wrote it.';
revoke execute on function private.events_broadcast_notification() from public;
create trigger notifications_z_broadcast after insert or update of actor_count, data
on community.notifications
for each row execute function private.events_broadcast_notification();

-- Scoreboard --------------------------------------------------------------------------------
create function private.events_publish_scoreboard(p_event uuid, p_solve jsonb default null)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_ev ctf.events;
begin
    select * into v_ev from ctf.events where id = p_event;
    -- A frozen scoreboard does not move for participants: nothing to publish.
    if v_ev.id is null or v_ev.freeze_at <= now() then
        return false;
    end if;
    perform realtime.send(jsonb_build_object(
        'type', 'scoreboard', 'event_id', v_ev.id,
        'solve', case when p_solve is not null then jsonb_build_object(
            'team_id', p_solve ->> 'team_id', 'challenge_id', p_solve ->> 'challenge_id',
            'points', p_solve -> 'points', 'blood_rank', p_solve -> 'blood_rank') end,
        'top', coalesce((
            select jsonb_agg(jsonb_build_object('pos', x.pos, 'team_id', x.team_id,
                'team_name', x.name, 'score', x.score, 'solve_count', x.solve_count)
                order by x.pos)
            from (
                select row_number() over (order by s.score desc, s.last_score_at, s.team_id)
                       as pos, s.team_id, t.name, s.score, s.solve_count
                from ctf.standings as s join ctf.teams as t on t.id = s.team_id
                where s.event_id = v_ev.id and s.ranked and s.last_score_at is not null
                order by s.score desc, s.last_score_at, s.team_id
                limit 10
            ) as x
        ), '[]')
    ), 'scoreboard', private.events_scoreboard_topic(v_ev.id), true);
    return true;
end;
$$;
comment on function private.events_publish_scoreboard(uuid, jsonb) is
'Worker (ctf.solve): broadcast the live top ten of an event, with the solve that moved it,
on the event''s scoreboard topic. Nothing while the scoreboard is frozen (participants must
not learn live scores); true when a message was sent.';
revoke execute on function private.events_publish_scoreboard(uuid, jsonb) from public;
grant execute on function private.events_publish_scoreboard(uuid, jsonb) to service_role;

create function private.events_publish_solve(p_payload jsonb) returns boolean
language sql
security definer
set search_path = ''
as $$
    select private.events_publish_scoreboard((p_payload ->> 'event_id')::uuid, p_payload)
$$;
comment on function private.events_publish_solve(jsonb) is
'Worker (ctf.solve): publish the scoreboard the solve in p_payload moved.';
revoke execute on function private.events_publish_solve(jsonb) from public;
grant execute on function private.events_publish_solve(jsonb) to service_role;
