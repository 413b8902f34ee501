-- ctf: challenge value functions, solve points, standings maintenance and the full recompute.
--
-- Locking order (every path that changes standings follows it, so concurrent solves, awards,
-- hint unlocks and recomputes never deadlock):
--   1. the event row, only when the freeze snapshot must be taken (private.ctf_freeze_guard);
--   2. challenge rows, in id order (a solve locks the one it solves);
--   3. standings rows, in team_id order (a single row for awards, hints and static solves).

-- Value functions -------------------------------------------------------------------------------
create function private.ctf_value(
    p_scoring ctf.scoring, p_initial int, p_minimum int, p_decay int, p_solves int
) returns int
language plpgsql immutable
set search_path = ''
as $$
declare
    v_n bigint := greatest(coalesce(p_solves, 0), 0);
    v_decay bigint := coalesce(p_decay, 0);
    v_value float8;
    -- rCTF constants (server/util/scores.ts): p0 = 0.7, p1 = 0.96.
    c0 float8 := -atanh(0.7::float8);
    c1 float8 := atanh(0.96::float8);
    v_s float8;
    v_a_c0 float8;
    v_a_c1 float8;
    v_f_n float8;
    v_f_s float8;
begin
    if p_scoring = 'static' then
        return p_initial;
    elsif p_scoring = 'linear' then
        -- CTFd CTFd/plugins/dynamic_challenges/decay.py, linear():
        --   solve_count -= 1 if solve_count != 0   (the first solver gets the full value)
        --   value = ceil(initial - decay * solve_count); value = max(value, minimum)
        if v_n <> 0 then
            v_n := v_n - 1;
        end if;
        return greatest(p_minimum, ceil((p_initial - v_decay * v_n)::float8))::int;
    elsif p_scoring = 'logarithmic' then
        -- CTFd decay.py, logarithmic() (a parabola despite its name):
        --   solve_count -= 1 if solve_count != 0; decay = 1 if decay == 0
        --   value = ceil(((minimum - initial) / decay**2) * solve_count**2 + initial)
        --   value = max(value, minimum)
        -- Evaluated in float8 in the same order as Python, so results match bit for bit.
        if v_n <> 0 then
            v_n := v_n - 1;
        end if;
        if v_decay = 0 then
            v_decay := 1;
        end if;
        v_value := ((p_minimum - p_initial)::float8 / (v_decay * v_decay)::float8)
            * (v_n * v_n)::float8 + p_initial::float8;
        return greatest(p_minimum::float8, ceil(v_value))::int;
    else
        -- rCTF server/util/scores.ts getScore(rl = minimum, rh = initial, maxSolves = decay,
        -- solves):
        --   a(x) = (1 - tanh(x)) / 2;  b(x) = (a((c1 - c0) x + c0) - a(c1)) / (a(c0) - a(c1))
        --   s = max(1, maxSolves);  f(x) = rl + (rh - rl) * b(x / s)
        --   value = round(max(f(solves), f(s)))   (JS Math.round: floor(x + 0.5))
        v_s := greatest(1, v_decay)::float8;
        v_a_c0 := (1 - tanh(c0)) / 2;
        v_a_c1 := (1 - tanh(c1)) / 2;
        v_f_n := p_minimum + (p_initial - p_minimum)
            * (((1 - tanh((c1 - c0) * (v_n / v_s) + c0)) / 2 - v_a_c1) / (v_a_c0 - v_a_c1));
        v_f_s := p_minimum + (p_initial - p_minimum)
            * (((1 - tanh((c1 - c0) * (v_s / v_s) + c0)) / 2 - v_a_c1) / (v_a_c0 - v_a_c1));
        return floor(greatest(v_f_n, v_f_s) + 0.5)::int;
    end if;
end;
$$;
comment on function private.ctf_value(ctf.scoring, int, int, int, int) is
'A challenge''s value after p_solves counted solves: static, CTFd linear / logarithmic decay
(initial, minimum, decay = solves to reach the minimum for logarithmic, points lost per solve
for linear) or rCTF (initial = max, minimum = min, decay = solves at which the minimum is
reached). Pinned to the reference implementations by tests.';

create function private.ctf_points(p_value int, p_rank int, p_bonus numeric[]) returns int
language sql immutable
set search_path = ''
as $$
    select case
        when p_rank is not null and p_rank <= coalesce(cardinality(p_bonus), 0)
            then floor(p_value * p_bonus[p_rank] + 0.5)::int
        else p_value
    end
$$;
comment on function private.ctf_points(int, int, numeric[]) is
'Points of one solve: the challenge value, times the first-blood bonus of its blood rank.';

revoke execute on function private.ctf_value(ctf.scoring, int, int, int, int) from public;
revoke execute on function private.ctf_points(int, int, numeric[]) from public;
grant execute on function private.ctf_value(ctf.scoring, int, int, int, int),
private.ctf_points(int, int, numeric[]) to authenticated, service_role;

-- Freeze ----------------------------------------------------------------------------------------
create function private.ctf_freeze_guard(p_event uuid) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_event ctf.events;
begin
    select * into v_event from ctf.events where id = p_event;
    if v_event.freeze_at is null or v_event.freeze_at > now()
        or v_event.frozen_snapshot_at is not null then
        return;
    end if;
    select * into v_event from ctf.events where id = p_event for update;
    if v_event.frozen_snapshot_at is not null then
        return;
    end if;
    delete from ctf.standings_frozen where event_id = p_event;
    insert into ctf.standings_frozen (event_id, team_id, bracket_id, ranked, score, solve_count,
                                      last_score_at)
    select event_id, team_id, bracket_id, ranked, score, solve_count, last_score_at
    from ctf.standings where event_id = p_event;
    update ctf.events set frozen_snapshot_at = now() where id = p_event;
end;
$$;
comment on function private.ctf_freeze_guard(uuid) is
'Called first by every change to standings: after freeze_at, the first change copies the
standings to ctf.standings_frozen (what non-organisers see until the end). Locks the event row
only in that case.';
revoke execute on function private.ctf_freeze_guard(uuid) from public;

-- The freeze also covers XP: a solve after freeze_at would show up as XP on the solver's
-- profile. Its activity record stays hidden from others until the end of the event; moving
-- the freeze or the end moves it (the only change accounts.activity allows).
create function private.ctf_solve_xp_hidden_until(
    p_freeze_at timestamptz, p_ends_at timestamptz, p_solved_at timestamptz
) returns timestamptz
language sql immutable
set search_path = ''
as $$
    select case when p_freeze_at is not null and p_solved_at >= p_freeze_at
        then coalesce(p_ends_at, 'infinity'::timestamptz) end
$$;
comment on function private.ctf_solve_xp_hidden_until(timestamptz, timestamptz, timestamptz) is
'Until when the XP of a solve at p_solved_at stays hidden from others: the event''s end when
it was solved during the freeze, else null (visible at once).';
revoke execute on function private.ctf_solve_xp_hidden_until(
    timestamptz, timestamptz, timestamptz
) from public;

create function private.ctf_freeze_moved() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    update accounts.activity as a
    set hidden_until = private.ctf_solve_xp_hidden_until(new.freeze_at, new.ends_at,
                                                         a.occurred_at)
    from ctf.challenges as c
    where c.event_id = new.id
      and a.object_type = 'ctf_challenge' and a.object_id = c.id::text and a.verb = 'ctf.solve'
      and a.hidden_until is distinct from private.ctf_solve_xp_hidden_until(
          new.freeze_at, new.ends_at, a.occurred_at);
    return null;
end;
$$;
comment on function private.ctf_freeze_moved() is
'After an event''s freeze or end moves: re-derive until when its solves'' XP stays hidden.';
revoke execute on function private.ctf_freeze_moved() from public;
create trigger events_freeze_moved after update of freeze_at, ends_at on ctf.events
for each row
when (
    old.freeze_at is distinct from new.freeze_at or old.ends_at is distinct from new.ends_at
)
execute function private.ctf_freeze_moved();

-- From-scratch standings ------------------------------------------------------------------------
create function private.ctf_challenge_values_from_scratch(p_event uuid)
returns table (challenge_id uuid, solve_count int, value int)
language sql stable
security definer
set search_path = ''
as $$
    select
        c.id,
        n.cnt,
        private.ctf_value(c.scoring, c.initial, c.minimum, c.decay, n.cnt)
    from ctf.challenges as c
    cross join lateral (
        select count(*)::int as cnt
        from ctf.solves as s join ctf.teams as t on t.id = s.team_id
        where s.challenge_id = c.id and not t.hidden and not t.banned
    ) as n
    where c.event_id = p_event
$$;
comment on function private.ctf_challenge_values_from_scratch(uuid) is
'Each challenge''s counted solves and value, derived from the solves alone.';

create function private.ctf_standings_from_scratch(p_event uuid)
returns table (
    team_id uuid, bracket_id uuid, ranked boolean, score bigint, solve_count int,
    last_score_at timestamptz
)
language sql stable
security definer
set search_path = ''
as $$
    with cv as (
        select v.challenge_id, v.value, c.first_blood_bonus
        from private.ctf_challenge_values_from_scratch(p_event) as v
        join ctf.challenges as c on c.id = v.challenge_id
    )
    select
        t.id,
        t.bracket_id,
        not (t.hidden or t.banned),
        coalesce(sv.pts, 0) + coalesce(aw.pts, 0),
        coalesce(sv.n, 0),
        greatest(sv.last_at, aw.last_at)
    from ctf.teams as t
    left join lateral (
        select
            sum(private.ctf_points(cv.value, s.blood_rank, cv.first_blood_bonus))::bigint as pts,
            count(*)::int as n,
            max(s.solved_at) as last_at
        from ctf.solves as s join cv on cv.challenge_id = s.challenge_id
        where s.team_id = t.id
    ) as sv on true
    left join lateral (
        select
            sum(a.value)::bigint as pts,
            max(a.created_at) filter (where a.value > 0) as last_at
        from ctf.awards as a where a.team_id = t.id
    ) as aw on true
    where t.event_id = p_event
$$;
comment on function private.ctf_standings_from_scratch(uuid) is
'Standings derived from solves, awards and hint costs alone (no stored value or score).';

create function private.ctf_standings_mismatches(p_event uuid) returns jsonb
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
    ) as d
$$;
comment on function private.ctf_standings_mismatches(uuid) is
'Differences between the incrementally kept values/standings and a from-scratch computation
(an empty array when they agree). Tests and the recompute RPC use it.';

create function private.ctf_recompute_event(p_event uuid) returns int
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_changed int := 0;
    v_n int;
begin
    perform private.ctf_freeze_guard(p_event);
    perform 1 from ctf.challenges where event_id = p_event order by id for update;
    update ctf.challenges as c set solve_count = v.solve_count, value = v.value
    from private.ctf_challenge_values_from_scratch(p_event) as v
    where c.id = v.challenge_id
      and (c.value, c.solve_count) is distinct from (v.value, v.solve_count);
    get diagnostics v_n = row_count;
    v_changed := v_changed + v_n;
    perform 1 from ctf.standings where event_id = p_event order by team_id for update;
    insert into ctf.standings (event_id, team_id, bracket_id, ranked)
    select t.event_id, t.id, t.bracket_id, not (t.hidden or t.banned)
    from ctf.teams as t where t.event_id = p_event
    on conflict (event_id, team_id) do nothing;
    update ctf.standings as st set
        bracket_id = f.bracket_id, ranked = f.ranked, score = f.score,
        solve_count = f.solve_count, last_score_at = f.last_score_at
    from private.ctf_standings_from_scratch(p_event) as f
    where st.event_id = p_event and st.team_id = f.team_id
      and (st.bracket_id, st.ranked, st.score, st.solve_count, st.last_score_at)
      is distinct from (f.bracket_id, f.ranked, f.score, f.solve_count, f.last_score_at);
    get diagnostics v_n = row_count;
    return v_changed + v_n;
end;
$$;
comment on function private.ctf_recompute_event(uuid) is
'Full recompute of an event''s challenge values and standings from solves and awards (the
slow path used after bans, deleted solves, edited challenges and removed awards). Locks
challenges then standings in the fixed order. Returns the number of rows it corrected.';

create function private.ctf_apply_award(p_event uuid, p_team uuid, p_value int) returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
    perform private.ctf_freeze_guard(p_event);
    update ctf.standings set
        score = score + p_value,
        last_score_at = case when p_value > 0 then greatest(last_score_at, now())
                             else last_score_at end
    where event_id = p_event and team_id = p_team;
end;
$$;
comment on function private.ctf_apply_award(uuid, uuid, int) is
'Incremental standings update for one award or hint cost (one row).';

revoke execute on function private.ctf_challenge_values_from_scratch(uuid) from public;
revoke execute on function private.ctf_standings_from_scratch(uuid) from public;
revoke execute on function private.ctf_standings_mismatches(uuid) from public;
revoke execute on function private.ctf_recompute_event(uuid) from public;
revoke execute on function private.ctf_apply_award(uuid, uuid, int) from public;
