-- ctf: dynamic points as a per-challenge term. A solve no longer re-scores every earlier
-- solver of a challenge whose value moved; the exact score is derived on read.
--
-- ctf.challenges.scored_value is the value of the challenge included in the stored scores of
-- its solvers (ctf.standings_stored, the former table ctf.standings):
--   stored score = awards - hint costs + sum over its solves of points(scored_value, rank)
--   exact score  = stored score - sum over its solves of challenges whose value moved since
--                  (value <> scored_value) of points(scored_value, rank) - points(value, rank)
-- The view ctf.standings gives the exact score under the old name, so every reader (team
-- page, score graph, CTFtime feed, exports, freeze snapshot, realtime) stays exact. A solve
-- costs one challenge row and one standings row whatever the number of earlier solvers.
-- Values only fall as solves are counted (minimum <= initial), so the stored score is an
-- upper bound of the exact one: the top 100 is found by scanning stored scores down to the
-- 100th exact score (private.ctf_live_top). The worker settles a challenge after each solve
-- (private.ctf_settle_challenge, off the request path: the stored scores of its solvers take
-- its current value), which keeps the set of moved challenges, and the corrections, small.
--
-- Lock order is unchanged: event (freeze snapshot) -> challenge rows -> standings rows in
-- team order; settling locks one challenge, then its solvers' standings in team order.

-- Schema ----------------------------------------------------------------------------------------
alter table ctf.challenges add column scored_value int;
update ctf.challenges set scored_value = value;
alter table ctf.challenges alter column scored_value set not null;
comment on column ctf.challenges.scored_value is
'The value included in the stored scores of this challenge''s solvers (ctf.standings_stored).
Differs from value between a solve that moved the value and the settling of the challenge
(private.ctf_settle_challenge); ctf.standings corrects the difference on read.';
create index challenges_unsettled_idx on ctf.challenges (event_id) where value <> scored_value;

create function private.ctf_challenge_scored_value() returns trigger
language plpgsql
set search_path = ''
as $$
begin
    new.scored_value := new.value;
    return new;
end;
$$;
comment on function private.ctf_challenge_scored_value() is
'Before insert on ctf.challenges: a new challenge has no solvers, its scored value is its value.';
revoke execute on function private.ctf_challenge_scored_value() from public;
create trigger challenges_scored_value before insert on ctf.challenges
for each row execute function private.ctf_challenge_scored_value();

alter table ctf.standings rename to standings_stored;
comment on table ctf.standings_stored is
'Standings as stored, kept in the transaction of each solve, award and hint unlock: score =
awards - hint costs + solve points at each challenge''s scored_value (not its current value;
read exact scores from the view ctf.standings). last_score_at (the time the score was
reached: last solve or positive award) breaks ties. ranked = team neither hidden nor banned.
private.ctf_recompute_event() rebuilds it from scratch; tests assert both agree.';

create view ctf.standings with (security_invoker = true) as
select
    st.event_id,
    st.team_id,
    st.bracket_id,
    st.ranked,
    st.score - coalesce((
        select
            sum(case
                when s.blood_rank <= cardinality(c.first_blood_bonus)
                    then
                        floor(c.scored_value * c.first_blood_bonus[s.blood_rank] + 0.5)::int
                        - floor(c.value * c.first_blood_bonus[s.blood_rank] + 0.5)::int
                else c.scored_value - c.value
            end)
        from ctf.challenges as c
        inner join ctf.solves as s on c.id = s.challenge_id and s.team_id = st.team_id
        where c.event_id = st.event_id and c.value <> c.scored_value
    ), 0) as score,
    st.solve_count,
    st.last_score_at
from ctf.standings_stored as st;
comment on view ctf.standings is
'Live standings with exact scores: the stored score corrected by the challenges whose value
moved since their solvers were last settled (usually none or a few). Read with the caller''s
rights (the policies of ctf.standings_stored apply). score = solve points at current values +
awards - hint costs.';
grant select on ctf.standings to anon, authenticated, service_role;

-- Reading ---------------------------------------------------------------------------------------
create function private.ctf_unsettled_points(p_teams uuid[], p_moved uuid[])
returns table (team_id uuid, points bigint)
language sql stable
security definer
set search_path = ''
as $$
    select s.team_id, sum(case
        when s.blood_rank <= cardinality(c.first_blood_bonus)
            then floor(c.scored_value * c.first_blood_bonus[s.blood_rank] + 0.5)::int
            - floor(c.value * c.first_blood_bonus[s.blood_rank] + 0.5)::int
        else c.scored_value - c.value
    end)::bigint
    from unnest(p_teams) as t (id)
    inner join ctf.solves as s on s.team_id = t.id and s.challenge_id = any(p_moved)
    inner join ctf.challenges as c on c.id = s.challenge_id
    group by s.team_id
$$;
comment on function private.ctf_unsettled_points(uuid[], uuid[]) is
'How many points the stored scores of these teams overstate because of the moved challenges
p_moved (one unique-index probe per team and challenge, whatever the number of solvers).';
revoke execute on function private.ctf_unsettled_points(uuid[], uuid[]) from public;

create function private.ctf_live_top(p_event uuid, p_limit int)
returns table (
    team_id uuid, bracket_id uuid, score bigint, solve_count int, last_score_at timestamptz
)
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    v_moved uuid[];
    v_first uuid[];
    v_floor bigint;
begin
    select array_agg(c.id) into v_moved
    from ctf.challenges as c where c.event_id = p_event and c.value <> c.scored_value;
    if v_moved is null then
        -- everything settled: the stored scores are exact (one index scan)
        return query
        select l.team_id, l.bracket_id, l.score, l.solve_count, l.last_score_at
        from ctf.standings_stored as l
        where l.event_id = p_event and l.ranked and l.last_score_at is not null
        order by l.score desc, l.last_score_at, l.team_id
        limit p_limit;
        return;
    end if;
    -- Stored scores are upper bounds. The exact scores of the first p_limit teams by stored
    -- score give a floor: at least p_limit teams reach it, so every team of the exact top
    -- p_limit has an exact, hence a stored, score of at least the floor.
    select array_agg(l.team_id) into v_first from (
        select x.team_id from ctf.standings_stored as x
        where x.event_id = p_event and x.ranked and x.last_score_at is not null
        order by x.score desc, x.last_score_at, x.team_id
        limit p_limit
    ) as l;
    if coalesce(cardinality(v_first), 0) = p_limit then
        select min(l.score - coalesce(u.points, 0)) into v_floor
        from ctf.standings_stored as l
        left join private.ctf_unsettled_points(v_first, v_moved) as u on u.team_id = l.team_id
        where l.event_id = p_event and l.team_id = any(v_first);
    end if;
    return query
    with cand as (
        select l.team_id, l.bracket_id, l.score, l.solve_count, l.last_score_at
        from ctf.standings_stored as l
        where l.event_id = p_event and l.ranked and l.last_score_at is not null
          and (v_floor is null or l.score >= v_floor)
    )
    select cand.team_id, cand.bracket_id, cand.score - coalesce(u.points, 0), cand.solve_count,
        cand.last_score_at
    from cand
    left join private.ctf_unsettled_points(
        array(select cand.team_id from cand), v_moved
    ) as u on u.team_id = cand.team_id
    order by cand.score - coalesce(u.points, 0) desc, cand.last_score_at, cand.team_id
    limit p_limit;
end;
$$;
comment on function private.ctf_live_top(uuid, int) is
'The exact live top p_limit of an event (ranked teams with a score), read from the stored
scores: one index scan when every challenge is settled, else a bounded scan of the stored
scores (upper bounds) down to the p_limit-th exact score, corrected per team.';
revoke execute on function private.ctf_live_top(uuid, int) from public;

create or replace function private.ctf_board_rows(p_event uuid, p_frozen boolean) returns jsonb
language sql stable
security definer
set search_path = ''
as $$
    select coalesce(jsonb_agg(jsonb_build_object(
        'pos', x.pos, 'team_id', x.team_id, 'team_name', t.name, 'bracket_id', x.bracket_id,
        'score', x.score, 'solve_count', x.solve_count, 'last_score_at', x.last_score_at
    ) order by x.pos), '[]'::jsonb)
    from (
        select
            row_number() over (order by s.score desc, s.last_score_at, s.team_id) as pos,
            s.team_id, s.bracket_id, s.score, s.solve_count, s.last_score_at
        from private.ctf_live_top(p_event, 100) as s
        where not p_frozen
        union all
        select
            row_number() over (order by f.score desc, f.last_score_at, f.team_id),
            f.team_id, f.bracket_id, f.score, f.solve_count, f.last_score_at
        from (
            select z.team_id, z.bracket_id, z.score, z.solve_count, z.last_score_at
            from ctf.standings_frozen as z
            where p_frozen and z.event_id = p_event and z.ranked
              and z.last_score_at is not null
            order by z.score desc, z.last_score_at, z.team_id
            limit 100
        ) as f
    ) as x
    join ctf.teams as t on t.id = x.team_id
$$;
comment on function private.ctf_board_rows(uuid, boolean) is
'The top 100 of an event (live: private.ctf_live_top; frozen: the snapshot): what the
document holds. At most 100 team lookups.';

create or replace function private.ctf_board_queue() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_event uuid;
    v_frozen boolean := tg_table_name = 'standings_frozen';
begin
    if current_setting('ctf.settling', true) = 'on' then
        return null;  -- settling moves stored scores only: the exact ones, the board, stay
    end if;
    for v_event in
        select distinct event_id from changed_rows
    loop
        if current_setting(private.ctf_board_flag(v_event, v_frozen), true)
            is distinct from 'queued' then
            perform set_config(private.ctf_board_flag(v_event, v_frozen), 'queued', true);
            insert into ctf.scoreboard_pending (event_id, frozen) values (v_event, v_frozen);
        end if;
        if tg_table_name = 'teams' then
            -- a renamed team shows in both documents
            if current_setting(private.ctf_board_flag(v_event, true), true)
                is distinct from 'queued' then
                perform set_config(private.ctf_board_flag(v_event, true), 'queued', true);
                insert into ctf.scoreboard_pending (event_id, frozen) values (v_event, true);
            end if;
        end if;
    end loop;
    return null;
end;
$$;
comment on function private.ctf_board_queue() is
'Statement trigger on standings, standings_frozen and teams: queue the rebuild of the
changed events'' scoreboard documents, once per event and transaction (not for settling,
which leaves exact scores as they are).';

-- Settling --------------------------------------------------------------------------------------
create function private.ctf_settle_challenge(p_challenge uuid, p_worker boolean default true)
returns int
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_ch ctf.challenges;
    v_n int;
begin
    if not exists (
        select 1 from ctf.challenges where id = p_challenge and value <> scored_value
    ) then
        return 0;  -- settled already (the common case: no lock taken)
    end if;
    if p_worker then
        -- Never wait: a solve holding the challenge or a solver's row goes first, and the
        -- next delivery settles (exact scores never depend on it).
        begin
            select * into v_ch from ctf.challenges where id = p_challenge
            for no key update nowait;
            perform 1
            from ctf.standings_stored as st
            inner join ctf.solves as s on st.team_id = s.team_id and s.challenge_id = v_ch.id
            where st.event_id = v_ch.event_id
            order by st.team_id
            for update of st nowait;
        exception when lock_not_available then
            return -1;
        end;
        perform set_config('ctf.settling', 'on', true);
    else
        select * into v_ch from ctf.challenges where id = p_challenge for no key update;
        perform 1
        from ctf.standings_stored as st
        inner join ctf.solves as s on st.team_id = s.team_id and s.challenge_id = v_ch.id
        where st.event_id = v_ch.event_id
        order by st.team_id
        for update of st;
    end if;
    if v_ch.value = v_ch.scored_value then
        perform set_config('ctf.settling', '', true);
        return 0;
    end if;
    update ctf.standings_stored as st set score = st.score - d.points
    from (
        select
            s.team_id,
            case
                when s.blood_rank <= cardinality(v_ch.first_blood_bonus)
                    then
                        floor(v_ch.scored_value * v_ch.first_blood_bonus[s.blood_rank] + 0.5)::int
                        - floor(v_ch.value * v_ch.first_blood_bonus[s.blood_rank] + 0.5)::int
                else v_ch.scored_value - v_ch.value
            end as points
        from ctf.solves as s where s.challenge_id = v_ch.id
    ) as d
    where st.event_id = v_ch.event_id and st.team_id = d.team_id and d.points <> 0;
    get diagnostics v_n = row_count;
    update ctf.challenges set scored_value = value where id = v_ch.id;
    perform set_config('ctf.settling', '', true);
    return v_n;
end;
$$;
comment on function private.ctf_settle_challenge(uuid, boolean) is
'Bring the stored scores of a challenge''s solvers to its current value (scored_value :=
value). Exact scores do not change. p_worker (the worker, after a solve): never waits for a
lock (returns -1 when a solve holds one; the next delivery settles) and does not rebuild the
scoreboard document; else (organiser edits) waits and queues the rebuild. Returns the number
of standings rows it moved.';
revoke execute on function private.ctf_settle_challenge(uuid, boolean) from public;

create function private.ctf_solve_delivered(p_payload jsonb) returns boolean
language plpgsql
security definer
set search_path = ''
as $$
begin
    -- the solved challenge, and any left unsettled by an earlier busy delivery (id order)
    perform private.ctf_settle_challenge(c.id)
    from ctf.challenges as c
    where c.event_id = (p_payload ->> 'event_id')::uuid and c.value <> c.scored_value
    order by c.id;
    return private.events_publish_solve(p_payload);
end;
$$;
comment on function private.ctf_solve_delivered(jsonb) is
'Worker (ctf.solve): settle the event''s moved challenges (their earlier solvers'' stored
scores take their new values; busy ones are left to the next delivery), then publish the
scoreboard the solve moved.';
revoke execute on function private.ctf_solve_delivered(jsonb) from public;
grant execute on function private.ctf_solve_delivered(jsonb) to service_role;

-- Writing ---------------------------------------------------------------------------------------
create or replace function private.ctf_record_solve(
    p_challenge uuid, p_team ctf.teams, p_uid uuid, p_now timestamptz
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_ch ctf.challenges;
    v_ev ctf.events;
    v_counted boolean := not (p_team.hidden or p_team.banned);
    v_solve bigint;
    v_count int;
    v_value int;
    v_rank int;
    v_points int;
begin
    select * into v_ev from ctf.events where id = p_team.event_id;
    perform private.ctf_freeze_guard(v_ev.id);
    -- no key update: a fresh counter row holds a key-share lock on the challenge (its
    -- foreign key), which a plain `for update` would wait for (two solvers would deadlock).
    select * into v_ch from ctf.challenges where id = p_challenge for no key update;
    v_count := v_ch.solve_count + case when v_counted then 1 else 0 end;
    v_rank := case when v_counted then v_count end;
    insert into ctf.solves (event_id, challenge_id, team_id, user_id, blood_rank, solved_at)
    values (v_ev.id, v_ch.id, p_team.id, p_uid, v_rank, p_now)
    on conflict (challenge_id, team_id) do nothing
    returning id into v_solve;
    if v_solve is null then
        -- A teammate's solve committed while we waited for the challenge lock.
        perform private.ctf_record_submission(v_ch, p_team.id, p_uid, 'already_solved', true);
        return jsonb_build_object('status', 'already_solved', 'correct', true,
            'already_solved', true);
    end if;
    v_value := private.ctf_value(v_ch.scoring, v_ch.initial, v_ch.minimum, v_ch.decay, v_count);
    if v_count <> v_ch.solve_count or v_value <> v_ch.value then
        -- The earlier solvers' exact scores follow the new value through ctf.standings; their
        -- stored rows are settled later by the worker (private.ctf_settle_challenge).
        update ctf.challenges set solve_count = v_count, value = v_value where id = v_ch.id;
    end if;
    v_points := private.ctf_points(v_value, v_rank, v_ch.first_blood_bonus);
    update ctf.standings_stored set
        score = score + private.ctf_points(v_ch.scored_value, v_rank, v_ch.first_blood_bonus),
        solve_count = solve_count + 1,
        last_score_at = greatest(last_score_at, p_now)
    where event_id = v_ev.id and team_id = p_team.id;
    if v_value > v_ch.scored_value then
        -- never with minimum <= initial (values only fall); kept so that stored scores stay
        -- upper bounds whatever a scoring function does
        perform private.ctf_settle_challenge(v_ch.id, false);
    end if;
    perform private.ctf_record_submission(v_ch, p_team.id, p_uid, 'correct', true);
    perform private.ctf_announce_solve(v_ev, v_ch.id, p_team.id, p_uid, v_solve, v_points,
        v_rank, p_now);
    return jsonb_build_object('status', 'correct', 'correct', true, 'points', v_points,
        'value', v_value, 'first_blood', coalesce(v_rank = 1, false), 'blood_rank', v_rank,
        'solve_count', v_count);
end;
$$;
comment on function private.ctf_record_solve(uuid, ctf.teams, uuid, timestamptz) is
'Submit phase 4 (solve): exactly one solve per team (challenge row locked, unique insert),
value and solve count, the team''s stored standings (at the challenge''s scored value; the
earlier solvers'' exact scores follow the value on read), the submission row, activity and
outbox. Returns the result. Its cost does not depend on the number of earlier solvers.';

create or replace function private.ctf_apply_award(p_event uuid, p_team uuid, p_value int)
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
    perform private.ctf_freeze_guard(p_event);
    update ctf.standings_stored set
        score = score + p_value,
        last_score_at = case when p_value > 0 then greatest(last_score_at, now())
                             else last_score_at end
    where event_id = p_event and team_id = p_team;
end;
$$;
comment on function private.ctf_apply_award(uuid, uuid, int) is
'Incremental standings update for one award or hint cost (one row).';

create or replace function private.ctf_recompute_team(p_event uuid, p_team uuid) returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
    perform private.ctf_freeze_guard(p_event);
    perform 1 from ctf.standings_stored where event_id = p_event and team_id = p_team for update;
    update ctf.standings_stored as st set
        score = coalesce(sv.pts, 0) + coalesce(aw.pts, 0),
        solve_count = coalesce(sv.n, 0),
        last_score_at = greatest(sv.last_at, aw.last_at)
    from (
        select
            sum(private.ctf_points(c.scored_value, s.blood_rank, c.first_blood_bonus))::bigint
                as pts,
            count(*)::int as n, max(s.solved_at) as last_at
        from ctf.solves as s join ctf.challenges as c on c.id = s.challenge_id
        where s.team_id = p_team
    ) as sv, (
        select sum(a.value)::bigint as pts, max(a.created_at) filter (where a.value > 0) as last_at
        from ctf.awards as a where a.team_id = p_team
    ) as aw
    where st.event_id = p_event and st.team_id = p_team;
end;
$$;
comment on function private.ctf_recompute_team(uuid, uuid) is
'Recompute one team''s stored standings row from its solves (at the challenges'' scored
values) and awards.';

create or replace function private.ctf_recompute_event(p_event uuid) returns int
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_changed int;
begin
    perform private.ctf_freeze_guard(p_event);
    perform 1 from ctf.challenges where event_id = p_event order by id for update;
    perform 1 from ctf.standings_stored where event_id = p_event order by team_id for update;
    -- what is corrected: challenge values and counts, and exact standings rows (settling
    -- alone corrects nothing a reader sees)
    select
        (select count(*)::int
         from private.ctf_challenge_values_from_scratch(p_event) as v
         join ctf.challenges as c on c.id = v.challenge_id
         where (c.value, c.solve_count) is distinct from (v.value, v.solve_count))
        + (select count(*)::int
           from private.ctf_standings_from_scratch(p_event) as f
           full join (select * from ctf.standings where event_id = p_event) as st
               on st.team_id = f.team_id
           where (st.bracket_id, st.ranked, st.score, st.solve_count, st.last_score_at)
               is distinct from (f.bracket_id, f.ranked, f.score, f.solve_count,
                                 f.last_score_at))
    into v_changed;
    update ctf.challenges as c set solve_count = v.solve_count, value = v.value,
        scored_value = v.value
    from private.ctf_challenge_values_from_scratch(p_event) as v
    where c.id = v.challenge_id
      and (c.value, c.solve_count, c.scored_value)
      is distinct from (v.value, v.solve_count, v.value);
    insert into ctf.standings_stored (event_id, team_id, bracket_id, ranked)
    select t.event_id, t.id, t.bracket_id, not (t.hidden or t.banned)
    from ctf.teams as t where t.event_id = p_event
    on conflict (event_id, team_id) do nothing;
    -- every challenge is settled now: stored scores are the exact ones
    update ctf.standings_stored as st set
        bracket_id = f.bracket_id, ranked = f.ranked, score = f.score,
        solve_count = f.solve_count, last_score_at = f.last_score_at
    from private.ctf_standings_from_scratch(p_event) as f
    where st.event_id = p_event and st.team_id = f.team_id
      and (st.bracket_id, st.ranked, st.score, st.solve_count, st.last_score_at)
      is distinct from (f.bracket_id, f.ranked, f.score, f.solve_count, f.last_score_at);
    return v_changed;
end;
$$;
comment on function private.ctf_recompute_event(uuid) is
'Full recompute of an event''s challenge values and standings from solves and awards (the
slow path used after bans, deleted solves, edited challenges and removed awards); settles
every challenge. Locks challenges then standings in the fixed order. Returns the number of
rows it corrected (challenge values and counts, exact standings rows; settling alone
corrects nothing).';

create or replace function private.ctf_standings_mismatches(p_event uuid) returns jsonb
language sql stable
security definer
set search_path = ''
as $$
    select coalesce(jsonb_agg(x), '[]'::jsonb) from (
        select jsonb_build_object('kind', 'challenge', 'id', v.challenge_id,
            'stored', jsonb_build_object('value', c.value, 'solve_count', c.solve_count),
            'expected', jsonb_build_object('value', v.value, 'solve_count', v.solve_count)) as x
        from private.ctf_challenge_values_from_scratch(p_event) as v
        join ctf.challenges as c on c.id = v.challenge_id
        where (c.value, c.solve_count) is distinct from (v.value, v.solve_count)
        union all
        select jsonb_build_object('kind', 'team', 'id', f.team_id,
            'stored', to_jsonb(st) - 'event_id', 'expected', to_jsonb(f))
        from private.ctf_standings_from_scratch(p_event) as f
        full join (select * from ctf.standings where event_id = p_event) as st
            on st.team_id = f.team_id
        where (st.bracket_id, st.ranked, st.score, st.solve_count, st.last_score_at)
            is distinct from (f.bracket_id, f.ranked, f.score, f.solve_count, f.last_score_at)
        union all
        -- the stored scores, at the challenges' scored values
        select jsonb_build_object('kind', 'stored', 'id', st.team_id,
            'stored', st.score, 'expected', coalesce(sv.pts, 0) + coalesce(aw.pts, 0))
        from ctf.standings_stored as st
        left join lateral (
            select sum(private.ctf_points(c.scored_value, s.blood_rank,
                                          c.first_blood_bonus))::bigint as pts
            from ctf.solves as s join ctf.challenges as c on c.id = s.challenge_id
            where s.team_id = st.team_id
        ) as sv on true
        left join lateral (
            select sum(a.value)::bigint as pts from ctf.awards as a where a.team_id = st.team_id
        ) as aw on true
        where st.event_id = p_event
          and st.score <> coalesce(sv.pts, 0) + coalesce(aw.pts, 0)
        union all
        -- a stored score is an upper bound (no challenge scored below its value)
        select jsonb_build_object('kind', 'scored_value', 'id', c.id,
            'stored', c.scored_value, 'expected', c.value)
        from ctf.challenges as c
        where c.event_id = p_event and c.scored_value < c.value
    ) as d
$$;
comment on function private.ctf_standings_mismatches(uuid) is
'Differences between the kept values/standings and a from-scratch computation (an empty
array when they agree): exact scores (ctf.standings), stored scores at the scored values, and
scored values never below values. Tests and the recompute RPC use it.';

create or replace function private.ctf_revalue_challenge(p_event uuid, p_id uuid, p_rescore boolean)
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
    if p_rescore then
        -- CTFd leaves values stale when a challenge is edited; we recompute them.
        perform private.ctf_recompute_event(p_event);
    else
        update ctf.challenges set
            value = private.ctf_value(scoring, initial, minimum, decay, solve_count)
        where id = p_id
          and value <> private.ctf_value(scoring, initial, minimum, decay, solve_count);
        if found then
            -- the solvers' exact scores moved: settle now, in this transaction (which
            -- rebuilds the scoreboard document at commit)
            perform private.ctf_settle_challenge(p_id, false);
        end if;
    end if;
end;
$$;
comment on function private.ctf_revalue_challenge(uuid, uuid, boolean) is
'Save-challenge phase 5: after changed scoring parameters recompute the event (every
solver''s points); otherwise bring the challenge''s value in line with its parameters (and
its solvers'' stored scores with it).';

-- Team page -------------------------------------------------------------------------------------
create function private.ctf_live_position(
    p_event uuid, p_team uuid, p_score bigint, p_last timestamptz
) returns bigint
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    v_moved uuid[];
    v_teams uuid[];
    v_pos bigint;
begin
    select array_agg(c.id) into v_moved
    from ctf.challenges as c where c.event_id = p_event and c.value <> c.scored_value;
    if v_moved is null then
        -- stored scores are exact: two index range counts on the ranking index
        select 1 + (
            select count(*) from ctf.standings_stored as s
            where s.event_id = p_event and s.ranked and s.score > p_score
              and s.last_score_at is not null
        ) + (
            select count(*) from ctf.standings_stored as s
            where s.event_id = p_event and s.ranked and s.score = p_score
              and (s.last_score_at, s.team_id) < (p_last, p_team)
        ) into v_pos;
        return v_pos;
    end if;
    -- a team ranked above has an exact, hence a stored, score of at least p_score
    select array_agg(s.team_id) into v_teams
    from ctf.standings_stored as s
    where s.event_id = p_event and s.ranked and s.score >= p_score
      and s.last_score_at is not null and s.team_id <> p_team;
    select 1 + count(*) into v_pos
    from ctf.standings_stored as s
    left join private.ctf_unsettled_points(coalesce(v_teams, '{}'), v_moved) as u
        on s.team_id = u.team_id
    where s.event_id = p_event and s.team_id = any(v_teams)
      and (s.score - coalesce(u.points, 0) > p_score
           or (s.score - coalesce(u.points, 0) = p_score
               and (s.last_score_at, s.team_id) < (p_last, p_team)));
    return v_pos;
end;
$$;
comment on function private.ctf_live_position(uuid, uuid, bigint, timestamptz) is
'The live position of a team with this exact score: index range counts on the stored scores
when every challenge is settled, else the teams whose stored score (an upper bound) reaches
it, corrected.';
revoke execute on function private.ctf_live_position(uuid, uuid, bigint, timestamptz)
from public;

create or replace function api.ctf_get_team_page(p_team_id uuid) returns jsonb
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    v_uid uuid := (select auth.uid());
    v_team ctf.teams;
    v_ev ctf.events;
    v_org boolean;
    v_member boolean;
    v_cut timestamptz;
    v_row record;
    v_pos bigint;
begin
    perform private.require_scope('api.ctf_get_team_page');  -- API key scope
    select * into v_team from ctf.teams where id = p_team_id;
    select * into v_ev from ctf.events where id = v_team.event_id;
    -- service_role (the platform's backend) sees what organisers see, as through RLS.
    v_org := (select auth.role()) = 'service_role'
        or (v_uid is not null and private.ctf_is_organiser(v_ev.id, v_uid));
    v_member := exists (
        select 1 from ctf.participants where team_id = p_team_id and user_id = v_uid
    );
    -- The same rules as the teams_read policy, checked once instead of per row.
    if v_team.id is null or not private.ctf_caller_sees_event(v_ev)
        or (v_team.hidden and not v_org and not v_member) then
        perform private.raise_error('ctf_team_not_found', 'No such team.', 'PT404');
    end if;
    -- Other teams see solves and awards as of the freeze, and the frozen standings.
    -- (both rules only apply once freeze_at has passed: skip the calls before)
    if v_ev.freeze_at <= now() then
        v_cut := private.ctf_freeze_cut(v_ev, p_team_id);
    end if;
    if v_ev.freeze_at <= now() and private.ctf_sees_frozen(v_ev.id) then
        select f.score, f.solve_count, f.last_score_at, f.ranked into v_row
        from ctf.standings_frozen as f
        where f.event_id = v_ev.id and f.team_id = p_team_id;
        -- two index range counts on the ranking index (never a scan of every team)
        select 1 + (
            select count(*) from ctf.standings_frozen as f
            where f.event_id = v_ev.id and f.ranked and f.score > v_row.score
              and f.last_score_at is not null
        ) + (
            select count(*) from ctf.standings_frozen as f
            where f.event_id = v_ev.id and f.ranked and f.score = v_row.score
              and (f.last_score_at, f.team_id) < (v_row.last_score_at, p_team_id)
        ) into v_pos;
    else
        select s.score, s.solve_count, s.last_score_at, s.ranked into v_row
        from ctf.standings as s
        where s.event_id = v_ev.id and s.team_id = p_team_id;
        v_pos := private.ctf_live_position(v_ev.id, p_team_id, v_row.score, v_row.last_score_at);
    end if;
    return jsonb_build_object(
        'team', jsonb_build_object('id', v_team.id, 'event_id', v_team.event_id,
            'name', v_team.name, 'captain_id', v_team.captain_id,
            'bracket_id', v_team.bracket_id, 'solo', v_team.solo, 'banned', v_team.banned,
            'hidden', v_team.hidden, 'created_at', v_team.created_at),
        'score', v_row.score,
        'solve_count', v_row.solve_count,
        'last_score_at', v_row.last_score_at,
        'position', case when v_row.ranked and v_row.last_score_at is not null then v_pos end,
        'members', coalesce((
            select jsonb_agg(jsonb_build_object('user_id', p.user_id,
                -- the profiles_read policy: public, members-only to signed-in users, own, staff
                'username', case when pr.visibility = 'public'
                    or (pr.visibility = 'members' and v_uid is not null)
                    or pr.id = v_uid or private.user_has_permission(v_uid, 'profiles.read_private')
                    then pr.username end
            ) order by p.joined_at)
            from ctf.participants as p
            left join accounts.profiles as pr on pr.id = p.user_id
            where p.team_id = p_team_id
        ), '[]'::jsonb),
        'solves', coalesce((
            select jsonb_agg(jsonb_build_object('challenge_id', s.challenge_id,
                'title', c.title, 'category', c.category,
                'points', private.ctf_points(c.value, s.blood_rank, c.first_blood_bonus),
                'blood_rank', s.blood_rank, 'solved_at', s.solved_at) order by s.solved_at)
            from ctf.solves as s join ctf.challenges as c on c.id = s.challenge_id
            where s.team_id = p_team_id and (v_cut is null or s.solved_at < v_cut)
        ), '[]'::jsonb),
        'awards', coalesce((
            select jsonb_agg(jsonb_build_object('value', a.value, 'reason', a.reason,
                'created_at', a.created_at) order by a.created_at)
            from ctf.awards as a
            where a.team_id = p_team_id and (v_cut is null or a.created_at < v_cut)
        ), '[]'::jsonb)
    );
end;
$$;
comment on function api.ctf_get_team_page(uuid) is
'A team''s page: team, members, score, position, solves (points at current values) and
awards, as the caller may see them (frozen for non-organisers during the freeze). Definer so
that the visibility rules are checked once per call instead of once per row (the same rules
as the policies). Errors: ctf_team_not_found.';
