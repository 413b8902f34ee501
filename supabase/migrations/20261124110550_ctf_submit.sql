-- ctf: the submit RPC, in phases: guards (event open, registered, not banned, challenge open),
-- limits (per-account rate and per-team attempts, taken atomically on their counter rows),
-- matching (static, case-insensitive, regex, per-team), recording (submission row, solve,
-- scoring, first blood, activity, outbox).
--
-- Lock order, shared with every other path: counters (account, then team: transaction
-- advisory locks on their keys) -> event (only when the freeze snapshot is due) -> challenge
-- -> standings rows in team order. Counters are only ever locked here, first.

-- Guards ----------------------------------------------------------------------------------------
create function private.ctf_submit_guard(
    p_ch ctf.challenges, p_ev ctf.events, p_uid uuid, p_team_id uuid, p_now timestamptz
) returns ctf.teams
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    v_part ctf.participants;
    v_team ctf.teams;
    v_missing uuid[];
begin
    select * into v_part from ctf.participants where event_id = p_ev.id and user_id = p_uid;
    if v_part.user_id is null then
        if p_ch.state = 'hidden' or not private.ctf_event_visible_to(p_ev, p_uid) then
            perform private.raise_error('ctf_challenge_not_found', 'No such challenge.', 'PT404');
        end if;
        perform private.raise_error('ctf_not_registered', 'Join a team for this event first.',
            'PT403');
    end if;
    if p_team_id is not null and p_team_id <> v_part.team_id then
        perform private.raise_error('ctf_not_team_member',
            'You can only submit for your own team.', 'PT403');
    end if;
    select * into v_team from ctf.teams where id = v_part.team_id;
    if v_part.banned or v_team.banned then
        perform private.raise_error('ctf_banned', 'You are banned from this event.', 'PT403');
    end if;
    if p_ch.state = 'hidden' then
        perform private.raise_error('ctf_challenge_not_found', 'No such challenge.', 'PT404');
    end if;
    if p_ev.starts_at is not null and p_ev.starts_at > p_now then
        perform private.raise_error('ctf_event_not_started', 'The event has not started.',
            'PT403', jsonb_build_object('starts_at', p_ev.starts_at));
    end if;
    if p_ev.ends_at is not null and p_ev.ends_at <= p_now then
        perform private.raise_error('ctf_event_ended', 'The event has ended.', 'PT403');
    end if;
    if p_ev.paused then
        perform private.raise_error('ctf_event_paused', 'The event is paused.', 'PT403');
    end if;
    if p_ch.state = 'locked' or (p_ch.release_at is not null and p_ch.release_at > p_now) then
        perform private.raise_error('ctf_challenge_locked', 'The challenge is not open.', 'PT403');
    end if;
    select array_agg(r.requires_id order by r.requires_id) into v_missing
    from ctf.challenge_prerequisites as r
    where r.challenge_id = p_ch.id and not exists (
        select 1 from ctf.solves as s where s.challenge_id = r.requires_id and s.team_id = v_team.id
    );
    if v_missing is not null then
        perform private.raise_error('ctf_prerequisites_unmet', 'Solve the prerequisites first.',
            'PT403', jsonb_build_object('requires', v_missing));
    end if;
    return v_team;
end;
$$;
comment on function private.ctf_submit_guard(
    ctf.challenges, ctf.events, uuid, uuid, timestamptz
) is
'Submit phase 1: the caller''s team, if they may submit to the challenge now (registered, own
team, not banned, challenge visible and open, event running, prerequisites solved); else the
matching error. Writes nothing.';
revoke execute on function private.ctf_submit_guard(
    ctf.challenges, ctf.events, uuid, uuid, timestamptz
) from public;

-- Limits ----------------------------------------------------------------------------------------
create function private.ctf_take_account_attempt(
    p_challenge uuid, p_uid uuid, p_per_minute int, p_now timestamptz
) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_ua ctf.user_attempts;
begin
    -- Lock the counter's key for the transaction (the row may not exist yet, and a write
    -- would cost every submission): parallel submissions of one account on one challenge
    -- are checked and counted one after another. Two-key advisory locks are our own space.
    perform pg_advisory_xact_lock(hashtext('ctf.user_attempts ' || p_challenge::text),
                                  hashtext(p_uid::text));
    select * into v_ua from ctf.user_attempts where challenge_id = p_challenge and user_id = p_uid;
    if v_ua.window_start > p_now - interval '1 minute'
        and v_ua.wrong_in_window >= p_per_minute then
        perform private.raise_error('rate_limited', 'Too many wrong flags; slow down.', 'PT429',
            jsonb_build_object('retry_after', greatest(1, ceil(extract(epoch from
                v_ua.window_start + interval '1 minute' - p_now)))::int, 'scope', 'account'));
    end if;
end;
$$;
comment on function private.ctf_take_account_attempt(uuid, uuid, int, timestamptz) is
'Submit phase 2a: lock the account''s counter for the challenge (a transaction advisory lock
on its key) and refuse (rate_limited, scope account) when the event''s wrong_per_minute is
used up. Check and later count happen under the same lock, so parallel guesses cannot
overrun the limit.';
revoke execute on function private.ctf_take_account_attempt(uuid, uuid, int, timestamptz)
from public;

create function private.ctf_take_team_attempt(
    p_ch ctf.challenges, p_team uuid, p_now timestamptz
) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_ta ctf.team_attempts;
begin
    if p_ch.max_attempts is null then
        return;
    end if;
    perform pg_advisory_xact_lock(hashtext('ctf.team_attempts ' || p_ch.id::text),
                                  hashtext(p_team::text));
    select * into v_ta from ctf.team_attempts where challenge_id = p_ch.id and team_id = p_team;
    if p_ch.attempt_window is null and coalesce(v_ta.wrong_total, 0) >= p_ch.max_attempts then
        perform private.raise_error('ctf_attempts_exhausted',
            'Your team has no attempts left on this challenge.', 'PT403',
            jsonb_build_object('max_attempts', p_ch.max_attempts));
    end if;
    if p_ch.attempt_window is not null
        and v_ta.window_start > p_now - p_ch.attempt_window
        and v_ta.wrong_in_window >= p_ch.max_attempts then
        perform private.raise_error('rate_limited', 'No attempts left in this window.', 'PT429',
            jsonb_build_object('retry_after', greatest(1, ceil(extract(epoch from
                v_ta.window_start + p_ch.attempt_window - p_now)))::int,
                'scope', 'challenge'));
    end if;
end;
$$;
comment on function private.ctf_take_team_attempt(ctf.challenges, uuid, timestamptz) is
'Submit phase 2b: for challenges with max_attempts, lock the team''s counter (advisory, on its
key) and refuse
(ctf_attempts_exhausted, or rate_limited scope challenge within attempt_window) when no
attempt is left. At most max_attempts wrong flags are ever evaluated, in parallel too.';
revoke execute on function private.ctf_take_team_attempt(ctf.challenges, uuid, timestamptz)
from public;

create function private.ctf_count_account_attempt(
    p_challenge uuid, p_uid uuid, p_now timestamptz
) returns void
language sql
security definer
set search_path = ''
as $$
    insert into ctf.user_attempts as u (challenge_id, user_id, window_start, wrong_in_window)
    values (p_challenge, p_uid, p_now, 1)
    on conflict (challenge_id, user_id) do update set
        window_start = case when u.window_start <= p_now - interval '1 minute' then p_now
                            else u.window_start end,
        wrong_in_window = case when u.window_start <= p_now - interval '1 minute' then 1
                               else u.wrong_in_window + 1 end
$$;
comment on function private.ctf_count_account_attempt(uuid, uuid, timestamptz) is
'Count one attempt against the account''s per-minute limit on the challenge (a new window
when the last one passed). Called under the lock of private.ctf_take_account_attempt.';
revoke execute on function private.ctf_count_account_attempt(uuid, uuid, timestamptz)
from public;

create function private.ctf_count_wrong(
    p_ch ctf.challenges, p_team uuid, p_uid uuid, p_now timestamptz
) returns int
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_ta ctf.team_attempts;
begin
    perform private.ctf_count_account_attempt(p_ch.id, p_uid, p_now);
    insert into ctf.team_attempts as a (challenge_id, team_id, wrong_total, window_start,
                                        wrong_in_window)
    values (p_ch.id, p_team, 1, p_now, 1)
    on conflict (challenge_id, team_id) do update set
        wrong_total = a.wrong_total + 1,
        window_start = case when a.window_start <= p_now - coalesce(p_ch.attempt_window,
            interval '1 minute') then p_now else a.window_start end,
        wrong_in_window = case when a.window_start <= p_now - coalesce(p_ch.attempt_window,
            interval '1 minute') then 1 else a.wrong_in_window + 1 end
    returning * into v_ta;
    if p_ch.max_attempts is not null and p_ch.attempt_window is null then
        return greatest(0, p_ch.max_attempts - v_ta.wrong_total);
    elsif p_ch.max_attempts is not null then
        return greatest(0, p_ch.max_attempts - v_ta.wrong_in_window);
    end if;
    return null;
end;
$$;
comment on function private.ctf_count_wrong(ctf.challenges, uuid, uuid, timestamptz) is
'Count an evaluated wrong flag on the (already locked) counters; returns the attempts
left for challenges with max_attempts, else null.';
revoke execute on function private.ctf_count_wrong(ctf.challenges, uuid, uuid, timestamptz)
from public;

-- Matching --------------------------------------------------------------------------------------
create function private.ctf_match_flags(
    p_challenge uuid, p_team uuid, p_flag text, out matched uuid[], out total int
)
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    -- Compare digests of equal length (sha256), never the plaintext: timing reveals nothing
    -- about a stored flag. Regex flags are anchored and see at most 512 characters.
    v_digest bytea := sha256(convert_to(p_flag, 'UTF8'));
    v_digest_ci bytea := sha256(convert_to(lower(p_flag), 'UTF8'));
    v_flag record;
begin
    matched := '{}';
    total := 0;
    for v_flag in
        select f.id, f.kind, f.digest, f.pattern, f.secret, f.template
        from ctf.flags as f where f.challenge_id = p_challenge order by f.id
    loop
        total := total + 1;
        if (v_flag.kind = 'static' and v_flag.digest = v_digest)
            or (v_flag.kind = 'static_ci' and v_flag.digest = v_digest_ci)
            or (v_flag.kind = 'regex' and p_flag ~ ('^(?:' || v_flag.pattern || ')$'))
            or (v_flag.kind = 'team' and sha256(convert_to(
                private.ctf_team_flag_text(v_flag.secret, v_flag.template, p_team), 'UTF8'
            )) = v_digest) then
            matched := matched || v_flag.id;
        end if;
    end loop;
end;
$$;
comment on function private.ctf_match_flags(uuid, uuid, text) is
'Submit phase 3: which flags of the challenge the text matches for this team (static and
static_ci by digest, anchored regex, per-team derived flag), and how many flags it has.';
revoke execute on function private.ctf_match_flags(uuid, uuid, text) from public;

create function private.ctf_shared_flag_owner(
    p_challenge uuid, p_event uuid, p_team uuid, p_flag text
) returns uuid
language sql stable
security definer
set search_path = ''
as $$
    select t.id
    from ctf.flags as f
    inner join ctf.teams as t on t.event_id = p_event and t.id <> p_team
    where f.challenge_id = p_challenge and f.kind = 'team'
      and p_flag like replace(replace(f.template, '_', '\_'), '%s', '%')
      and private.ctf_team_flag_text(f.secret, f.template, t.id) = p_flag
    limit 1
$$;
comment on function private.ctf_shared_flag_owner(uuid, uuid, uuid, text) is
'The team whose per-team flag this wrong submission is (suspected sharing), or null.';
revoke execute on function private.ctf_shared_flag_owner(uuid, uuid, uuid, text) from public;

-- Recording -------------------------------------------------------------------------------------
create function private.ctf_record_submission(
    p_ch ctf.challenges, p_team uuid, p_uid uuid, p_result text, p_correct boolean
) returns bigint
language sql
security definer
set search_path = ''
as $$
    insert into ctf.submissions (event_id, challenge_id, team_id, user_id, result, correct, ip)
    values (p_ch.event_id, p_ch.id, p_team, p_uid, p_result, p_correct, private.ctf_client_ip())
    returning id
$$;
comment on function private.ctf_record_submission(ctf.challenges, uuid, uuid, text, boolean) is
'Record one evaluated attempt (who, team, challenge, result, client IP); returns its id.';
revoke execute on function private.ctf_record_submission(
    ctf.challenges, uuid, uuid, text, boolean
) from public;

create function private.ctf_record_wrong(
    p_ch ctf.challenges, p_team uuid, p_uid uuid, p_flag text, p_now timestamptz
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_owner uuid := private.ctf_shared_flag_owner(p_ch.id, p_ch.event_id, p_team, p_flag);
    v_left int := private.ctf_count_wrong(p_ch, p_team, p_uid, p_now);
    v_sub bigint;
begin
    v_sub := private.ctf_record_submission(p_ch, p_team, p_uid,
        case when v_owner is null then 'incorrect' else 'shared_flag' end, false);
    if v_owner is null then
        return jsonb_build_object('status', 'incorrect', 'correct', false,
            'attempts_left', v_left);
    end if;
    -- Another team's per-team flag: refused and reported as suspected sharing.
    insert into ctf.sharing_reports (event_id, challenge_id, submitter_team_id,
                                     submitter_user_id, owner_team_id, submission_id)
    values (p_ch.event_id, p_ch.id, p_team, p_uid, v_owner, v_sub);
    perform ops.enqueue('ctf.flag_shared', jsonb_build_object(
        'event_id', p_ch.event_id, 'challenge_id', p_ch.id, 'submitter_team_id', p_team,
        'owner_team_id', v_owner, 'submission_id', v_sub
    ), 'submission:' || v_sub);
    return jsonb_build_object('status', 'shared_flag', 'correct', false,
        'code', 'ctf_flag_shared', 'attempts_left', v_left);
end;
$$;
comment on function private.ctf_record_wrong(ctf.challenges, uuid, uuid, text, timestamptz) is
'Submit phase 4 (wrong flag): count it, record it, report suspected sharing; the result.';
revoke execute on function private.ctf_record_wrong(
    ctf.challenges, uuid, uuid, text, timestamptz
) from public;

create function private.ctf_record_solve(
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
    v_bonus int;
    v_rows tid[];
    v_deltas int[];
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
        update ctf.challenges set solve_count = v_count, value = v_value where id = v_ch.id;
    end if;
    if v_value <> v_ch.value then
        -- Dynamic value moved: re-apply it to every earlier solver (rows locked in team order).
        -- The lock pass keeps the rows' addresses and differences, so the update that
        -- follows reads them by address (no second join); the difference is
        -- private.ctf_points(new) - private.ctf_points(old), written inline (a function with
        -- a SET clause is never inlined, and this runs once per earlier solver).
        v_bonus := coalesce(cardinality(v_ch.first_blood_bonus), 0);
        select array_agg(x.ctid), array_agg(x.delta) into v_rows, v_deltas
        from (
            select st.ctid, case when s.team_id = p_team.id then 0  -- locked, updated below
                when s.blood_rank <= v_bonus
                then floor(v_value * v_ch.first_blood_bonus[s.blood_rank] + 0.5)::int
                    - floor(v_ch.value * v_ch.first_blood_bonus[s.blood_rank] + 0.5)::int
                else v_value - v_ch.value end as delta
            from ctf.standings as st
            join ctf.solves as s on s.team_id = st.team_id and s.challenge_id = v_ch.id
            where st.event_id = v_ev.id
            order by st.team_id
            for update of st
        ) as x;
        update ctf.standings as st set score = st.score + d.delta
        from unnest(v_rows, v_deltas) as d (row_id, delta)
        where st.ctid = d.row_id and d.delta <> 0;
    end if;
    v_points := private.ctf_points(v_value, v_rank, v_ch.first_blood_bonus);
    update ctf.standings set
        score = score + v_points,
        solve_count = solve_count + 1,
        last_score_at = greatest(last_score_at, p_now)
    where event_id = v_ev.id and team_id = p_team.id;
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
value and solve count, every earlier solver re-scored when a dynamic value moves, the
team''s standings, the submission row, activity and outbox. Returns the result.';
revoke execute on function private.ctf_record_solve(uuid, ctf.teams, uuid, timestamptz)
from public;

create function private.ctf_announce_solve(
    p_ev ctf.events, p_challenge uuid, p_team uuid, p_uid uuid, p_solve bigint, p_points int,
    p_rank int, p_now timestamptz
) returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
    -- XP of a solve made during the freeze stays hidden from others until the results are
    -- final (private.ctf_solve_xp_hidden_until).
    perform private.record_activity(p_uid, 'ctf.solve', 'ctf_challenge', p_challenge::text,
        jsonb_build_object('event_id', p_ev.id, 'team_id', p_team, 'points', p_points,
            'blood_rank', p_rank),
        least(greatest(p_points, 0), 1000), p_now,
        private.ctf_solve_xp_hidden_until(p_ev.freeze_at, p_ev.ends_at, p_now));
    perform ops.enqueue('ctf.solve', jsonb_build_object(
        'solve_id', p_solve, 'event_id', p_ev.id, 'challenge_id', p_challenge, 'team_id', p_team,
        'user_id', p_uid, 'points', p_points, 'blood_rank', p_rank
    ), 'solve:' || p_solve);
    if p_rank = 1 then
        perform ops.enqueue('ctf.first_blood', jsonb_build_object(
            'solve_id', p_solve, 'event_id', p_ev.id, 'challenge_id', p_challenge,
            'team_id', p_team, 'user_id', p_uid
        ), 'solve:' || p_solve);
    end if;
end;
$$;
comment on function private.ctf_announce_solve(
    ctf.events, uuid, uuid, uuid, bigint, int, int, timestamptz
) is
'A solve''s activity record (XP, hidden from others while the event is frozen) and its
ctf.solve / ctf.first_blood outbox events, deduplicated by solve id.';
revoke execute on function private.ctf_announce_solve(
    ctf.events, uuid, uuid, uuid, bigint, int, int, timestamptz
) from public;

-- The RPC ---------------------------------------------------------------------------------------
create function api.ctf_submit(p_challenge_id uuid, p_flag text, p_team_id uuid default null)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
    v_now timestamptz := now();
    v_ch ctf.challenges;
    v_ev ctf.events;
    v_team ctf.teams;
    v_match record;
    v_found int;
begin
    if p_challenge_id is null or p_flag is null then
        perform private.raise_error('invalid_argument', 'p_challenge_id and p_flag are required.',
            '22023');
    end if;
    -- Bound the input before anything reads it (a 100 KB flag never reaches a regex).
    if octet_length(p_flag) > 2048 or char_length(p_flag) > 512 then
        perform private.raise_error('ctf_flag_too_long', 'A flag is at most 512 characters.',
            '22023', jsonb_build_object('max_length', 512));
    end if;
    select * into v_ch from ctf.challenges where id = p_challenge_id;
    if v_ch.id is null then
        perform private.raise_error('ctf_challenge_not_found', 'No such challenge.', 'PT404');
    end if;
    select * into v_ev from ctf.events where id = v_ch.event_id;
    v_team := private.ctf_submit_guard(v_ch, v_ev, v_uid, p_team_id, v_now);

    -- Limits: counter rows locked first, so check and count are one step.
    perform private.ctf_take_account_attempt(v_ch.id, v_uid, v_ev.wrong_per_minute, v_now);
    if exists (select 1 from ctf.solves where challenge_id = v_ch.id and team_id = v_team.id) then
        -- Not evaluated, but counted against the per-minute limit (each one writes a row).
        perform private.ctf_count_account_attempt(v_ch.id, v_uid, v_now);
        perform private.ctf_record_submission(v_ch, v_team.id, v_uid, 'already_solved', false);
        return jsonb_build_object('status', 'already_solved', 'correct', false,
            'already_solved', true);
    end if;
    perform private.ctf_take_team_attempt(v_ch, v_team.id, v_now);

    select * into v_match from private.ctf_match_flags(v_ch.id, v_team.id, p_flag);
    if cardinality(v_match.matched) = 0 then
        return private.ctf_record_wrong(v_ch, v_team.id, v_uid, p_flag, v_now);
    end if;
    if v_ch.flag_logic = 'all' then
        insert into ctf.flag_progress (team_id, flag_id, challenge_id, user_id)
        select v_team.id, m, v_ch.id, v_uid from unnest(v_match.matched) as m
        on conflict do nothing;
        select count(*) into v_found from ctf.flag_progress
        where team_id = v_team.id and challenge_id = v_ch.id;
        if v_found < v_match.total then
            perform private.ctf_record_submission(v_ch, v_team.id, v_uid, 'partial', true);
            return jsonb_build_object('status', 'partial', 'correct', true,
                'flags_found', v_found, 'flags_total', v_match.total);
        end if;
    end if;
    return private.ctf_record_solve(v_ch.id, v_team, v_uid, v_now);
end;
$$;
comment on function api.ctf_submit(uuid, text, uuid) is
'Submit a flag for your team (p_team_id is optional and must be your own team). Every
evaluated attempt is recorded (user, team, challenge, time, result, client IP). Returns
{"status": "correct"|"partial"|"incorrect"|"already_solved"|"shared_flag", "correct",
"points", "value", "first_blood", "blood_rank", "attempts_left", "flags_found"/"flags_total"
(all-flags challenges), "code": "ctf_flag_shared" (another team''s per-team flag: refused and
reported to organisers)}. Rate limit: event.wrong_per_minute wrong (or already-solved) flags
per account per challenge per minute (PT429 rate_limited, details.retry_after); max_attempts
per team, enforced atomically (parallel guesses never exceed it).
Errors (nothing written): not_authenticated, invalid_argument, ctf_flag_too_long,
ctf_challenge_not_found, ctf_not_registered, ctf_not_team_member, ctf_banned,
ctf_event_not_started, ctf_event_ended, ctf_event_paused, ctf_challenge_locked,
ctf_prerequisites_unmet, ctf_attempts_exhausted, rate_limited.';
revoke execute on function api.ctf_submit(uuid, text, uuid) from public, anon;
grant execute on function api.ctf_submit(uuid, text, uuid) to authenticated;
