-- ctf: the worker settles and rebuilds an event's scoreboard at most once a second, however
-- many solves arrive. Each ctf.solve delivery settled every moved challenge of the event and
-- rebuilt its document; under a burst of solves every delivery found new moved challenges
-- and an out-of-date document, so each did the work of all (measured: one worker delivered
-- about one job a second while 32 connections submitted, and the backlog grew). Now a
-- delivery skips both when the live document was rebuilt less than a second ago, and only
-- publishes; the next delivery after that second settles, and the ctf.refresh_boards
-- schedule rebuilds what the last solves of a burst left (without settling: a rebuild is
-- exact with unsettled challenges, and the schedule must not hold the worker's loop).
-- Nothing becomes stale: readers compute the exact rows while the document is out of date
-- (private.ctf_board).

create function private.ctf_settle_event(p_event uuid) returns int
language sql
security definer
set search_path = ''
as $$
    -- worker mode: never queues behind a solve; a busy challenge is left to the next pass
    select count(*)::int from (
        select private.ctf_settle_challenge(c.id) as n
        from ctf.challenges as c
        where c.event_id = p_event and c.value <> c.scored_value
        order by c.id
    ) as s where s.n > 0
$$;
comment on function private.ctf_settle_event(uuid) is
'Settle every moved challenge of an event as the worker does (private.ctf_settle_challenge,
never waiting); returns how many were settled.';
revoke execute on function private.ctf_settle_event(uuid) from public;

create or replace function private.ctf_solve_delivered(p_payload jsonb) returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_event uuid := (p_payload ->> 'event_id')::uuid;
begin
    if not exists (
        select 1 from ctf.scoreboards
        where event_id = v_event and not frozen and refreshed_at > now() - interval '1 second'
    ) then
        perform private.ctf_settle_event(v_event);
        perform private.ctf_refresh_board(v_event, false);
        if exists (select 1 from ctf.scoreboard_changes where event_id = v_event and frozen) then
            perform private.ctf_refresh_board(v_event, true);
        end if;
    end if;
    return private.events_publish_solve(p_payload);
end;
$$;
comment on function private.ctf_solve_delivered(jsonb) is
'Worker (ctf.solve): unless the event''s live document was rebuilt less than a second ago,
settle the event''s moved challenges and rebuild its out-of-date documents; then publish the
scoreboard the solve moved. Under a burst the work is done at most once a second per event;
the ctf.refresh_boards schedule rebuilds what the last solves left.';
