-- ctf: a change that cannot move the top 100 does not rebuild the scoreboard document, and does
-- not queue behind the rebuilds of the event.
--
-- Every commit that changed standings used to lock the event's live document row and rebuild
-- it: correct submissions of one event committed one after another. Most solves are by teams
-- far from the top 100. The transaction now records which teams it changed (a short list,
-- else "full"; a moved challenge value, a team rename or a freeze snapshot always make it
-- full). At commit, if none of them is on the board and each still ranks after its last row,
-- the document is unchanged: the transaction takes the document row in share mode (many such
-- commits go in parallel) and leaves it as it is. A rebuild takes the row exclusively, so it
-- waits for those commits and its snapshot includes them: the last commit still leaves a board
-- that includes every committed change (never stale). When the check fails, the share lock is
-- dropped with its subtransaction before the exclusive one is taken (no lock upgrade, hence
-- no deadlock between two such commits).

create function private.ctf_board_teams_flag(p_event uuid) returns text
language sql immutable
set search_path = ''
as $$
    select private.ctf_board_flag(p_event, false) || '_teams'
$$;
comment on function private.ctf_board_teams_flag(uuid) is
'Name of the transaction-local setting listing the teams whose live standings the current
transaction changed (comma-separated ids, or "full" when the whole board may move).';
revoke execute on function private.ctf_board_teams_flag(uuid) from public;

create function private.ctf_board_note(p_event uuid, p_teams uuid[]) returns void
language plpgsql
set search_path = ''
as $$
declare
    v_now text := current_setting(private.ctf_board_teams_flag(p_event), true);
    v_list uuid[];
begin
    if v_now = 'full' then
        return;
    end if;
    if p_teams is null then
        perform set_config(private.ctf_board_teams_flag(p_event), 'full', true);
        return;
    end if;
    v_list := coalesce(string_to_array(nullif(v_now, ''), ',')::uuid[], '{}') || p_teams;
    perform set_config(private.ctf_board_teams_flag(p_event),
        case when cardinality(v_list) > 8 then 'full' else array_to_string(v_list, ',') end,
        true);
end;
$$;
comment on function private.ctf_board_note(uuid, uuid[]) is
'Record in the transaction that these teams'' live standings changed (null: anything may
have; more than 8 teams count as anything).';
revoke execute on function private.ctf_board_note(uuid, uuid[]) from public;

create or replace function private.ctf_board_queue() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_event uuid;
    v_teams uuid[];
    v_frozen boolean := tg_table_name = 'standings_frozen';
begin
    if current_setting('ctf.settling', true) = 'on' then
        return null;  -- settling moves stored scores only: the exact ones, the board, stay
    end if;
    for v_event, v_teams in
        select c.event_id, array_agg(c.team_id) from changed_rows as c group by c.event_id
    loop
        if not v_frozen then
            perform private.ctf_board_note(v_event,
                case when tg_table_name = 'standings_stored' then v_teams end);
        end if;
        if current_setting(private.ctf_board_flag(v_event, v_frozen), true)
            is distinct from 'queued' then
            perform set_config(private.ctf_board_flag(v_event, v_frozen), 'queued', true);
            insert into ctf.scoreboard_pending (event_id, frozen) values (v_event, v_frozen);
        end if;
    end loop;
    return null;
end;
$$;
comment on function private.ctf_board_queue() is
'Statement trigger on standings and standings_frozen: queue the rebuild of the
changed events'' scoreboard documents, once per event and transaction, noting which teams''
live standings changed (not for settling, which leaves exact scores as they are).';

-- ctf.teams has an id, not a team_id: its statement triggers get their own transition column.
drop trigger teams_board_update on ctf.teams;
create function private.ctf_board_queue_teams() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_event uuid;
begin
    for v_event in select distinct c.event_id from changed_rows as c loop
        perform private.ctf_board_note(v_event, null);
        if current_setting(private.ctf_board_flag(v_event, false), true)
            is distinct from 'queued' then
            perform set_config(private.ctf_board_flag(v_event, false), 'queued', true);
            insert into ctf.scoreboard_pending (event_id, frozen) values (v_event, false);
        end if;
        if current_setting(private.ctf_board_flag(v_event, true), true)
            is distinct from 'queued' then
            perform set_config(private.ctf_board_flag(v_event, true), 'queued', true);
            insert into ctf.scoreboard_pending (event_id, frozen) values (v_event, true);
        end if;
    end loop;
    return null;
end;
$$;
comment on function private.ctf_board_queue_teams() is
'Statement trigger on ctf.teams: a renamed (or moderated) team may show in both documents of
its event; queue both, as full rebuilds.';
revoke execute on function private.ctf_board_queue_teams() from public;
create trigger teams_board_update after update on ctf.teams
referencing new table as changed_rows
for each statement execute function private.ctf_board_queue_teams();

create function private.ctf_board_value_moved() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    perform private.ctf_board_note(new.event_id, null);
    return null;
end;
$$;
comment on function private.ctf_board_value_moved() is
'After a challenge''s value moved: every solver''s exact score moved, so the board may move
anywhere (a full rebuild at commit).';
revoke execute on function private.ctf_board_value_moved() from public;
create trigger challenges_board_value after update of value on ctf.challenges
for each row when (old.value is distinct from new.value)
execute function private.ctf_board_value_moved();

create function private.ctf_board_unmoved(p_event uuid) returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_list text := current_setting(private.ctf_board_teams_flag(p_event), true);
    v_rows jsonb;
    v_last jsonb;
begin
    if v_list is null or v_list in ('', 'full') then
        return false;
    end if;
    begin
        select s.rows into v_rows from ctf.scoreboards as s
        where s.event_id = p_event and not s.frozen
        for share;
        v_last := v_rows -> 99;  -- null unless the board is full
        if v_last is null or exists (
            select 1
            from unnest(string_to_array(v_list, ',')::uuid[]) as t (id)
            left join ctf.standings as st on st.event_id = p_event and t.id = st.team_id
            where v_rows @> jsonb_build_array(jsonb_build_object('team_id', t.id))
               or (st.ranked and st.last_score_at is not null and (
                   st.score > (v_last ->> 'score')::bigint
                   or (st.score = (v_last ->> 'score')::bigint
                       and (st.last_score_at, st.team_id)
                       < ((v_last ->> 'last_score_at')::timestamptz,
                          (v_last ->> 'team_id')::uuid))))
        ) then
            raise exception using errcode = 'P0001', message = 'board moved';
        end if;
    exception when raise_exception then
        return false;  -- the share lock went with the subtransaction
    end;
    return true;
end;
$$;
comment on function private.ctf_board_unmoved(uuid) is
'At commit: does the live document stay as it is? True when the transaction changed only
listed teams, none of them is on the (full) board and each ranks after its last row; the
document row is then held in share mode until commit, so a later rebuild includes this
transaction.';
revoke execute on function private.ctf_board_unmoved(uuid) from public;

create or replace function private.ctf_refresh_board(p_event uuid, p_frozen boolean) returns void
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
    if not p_frozen and private.ctf_board_unmoved(p_event) then
        return;
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
'Rebuild one scoreboard document (locks its row first; writes only when it changed), unless
the transaction''s changes cannot move the live board (private.ctf_board_unmoved).';
