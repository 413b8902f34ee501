-- accounts: the append-only activity stream, with XP and daily streaks derived from it.
--
-- Other domains record what users do through private.record_activity() in the same
-- transaction as the change. accounts.stats is kept incrementally (one small row per user,
-- so profile pages never aggregate the stream); private.recompute_stats() derives the same
-- numbers from the stream, and tests assert that both agree.

insert into ops.error_codes (code, sqlstate, http_status, description) values
('activity_invalid', '22023', 400, 'An activity record is malformed; details.field names it.');

create table accounts.activity (
    id bigint generated always as identity primary key,
    actor_id uuid not null references auth.users (id) on delete cascade,
    verb text not null check (verb ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$'),
    object_type text not null check (object_type ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$'),
    object_id text not null check (char_length(object_id) <= 200),
    result jsonb not null default '{}',
    xp int not null default 0 check (xp between 0 and 10000),
    occurred_at timestamptz not null default now(),
    activity_day date not null,
    hidden_until timestamptz
);
comment on table accounts.activity is
'Append-only stream of what users did (actor, verb, object, result, XP earned, time).
activity_day is the day in the actor''s time zone when it happened, for streaks.
hidden_until: until then the record counts for its owner only (a CTF solve during the
scoreboard freeze would reveal frozen results); the one column the owning domain may move.';
create index activity_actor_idx on accounts.activity (actor_id, id desc);
create index activity_object_idx on accounts.activity (object_type, object_id);
create index activity_hidden_idx on accounts.activity (actor_id) where hidden_until is not null;
alter table accounts.activity enable row level security;
create trigger activity_append_only before update on accounts.activity
for each row
when (
    (
        old.id, old.actor_id, old.verb, old.object_type, old.object_id, old.result, old.xp,
        old.occurred_at, old.activity_day
    )
    is distinct from
    (
        new.id, new.actor_id, new.verb, new.object_type, new.object_id, new.result, new.xp,
        new.occurred_at, new.activity_day
    )
)
execute function private.forbid_change();

create table accounts.stats (
    user_id uuid primary key references auth.users (id) on delete cascade,
    xp bigint not null default 0,
    activity_count bigint not null default 0,
    current_streak int not null default 0,
    longest_streak int not null default 0,
    last_active_on date,
    updated_at timestamptz not null default now()
);
comment on table accounts.stats is
'Totals derived from accounts.activity, kept in the same transaction as each record.';
alter table accounts.stats enable row level security;

create policy activity_read_own on accounts.activity for select to authenticated
using (actor_id = (select auth.uid()));
grant select on accounts.activity to authenticated, service_role;

create function private.shows_activity(p_user uuid) returns boolean
language sql stable
security definer
set search_path = ''
as $$
    select coalesce(
        (
            select (s.prefs #>> '{privacy,show_activity}')::boolean
            from accounts.settings as s where s.user_id = p_user
        ),
        (private.default_settings() #>> '{privacy,show_activity}')::boolean
    )
$$;
comment on function private.shows_activity(uuid) is
'Does the user let others see their XP and streaks? Definer: it reads one flag of a
settings row the caller may not read.';
revoke execute on function private.shows_activity(uuid) from public;
grant execute on function private.shows_activity(uuid) to anon, authenticated, service_role;

-- Stats are as visible as the profile, unless the owner hides their activity.
create policy stats_read on accounts.stats for select to anon, authenticated
using (
    stats.user_id = (select auth.uid())
    or (
        exists (select 1 from accounts.profiles as p where p.id = stats.user_id)
        and private.shows_activity(stats.user_id)
    )
);
grant select on accounts.stats to anon, authenticated, service_role;

create function private.record_activity(
    p_actor uuid,
    p_verb text,
    p_object_type text,
    p_object_id text,
    p_result jsonb default '{}',
    p_xp int default 0,
    p_occurred_at timestamptz default now(),
    p_hidden_until timestamptz default null
) returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_day date;
    v_id bigint;
begin
    if p_actor is null then
        perform private.raise_error('activity_invalid', 'An activity needs an actor.', '22023',
            jsonb_build_object('field', 'actor'));
    end if;
    if p_verb is null or p_verb !~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$' then
        perform private.raise_error('activity_invalid', 'verb is a dotted lowercase name.',
            '22023', jsonb_build_object('field', 'verb'));
    end if;
    if p_xp is null or p_xp not between 0 and 10000 then
        perform private.raise_error('activity_invalid', 'xp is between 0 and 10000.', '22023',
            jsonb_build_object('field', 'xp'));
    end if;
    if p_occurred_at is null or p_occurred_at > now() + interval '1 minute' then
        perform private.raise_error('activity_invalid', 'occurred_at cannot be in the future.',
            '22023', jsonb_build_object('field', 'occurred_at'));
    end if;
    v_day := (p_occurred_at at time zone (private.user_settings(p_actor) ->> 'timezone'))::date;
    insert into accounts.activity (actor_id, verb, object_type, object_id, result, xp,
                                   occurred_at, activity_day, hidden_until)
    values (p_actor, p_verb, p_object_type, p_object_id, coalesce(p_result, '{}'), p_xp,
            p_occurred_at, v_day, p_hidden_until)
    returning id into v_id;

    -- A back-dated record (an import) can split or join streaks: derive from the stream.
    if v_day < (select s.last_active_on from accounts.stats as s where s.user_id = p_actor) then
        insert into accounts.stats as s (user_id, xp, activity_count, current_streak,
                                         longest_streak, last_active_on)
        select p_actor, r.xp, r.activity_count, r.current_streak, r.longest_streak,
               r.last_active_on
        from private.recompute_stats(p_actor) as r
        on conflict (user_id) do update set
            xp = excluded.xp, activity_count = excluded.activity_count,
            current_streak = excluded.current_streak, longest_streak = excluded.longest_streak,
            last_active_on = excluded.last_active_on, updated_at = now();
        return v_id;
    end if;

    insert into accounts.stats as s (user_id, xp, activity_count, current_streak,
                                     longest_streak, last_active_on)
    values (p_actor, p_xp, 1, 1, 1, v_day)
    on conflict (user_id) do update set
        xp = s.xp + excluded.xp,
        activity_count = s.activity_count + 1,
        current_streak = case
            when s.last_active_on = v_day then s.current_streak
            when s.last_active_on = v_day - 1 then s.current_streak + 1
            else 1 end,
        longest_streak = greatest(s.longest_streak, case
            when s.last_active_on = v_day then s.current_streak
            when s.last_active_on = v_day - 1 then s.current_streak + 1
            else 1 end),
        last_active_on = greatest(s.last_active_on, v_day),
        updated_at = now();
    return v_id;
end;
$$;
comment on function private.record_activity(
    uuid, text, text, text, jsonb, int, timestamptz, timestamptz
) is
'Append to the activity stream and update XP and streaks, in the caller''s transaction.
Called by other domains'' definer functions (lesson completed, challenge solved, ...).
p_hidden_until: others do not see this record''s XP before then (null: at once).';
revoke execute on function private.record_activity(
    uuid, text, text, text, jsonb, int, timestamptz, timestamptz
) from public;

create function private.recompute_stats(p_user uuid)
returns table (
    xp bigint, activity_count bigint, current_streak int, longest_streak int,
    last_active_on date
)
language sql stable
security definer
set search_path = ''
as $$
    with days as (
        select distinct a.activity_day as d from accounts.activity as a
        where a.actor_id = p_user
    ),
    runs as (
        select d, d - (row_number() over (order by d))::int as grp from days
    ),
    streaks as (
        select max(d) as last_day, count(*)::int as len from runs group by grp
    ),
    totals as (
        select coalesce(sum(a.xp), 0)::bigint as xp, count(*)::bigint as n
        from accounts.activity as a where a.actor_id = p_user
    )
    select
        t.xp,
        t.n,
        coalesce((select s.len from streaks as s order by s.last_day desc limit 1), 0),
        coalesce((select max(s.len) from streaks as s), 0),
        (select max(d) from days)
    from totals as t
$$;
comment on function private.recompute_stats(uuid) is
'The stats of a user derived from the whole stream; equals accounts.stats (tested).
current_streak is the length of the latest run of consecutive active days.';
revoke execute on function private.recompute_stats(uuid) from public;

create view api.accounts_my_activity with (security_invoker = true) as
select
    a.id,
    a.verb,
    a.object_type,
    a.object_id,
    a.result,
    a.xp,
    a.occurred_at
from accounts.activity as a
where (select private.key_may_read('api.accounts_my_activity'));
comment on view api.accounts_my_activity is
'Your own activity stream, newest first by id (keyset: id < last seen id).';
grant select on api.accounts_my_activity to authenticated, service_role;

create function private.activity_hidden_from_others(
    p_user uuid, out xp bigint, out activity_count bigint
)
language sql stable
security definer
set search_path = ''
as $$
    select coalesce(sum(a.xp), 0)::bigint, count(*)::bigint
    from accounts.activity as a
    where a.actor_id = p_user and a.hidden_until > now()
      and p_user is distinct from (select auth.uid())
$$;
comment on function private.activity_hidden_from_others(uuid) is
'XP and number of the user''s activity records others may not see yet (hidden_until in the
future; e.g. CTF solves during a scoreboard freeze). Zero for the user themself. Reads the
partial index of hidden records only.';
revoke execute on function private.activity_hidden_from_others(uuid) from public;
grant execute on function private.activity_hidden_from_others(uuid)
to anon, authenticated, service_role;

create view api.accounts_profile_stats with (security_invoker = true) as
select
    s.user_id,
    s.xp - h.xp as xp,
    s.activity_count - h.activity_count as activity_count,
    s.current_streak,
    s.longest_streak,
    s.last_active_on
from accounts.stats as s
cross join lateral private.activity_hidden_from_others(s.user_id) as h
where (select private.key_may_read('api.accounts_profile_stats'));
comment on view api.accounts_profile_stats is
'XP and streaks of the profiles you may see, unless their owner hides activity. XP still
hidden from others (a CTF solve during the scoreboard freeze) counts for its owner only.';
grant select on api.accounts_profile_stats to anon, authenticated, service_role;
