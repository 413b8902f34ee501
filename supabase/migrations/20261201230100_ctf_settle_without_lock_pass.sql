-- ctf: the worker's settle writes each solver's standings row once instead of twice. It
-- locked every row first (select ... for update nowait, a WAL-logged lock on each tuple)
-- so that it never waited for a solve, then updated them. Now it updates them directly
-- under a short lock_timeout: a row held by a solve in flight is waited for at most 10 ms
-- (a solve holds it for about a millisecond), else the settle is undone and left to the
-- next delivery, as before. A solve only ever holds its own team's row and its challenge,
-- so no cycle can form with a solve; a wider locker (an organiser's recompute, in team
-- order) meets the timeout on the worker's side, never a deadlock wait. The organiser path
-- (p_worker false) keeps waiting and locking in team order.

create or replace function private.ctf_settle_challenge(
    p_challenge uuid, p_worker boolean default true
)
returns int
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_ch ctf.challenges;
    v_n int;
    v_timeout text := current_setting('lock_timeout');
begin
    if not exists (
        select 1 from ctf.challenges where id = p_challenge and value <> scored_value
    ) then
        return 0;  -- settled already (the common case: no lock taken)
    end if;
    begin
        if p_worker then
            -- Never queue behind a solve for long: the next delivery settles (exact scores
            -- never depend on it).
            select * into v_ch from ctf.challenges where id = p_challenge
            for no key update nowait;
            perform set_config('lock_timeout', '10ms', true);
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
            perform set_config('lock_timeout', v_timeout, true);
            return 0;
        end if;
        if p_worker then
            perform set_config('ctf.settling', 'on', true);  -- no document rebuild queued
        end if;
        update ctf.standings_stored as st set score = st.score - d.points
        from (
            select
                s.team_id,
                case
                    when s.blood_rank <= cardinality(v_ch.first_blood_bonus)
                        then
                            floor(v_ch.scored_value * v_ch.first_blood_bonus[s.blood_rank]
                                + 0.5)::int
                            - floor(v_ch.value * v_ch.first_blood_bonus[s.blood_rank]
                                + 0.5)::int
                    else v_ch.scored_value - v_ch.value
                end as points
            from ctf.solves as s where s.challenge_id = v_ch.id
        ) as d
        where st.event_id = v_ch.event_id and st.team_id = d.team_id and d.points <> 0;
        get diagnostics v_n = row_count;
        perform set_config('lock_timeout', v_timeout, true);
    exception when lock_not_available then
        if not p_worker then
            raise;
        end if;
        return -1;  -- the block's changes (and its settings) are undone
    end;
    update ctf.challenges set scored_value = value where id = v_ch.id;
    perform set_config('ctf.settling', '', true);
    return v_n;
end;
$$;
comment on function private.ctf_settle_challenge(uuid, boolean) is
'Bring the stored scores of a challenge''s solvers to its current value (scored_value :=
value). Exact scores do not change. p_worker (the worker, after a solve): never queues for
the challenge and waits at most 10 ms for a solver''s row (returns -1 then, having changed
nothing; the next delivery settles), and does not rebuild the scoreboard document; else
(organiser edits) waits, locks the rows in team order and queues the rebuild. Returns the
number of standings rows it moved.';
