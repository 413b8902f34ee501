-- ctf: the client IP of a request, hint unlocks, awards, solve deletion and feedback (the
-- submit RPC has its own migration, ..._ctf_submit.sql).

insert into ops.error_codes (code, sqlstate, http_status, description) values
(
    'ctf_flag_shared', 'PT403', 403,
    'Returned in a submit result (status shared_flag): the flag belongs to another team; the '
    || 'attempt is refused and reported to the organisers.'
);

create function private.ctf_client_ip() returns inet
language plpgsql stable
set search_path = ''
as $$
declare
    v_headers jsonb;
    v_text text;
begin
    begin
        v_headers := nullif(current_setting('request.headers', true), '')::jsonb;
    exception when others then
        return null;
    end;
    -- Only the address the edge/gateway resolved (trusted proxies only); never a header
    -- the client could write itself (x-forwarded-for, x-real-ip, ...).
    v_text := btrim(coalesce(v_headers ->> 'x-flagship-client-ip', ''));
    if v_text !~ '^[0-9A-Fa-f:.]{2,45}$' then
        return null;
    end if;
    begin
        return v_text::inet;
    exception when others then
        return null;
    end;
end;
$$;
comment on function private.ctf_client_ip() is
'The client IP of the current request: the x-flagship-client-ip request header, which only
the edge/gateway set (flagship.database.as_caller, after dropping any client-supplied one);
null when absent or malformed. Client-written headers such as x-forwarded-for are ignored.';
revoke execute on function private.ctf_client_ip() from public;

-- Hints -----------------------------------------------------------------------------------------
create function api.ctf_unlock_hint(p_hint_id uuid) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
    v_hint ctf.hints;
    v_ch ctf.challenges;
    v_ev ctf.events;
    v_part ctf.participants;
    v_team ctf.teams;
    v_score bigint;
    v_charge boolean;
    v_new boolean := false;
begin
    select * into v_hint from ctf.hints where id = p_hint_id;
    if v_hint.id is null then
        perform private.raise_error('ctf_hint_not_found', 'No such hint.', 'PT404');
    end if;
    select * into v_ch from ctf.challenges where id = v_hint.challenge_id;
    select * into v_ev from ctf.events where id = v_ch.event_id;
    select * into v_part from ctf.participants where event_id = v_ev.id and user_id = v_uid;
    if v_part.user_id is null then
        if v_ch.state = 'hidden' or not private.ctf_event_visible_to(v_ev, v_uid) then
            perform private.raise_error('ctf_hint_not_found', 'No such hint.', 'PT404');
        end if;
        perform private.raise_error('ctf_not_registered', 'Join a team for this event first.',
            'PT403');
    end if;
    select * into v_team from ctf.teams where id = v_part.team_id;
    if v_part.banned or v_team.banned then
        perform private.raise_error('ctf_banned', 'You are banned from this event.', 'PT403');
    end if;
    if v_ch.state = 'hidden' then
        perform private.raise_error('ctf_hint_not_found', 'No such hint.', 'PT404');
    end if;
    if v_ev.starts_at is not null and v_ev.starts_at > now() then
        perform private.raise_error('ctf_event_not_started', 'The event has not started.',
            'PT403');
    end if;
    if v_ch.state = 'locked' or (v_ch.release_at is not null and v_ch.release_at > now())
        or exists (
            select 1 from ctf.challenge_prerequisites as r
            where r.challenge_id = v_ch.id and not exists (
                select 1 from ctf.solves as s
                where s.challenge_id = r.requires_id and s.team_id = v_team.id
            )
        ) then
        perform private.raise_error('ctf_challenge_locked', 'The challenge is not open.', 'PT403');
    end if;
    if v_hint.requires_hint_id is not null and not exists (
        select 1 from ctf.hint_unlocks where team_id = v_team.id and hint_id = v_hint.requires_hint_id
    ) then
        perform private.raise_error('ctf_hint_prerequisite', 'Unlock the previous hint first.',
            'PT409', jsonb_build_object('requires_hint_id', v_hint.requires_hint_id));
    end if;
    if not exists (select 1 from ctf.hint_unlocks where team_id = v_team.id and hint_id = v_hint.id)
        then
        -- After the event, standings are final: hints open free of charge.
        v_charge := v_hint.cost > 0 and (v_ev.ends_at is null or v_ev.ends_at > now());
        if v_charge then
            perform private.ctf_freeze_guard(v_ev.id);
            select score into v_score from ctf.standings
            where event_id = v_ev.id and team_id = v_team.id for update;
            if coalesce(v_score, 0) < v_hint.cost then
                perform private.raise_error('ctf_insufficient_points',
                    'Your team has fewer points than this hint costs.', 'PT409',
                    jsonb_build_object('cost', v_hint.cost, 'score', coalesce(v_score, 0)));
            end if;
        end if;
        insert into ctf.hint_unlocks (team_id, hint_id, event_id, user_id)
        values (v_team.id, v_hint.id, v_ev.id, v_uid)
        on conflict do nothing;
        v_new := found;
        if v_new and v_charge then
            insert into ctf.awards (event_id, team_id, value, reason, hint_id, created_by)
            values (v_ev.id, v_team.id, -v_hint.cost, left('Hint: ' || v_hint.title, 500),
                    v_hint.id, v_uid);
            perform private.ctf_apply_award(v_ev.id, v_team.id, -v_hint.cost);
        end if;
    end if;
    return jsonb_build_object(
        'hint_id', v_hint.id, 'cost', v_hint.cost, 'newly_unlocked', v_new,
        'content', (select hc.content from ctf.hint_contents as hc where hc.hint_id = v_hint.id)
    );
end;
$$;
comment on function api.ctf_unlock_hint(uuid) is
'Unlock a hint for your team and return its text. Idempotent: a second unlock (by anyone in the
team) charges nothing. The cost is deducted as a negative award. Errors: not_authenticated,
ctf_hint_not_found, ctf_not_registered, ctf_banned, ctf_event_not_started,
ctf_challenge_locked, ctf_hint_prerequisite, ctf_insufficient_points.';

-- Awards and solve deletion ---------------------------------------------------------------------
create function private.ctf_recompute_team(p_event uuid, p_team uuid) returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
    perform private.ctf_freeze_guard(p_event);
    perform 1 from ctf.standings where event_id = p_event and team_id = p_team for update;
    update ctf.standings as st set
        score = coalesce(sv.pts, 0) + coalesce(aw.pts, 0),
        solve_count = coalesce(sv.n, 0),
        last_score_at = greatest(sv.last_at, aw.last_at)
    from (
        select
            sum(private.ctf_points(c.value, s.blood_rank, c.first_blood_bonus))::bigint as pts,
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
'Recompute one team''s standings row from its solves (at current values) and awards.';
revoke execute on function private.ctf_recompute_team(uuid, uuid) from public;

create function api.ctf_grant_award(p_event_id uuid, p_team_id uuid, p_value int, p_reason text)
returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.ctf_require_organiser(p_event_id);
    v_id bigint;
begin
    if not exists (select 1 from ctf.teams where id = p_team_id and event_id = p_event_id) then
        perform private.raise_error('ctf_team_not_found', 'No such team in this event.', 'PT404');
    end if;
    if p_value is null or p_value = 0 or p_value not between -1000000 and 1000000 then
        perform private.raise_error('invalid_argument', 'value is a non-zero number of points.',
            '22023', jsonb_build_object('field', 'value'));
    end if;
    if p_reason is null or char_length(btrim(p_reason)) not between 1 and 500 then
        perform private.raise_error('invalid_argument', 'A reason (1-500 characters) is required.',
            '22023', jsonb_build_object('field', 'reason'));
    end if;
    insert into ctf.awards (event_id, team_id, value, reason, created_by)
    values (p_event_id, p_team_id, p_value, btrim(p_reason), v_uid)
    returning id into v_id;
    perform private.ctf_apply_award(p_event_id, p_team_id, p_value);
    perform private.audit('ctf.award_granted', 'ctf_team', p_team_id::text,
        jsonb_build_object('award_id', v_id, 'value', p_value, 'event_id', p_event_id), p_reason);
    return v_id;
end;
$$;
comment on function api.ctf_grant_award(uuid, uuid, int, text) is
'Organisers: grant (or, negative, take) points to a team with a reason; audited. Returns
the award id. Errors: not_authenticated, ctf_event_not_found, ctf_not_organiser,
ctf_team_not_found, invalid_argument.';

create function api.ctf_remove_award(p_award_id bigint, p_reason text) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_award ctf.awards;
begin
    perform private.require_user();
    select * into v_award from ctf.awards where id = p_award_id;
    if v_award.id is null then
        perform private.raise_error('not_found', 'No such award.', 'PT404');
    end if;
    perform private.ctf_require_organiser(v_award.event_id);
    if p_reason is null or char_length(btrim(p_reason)) not between 1 and 500 then
        perform private.raise_error('invalid_argument', 'A reason (1-500 characters) is required.',
            '22023', jsonb_build_object('field', 'reason'));
    end if;
    perform private.ctf_freeze_guard(v_award.event_id);
    delete from ctf.awards where id = p_award_id;
    if v_award.hint_id is not null then
        delete from ctf.hint_unlocks where team_id = v_award.team_id and hint_id = v_award.hint_id;
    end if;
    perform private.ctf_recompute_team(v_award.event_id, v_award.team_id);
    perform private.audit('ctf.award_removed', 'ctf_team', v_award.team_id::text,
        to_jsonb(v_award), p_reason);
end;
$$;
comment on function api.ctf_remove_award(bigint, text) is
'Organisers: remove an award (a hint cost too, which locks the hint again); audited. Errors:
not_authenticated, not_found, ctf_not_organiser, invalid_argument.';

create function api.ctf_delete_solve(p_solve_id bigint, p_reason text) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_solve ctf.solves;
begin
    perform private.require_user();
    select * into v_solve from ctf.solves where id = p_solve_id;
    if v_solve.id is null then
        perform private.raise_error('not_found', 'No such solve.', 'PT404');
    end if;
    perform private.ctf_require_organiser(v_solve.event_id);
    if p_reason is null or char_length(btrim(p_reason)) not between 1 and 500 then
        perform private.raise_error('invalid_argument', 'A reason (1-500 characters) is required.',
            '22023', jsonb_build_object('field', 'reason'));
    end if;
    perform private.ctf_freeze_guard(v_solve.event_id);
    perform 1 from ctf.challenges where id = v_solve.challenge_id for update;
    delete from ctf.solves where id = p_solve_id;
    delete from ctf.flag_progress
    where team_id = v_solve.team_id and challenge_id = v_solve.challenge_id;
    -- The value of the challenge goes back up for every other solver (CTFd leaves it stale).
    perform private.ctf_recompute_event(v_solve.event_id);
    perform private.audit('ctf.solve_deleted', 'ctf_team', v_solve.team_id::text,
        to_jsonb(v_solve), p_reason);
end;
$$;
comment on function api.ctf_delete_solve(bigint, text) is
'Organisers: delete a solve (audited); the challenge value and every solver''s score are
recomputed. Errors: not_authenticated, not_found, ctf_not_organiser, invalid_argument.';

create function api.ctf_recompute_standings(p_event_id uuid) returns int
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_n int;
begin
    perform private.ctf_require_organiser(p_event_id);
    v_n := private.ctf_recompute_event(p_event_id);
    perform private.audit('ctf.standings_recomputed', 'ctf_event', p_event_id::text,
        jsonb_build_object('corrected_rows', v_n));
    return v_n;
end;
$$;
comment on function api.ctf_recompute_standings(uuid) is
'Organisers: rebuild challenge values and standings from solves and awards; returns how many
rows it corrected (0 when the incremental state was right). Errors: not_authenticated,
ctf_event_not_found, ctf_not_organiser.';

-- Feedback --------------------------------------------------------------------------------------
create function api.ctf_give_feedback(
    p_challenge_id uuid, p_rating int, p_comment text default null
) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
    v_ch ctf.challenges;
    v_ev ctf.events;
    v_part ctf.participants;
begin
    select * into v_ch from ctf.challenges where id = p_challenge_id;
    if v_ch.id is null or v_ch.state = 'hidden' then
        perform private.raise_error('ctf_challenge_not_found', 'No such challenge.', 'PT404');
    end if;
    select * into v_ev from ctf.events where id = v_ch.event_id;
    select * into v_part from ctf.participants where event_id = v_ev.id and user_id = v_uid;
    if v_part.user_id is null then
        perform private.raise_error('ctf_not_registered', 'Only participants give feedback.',
            'PT403');
    end if;
    if not (
        exists (select 1 from ctf.solves where challenge_id = v_ch.id and team_id = v_part.team_id)
        or (v_ev.ends_at is not null and v_ev.ends_at <= now())
    ) then
        perform private.raise_error('ctf_feedback_not_allowed',
            'Feedback opens once your team solved it or the event ended.', 'PT403');
    end if;
    if p_rating is null or p_rating not between 1 and 5 then
        perform private.raise_error('invalid_argument', 'rating is 1-5.', '22023',
            jsonb_build_object('field', 'rating'));
    end if;
    if p_comment is not null and char_length(p_comment) > 2000 then
        perform private.raise_error('invalid_argument', 'comment is at most 2000 characters.',
            '22023', jsonb_build_object('field', 'comment'));
    end if;
    insert into ctf.feedback (challenge_id, user_id, event_id, rating, comment)
    values (v_ch.id, v_uid, v_ev.id, p_rating, p_comment)
    on conflict (challenge_id, user_id) do update
    set rating = excluded.rating, comment = excluded.comment;
end;
$$;
comment on function api.ctf_give_feedback(uuid, int, text) is
'Rate a challenge (1-5) with an optional comment, once your team solved it or the event
ended; a second call replaces your feedback. Errors: not_authenticated,
ctf_challenge_not_found, ctf_not_registered, ctf_feedback_not_allowed, invalid_argument.';

revoke execute on function api.ctf_unlock_hint(uuid) from public, anon;
revoke execute on function api.ctf_grant_award(uuid, uuid, int, text) from public, anon;
revoke execute on function api.ctf_remove_award(bigint, text) from public, anon;
revoke execute on function api.ctf_delete_solve(bigint, text) from public, anon;
revoke execute on function api.ctf_recompute_standings(uuid) from public, anon;
revoke execute on function api.ctf_give_feedback(uuid, int, text) from public, anon;
grant execute on function api.ctf_unlock_hint(uuid),
api.ctf_grant_award(uuid, uuid, int, text), api.ctf_remove_award(bigint, text),
api.ctf_delete_solve(bigint, text), api.ctf_recompute_standings(uuid),
api.ctf_give_feedback(uuid, int, text)
to authenticated;
