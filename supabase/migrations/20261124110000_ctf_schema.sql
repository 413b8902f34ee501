-- ctf: events, brackets, organisers, teams and participants, challenges and their secrets.
--
-- Every write goes through api RPCs (security definer, each re-checking the caller); clients
-- hold SELECT grants only, filtered by RLS. Secrets (flags, per-team flag secrets, hint text
-- before unlock, invite codes) live in tables or columns no client role can read.
--
-- Individual-mode events give each participant a team of one ("solo" team): solves, awards
-- and standings are always per team, so both modes share one scoring path.

create schema if not exists ctf;
comment on schema ctf is
'CTF domain: events, challenges, flags, submissions, solves, teams, standings, hints, awards.';
grant usage on schema ctf to anon, authenticated, service_role;

insert into ops.error_codes (code, sqlstate, http_status, description) values
('ctf_event_not_found', 'PT404', 404, 'No such CTF event, or it is not visible to you.'),
('ctf_challenge_not_found', 'PT404', 404, 'No such challenge, or it is not visible to you.'),
('ctf_team_not_found', 'PT404', 404, 'No such team in this event.'),
('ctf_hint_not_found', 'PT404', 404, 'No such hint, or it is not visible to you.'),
('ctf_not_registered', 'PT403', 403, 'You are not registered for this event (join a team).'),
('ctf_banned', 'PT403', 403, 'You or your team are banned from this event.'),
('ctf_not_team_member', 'PT403', 403, 'You are not a member of that team.'),
('ctf_not_captain', 'PT403', 403, 'Only the team captain may do this.'),
('ctf_not_organiser', 'PT403', 403, 'Only an organiser of this event may do this.'),
('ctf_event_not_started', 'PT403', 403, 'The event has not started yet.'),
('ctf_event_ended', 'PT403', 403, 'The event has ended.'),
('ctf_event_paused', 'PT403', 403, 'The event is paused.'),
('ctf_challenge_locked', 'PT403', 403, 'The challenge is locked, hidden or not yet released.'),
(
    'ctf_prerequisites_unmet', 'PT403', 403,
    'Solve the prerequisite challenges first; details.requires lists them.'
),
(
    'ctf_attempts_exhausted', 'PT403', 403,
    'Your team used every attempt this challenge allows (max_attempts).'
),
('ctf_flag_too_long', '22023', 400, 'A submitted flag is at most 512 characters.'),
(
    'ctf_regex_unsafe', '22023', 400,
    'A regex flag may not use back-references or lookaround and is at most 200 characters.'
),
('ctf_registration_closed', 'PT403', 403, 'Registration for this event is closed.'),
('ctf_already_registered', 'PT409', 409, 'You are already in a team for this event.'),
('ctf_team_full', 'PT409', 409, 'The team has reached the event''s size limit.'),
('ctf_team_name_taken', 'PT409', 409, 'Another team of this event has that name.'),
('ctf_invite_invalid', 'PT404', 404, 'No team has that invite code.'),
(
    'ctf_captain_must_transfer', 'PT409', 409,
    'The captain of a team with other members must transfer captaincy before leaving.'
),
('ctf_wrong_mode', 'PT409', 409, 'Not possible in this event''s mode (individual / teams).'),
('ctf_slug_taken', 'PT409', 409, 'Another event has that slug.'),
('ctf_insufficient_points', 'PT409', 409, 'Your team has fewer points than the hint costs.'),
('ctf_hint_prerequisite', 'PT409', 409, 'Unlock the prerequisite hint first.'),
(
    'ctf_feedback_not_allowed', 'PT403', 403,
    'Feedback opens once your team solved the challenge or the event has ended.'
),
(
    'ctf_membership_locked', 'PT403', 403,
    'Your flag attempts in this event bind you to your team: you cannot leave it, join or '
    || 'found another team in this event.'
),
(
    'ctf_kicked', 'PT403', 403,
    'You were removed from this team; only a re-invite by its captain lets you join again.'
);

-- Instructors run CTFs for their classes: they may create events (admins hold ctf.organise
-- already). Per-event organisers are data (ctf.organisers), not a global role.
insert into accounts.role_permissions (role, permission)
values ('instructor', 'ctf.organise')
on conflict do nothing;

-- Types --------------------------------------------------------------------------------------
create type ctf.event_mode as enum ('individual', 'teams');
comment on type ctf.event_mode is 'individual: every participant is a team of one.';
create type ctf.event_visibility as enum ('public', 'members', 'private');
comment on type ctf.event_visibility is
'Who sees an event: everyone, signed-in members, or only its organisers and participants.';
create type ctf.challenge_state as enum ('hidden', 'visible', 'locked');
comment on type ctf.challenge_state is
'hidden: organisers only; visible: open; locked: listed (preview) but not open.';
create type ctf.scoring as enum ('static', 'linear', 'logarithmic', 'rctf');
comment on type ctf.scoring is
'static value, CTFd linear / "logarithmic" (parabolic) decay, or rCTF''s tanh curve.';
create type ctf.flag_kind as enum ('static', 'static_ci', 'regex', 'team');
comment on type ctf.flag_kind is
'static: exact (sha256 digest compared); static_ci: case-insensitive; regex: anchored match;
team: derived per team from a per-flag secret (sharing between teams is detected).';
create type ctf.writeup_visibility as enum ('never', 'after_solve', 'after_event');
comment on type ctf.writeup_visibility is 'When players may read a challenge''s write-up.';

-- Events -------------------------------------------------------------------------------------
create table ctf.events (
    id uuid primary key default gen_random_uuid(),
    slug text not null unique check (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
    title text not null check (char_length(title) between 1 and 120),
    description text not null default '' check (char_length(description) <= 20000),
    starts_at timestamptz,
    ends_at timestamptz,
    freeze_at timestamptz,
    paused boolean not null default false,
    mode ctf.event_mode not null default 'teams',
    team_size_limit int check (team_size_limit between 1 and 100),
    registration_open boolean not null default true,
    visibility ctf.event_visibility not null default 'public',
    is_practice boolean not null default false,
    wrong_per_minute int not null default 10 check (wrong_per_minute between 1 and 1000),
    frozen_snapshot_at timestamptz,
    created_by uuid references auth.users (id) on delete set null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    check (ends_at is null or starts_at is null or ends_at > starts_at),
    check (freeze_at is null or starts_at is null or freeze_at >= starts_at)
);
comment on table ctf.events is
'A CTF competition. starts_at null = open now; ends_at null = never ends (the practice
arena). freeze_at: non-organisers see standings as of that time. wrong_per_minute: wrong
submissions allowed per account per challenge per minute (CTFd''s default is 10).
frozen_snapshot_at: when the frozen standings were copied (on the first change after freeze).';
create index events_created_by_idx on ctf.events (created_by);
create trigger events_touch before update on ctf.events
for each row execute function private.touch_updated_at();

create table ctf.brackets (
    id uuid primary key default gen_random_uuid(),
    event_id uuid not null references ctf.events (id) on delete cascade,
    name text not null check (char_length(name) between 1 and 60),
    created_at timestamptz not null default now(),
    unique (event_id, name)
);
comment on table ctf.brackets is 'Scoreboard divisions of an event (e.g. student, open).';

create table ctf.organisers (
    event_id uuid not null references ctf.events (id) on delete cascade,
    user_id uuid not null references auth.users (id) on delete cascade,
    created_at timestamptz not null default now(),
    primary key (event_id, user_id)
);
comment on table ctf.organisers is
'Who organises each event (sees everything of it, edits it). Platform admins organise all.';
create index organisers_user_idx on ctf.organisers (user_id);

-- Teams and participants ----------------------------------------------------------------------
create table ctf.teams (
    id uuid primary key default gen_random_uuid(),
    event_id uuid not null references ctf.events (id) on delete cascade,
    name text not null check (char_length(btrim(name)) between 1 and 60),
    captain_id uuid references auth.users (id) on delete set null,
    bracket_id uuid references ctf.brackets (id) on delete set null,
    invite_code text not null unique default encode(sha256(gen_random_uuid()::text::bytea), 'hex'),
    solo boolean not null default false,
    banned boolean not null default false,
    hidden boolean not null default false,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (event_id, id)
);
comment on table ctf.teams is
'A team of an event (solo = a participant of an individual-mode event). Solves stay with
the team when members leave. banned/hidden teams are left out of standings and of the solve
counts that drive dynamic values. invite_code is secret: no client may select that column;
members read it through api.ctf_get_team_invite_code.';
create unique index teams_event_name_key on ctf.teams (event_id, lower(btrim(name)));
create index teams_captain_idx on ctf.teams (captain_id);
create index teams_bracket_idx on ctf.teams (bracket_id);
create trigger teams_touch before update on ctf.teams
for each row execute function private.touch_updated_at();

create table ctf.participants (
    event_id uuid not null references ctf.events (id) on delete cascade,
    user_id uuid not null references auth.users (id) on delete cascade,
    team_id uuid not null,
    banned boolean not null default false,
    joined_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (event_id, user_id),
    foreign key (event_id, team_id) references ctf.teams (event_id, id) on delete cascade
);
comment on table ctf.participants is
'Registration and team membership: one row per user per event, so a user is in at most one
team per event. banned: the account may not submit (its team''s solves stay).';
create index participants_team_idx on ctf.participants (event_id, team_id);
create index participants_team_only_idx on ctf.participants (team_id);
create index participants_user_idx on ctf.participants (user_id);
create trigger participants_touch before update on ctf.participants
for each row execute function private.touch_updated_at();

create table ctf.account_bans (
    event_id uuid not null references ctf.events (id) on delete cascade,
    user_id uuid not null references auth.users (id) on delete cascade,
    banned_by uuid references auth.users (id) on delete set null,
    reason text check (char_length(reason) <= 500),
    banned_at timestamptz not null default now(),
    primary key (event_id, user_id)
);
comment on table ctf.account_bans is
'Account bans per event: the ban follows the account, not its membership. A banned account
cannot register, create or join a team in the event again (participants.banned mirrors it
for the current membership). Written only by api.ctf_ban_participant.';
create index account_bans_user_idx on ctf.account_bans (user_id);
create index account_bans_banned_by_idx on ctf.account_bans (banned_by);

create table ctf.team_kicks (
    team_id uuid not null references ctf.teams (id) on delete cascade,
    user_id uuid not null references auth.users (id) on delete cascade,
    kicked_by uuid references auth.users (id) on delete set null,
    kicked_at timestamptz not null default now(),
    primary key (team_id, user_id)
);
comment on table ctf.team_kicks is
'Members removed from a team: they cannot rejoin it with its invite code (old or rotated)
until its captain re-invites them (api.ctf_reinvite_member).';
create index team_kicks_user_idx on ctf.team_kicks (user_id);
create index team_kicks_kicked_by_idx on ctf.team_kicks (kicked_by);

-- Challenges ----------------------------------------------------------------------------------
create table ctf.challenges (
    id uuid primary key default gen_random_uuid(),
    event_id uuid not null references ctf.events (id) on delete cascade,
    title text not null check (char_length(title) between 1 and 120),
    category text not null default 'misc' check (char_length(category) between 1 and 40),
    tags text[] not null default '{}' check (cardinality(tags) <= 20),
    difficulty int check (difficulty between 1 and 5),
    state ctf.challenge_state not null default 'hidden',
    release_at timestamptz,
    anonymise_when_locked boolean not null default true,
    preview text not null default '' check (char_length(preview) <= 2000),
    max_attempts int check (max_attempts between 1 and 100000),
    attempt_window interval check (attempt_window > interval '0'),
    flag_logic text not null default 'any' check (flag_logic in ('any', 'all')),
    writeup_visibility ctf.writeup_visibility not null default 'never',
    author_id uuid references auth.users (id) on delete set null,
    author_credit text check (char_length(author_credit) <= 120),
    scoring ctf.scoring not null default 'static',
    initial int not null default 100 check (initial between 0 and 100000),
    minimum int not null default 0 check (minimum >= 0),
    decay int not null default 0 check (decay >= 0),
    first_blood_bonus numeric[] not null default '{}' check (cardinality(first_blood_bonus) <= 10),
    value int not null default 100,
    solve_count int not null default 0,
    position int not null default 0,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    check (minimum <= initial)
);
comment on table ctf.challenges is
'Challenge metadata (public once released). value and solve_count are maintained in the solve
transaction: solve_count counts solves by teams neither hidden nor banned, and value is the
scoring function at that count. max_attempts with attempt_window null locks a team out after N
wrong flags; with a window it allows N wrong flags per window. first_blood_bonus multiplies
the value for the first solvers (e.g. {1.05,1.03,1.01}). Description, connection info and
write-up live in ctf.challenge_contents / ctf.challenge_writeups (their own visibility).';
create index challenges_event_idx on ctf.challenges (event_id, position, id);
create index challenges_author_idx on ctf.challenges (author_id);
create trigger challenges_touch before update on ctf.challenges
for each row execute function private.touch_updated_at();

create table ctf.challenge_contents (
    challenge_id uuid primary key references ctf.challenges (id) on delete cascade,
    event_id uuid not null references ctf.events (id) on delete cascade,
    description text not null default '' check (char_length(description) <= 50000),
    connection_info text check (char_length(connection_info) <= 2000),
    updated_at timestamptz not null default now()
);
comment on table ctf.challenge_contents is
'What a challenge asks (markdown) and how to reach it: readable by organisers, and by
registered participants once the challenge is open to their team (visible, released, event
started, prerequisites solved).';
create index challenge_contents_event_idx on ctf.challenge_contents (event_id);
create trigger challenge_contents_touch before update on ctf.challenge_contents
for each row execute function private.touch_updated_at();

create table ctf.challenge_writeups (
    challenge_id uuid primary key references ctf.challenges (id) on delete cascade,
    event_id uuid not null references ctf.events (id) on delete cascade,
    content text not null check (char_length(content) <= 100000),
    updated_at timestamptz not null default now()
);
comment on table ctf.challenge_writeups is
'Official solution write-up; readable per the challenge''s writeup_visibility.';
create index challenge_writeups_event_idx on ctf.challenge_writeups (event_id);
create trigger challenge_writeups_touch before update on ctf.challenge_writeups
for each row execute function private.touch_updated_at();

create table ctf.challenge_prerequisites (
    challenge_id uuid not null references ctf.challenges (id) on delete cascade,
    requires_id uuid not null references ctf.challenges (id) on delete cascade,
    primary key (challenge_id, requires_id),
    check (challenge_id <> requires_id)
);
comment on table ctf.challenge_prerequisites is
'Challenges a team must solve before this one opens.';
create index challenge_prerequisites_requires_idx on ctf.challenge_prerequisites (requires_id);

create table ctf.challenge_files (
    id uuid primary key default gen_random_uuid(),
    challenge_id uuid not null references ctf.challenges (id) on delete cascade,
    event_id uuid not null references ctf.events (id) on delete cascade,
    name text not null check (char_length(name) between 1 and 200),
    storage_path text not null check (char_length(storage_path) <= 500),
    sha256 text check (sha256 ~ '^[0-9a-f]{64}$'),
    created_at timestamptz not null default now(),
    unique (challenge_id, name)
);
comment on table ctf.challenge_files is
'Attachments: objects of the private challenge-files bucket at <event id>/<challenge id>/...
sha256 is the inspected object''s digest (kept by the files triggers), shown to players.';
create index challenge_files_event_idx on ctf.challenge_files (event_id);

create table ctf.flags (
    id uuid primary key default gen_random_uuid(),
    challenge_id uuid not null references ctf.challenges (id) on delete cascade,
    kind ctf.flag_kind not null,
    digest bytea check (digest is null or octet_length(digest) = 32),
    pattern text check (char_length(pattern) <= 200),
    secret bytea check (secret is null or octet_length(secret) = 32),
    template text check (template is null or template ~ '^[^%]*%s[^%]*$'),
    label text check (char_length(label) <= 60),
    created_at timestamptz not null default now(),
    check (
        (kind in ('static', 'static_ci') and digest is not null)
        or (kind = 'regex' and pattern is not null)
        or (kind = 'team' and secret is not null and template is not null)
    )
);
comment on table ctf.flags is
'SECRET. Accepted flags: sha256 digests (never plaintext) for static kinds, an anchored
pattern for regex, a 32-byte secret and a template (e.g. flag{%s}) for per-team flags.
No client role (not even service_role) has any grant: only definer functions read it.';
create index flags_challenge_idx on ctf.flags (challenge_id);

-- Hints ---------------------------------------------------------------------------------------
create table ctf.hints (
    id uuid primary key default gen_random_uuid(),
    challenge_id uuid not null references ctf.challenges (id) on delete cascade,
    event_id uuid not null references ctf.events (id) on delete cascade,
    title text not null default 'Hint' check (char_length(title) between 1 and 120),
    cost int not null default 0 check (cost between 0 and 100000),
    requires_hint_id uuid references ctf.hints (id) on delete set null,
    position int not null default 0,
    created_at timestamptz not null default now()
);
comment on table ctf.hints is
'Hint metadata (title, cost, prerequisite hint). The text is in ctf.hint_contents.';
create index hints_challenge_idx on ctf.hints (challenge_id, position);
create index hints_event_idx on ctf.hints (event_id);
create index hints_requires_idx on ctf.hints (requires_hint_id);

create table ctf.hint_contents (
    hint_id uuid primary key references ctf.hints (id) on delete cascade,
    event_id uuid not null references ctf.events (id) on delete cascade,
    content text not null check (char_length(content) <= 20000)
);
comment on table ctf.hint_contents is
'SECRET until unlocked: readable by organisers and by teams that unlocked the hint.';
create index hint_contents_event_idx on ctf.hint_contents (event_id);

-- Solves, submissions, awards ------------------------------------------------------------------
create table ctf.solves (
    id bigint generated always as identity primary key,
    event_id uuid not null references ctf.events (id) on delete cascade,
    challenge_id uuid not null references ctf.challenges (id) on delete cascade,
    team_id uuid not null references ctf.teams (id) on delete cascade,
    user_id uuid references auth.users (id) on delete set null,
    blood_rank int check (blood_rank >= 1),
    solved_at timestamptz not null default now(),
    unique (challenge_id, team_id)
);
comment on table ctf.solves is
'One row per team and solved challenge (the unique key makes a double solve impossible).
blood_rank: the solver''s place among counted solvers when it solved (first blood = 1); the
first-blood bonus follows it. Points are not stored: they follow the challenge''s value.';
create index solves_team_idx on ctf.solves (team_id, solved_at);
create index solves_event_idx on ctf.solves (event_id, solved_at);
create index solves_user_idx on ctf.solves (user_id);

create table ctf.submissions (
    id bigint generated always as identity primary key,
    event_id uuid not null references ctf.events (id) on delete cascade,
    challenge_id uuid not null references ctf.challenges (id) on delete cascade,
    team_id uuid references ctf.teams (id) on delete cascade,
    user_id uuid references auth.users (id) on delete set null,
    result text not null check (
        result in ('correct', 'partial', 'incorrect', 'already_solved', 'shared_flag')
    ),
    correct boolean not null,
    ip inet,
    submitted_at timestamptz not null default now()
);
comment on table ctf.submissions is
'Every flag attempt: who, team, challenge, time, result, client IP (from request.headers).
The submitted text is not kept (a correct one is a flag). Rate limits never scan this table.';
create index submissions_challenge_idx on ctf.submissions (challenge_id, submitted_at);
create index submissions_team_idx on ctf.submissions (team_id, submitted_at);
create index submissions_user_idx on ctf.submissions (user_id, submitted_at);
create index submissions_event_idx on ctf.submissions (event_id, submitted_at);

create table ctf.flag_progress (
    team_id uuid not null references ctf.teams (id) on delete cascade,
    flag_id uuid not null references ctf.flags (id) on delete cascade,
    challenge_id uuid not null references ctf.challenges (id) on delete cascade,
    user_id uuid references auth.users (id) on delete set null,
    found_at timestamptz not null default now(),
    primary key (team_id, flag_id)
);
comment on table ctf.flag_progress is
'Partial progress on all-flags challenges: which of its flags a team has found.';
create index flag_progress_flag_idx on ctf.flag_progress (flag_id);
create index flag_progress_challenge_idx on ctf.flag_progress (challenge_id, team_id);
create index flag_progress_user_idx on ctf.flag_progress (user_id);

create table ctf.sharing_reports (
    id bigint generated always as identity primary key,
    event_id uuid not null references ctf.events (id) on delete cascade,
    challenge_id uuid not null references ctf.challenges (id) on delete cascade,
    submitter_team_id uuid references ctf.teams (id) on delete cascade,
    submitter_user_id uuid references auth.users (id) on delete set null,
    owner_team_id uuid references ctf.teams (id) on delete cascade,
    submission_id bigint references ctf.submissions (id) on delete set null,
    reported_at timestamptz not null default now()
);
comment on table ctf.sharing_reports is
'Suspected flag sharing: a team submitted the per-team flag of another team. Organisers only.';
create index sharing_reports_event_idx on ctf.sharing_reports (event_id, reported_at desc);
create index sharing_reports_challenge_idx on ctf.sharing_reports (challenge_id);
create index sharing_reports_submitter_idx on ctf.sharing_reports (submitter_team_id);
create index sharing_reports_user_idx on ctf.sharing_reports (submitter_user_id);
create index sharing_reports_owner_idx on ctf.sharing_reports (owner_team_id);
create index sharing_reports_submission_idx on ctf.sharing_reports (submission_id);

create table ctf.awards (
    id bigint generated always as identity primary key,
    event_id uuid not null references ctf.events (id) on delete cascade,
    team_id uuid not null references ctf.teams (id) on delete cascade,
    value int not null check (value between -1000000 and 1000000),
    reason text not null check (char_length(reason) between 1 and 500),
    hint_id uuid references ctf.hints (id) on delete cascade,
    created_by uuid references auth.users (id) on delete set null,
    created_at timestamptz not null default now(),
    unique (team_id, hint_id)
);
comment on table ctf.awards is
'Points granted (or taken) by organisers with a reason, and hint costs (negative, hint_id set).';
create index awards_event_idx on ctf.awards (event_id, created_at);
create index awards_hint_idx on ctf.awards (hint_id);
create index awards_created_by_idx on ctf.awards (created_by);

create table ctf.hint_unlocks (
    team_id uuid not null references ctf.teams (id) on delete cascade,
    hint_id uuid not null references ctf.hints (id) on delete cascade,
    event_id uuid not null references ctf.events (id) on delete cascade,
    user_id uuid references auth.users (id) on delete set null,
    unlocked_at timestamptz not null default now(),
    primary key (team_id, hint_id)
);
comment on table ctf.hint_unlocks is 'Which team unlocked which hint (and who, when).';
create index hint_unlocks_hint_idx on ctf.hint_unlocks (hint_id);
create index hint_unlocks_event_idx on ctf.hint_unlocks (event_id);
create index hint_unlocks_user_idx on ctf.hint_unlocks (user_id);

create table ctf.feedback (
    challenge_id uuid not null references ctf.challenges (id) on delete cascade,
    user_id uuid not null references auth.users (id) on delete cascade,
    event_id uuid not null references ctf.events (id) on delete cascade,
    rating int not null check (rating between 1 and 5),
    comment text check (char_length(comment) <= 2000),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (challenge_id, user_id)
);
comment on table ctf.feedback is
'Per-challenge rating (1-5) and comment, after solving or after the event; organisers read all.';
create index feedback_user_idx on ctf.feedback (user_id);
create index feedback_event_idx on ctf.feedback (event_id);
create trigger feedback_touch before update on ctf.feedback
for each row execute function private.touch_updated_at();

-- Attempt counters: small rows read by primary key, so limits never scan submissions.
create table ctf.user_attempts (
    challenge_id uuid not null references ctf.challenges (id) on delete cascade,
    user_id uuid not null references auth.users (id) on delete cascade,
    window_start timestamptz not null,
    wrong_in_window int not null default 0,
    primary key (challenge_id, user_id)
);
comment on table ctf.user_attempts is
'Wrong submissions per account and challenge in the current one-minute window (rate limit).';
create index user_attempts_user_idx on ctf.user_attempts (user_id);

create table ctf.team_attempts (
    challenge_id uuid not null references ctf.challenges (id) on delete cascade,
    team_id uuid not null references ctf.teams (id) on delete cascade,
    wrong_total int not null default 0,
    window_start timestamptz not null,
    wrong_in_window int not null default 0,
    primary key (challenge_id, team_id)
);
comment on table ctf.team_attempts is
'Wrong submissions per team and challenge: in total (lockout) and in the current window.';
create index team_attempts_team_idx on ctf.team_attempts (team_id);

-- Standings -------------------------------------------------------------------------------------
create table ctf.standings (
    event_id uuid not null references ctf.events (id) on delete cascade,
    team_id uuid not null references ctf.teams (id) on delete cascade,
    bracket_id uuid references ctf.brackets (id) on delete set null,
    ranked boolean not null default true,
    score bigint not null default 0,
    solve_count int not null default 0,
    last_score_at timestamptz,
    primary key (event_id, team_id)
);
comment on table ctf.standings is
'Live standings, kept incrementally in the transaction of each solve, award and hint unlock:
score = solve points at current values + awards - hint costs; last_score_at (the time the
score was reached: last solve or positive award) breaks ties. ranked = team neither hidden
nor banned. private.ctf_recompute_event() rebuilds it from scratch; tests assert both agree.';
create index standings_rank_idx on ctf.standings (event_id, score desc, last_score_at, team_id)
where ranked;
create index standings_bracket_rank_idx
on ctf.standings (event_id, bracket_id, score desc, last_score_at, team_id)
where ranked;
create index standings_team_idx on ctf.standings (team_id);
create index standings_bracket_idx on ctf.standings (bracket_id);

create table ctf.standings_frozen (
    event_id uuid not null references ctf.events (id) on delete cascade,
    team_id uuid not null references ctf.teams (id) on delete cascade,
    bracket_id uuid references ctf.brackets (id) on delete set null,
    ranked boolean not null,
    score bigint not null,
    solve_count int not null,
    last_score_at timestamptz,
    primary key (event_id, team_id)
);
comment on table ctf.standings_frozen is
'Standings as of the freeze: copied from ctf.standings by the first change after freeze_at,
and shown to non-organisers while the event is frozen.';
create index standings_frozen_rank_idx
on ctf.standings_frozen (event_id, score desc, last_score_at, team_id)
where ranked;
create index standings_frozen_bracket_rank_idx
on ctf.standings_frozen (event_id, bracket_id, score desc, last_score_at, team_id)
where ranked;
create index standings_frozen_team_idx on ctf.standings_frozen (team_id);
create index standings_frozen_bracket_idx on ctf.standings_frozen (bracket_id);
