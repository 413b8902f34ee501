-- ctf: a wrong flag writes the team's attempt counter only on challenges with an attempt
-- limit. The counter (ctf.team_attempts) exists for max_attempts alone, yet every wrong
-- flag upserted it: a row insert, two index entries and two foreign-key checks on the
-- hottest write path (about a tenth of a wrong submission's cost at 32 connections). The
-- submissions are the record: when an organiser sets a limit on a challenge that had none,
-- the counters are rebuilt from its wrong submissions in the same transaction, so a team
-- that already used its attempts is locked out exactly as if they had been counted all
-- along. A submission in flight at that moment (it read the challenge before the limit
-- committed) is not counted: at most one uncounted attempt per such submission.

create or replace function private.ctf_count_wrong(
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
    if p_ch.max_attempts is null then
        return null;  -- no limit: the submission row is the only record
    end if;
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
    if p_ch.attempt_window is null then
        return greatest(0, p_ch.max_attempts - v_ta.wrong_total);
    end if;
    return greatest(0, p_ch.max_attempts - v_ta.wrong_in_window);
end;
$$;
comment on function private.ctf_count_wrong(ctf.challenges, uuid, uuid, timestamptz) is
'Count an evaluated wrong flag on the (already locked) counters: the account''s per-minute
counter always, the team''s only on challenges with max_attempts; returns the attempts left
there, else null.';

create function private.ctf_team_attempts_from_submissions() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_window interval := coalesce(new.attempt_window, interval '1 minute');
begin
    delete from ctf.team_attempts where challenge_id = new.id;
    insert into ctf.team_attempts (
        challenge_id, team_id, wrong_total, window_start, wrong_in_window
    )
    select
        new.id,
        s.team_id,
        count(*),
        coalesce(min(s.submitted_at) filter (where s.submitted_at > now() - v_window), now()),
        count(*) filter (where s.submitted_at > now() - v_window)
    from ctf.submissions as s
    where
        s.challenge_id = new.id and s.team_id is not null
        and s.result in ('incorrect', 'shared_flag')
    group by s.team_id;
    return null;
end;
$$;
comment on function private.ctf_team_attempts_from_submissions() is
'Trigger: a challenge gets an attempt limit (max_attempts null -> set): its team counters are
rebuilt from its evaluated wrong submissions (incorrect, shared_flag), in total and within
the current window, as if they had been counted all along.';
revoke execute on function private.ctf_team_attempts_from_submissions() from public;

create trigger challenges_attempt_limit_set
after update of max_attempts on ctf.challenges
for each row
when (old.max_attempts is null and new.max_attempts is not null)
execute function private.ctf_team_attempts_from_submissions();

-- Counters of challenges without a limit are no longer kept: drop the stale ones.
delete from ctf.team_attempts as a
using ctf.challenges as c
where c.id = a.challenge_id and c.max_attempts is null;

comment on table ctf.team_attempts is
'Wrong submissions per team and challenge with an attempt limit: in total (lockout) and in the
current window. Kept only while the challenge has max_attempts; rebuilt from the submissions
when a limit is set.';
