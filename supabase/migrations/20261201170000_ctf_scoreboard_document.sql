-- ctf: the top-100 scoreboard as a per-event document, kept exact in the transaction of every
-- change to standings or team names, and served with a strong ETag (304 when unchanged).
--
-- Maintenance: statement-level triggers on ctf.standings, ctf.standings_frozen and ctf.teams
-- queue the event once per transaction (a transaction-local flag, then a marker row); a
-- deferred constraint trigger on the marker rebuilds the document at commit. The rebuild
-- locks the document row first, so concurrent solves rebuild one after another, each from a
-- snapshot taken after the lock: the last commit always leaves a board that includes every
-- committed change (never stale). Until its commit, a transaction that changed standings
-- reads the board computed from the tables (it sees its own changes).

-- Tables ----------------------------------------------------------------------------------------
create table ctf.scoreboards (
    event_id uuid not null references ctf.events (id) on delete cascade,
    frozen boolean not null,
    rows jsonb not null default '[]'::jsonb,
    etag text not null,
    refreshed_at timestamptz not null default now(),
    primary key (event_id, frozen)
);
comment on table ctf.scoreboards is
'The top-100 scoreboard of each event as a document: live (frozen = false) and as of the
freeze (frozen = true, once the snapshot exists). rows are api.ctf_get_scoreboard''s rows;
etag is md5 of rows. Rebuilt at the commit of every change to standings or team names.
Read only by definer functions.';
alter table ctf.scoreboards enable row level security;

create table ctf.scoreboard_pending (
    id bigint generated always as identity primary key,
    event_id uuid not null,
    frozen boolean not null
);
comment on table ctf.scoreboard_pending is
'Work queue of the scoreboard documents to rebuild at commit: one row per event, variant and
transaction, deleted by the deferred trigger that rebuilds it (empty outside transactions).';
alter table ctf.scoreboard_pending enable row level security;

-- Building ----------------------------------------------------------------------------------
create function private.ctf_board_flag(p_event uuid, p_frozen boolean) returns text
language sql immutable
set search_path = ''
as $$
    select 'ctf_board.' || case when p_frozen then 'f' else 'l' end
        || replace(p_event::text, '-', '')
$$;
comment on function private.ctf_board_flag(uuid, boolean) is
'Name of the transaction-local setting that marks an event''s board as changed (and its
rebuild queued) in the current transaction.';

create function private.ctf_board_rows(p_event uuid, p_frozen boolean) returns jsonb
language sql stable
security definer
set search_path = ''
as $$
    select coalesce(jsonb_agg(jsonb_build_object(
        'pos', x.pos, 'team_id', x.team_id, 'team_name', t.name, 'bracket_id', x.bracket_id,
        'score', x.score, 'solve_count', x.solve_count, 'last_score_at', x.last_score_at
    ) order by x.pos), '[]'::jsonb)
    from (
        select
            row_number() over (order by s.score desc, s.last_score_at, s.team_id) as pos,
            s.team_id, s.bracket_id, s.score, s.solve_count, s.last_score_at
        from (
            select l.team_id, l.bracket_id, l.score, l.solve_count, l.last_score_at
            from ctf.standings as l
            where not p_frozen and l.event_id = p_event and l.ranked
              and l.last_score_at is not null
            order by l.score desc, l.last_score_at, l.team_id
            limit 100
        ) as s
        union all
        select
            row_number() over (order by f.score desc, f.last_score_at, f.team_id),
            f.team_id, f.bracket_id, f.score, f.solve_count, f.last_score_at
        from (
            select z.team_id, z.bracket_id, z.score, z.solve_count, z.last_score_at
            from ctf.standings_frozen as z
            where p_frozen and z.event_id = p_event and z.ranked
              and z.last_score_at is not null
            order by z.score desc, z.last_score_at, z.team_id
            limit 100
        ) as f
    ) as x
    join ctf.teams as t on t.id = x.team_id
$$;
comment on function private.ctf_board_rows(uuid, boolean) is
'The top 100 of an event computed from the standings (live or frozen): what the document
holds. Two index scans of the ranking indexes, at most 100 team lookups.';

create function private.ctf_refresh_board(p_event uuid, p_frozen boolean) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_rows jsonb;
begin
    if not exists (select 1 from ctf.events where id = p_event) then
        return;  -- the event was deleted in this transaction (its documents cascade)
    end if;
    insert into ctf.scoreboards (event_id, frozen, etag) values (p_event, p_frozen, '')
    on conflict (event_id, frozen) do nothing;
    -- The lock orders concurrent rebuilds; the statements below see every change committed
    -- before it was granted (read committed: a fresh snapshot per statement).
    perform 1 from ctf.scoreboards where event_id = p_event and frozen = p_frozen for update;
    v_rows := private.ctf_board_rows(p_event, p_frozen);
    update ctf.scoreboards set rows = v_rows, etag = md5(v_rows::text), refreshed_at = now()
    where event_id = p_event and frozen = p_frozen and etag is distinct from md5(v_rows::text);
end;
$$;
comment on function private.ctf_refresh_board(uuid, boolean) is
'Rebuild one scoreboard document (locks its row first; writes only when it changed).';

create function private.ctf_board_queue() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_event uuid;
    v_frozen boolean := tg_table_name = 'standings_frozen';
begin
    for v_event in
        select distinct event_id from changed_rows
    loop
        if current_setting(private.ctf_board_flag(v_event, v_frozen), true)
            is distinct from 'queued' then
            perform set_config(private.ctf_board_flag(v_event, v_frozen), 'queued', true);
            insert into ctf.scoreboard_pending (event_id, frozen) values (v_event, v_frozen);
        end if;
        if tg_table_name = 'teams' then
            -- a renamed team shows in both documents
            if current_setting(private.ctf_board_flag(v_event, true), true)
                is distinct from 'queued' then
                perform set_config(private.ctf_board_flag(v_event, true), 'queued', true);
                insert into ctf.scoreboard_pending (event_id, frozen) values (v_event, true);
            end if;
        end if;
    end loop;
    return null;
end;
$$;
comment on function private.ctf_board_queue() is
'Statement trigger on standings, standings_frozen and teams: queue the rebuild of the
changed events'' scoreboard documents, once per event and transaction.';

create function private.ctf_board_rebuild() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    delete from ctf.scoreboard_pending where id = new.id;
    perform private.ctf_refresh_board(new.event_id, new.frozen);
    return null;
end;
$$;
comment on function private.ctf_board_rebuild() is
'Deferred (commit-time) trigger on ctf.scoreboard_pending: rebuild the queued document.';

create constraint trigger scoreboard_pending_rebuild after insert on ctf.scoreboard_pending
deferrable initially deferred
for each row execute function private.ctf_board_rebuild();

create trigger standings_board_insert after insert on ctf.standings
referencing new table as changed_rows
for each statement execute function private.ctf_board_queue();
create trigger standings_board_update after update on ctf.standings
referencing new table as changed_rows
for each statement execute function private.ctf_board_queue();
create trigger standings_board_delete after delete on ctf.standings
referencing old table as changed_rows
for each statement execute function private.ctf_board_queue();
create trigger standings_frozen_board_insert after insert on ctf.standings_frozen
referencing new table as changed_rows
for each statement execute function private.ctf_board_queue();
create trigger standings_frozen_board_delete after delete on ctf.standings_frozen
referencing old table as changed_rows
for each statement execute function private.ctf_board_queue();
create trigger teams_board_update after update on ctf.teams
referencing new table as changed_rows
for each statement execute function private.ctf_board_queue();

-- Reading -----------------------------------------------------------------------------------
create function private.ctf_board(p_event uuid, p_frozen boolean) returns ctf.scoreboards
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    v_doc ctf.scoreboards;
begin
    if current_setting(private.ctf_board_flag(p_event, p_frozen), true)
        is distinct from 'queued' then
        select * into v_doc from ctf.scoreboards where event_id = p_event and frozen = p_frozen;
    end if;
    if v_doc.event_id is null then
        -- changed by this transaction (rebuilt at its commit), or never built yet
        v_doc.event_id := p_event;
        v_doc.frozen := p_frozen;
        v_doc.rows := private.ctf_board_rows(p_event, p_frozen);
        v_doc.etag := md5(v_doc.rows::text);
    end if;
    return v_doc;
end;
$$;
comment on function private.ctf_board(uuid, boolean) is
'The current top-100 document of an event: the stored one, or computed from the tables when
this transaction changed them (or none was built yet).';

create function private.ctf_etag_matches(p_etag text) returns boolean
language sql stable
set search_path = ''
as $$
    select exists (
        select 1
        from regexp_split_to_table(coalesce(
            nullif(current_setting('request.headers', true), '')::json ->> 'if-none-match', ''
        ), ',') as c (tag)
        where btrim(c.tag) in ('*', '"' || p_etag || '"', 'W/"' || p_etag || '"')
    )
$$;
comment on function private.ctf_etag_matches(text) is
'Does the request''s If-None-Match list the entity tag (weak comparison, as RFC 9110 asks for
If-None-Match; "*" matches any)?';

create function api.ctf_get_scoreboard_document(p_event_id uuid) returns jsonb
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    v_ev ctf.events;
    v_doc ctf.scoreboards;
begin
    perform private.require_scope('api.ctf_get_scoreboard_document');  -- API key scope
    select * into v_ev from ctf.events where id = p_event_id;
    if v_ev.id is null or not private.ctf_caller_sees_event(v_ev) then
        perform private.raise_error('ctf_event_not_found', 'No such event.', 'PT404');
    end if;
    v_doc := private.ctf_board(v_ev.id, private.ctf_sees_frozen(v_ev.id));
    perform set_config('response.headers', json_build_array(
        json_build_object('ETag', '"' || v_doc.etag || '"'),
        json_build_object('Cache-Control', 'private, no-cache'),
        json_build_object('Vary', 'Authorization, apikey')
    )::text, true);
    if private.ctf_etag_matches(v_doc.etag) then
        perform set_config('response.status', '304', true);
    end if;
    return jsonb_build_object('event_id', v_ev.id, 'frozen', v_doc.frozen, 'etag', v_doc.etag,
        'rows', v_doc.rows);
end;
$$;
comment on function api.ctf_get_scoreboard_document(uuid) is
'The top 100 of an event as one document {event_id, frozen, etag, rows: [{pos, team_id,
team_name, bracket_id, score, solve_count, last_score_at}]} — the rows of
api.ctf_get_scoreboard(event), frozen for non-organisers during the freeze. Kept exact at the
commit of every solve, award, hint unlock, recompute and team change, so reading it costs one
row. Over HTTP (GET /rest/v1/rpc/ctf_get_scoreboard_document?p_event_id=...) it answers with a
strong ETag and Cache-Control: no-cache; If-None-Match with the current tag answers 304 Not
Modified without a body. Errors: ctf_event_not_found (also for events you cannot see).';

revoke execute on function private.ctf_board_flag(uuid, boolean) from public;
revoke execute on function private.ctf_board_rows(uuid, boolean) from public;
revoke execute on function private.ctf_refresh_board(uuid, boolean) from public;
revoke execute on function private.ctf_board_queue() from public;
revoke execute on function private.ctf_board_rebuild() from public;
revoke execute on function private.ctf_board(uuid, boolean) from public;
revoke execute on function private.ctf_etag_matches(text) from public;
revoke execute on function api.ctf_get_scoreboard_document(uuid) from public;
grant execute on function api.ctf_get_scoreboard_document(uuid)
to anon, authenticated, service_role;

insert into accounts.api_object_scopes (object, kind, access, scope) values
('api.ctf_get_scoreboard_document', 'function', 'scope', 'ctf:scores:read');

-- Existing events get their documents now (later changes keep them current).
select private.ctf_refresh_board(e.id, false) from ctf.events as e;
select private.ctf_refresh_board(e.id, true)
from ctf.events as e where e.frozen_snapshot_at is not null;
