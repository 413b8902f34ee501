-- ctf: no commit waits for the scoreboard document. The document is rebuilt off the request
-- path (the worker, after each solve, and a schedule) and checked on every read.
--
-- Before, every commit that changed standings rebuilt the event's document under its row
-- lock (or held it in share mode when the change stayed off the board): correct submissions
-- of one event committed one after another on that row (three quarters of the lock waits of
-- 32 parallel submitters). Now a change only appends one row to ctf.scoreboard_changes, once
-- per event, variant and transaction; no lock is shared with other submitters.
--
-- A document records the snapshot it was built from (built_from). A reader uses it only when
-- every change it can see was visible to that snapshot; else (a change committed since, or
-- its own uncommitted one) it computes the top 100 from the tables, exactly as the rebuild
-- would. So the board a reader gets is never stale, and it costs one row and an index probe
-- when the document is current. The rebuild prunes the changes its snapshot saw.

-- Before: the queue, the commit-time rebuild and the off-board share lock.
drop trigger scoreboard_pending_rebuild on ctf.scoreboard_pending;
drop function private.ctf_board_rebuild();
drop table ctf.scoreboard_pending;
drop function private.ctf_board_unmoved(uuid);
drop function private.ctf_board_note(uuid, uuid[]);
drop function private.ctf_board_teams_flag(uuid);

-- Tables ----------------------------------------------------------------------------------------
create table ctf.scoreboard_changes (
    id bigint generated always as identity primary key,
    event_id uuid not null,
    frozen boolean not null,
    xact xid8 not null default pg_current_xact_id()
);
comment on table ctf.scoreboard_changes is
'One row per event, document variant (live or frozen) and transaction that changed what the
document shows (standings, frozen standings, team names, challenge values). A document is
current when every visible row here was visible to the snapshot it was built from; each
rebuild deletes the rows its snapshot saw. Read only by definer functions.';
create index scoreboard_changes_document_idx on ctf.scoreboard_changes (event_id, frozen, xact);
alter table ctf.scoreboard_changes enable row level security;

alter table ctf.scoreboards add column built_from pg_snapshot;
comment on column ctf.scoreboards.built_from is
'The snapshot the rows were computed from (taken before them, so never later): changes by
transactions not visible to it make the document out of date (private.ctf_board_current).';
comment on table ctf.scoreboards is
'The top-100 scoreboard of each event as a document: live (frozen = false) and as of the
freeze (frozen = true, once the snapshot exists). rows are api.ctf_get_scoreboard''s rows;
etag is md5 of rows. Rebuilt off the request path (private.ctf_refresh_board) and used only
while current (private.ctf_board). Read only by definer functions.';

-- Changing --------------------------------------------------------------------------------------
create function private.ctf_board_changed(p_event uuid, p_frozen boolean) returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
    if current_setting(private.ctf_board_flag(p_event, p_frozen), true)
        is distinct from 'queued' then
        perform set_config(private.ctf_board_flag(p_event, p_frozen), 'queued', true);
        insert into ctf.scoreboard_changes (event_id, frozen) values (p_event, p_frozen);
    end if;
end;
$$;
comment on function private.ctf_board_changed(uuid, boolean) is
'Record that the current transaction changed what an event''s document shows: once per event,
variant and transaction (a transaction-local flag, then one row of ctf.scoreboard_changes).';
revoke execute on function private.ctf_board_changed(uuid, boolean) from public;

create or replace function private.ctf_board_queue() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_event uuid;
begin
    if current_setting('ctf.settling', true) = 'on' then
        return null;  -- settling moves stored scores only: the exact ones, the board, stay
    end if;
    for v_event in select distinct c.event_id from changed_rows as c loop
        -- standings move the live document, frozen standings the frozen one; a team's name
        -- (or moderation) shows in both
        if tg_table_name <> 'standings_frozen' then
            perform private.ctf_board_changed(v_event, false);
        end if;
        if tg_table_name <> 'standings_stored' then
            perform private.ctf_board_changed(v_event, true);
        end if;
    end loop;
    return null;
end;
$$;
comment on function private.ctf_board_queue() is
'Statement trigger on standings, standings_frozen and teams: the documents the changed rows
show in are out of date from this transaction''s commit (not for settling, which leaves
exact scores as they are).';

drop trigger teams_board_update on ctf.teams;
drop function private.ctf_board_queue_teams();
create trigger teams_board_update after update on ctf.teams
referencing new table as changed_rows
for each statement execute function private.ctf_board_queue();

create or replace function private.ctf_board_value_moved() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    perform private.ctf_board_changed(new.event_id, false);
    return null;
end;
$$;
comment on function private.ctf_board_value_moved() is
'After a challenge''s value moved: every solver''s exact score moved, so the live document is
out of date from this transaction''s commit.';

-- Reading ---------------------------------------------------------------------------------------
create function private.ctf_board_current(p_doc ctf.scoreboards) returns boolean
language sql stable
security definer
set search_path = ''
as $$
    select p_doc.built_from is not null and not exists (
        select 1 from ctf.scoreboard_changes as c
        where c.event_id = p_doc.event_id and c.frozen = p_doc.frozen
          and c.xact >= pg_snapshot_xmin(p_doc.built_from)
          and not pg_visible_in_snapshot(c.xact, p_doc.built_from)
    )
$$;
comment on function private.ctf_board_current(ctf.scoreboards) is
'Is the document current for the caller''s snapshot: was every change the caller can see
(committed, or its own) visible to the snapshot the document was built from? One index range
probe over the changes since that snapshot''s oldest running transaction.';
revoke execute on function private.ctf_board_current(ctf.scoreboards) from public;

create or replace function private.ctf_board(p_event uuid, p_frozen boolean) returns ctf.scoreboards
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    v_doc ctf.scoreboards;
begin
    select * into v_doc from ctf.scoreboards where event_id = p_event and frozen = p_frozen;
    if v_doc.event_id is null or not private.ctf_board_current(v_doc) then
        -- changed since it was built (by a commit, or by this transaction), or never built
        v_doc.event_id := p_event;
        v_doc.frozen := p_frozen;
        v_doc.rows := private.ctf_board_rows(p_event, p_frozen);
        v_doc.etag := md5(v_doc.rows::text);
    end if;
    return v_doc;
end;
$$;
comment on function private.ctf_board(uuid, boolean) is
'The current top-100 document of an event: the stored one while it is current
(private.ctf_board_current), else computed from the tables exactly as a rebuild would (same
rows, same etag).';

-- Rebuilding (off the request path) -------------------------------------------------------------
drop function private.ctf_refresh_board(uuid, boolean);
create function private.ctf_refresh_board(p_event uuid, p_frozen boolean) returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_doc ctf.scoreboards;
    v_snap pg_snapshot;
    v_rows jsonb;
begin
    if not exists (select 1 from ctf.events where id = p_event) then
        -- deleted (its documents went with it): its changes have nothing left to change
        delete from ctf.scoreboard_changes where event_id = p_event;
        return false;
    end if;
    insert into ctf.scoreboards (event_id, frozen, etag) values (p_event, p_frozen, '')
    on conflict (event_id, frozen) do nothing;
    -- Rebuilders of one document go one at a time; no solve takes this lock.
    select * into v_doc from ctf.scoreboards
    where event_id = p_event and frozen = p_frozen for update;
    if private.ctf_board_current(v_doc) then
        return false;  -- a fresh snapshot (read committed): nothing changed since its build
    end if;
    v_snap := pg_current_snapshot();  -- before the rows: never later than what they saw
    v_rows := private.ctf_board_rows(p_event, p_frozen);
    update ctf.scoreboards set
        rows = v_rows, etag = md5(v_rows::text), built_from = v_snap, refreshed_at = now()
    where event_id = p_event and frozen = p_frozen;
    -- what the snapshot saw is in the rows now (aborted changes were never visible to anyone)
    delete from ctf.scoreboard_changes
    where event_id = p_event and frozen = p_frozen and xact < pg_snapshot_xmax(v_snap)
      and pg_visible_in_snapshot(xact, v_snap);
    return true;
end;
$$;
comment on function private.ctf_refresh_board(uuid, boolean) is
'Rebuild one scoreboard document unless it is current (its row locked first, so rebuilds of
one document follow each other), recording the snapshot it was built from and deleting the
changes that snapshot saw. Returns whether it rebuilt. Called by the worker after each solve
and by the ctf.refresh_boards schedule; never by a request.';
revoke execute on function private.ctf_refresh_board(uuid, boolean) from public;

create function private.ctf_refresh_boards() returns int
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_doc record;
    v_built int := 0;
begin
    for v_doc in
        select distinct c.event_id, c.frozen from ctf.scoreboard_changes as c
        order by c.event_id, c.frozen
    loop
        if private.ctf_refresh_board(v_doc.event_id, v_doc.frozen) then
            v_built := v_built + 1;
        end if;
    end loop;
    return v_built;
end;
$$;
comment on function private.ctf_refresh_boards() is
'Schedule ctf.refresh_boards: rebuild every document with changes its snapshot did not see
(awards, hint costs, renames, the freeze; solves are rebuilt by the worker at once). Returns
how many it rebuilt.';
revoke execute on function private.ctf_refresh_boards() from public;
grant execute on function private.ctf_refresh_boards() to service_role;
insert into ops.schedules (name, function_name, every) values
('ctf.refresh_boards', 'private.ctf_refresh_boards()', '10 seconds');

create or replace function private.ctf_solve_delivered(p_payload jsonb) returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_event uuid := (p_payload ->> 'event_id')::uuid;
begin
    -- the solved challenge, and any left unsettled by an earlier busy delivery (id order)
    perform private.ctf_settle_challenge(c.id)
    from ctf.challenges as c
    where c.event_id = v_event and c.value <> c.scored_value
    order by c.id;
    perform private.ctf_refresh_board(v_event, false);
    if exists (select 1 from ctf.scoreboard_changes where event_id = v_event and frozen) then
        perform private.ctf_refresh_board(v_event, true);
    end if;
    return private.events_publish_solve(p_payload);
end;
$$;
comment on function private.ctf_solve_delivered(jsonb) is
'Worker (ctf.solve): settle the event''s moved challenges (their earlier solvers'' stored
scores take their new values; busy ones are left to the next delivery), rebuild the event''s
out-of-date documents, then publish the scoreboard the solve moved.';

comment on function api.ctf_get_scoreboard_document(uuid) is
'The top 100 of an event as one document {event_id, frozen, etag, rows: [{pos, team_id,
team_name, bracket_id, score, solve_count, last_score_at}]} — the rows of
api.ctf_get_scoreboard(event), frozen for non-organisers during the freeze. Never stale: the
stored document (rebuilt after each solve, off the request path) is used while no change
since its build is visible, else the rows are computed from the standings. Over HTTP (GET
/rest/v1/rpc/ctf_get_scoreboard_document?p_event_id=...) it answers with a strong ETag and
Cache-Control: no-cache; If-None-Match with the current tag answers 304 Not Modified without a
body. Errors: ctf_event_not_found (also for events you cannot see).';

-- Existing documents were exact at the last commit: record it by rebuilding them now.
update ctf.scoreboards set built_from = null;
select private.ctf_refresh_board(e.id, false) from ctf.events as e;
select private.ctf_refresh_board(e.id, true)
from ctf.events as e where e.frozen_snapshot_at is not null;
