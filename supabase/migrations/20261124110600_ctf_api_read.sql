-- ctf: the read API — security_invoker views over the RLS-filtered tables. The scoreboard,
-- score graph, exports, the practice arena and the accounts data provider follow in
-- 20261124110650_ctf_scoreboard_export.sql.

-- Views -----------------------------------------------------------------------------------------
create view api.ctf_events with (security_invoker = true) as
select
    e.id,
    e.slug,
    e.title,
    e.description,
    e.starts_at,
    e.ends_at,
    e.freeze_at,
    e.paused,
    e.mode,
    e.team_size_limit,
    e.registration_open,
    e.visibility,
    e.is_practice,
    e.wrong_per_minute,
    e.created_at,
    case
        when e.starts_at is not null and e.starts_at > now() then 'upcoming'
        when e.ends_at is not null and e.ends_at <= now() then 'ended'
        when e.paused then 'paused'
        else 'running'
    end as status,
    e.id in (select private.ctf_organised_events()) as is_organiser,
    e.id in (select private.ctf_my_events()) as is_registered
from ctf.events as e
where (select private.key_may_read('api.ctf_events'));
comment on view api.ctf_events is
'CTF events you may see (public; members-only when signed in; private ones you organise or
joined). status: upcoming | running | paused | ended.';

create view api.ctf_brackets with (security_invoker = true) as
select
    b.id,
    b.event_id,
    b.name
from ctf.brackets as b
where (select private.key_may_read('api.ctf_brackets'));
comment on view api.ctf_brackets is 'Scoreboard brackets of the events you may see.';

create view api.ctf_organisers with (security_invoker = true) as
select
    o.event_id,
    o.user_id,
    o.created_at
from ctf.organisers as o
where (select private.key_may_read('api.ctf_organisers'));
comment on view api.ctf_organisers is 'Organisers of the events you may see.';

create view api.ctf_teams with (security_invoker = true) as
select
    t.id,
    t.event_id,
    t.name,
    t.captain_id,
    t.bracket_id,
    t.solo,
    t.banned,
    t.hidden,
    t.created_at
from ctf.teams as t
where (select private.key_may_read('api.ctf_teams'));
comment on view api.ctf_teams is
'Teams of the events you may see (hidden teams only to their members and organisers). Invite
codes are not here: see api.ctf_get_team_invite_code.';

create view api.ctf_team_members with (security_invoker = true) as
select
    p.event_id,
    p.team_id,
    p.user_id,
    pr.username,
    p.banned,
    p.joined_at
from ctf.participants as p
left join accounts.profiles as pr on p.user_id = pr.id
where (select private.key_may_read('api.ctf_team_members'));
comment on view api.ctf_team_members is
'Members of the teams you may see (username when their profile is visible to you).';

create view api.ctf_challenges with (security_invoker = true) as
with base as (
    select
        c.*,
        (select auth.role()) = 'service_role'
        or c.event_id in (select private.ctf_organised_events()) as is_org,
        c.state = 'locked' or exists (
            select 1 from ctf.challenge_prerequisites as r
            where r.challenge_id = c.id and not exists (
                select 1 from ctf.solves as s
                where
                    s.challenge_id = r.requires_id
                    and s.team_id in (select private.ctf_my_teams())
            )
        ) as locked
    from ctf.challenges as c
)

select
    c.id,
    c.event_id,
    case
        when c.locked and c.anonymise_when_locked and not c.is_org then null
        else c.title
    end as title,
    case
        when c.locked and c.anonymise_when_locked and not c.is_org then null
        else c.category
    end as category,
    c.tags,
    c.difficulty,
    c.state,
    c.release_at,
    c.locked,
    c.preview,
    c.value,
    c.solve_count,
    c.scoring,
    c.initial,
    c.minimum,
    c.decay,
    c.first_blood_bonus,
    c.max_attempts,
    c.attempt_window,
    c.flag_logic,
    c.writeup_visibility,
    c.author_credit,
    c.position,
    cc.description,
    cc.connection_info,
    w.content as writeup,
    exists(
        select 1 from ctf.solves as s
        where s.challenge_id = c.id and s.team_id in (select private.ctf_my_teams())
    ) as solved,
    array(
        select r.requires_id from ctf.challenge_prerequisites as r
        where r.challenge_id = c.id order by r.requires_id
    ) as prerequisites
from base as c
left join ctf.challenge_contents as cc on c.id = cc.challenge_id
left join ctf.challenge_writeups as w on c.id = w.challenge_id
where (select private.key_may_read('api.ctf_challenges'));
comment on view api.ctf_challenges is
'Challenges you may see (released, event started; all for organisers). locked: state locked
or prerequisites unsolved by your team; then title and category are anonymised (unless
anonymise_when_locked is false) and only the preview is shown. description and
connection_info are null until the challenge is open to your team; writeup follows
writeup_visibility. solved: by your team.';

create view api.ctf_challenge_files with (security_invoker = true) as
select
    f.id,
    f.challenge_id,
    f.event_id,
    f.name,
    f.storage_path,
    f.created_at,
    f.sha256
from ctf.challenge_files as f
where (select private.key_may_read('api.ctf_challenge_files'));
comment on view api.ctf_challenge_files is
'Files of the challenges open to you; download them from the challenge-files bucket and
check them against sha256 (hex, of the stored bytes; null until the upload was inspected).';

create view api.ctf_hints with (security_invoker = true) as
select
    h.id,
    h.challenge_id,
    h.event_id,
    h.title,
    h.cost,
    h.requires_hint_id,
    h.position,
    hc.hint_id is not null as unlocked,
    hc.content
from ctf.hints as h
left join ctf.hint_contents as hc on h.id = hc.hint_id
where (select private.key_may_read('api.ctf_hints'));
comment on view api.ctf_hints is
'Hints of the challenges you may see: title and cost always; content only once your team
unlocked it (api.ctf_unlock_hint), or for organisers.';

create function private.ctf_submission_ip(p_submission bigint, p_event uuid) returns inet
language sql stable
security definer
set search_path = ''
as $$
    select case
        when (select auth.role()) = 'service_role'
            or p_event in (select private.ctf_organised_events())
            then (select s.ip from ctf.submissions as s where s.id = p_submission)
    end
$$;
comment on function private.ctf_submission_ip(bigint, uuid) is
'The client IP of a submission, for the organisers of its event (and the platform backend)
only: they investigate flag sharing and multi-accounting. Null for everyone else, teammates
included (the ip column is not granted to clients).';
revoke execute on function private.ctf_submission_ip(bigint, uuid) from public;
grant execute on function private.ctf_submission_ip(bigint, uuid) to authenticated, service_role;

create view api.ctf_submissions with (security_invoker = true) as
select
    s.id,
    s.event_id,
    s.challenge_id,
    s.team_id,
    s.user_id,
    s.result,
    s.correct,
    private.ctf_submission_ip(s.id, s.event_id) as ip,
    s.submitted_at
from ctf.submissions as s
where (select private.key_may_read('api.ctf_submissions'));
comment on view api.ctf_submissions is
'Flag attempts: your own and your team''s; all of an event for its organisers. ip is shown to
the event''s organisers only (abuse investigation), never to teammates.';

create view api.ctf_solves with (security_invoker = true) as
select
    s.id,
    s.event_id,
    s.challenge_id,
    s.team_id,
    s.user_id,
    s.blood_rank,
    s.solved_at,
    private.ctf_points(c.value, s.blood_rank, c.first_blood_bonus) as points
from ctf.solves as s
inner join ctf.challenges as c on s.challenge_id = c.id
where (select private.key_may_read('api.ctf_solves'));
comment on view api.ctf_solves is
'Solves (as of the freeze for other teams while frozen), with their points at the
challenge''s current value.';

create view api.ctf_awards with (security_invoker = true) as
select
    a.id,
    a.event_id,
    a.team_id,
    a.value,
    a.reason,
    a.hint_id,
    a.created_at
from ctf.awards as a
where (select private.key_may_read('api.ctf_awards'));
comment on view api.ctf_awards is
'Awards and hint costs (negative, hint_id set) of the teams you may see.';

create view api.ctf_challenge_stats with (security_invoker = true) as
select
    c.id as challenge_id,
    c.event_id,
    c.title,
    c.solve_count,
    c.value,
    fb.team_id as first_blood_team_id,
    fb.solved_at as first_blood_at
from ctf.challenges as c
left join lateral (
    select
        s.team_id,
        s.solved_at
    from ctf.solves as s
    where s.challenge_id = c.id and s.blood_rank = 1
    order by s.solved_at
    limit 1
) as fb on true
where (select private.key_may_read('api.ctf_challenge_stats'));
comment on view api.ctf_challenge_stats is
'Per-challenge solve counts (teams neither hidden nor banned) and first blood.';

create view api.ctf_feedback_summary with (security_invoker = true) as
select
    f.event_id,
    f.challenge_id,
    count(*) as ratings,
    round(avg(f.rating), 2) as average_rating,
    count(f.comment) as comments,
    coalesce(
        jsonb_agg(jsonb_build_object('rating', f.rating, 'comment', f.comment))
        filter (where f.comment is not null),
        '[]'::jsonb
    ) as comment_list
from ctf.feedback as f
where (select private.key_may_read('api.ctf_feedback_summary'))
group by f.event_id, f.challenge_id;
comment on view api.ctf_feedback_summary is
'Feedback aggregates per challenge: over every rating for organisers, over your own for
players.';

create view api.ctf_sharing_reports with (security_invoker = true) as
select
    r.id,
    r.event_id,
    r.challenge_id,
    r.submitter_team_id,
    r.submitter_user_id,
    r.owner_team_id,
    r.submission_id,
    r.reported_at
from ctf.sharing_reports as r
where (select private.key_may_read('api.ctf_sharing_reports'));
comment on view api.ctf_sharing_reports is
'Organisers: suspected flag sharing (a team submitted another team''s per-team flag).';

grant select on api.ctf_events, api.ctf_brackets, api.ctf_organisers, api.ctf_teams,
api.ctf_team_members, api.ctf_challenges, api.ctf_hints, api.ctf_solves, api.ctf_awards,
api.ctf_challenge_stats
to anon, authenticated, service_role;
grant select on api.ctf_challenge_files, api.ctf_submissions, api.ctf_feedback_summary,
api.ctf_sharing_reports
to authenticated, service_role;
grant execute on function private.ctf_points(int, int, numeric[]) to anon;
