-- ctf: the read API, continued — the freeze-aware scoreboard, score graph, exports, the
-- practice arena, and the accounts data provider.

-- Scoreboard ------------------------------------------------------------------------------------
create function private.ctf_sees_frozen(p_event uuid) returns boolean
language sql stable
set search_path = ''
as $$
    select coalesce((
        select e.frozen_snapshot_at is not null and e.freeze_at <= now()
            and not (e.id in (select private.ctf_organised_events()))
            and (select auth.role()) is distinct from 'service_role'
        from ctf.events as e where e.id = p_event
    ), false)
$$;
comment on function private.ctf_sees_frozen(uuid) is
'Does the caller see the frozen standings of this event (frozen, snapshot taken, neither an
organiser nor the platform backend)? The one live-vs-frozen rule of the scoreboard, team
page, score graph and CTFtime feed (the standings policies keep an inline copy).';

create function private.ctf_freeze_cut(p_event ctf.events, p_team uuid) returns timestamptz
language sql stable
security definer
set search_path = ''
as $$
    select case when p_event.freeze_at <= now()
        and (select auth.role()) is distinct from 'service_role'
        and not (p_event.id in (select private.ctf_organised_events()))
        and not (p_team in (select private.ctf_my_teams()))
        then p_event.freeze_at end
$$;
comment on function private.ctf_freeze_cut(ctf.events, uuid) is
'From when the caller no longer sees the team''s solves and awards: freeze_at during the
freeze, unless they organise the event or belong to the team (the solves_read and
awards_read policies, for the team page).';
revoke execute on function private.ctf_freeze_cut(ctf.events, uuid) from public;
revoke execute on function private.ctf_sees_frozen(uuid) from public;
grant execute on function private.ctf_sees_frozen(uuid) to anon, authenticated, service_role;

create function api.ctf_get_scoreboard(
    p_event_id uuid, p_bracket_id uuid default null, p_limit int default 100, p_offset int default 0
) returns table (
    pos bigint, team_id uuid, team_name text, bracket_id uuid, score bigint, solve_count int,
    last_score_at timestamptz
)
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    v_ev ctf.events;
    v_limit int := least(greatest(coalesce(p_limit, 100), 1), 10000);
    v_offset int := greatest(coalesce(p_offset, 0), 0);
begin
    perform private.require_scope('api.ctf_get_scoreboard');  -- API key scope
    -- The standings policies, checked once per call: the event must be visible to the caller;
    -- hidden and banned teams are unranked and never listed; the frozen snapshot is chosen
    -- below exactly as the policies choose it.
    select * into v_ev from ctf.events where id = p_event_id;
    if v_ev.id is null or not private.ctf_caller_sees_event(v_ev) then
        return;
    end if;
    if p_bracket_id is null and v_offset = 0 and v_limit <= 100 then
        -- the top 100: the document kept at each change (..._ctf_scoreboard_document.sql)
        return query
        select x.pos, x.team_id, x.team_name, x.bracket_id, x.score, x.solve_count,
            x.last_score_at
        from jsonb_to_recordset(
            (private.ctf_board(p_event_id, private.ctf_sees_frozen(p_event_id))).rows
        ) as x (pos bigint, team_id uuid, team_name text, bracket_id uuid, score bigint,
            solve_count int, last_score_at timestamptz)
        order by x.pos
        limit v_limit;
    elsif private.ctf_sees_frozen(p_event_id) then
        return query
        select v_offset + row_number() over (
            order by x.score desc, x.last_score_at, x.team_id
        ), x.team_id, t.name, x.bracket_id, x.score,
            x.solve_count, x.last_score_at
        from (
            select f.team_id, f.bracket_id, f.score, f.solve_count, f.last_score_at
            from ctf.standings_frozen as f
            where f.event_id = p_event_id and f.ranked
              and (p_bracket_id is null or f.bracket_id = p_bracket_id)
              and f.last_score_at is not null
            order by f.score desc, f.last_score_at, f.team_id
            limit v_limit offset v_offset
        ) as x
        join ctf.teams as t on t.id = x.team_id
        order by x.score desc, x.last_score_at, x.team_id;
    else
        return query
        select v_offset + row_number() over (
            order by x.score desc, x.last_score_at, x.team_id
        ), x.team_id, t.name, x.bracket_id, x.score,
            x.solve_count, x.last_score_at
        from (
            select s.team_id, s.bracket_id, s.score, s.solve_count, s.last_score_at
            from ctf.standings as s
            where s.event_id = p_event_id and s.ranked
              and (p_bracket_id is null or s.bracket_id = p_bracket_id)
              and s.last_score_at is not null
            order by s.score desc, s.last_score_at, s.team_id
            limit v_limit offset v_offset
        ) as x
        join ctf.teams as t on t.id = x.team_id
        order by x.score desc, x.last_score_at, x.team_id;
    end if;
end;
$$;
comment on function api.ctf_get_scoreboard(uuid, uuid, int, int) is
'Standings of an event (optionally one bracket): position, team, score, solves, and the time
the score was reached (ties go to whoever got there first). Teams that never scored, hidden
and banned teams are left out. While frozen, non-organisers see the standings as of
freeze_at; organisers see live. The top 100 of the whole event (no bracket, no offset) is
read from the scoreboard document; other pages from the incrementally kept standings through
an index: never the submissions. p_limit 1-10000 (default 100). Definer so that the visibility rules
are checked once per call rather than per row; events the caller cannot see return nothing.';

create function api.ctf_get_team_page(p_team_id uuid) returns jsonb
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
        -- two index range counts on the ranking index (never a scan of every team)
        select 1 + (
            select count(*) from ctf.standings as s
            where s.event_id = v_ev.id and s.ranked and s.score > v_row.score
              and s.last_score_at is not null
        ) + (
            select count(*) from ctf.standings as s
            where s.event_id = v_ev.id and s.ranked and s.score = v_row.score
              and (s.last_score_at, s.team_id) < (v_row.last_score_at, p_team_id)
        ) into v_pos;
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

create function api.ctf_list_challenges(p_event_id uuid) returns table (
    id uuid,
    title text,
    category text,
    tags text[],
    difficulty int,
    state ctf.challenge_state,
    release_at timestamptz,
    locked boolean,
    preview text,
    value int,
    solve_count int,
    scoring ctf.scoring,
    max_attempts int,
    flag_logic text,
    author_credit text,
    board_position int,
    description text,
    connection_info text,
    solved boolean,
    prerequisites uuid[]
)
language plpgsql stable
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
    v_uid uuid := (select auth.uid());
    v_ev ctf.events;
    v_org boolean;
    v_team uuid;
    v_solved uuid [];
begin
    perform private.require_scope('api.ctf_list_challenges');  -- API key scope
    select * into v_ev from ctf.events as e where e.id = p_event_id;
    -- service_role (the platform's backend) sees what organisers see, as through RLS.
    v_org := (select auth.role()) = 'service_role'
        or (v_uid is not null and private.ctf_is_organiser(p_event_id, v_uid));
    if v_ev.id is null or not private.ctf_caller_sees_event(v_ev) then
        perform private.raise_error('ctf_event_not_found', 'No such event.', 'PT404');
    end if;
    if not v_org and v_ev.starts_at > now() then
        return;
    end if;
    select p.team_id into v_team from ctf.participants as p
    where p.event_id = p_event_id and p.user_id = v_uid;
    v_solved := array(select s.challenge_id from ctf.solves as s where s.team_id = v_team);
    return query
    select
        c.id,
        case when lk.locked and c.anonymise_when_locked and not v_org then null
            else c.title end,
        case when lk.locked and c.anonymise_when_locked and not v_org then null
            else c.category end,
        c.tags, c.difficulty, c.state, c.release_at, lk.locked, c.preview, c.value,
        c.solve_count, c.scoring, c.max_attempts, c.flag_logic, c.author_credit, c.position,
        case when v_org or (v_team is not null and not lk.locked) then cc.description end,
        case when v_org or (v_team is not null and not lk.locked) then cc.connection_info end,
        c.id = any(v_solved),
        array(select r.requires_id from ctf.challenge_prerequisites as r
              where r.challenge_id = c.id order by r.requires_id)
    from ctf.challenges as c
    left join ctf.challenge_contents as cc on cc.challenge_id = c.id
    cross join lateral (
        select c.state = 'locked' or exists (
            select 1 from ctf.challenge_prerequisites as r
            where r.challenge_id = c.id and not r.requires_id = any(v_solved)
        ) as locked
    ) as lk
    where c.event_id = p_event_id
      and (v_org or (c.state <> 'hidden' and (c.release_at is null or c.release_at <= now())))
    order by c.position, c.id;
end;
$$;
comment on function api.ctf_list_challenges(uuid) is
'The challenge board of an event in one call (the fast path of api.ctf_challenges): the same
visibility and anonymisation rules, evaluated once per call. description and connection_info
are set once the challenge is open to your team. Definer so that the rules are not re-planned
per row through nested policies. Errors: ctf_event_not_found.';

create function api.ctf_get_score_graph(
    p_event_id uuid, p_top int default 10, p_bracket_id uuid default null
) returns jsonb
language sql stable
set search_path = ''
as $$
    with top as (
        select b.pos, b.team_id, b.team_name
        from api.ctf_get_scoreboard(p_event_id, p_bracket_id, least(greatest(p_top, 1), 50), 0) as b
    ),
    frozen as (
        select case when private.ctf_sees_frozen(p_event_id)
            then (select e.freeze_at from ctf.events as e where e.id = p_event_id) end as at
    ),
    items as (
        select s.team_id, s.solved_at as at, s.points as delta
        from api.ctf_solves as s
        where s.event_id = p_event_id and s.team_id in (select top.team_id from top)
        union all
        select a.team_id, a.created_at, a.value
        from ctf.awards as a
        where a.event_id = p_event_id and a.team_id in (select top.team_id from top)
    ),
    series as (
        select
            i.team_id, i.at,
            sum(i.delta) over (partition by i.team_id order by i.at rows unbounded preceding)
            as score
        from items as i, frozen as f
        where f.at is null or i.at < f.at
    )
    select coalesce(jsonb_agg(jsonb_build_object(
        'pos', top.pos, 'team_id', top.team_id, 'team', top.team_name,
        'points', coalesce((
            select jsonb_agg(jsonb_build_object('at', s.at, 'score', s.score) order by s.at)
            from series as s where s.team_id = top.team_id
        ), '[]'::jsonb)
    ) order by top.pos), '[]'::jsonb)
    from top
$$;
comment on function api.ctf_get_score_graph(uuid, int, uuid) is
'Score over time of the top p_top teams (1-50, default 10): for each, [{at, score}] from its
solves (at current values) and awards, cut at the freeze for non-organisers.';

create function api.ctf_get_ctftime_feed(p_event_id uuid) returns jsonb
language sql stable
set search_path = ''
as $$
    select jsonb_build_object('standings', coalesce(jsonb_agg(jsonb_build_object(
        'pos', b.pos, 'team', b.team_name, 'score', b.score
    ) order by b.pos), '[]'::jsonb))
    from api.ctf_get_scoreboard(p_event_id, null, 10000, 0) as b
$$;
comment on function api.ctf_get_ctftime_feed(uuid) is
'The event''s standings in CTFtime''s scoreboard feed format:
{"standings": [{"pos": 1, "team": "...", "score": 1234}, ...]} (frozen for non-organisers
during the freeze).';

-- Export ----------------------------------------------------------------------------------------
create function api.ctf_export_event(p_event_id uuid) returns jsonb
language plpgsql stable
security definer
set search_path = ''
as $$
begin
    perform private.ctf_require_organiser(p_event_id);
    return jsonb_build_object(
        'format', 'flagship-ctf-export/1',
        'generated_at', now(),
        'event', (select to_jsonb(e) - 'frozen_snapshot_at' from ctf.events as e
                  where e.id = p_event_id),
        'brackets', coalesce((select jsonb_agg(to_jsonb(b) order by b.name)
                              from ctf.brackets as b where b.event_id = p_event_id), '[]'),
        -- scored_value is scoring bookkeeping (ctf_dynamic_term), not part of the format.
        'challenges', coalesce((
            select jsonb_agg(to_jsonb(c) - 'scored_value' || jsonb_build_object(
                'description', cc.description, 'connection_info', cc.connection_info,
                'writeup', w.content,
                'prerequisites', array(select r.requires_id from ctf.challenge_prerequisites as r
                                       where r.challenge_id = c.id),
                'flags', (select coalesce(jsonb_agg(jsonb_build_object('kind', f.kind,
                              'label', f.label)), '[]') from ctf.flags as f
                          where f.challenge_id = c.id),
                'hints', (select coalesce(jsonb_agg(jsonb_build_object('title', h.title,
                              'cost', h.cost)), '[]') from ctf.hints as h
                          where h.challenge_id = c.id),
                'files', (select coalesce(jsonb_agg(jsonb_build_object('name', f.name,
                              'storage_path', f.storage_path)), '[]')
                          from ctf.challenge_files as f where f.challenge_id = c.id)
            ) order by c.position, c.id)
            from ctf.challenges as c
            left join ctf.challenge_contents as cc on cc.challenge_id = c.id
            left join ctf.challenge_writeups as w on w.challenge_id = c.id
            where c.event_id = p_event_id
        ), '[]'),
        'teams', coalesce((
            select jsonb_agg(to_jsonb(t) - 'invite_code' || jsonb_build_object(
                'members', (select coalesce(jsonb_agg(p.user_id), '[]')
                            from ctf.participants as p where p.team_id = t.id)
            ) order by t.name)
            from ctf.teams as t where t.event_id = p_event_id
        ), '[]'),
        'solves', coalesce((select jsonb_agg(to_jsonb(s) order by s.id)
                            from ctf.solves as s where s.event_id = p_event_id), '[]'),
        'awards', coalesce((select jsonb_agg(to_jsonb(a) order by a.id)
                            from ctf.awards as a where a.event_id = p_event_id), '[]'),
        'standings', coalesce((select jsonb_agg(to_jsonb(st) order by st.score desc,
                                                st.last_score_at, st.team_id)
                               from ctf.standings as st where st.event_id = p_event_id), '[]')
    );
end;
$$;
comment on function api.ctf_export_event(uuid) is
'Organisers: the whole event as JSON for archiving: event, brackets, challenges (with
description, write-up, hint titles and costs, files, flag kinds — never flags, secrets, hint
texts or invite codes), teams and members, solves, awards, standings. Definer because it reads
every team, including hidden ones. Errors: not_authenticated, ctf_event_not_found,
ctf_not_organiser.';

revoke execute on function api.ctf_get_scoreboard(uuid, uuid, int, int) from public;
revoke execute on function api.ctf_get_team_page(uuid) from public;
revoke execute on function api.ctf_list_challenges(uuid) from public;
revoke execute on function api.ctf_get_score_graph(uuid, int, uuid) from public;
revoke execute on function api.ctf_get_ctftime_feed(uuid) from public;
revoke execute on function api.ctf_export_event(uuid) from public, anon;
grant execute on function api.ctf_get_scoreboard(uuid, uuid, int, int), api.ctf_get_team_page(uuid),
api.ctf_list_challenges(uuid),
api.ctf_get_score_graph(uuid, int, uuid), api.ctf_get_ctftime_feed(uuid)
to anon, authenticated, service_role;
grant execute on function api.ctf_export_event(uuid) to authenticated;

-- The practice arena: an always-open, never-ending individual event. -----------------------------
insert into ctf.events (slug, title, description, mode, is_practice, visibility)
values (
    'practice', 'Practice arena',
    'Always open: solve published challenges at your own pace.', 'individual', true, 'public'
)
on conflict (slug) do nothing;

-- Accounts data provider ------------------------------------------------------------------------
create function private.ctf_export_user(p_user uuid) returns jsonb
language sql stable
security definer
set search_path = ''
as $$
    select jsonb_build_object(
        'participations', coalesce((
            select jsonb_agg(jsonb_build_object('event_id', p.event_id, 'team_id', p.team_id,
                'team', t.name, 'banned', p.banned, 'joined_at', p.joined_at))
            from ctf.participants as p join ctf.teams as t on t.id = p.team_id
            where p.user_id = p_user
        ), '[]'),
        'submissions', coalesce((
            select jsonb_agg(to_jsonb(s) - 'user_id' order by s.id)
            from ctf.submissions as s where s.user_id = p_user
        ), '[]'),
        'solves', coalesce((
            select jsonb_agg(to_jsonb(s) - 'user_id' order by s.id)
            from ctf.solves as s where s.user_id = p_user
        ), '[]'),
        'feedback', coalesce((
            select jsonb_agg(to_jsonb(f) - 'user_id')
            from ctf.feedback as f where f.user_id = p_user
        ), '[]'),
        'organises', coalesce((
            select jsonb_agg(o.event_id) from ctf.organisers as o where o.user_id = p_user
        ), '[]')
    )
$$;
comment on function private.ctf_export_user(uuid) is
'The ctf section of a data export: participations, submissions, solves, feedback.';

create function private.ctf_erase_user(p_user uuid) returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
    -- Captaincy passes to the longest-standing other member; solo teams lose the username.
    update ctf.teams as t set captain_id = (
        select p.user_id from ctf.participants as p
        where p.team_id = t.id and p.user_id <> p_user order by p.joined_at limit 1
    )
    where t.captain_id = p_user;
    update ctf.teams as t set name = 'player_' || left(md5(t.id::text), 10)
    where t.solo and exists (
        select 1 from ctf.participants as p where p.team_id = t.id and p.user_id = p_user
    );
    delete from ctf.feedback where user_id = p_user;
    delete from ctf.participants where user_id = p_user;
    -- Solves and submissions stay with the team; their user_id is cleared by the FK.
end;
$$;
comment on function private.ctf_erase_user(uuid) is
'Account deletion: hand over captaincy, anonymise solo team names, drop feedback and
membership. Solves stay with the team (user cleared).';

revoke execute on function private.ctf_export_user(uuid) from public;
revoke execute on function private.ctf_erase_user(uuid) from public;

insert into accounts.data_providers (name, export_function, erase_function, position)
values ('ctf', 'private.ctf_export_user(uuid)', 'private.ctf_erase_user(uuid)', 30);
