-- ctf: who may read what. Clients only ever SELECT (filtered by these policies); every write is
-- an RPC. Membership helpers are definer set-returning functions used as `in (select ...)`, so
-- each is evaluated once per statement and policies never recurse into each other.

create function private.ctf_organised_events() returns setof uuid
language sql stable
security definer
set search_path = ''
as $$
    select o.event_id from ctf.organisers as o where o.user_id = (select auth.uid())
    union
    select e.id from ctf.events as e where private.jwt_has_permission('platform.admin')
$$;
comment on function private.ctf_organised_events() is
'Events the caller organises (all of them for platform admins, from the JWT fast path).
Definer so that policies on ctf.organisers and ctf.events do not recurse.';

create function private.ctf_my_teams() returns setof uuid
language sql stable
security definer
set search_path = ''
as $$
    select p.team_id from ctf.participants as p where p.user_id = (select auth.uid())
$$;
comment on function private.ctf_my_teams() is 'Teams the caller belongs to (one per event).';

create function private.ctf_my_events() returns setof uuid
language sql stable
security definer
set search_path = ''
as $$
    select p.event_id from ctf.participants as p where p.user_id = (select auth.uid())
$$;
comment on function private.ctf_my_events() is 'Events the caller is registered for.';

create function private.ctf_file_events() returns setof text
language sql stable
security definer
set search_path = ''
as $$
    select e.id::text from ctf.events as e
    join ctf.participants as p on p.event_id = e.id and p.user_id = (select auth.uid())
    where not p.banned and (e.starts_at is null or e.starts_at <= now())
    union
    select x::text from private.ctf_organised_events() as x
$$;
comment on function private.ctf_file_events() is
'Event ids (as text, the first folder of challenge-files objects) whose files the caller may
download: registered, not banned, event started; or organiser.';

revoke execute on function private.ctf_organised_events() from public;
revoke execute on function private.ctf_my_teams() from public;
revoke execute on function private.ctf_my_events() from public;
revoke execute on function private.ctf_file_events() from public;
grant execute on function private.ctf_organised_events(), private.ctf_my_teams(),
private.ctf_my_events(), private.ctf_file_events() to anon, authenticated, service_role;

alter table ctf.events enable row level security;
alter table ctf.brackets enable row level security;
alter table ctf.organisers enable row level security;
alter table ctf.teams enable row level security;
alter table ctf.participants enable row level security;
alter table ctf.account_bans enable row level security;
alter table ctf.team_kicks enable row level security;
alter table ctf.challenges enable row level security;
alter table ctf.challenge_contents enable row level security;
alter table ctf.challenge_writeups enable row level security;
alter table ctf.challenge_prerequisites enable row level security;
alter table ctf.challenge_files enable row level security;
alter table ctf.flags enable row level security;
alter table ctf.hints enable row level security;
alter table ctf.hint_contents enable row level security;
alter table ctf.solves enable row level security;
alter table ctf.submissions enable row level security;
alter table ctf.flag_progress enable row level security;
alter table ctf.sharing_reports enable row level security;
alter table ctf.awards enable row level security;
alter table ctf.hint_unlocks enable row level security;
alter table ctf.feedback enable row level security;
alter table ctf.user_attempts enable row level security;
alter table ctf.team_attempts enable row level security;
alter table ctf.standings enable row level security;
alter table ctf.standings_frozen enable row level security;

-- Events and their public parts -----------------------------------------------------------------
create policy events_read on ctf.events for select to anon, authenticated
using (
    visibility = 'public'
    or (visibility = 'members' and (select auth.uid()) is not null)
    or id in (select private.ctf_organised_events())
    or id in (select private.ctf_my_events())
);
create policy brackets_read on ctf.brackets for select to anon, authenticated
using (exists (select 1 from ctf.events as e where e.id = brackets.event_id));
create policy organisers_read on ctf.organisers for select to anon, authenticated
using (exists (select 1 from ctf.events as e where e.id = organisers.event_id));

create policy teams_read on ctf.teams for select to anon, authenticated
using (
    event_id in (select private.ctf_organised_events())
    or id in (select private.ctf_my_teams())
    or (not hidden and exists (select 1 from ctf.events as e where e.id = teams.event_id))
);
create policy participants_read on ctf.participants for select to anon, authenticated
using (
    user_id = (select auth.uid())
    or event_id in (select private.ctf_organised_events())
    or exists (select 1 from ctf.teams as t where t.id = participants.team_id)
);

-- Challenges: metadata once released; content once open to the caller's team -------------------
create policy challenges_read on ctf.challenges for select to anon, authenticated
using (
    event_id in (select private.ctf_organised_events())
    or (
        state <> 'hidden'
        and (release_at is null or release_at <= now())
        and exists (
            select 1 from ctf.events as e
            where e.id = challenges.event_id and (e.starts_at is null or e.starts_at <= now())
        )
    )
);
create policy challenge_contents_read on ctf.challenge_contents for select to authenticated
using (
    event_id in (select private.ctf_organised_events())
    or exists (
        select 1 from ctf.challenges as c
        inner join
            ctf.participants as p
            on c.event_id = p.event_id and p.user_id = (select auth.uid())
        where
            c.id = challenge_contents.challenge_id and c.state = 'visible'
            and not exists (
                select 1 from ctf.challenge_prerequisites as r
                where r.challenge_id = c.id and not exists (
                    select 1 from ctf.solves as s
                    where s.challenge_id = r.requires_id and s.team_id = p.team_id
                )
            )
    )
);
create policy challenge_writeups_read on ctf.challenge_writeups for select to anon, authenticated
using (
    event_id in (select private.ctf_organised_events())
    or exists (
        select 1 from ctf.challenges as c
        inner join ctf.events as e on c.event_id = e.id
        where
            c.id = challenge_writeups.challenge_id
            and (
                (c.writeup_visibility <> 'never' and e.ends_at <= now())
                or (c.writeup_visibility = 'after_solve' and exists (
                    select 1 from ctf.solves as s
                    where s.challenge_id = c.id and s.team_id in (select private.ctf_my_teams())
                ))
            )
    )
);
create policy challenge_prerequisites_read on ctf.challenge_prerequisites for select
to anon, authenticated
using (exists (
    select 1 from ctf.challenges as c where c.id = challenge_prerequisites.challenge_id
));
create policy challenge_files_read on ctf.challenge_files for select to authenticated
using (
    event_id in (select private.ctf_organised_events())
    or exists (
        select 1 from ctf.challenge_contents as cc
        where cc.challenge_id = challenge_files.challenge_id
    )
);
-- ctf.flags: no policy and no grant. Only definer functions read it.

create policy hints_read on ctf.hints for select to anon, authenticated
using (exists (select 1 from ctf.challenges as c where c.id = hints.challenge_id));
create policy hint_contents_read on ctf.hint_contents for select to authenticated
using (
    event_id in (select private.ctf_organised_events())
    or hint_id in (
        select u.hint_id from ctf.hint_unlocks as u
        where u.team_id in (select private.ctf_my_teams())
    )
);
create policy hint_unlocks_read on ctf.hint_unlocks for select to authenticated
using (
    team_id in (select private.ctf_my_teams())
    or event_id in (select private.ctf_organised_events())
);

-- Solves, awards (public as of the freeze), submissions (own team) ------------------------------
create policy solves_read on ctf.solves for select to anon, authenticated
using (
    event_id in (select private.ctf_organised_events())
    or team_id in (select private.ctf_my_teams())
    or exists (
        select 1 from ctf.teams as t inner join ctf.events as e on t.event_id = e.id
        where t.id = solves.team_id and (e.freeze_at is null or solves.solved_at < e.freeze_at)
    )
);
create policy awards_read on ctf.awards for select to anon, authenticated
using (
    event_id in (select private.ctf_organised_events())
    or team_id in (select private.ctf_my_teams())
    or exists (
        select 1 from ctf.teams as t inner join ctf.events as e on t.event_id = e.id
        where t.id = awards.team_id and (e.freeze_at is null or awards.created_at < e.freeze_at)
    )
);
create policy submissions_read on ctf.submissions for select to authenticated
using (
    user_id = (select auth.uid())
    or team_id in (select private.ctf_my_teams())
    or event_id in (select private.ctf_organised_events())
);
create policy flag_progress_read on ctf.flag_progress for select to authenticated
using (
    team_id in (select private.ctf_my_teams())
    or exists (
        select 1 from ctf.challenges as c
        where
            c.id = flag_progress.challenge_id
            and c.event_id in (select private.ctf_organised_events())
    )
);
create policy sharing_reports_read on ctf.sharing_reports for select to authenticated
using (event_id in (select private.ctf_organised_events()));
create policy feedback_read on ctf.feedback for select to authenticated
using (
    user_id = (select auth.uid())
    or event_id in (select private.ctf_organised_events())
);

-- Standings: live for organisers and for a team's own row; for everyone else live until the
-- freeze snapshot exists (until then nothing changed since the freeze), then the snapshot.
create policy standings_read on ctf.standings for select to anon, authenticated
using (
    event_id in (select private.ctf_organised_events())
    or team_id in (select private.ctf_my_teams())
    or (ranked and exists (
        select 1 from ctf.events as e
        where
            e.id = standings.event_id
            and (e.freeze_at is null or e.freeze_at > now() or e.frozen_snapshot_at is null)
    ))
);
create policy standings_frozen_read on ctf.standings_frozen for select to anon, authenticated
using (
    ranked and exists (
        select 1 from ctf.events as e
        where e.id = standings_frozen.event_id and e.frozen_snapshot_at is not null
    )
);

-- Grants: read-only, explicit. ----------------------------------------------------------------
grant select on ctf.events, ctf.brackets, ctf.organisers, ctf.participants, ctf.challenges,
ctf.challenge_writeups, ctf.challenge_prerequisites, ctf.hints, ctf.solves, ctf.awards,
ctf.standings, ctf.standings_frozen
to anon, authenticated, service_role;
grant select on ctf.challenge_contents, ctf.challenge_files, ctf.hint_contents, ctf.hint_unlocks,
ctf.flag_progress, ctf.sharing_reports, ctf.feedback
to authenticated, service_role;
-- Submissions without the client IP: teammates never see each other's addresses; organisers
-- read it through api.ctf_submissions (private.ctf_submission_ip).
grant select (
    id, event_id, challenge_id, team_id, user_id, result, correct, submitted_at
) on ctf.submissions to authenticated;
grant select on ctf.submissions to service_role;
-- The api views join content tables: anon holds the grant but no policy, so it reads no rows.
grant select on ctf.challenge_contents, ctf.hint_contents to anon;
-- Teams without the invite code column.
grant select (
    id, event_id, name, captain_id, bracket_id, solo, banned, hidden, created_at, updated_at
) on ctf.teams to anon, authenticated;
grant select on ctf.teams to service_role;
grant select on ctf.user_attempts, ctf.team_attempts, ctf.account_bans, ctf.team_kicks
to service_role;
-- ctf.flags: nothing for anyone, service_role included.
revoke all on ctf.flags from public, anon, authenticated, service_role;

-- Challenge files bucket ------------------------------------------------------------------------
insert into storage.buckets (id, name, public, file_size_limit)
values ('challenge-files', 'challenge-files', false, 104857600)
on conflict (id) do nothing;

create policy challenge_files_download on storage.objects for select to authenticated
using (
    bucket_id = 'challenge-files'
    and (storage.foldername(name))[1] in (select private.ctf_file_events())
);
create policy challenge_files_upload on storage.objects for insert to authenticated
with check (
    bucket_id = 'challenge-files'
    and (storage.foldername(name))[1] in (
        select x::text from private.ctf_organised_events() as x
    )
);
create policy challenge_files_replace on storage.objects for update to authenticated
using (
    bucket_id = 'challenge-files'
    and (storage.foldername(name))[1] in (
        select x::text from private.ctf_organised_events() as x
    )
)
with check (
    bucket_id = 'challenge-files'
    and (storage.foldername(name))[1] in (
        select x::text from private.ctf_organised_events() as x
    )
);
create policy challenge_files_remove on storage.objects for delete to authenticated
using (
    bucket_id = 'challenge-files'
    and (storage.foldername(name))[1] in (
        select x::text from private.ctf_organised_events() as x
    )
);
