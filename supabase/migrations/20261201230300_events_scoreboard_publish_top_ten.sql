-- events: the scoreboard broadcast after a solve reads the exact top ten through
-- private.ctf_live_top instead of sorting the ctf.standings view. The view corrects every
-- team's stored score by the event's unsettled challenges, so ordering it by exact score
-- computed the score of all of an event's teams first: 180 ms per ctf.solve delivery at
-- 6,000 teams, which held one worker to five deliveries a second. ctf_live_top scans the
-- stored scores (upper bounds) in rank order and stops once the exact top is known; the
-- rows, their order and the message are the same.

create or replace function private.events_publish_scoreboard(
    p_event uuid, p_solve jsonb default null
) returns boolean
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
                'team_name', t.name, 'score', x.score, 'solve_count', x.solve_count)
                order by x.pos)
            from (
                select
                    row_number() over (order by s.score desc, s.last_score_at, s.team_id)
                    as pos,
                    s.team_id, s.score, s.solve_count
                from private.ctf_live_top(v_ev.id, 10) as s
            ) as x
            inner join ctf.teams as t on x.team_id = t.id
        ), '[]')
    ), 'scoreboard', private.events_scoreboard_topic(v_ev.id), true);
    return true;
end;
$$;
comment on function private.events_publish_scoreboard(uuid, jsonb) is
'Worker (ctf.solve): broadcast the live top ten of an event (exact scores, through
private.ctf_live_top), with the solve that moved it, on the event''s scoreboard topic.
Nothing while the scoreboard is frozen (participants must not learn live scores); true when
a message was sent.';
