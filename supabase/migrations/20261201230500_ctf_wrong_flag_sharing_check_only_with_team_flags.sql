-- ctf: a wrong flag looks for the team whose per-team flag it might be (suspected sharing)
-- only on challenges that have per-team flags. The lookup joined the challenge's flags with
-- the event's teams on every wrong flag, about a tenth of a wrong submission's time in the
-- database, for nothing on the (usual) challenges with static or regex flags only.

create or replace function private.ctf_record_wrong(
    p_ch ctf.challenges, p_team uuid, p_uid uuid, p_flag text, p_now timestamptz
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_owner uuid;
    v_left int := private.ctf_count_wrong(p_ch, p_team, p_uid, p_now);
    v_sub bigint;
begin
    if exists (select 1 from ctf.flags as f where f.challenge_id = p_ch.id and f.kind = 'team')
    then
        v_owner := private.ctf_shared_flag_owner(p_ch.id, p_ch.event_id, p_team, p_flag);
    end if;
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
'Submit phase 4 (wrong flag): count it, record it, and on challenges with per-team flags
report suspected sharing (another team''s flag); the result.';
