-- Wiring between CTF and community, which were built side by side.
--
-- 1. A write-up about a CTF challenge is published when the challenge's event ends. The
--    end time is taken from ctf.events, never from the author (who could otherwise pick an
--    earlier date and publish spoilers), and follows the event when its end moves. A
--    challenge of a never-ending event (the practice arena) keeps its write-ups unpublished.
-- 2. An approved challenge proposal becomes a hidden challenge in the practice arena, for an
--    organiser to review, give flags and move to an event (consumed from the outbox job
--    community.challenge_proposal_approved by the worker).

insert into ops.error_codes (code, sqlstate, http_status, description) values
(
    'community_challenge_unknown', '22023', 400,
    'A write-up names a CTF challenge that does not exist.'
);

create function private.ctf_challenge_end(p_ref text) returns timestamptz
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    v_found boolean;
    v_ends timestamptz;
begin
    if p_ref !~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
        return null;
    end if;
    select true, e.ends_at into v_found, v_ends
    from ctf.challenges as c join ctf.events as e on e.id = c.event_id
    where c.id = p_ref::uuid;
    if not coalesce(v_found, false) then
        return null;
    end if;
    return coalesce(v_ends, 'infinity'::timestamptz);
end;
$$;
comment on function private.ctf_challenge_end(text) is
'When the event of a challenge (by id) ends: infinity for a never-ending event, null for an
unknown challenge. Definer: hidden challenges are not visible to their write-up''s author.';
revoke execute on function private.ctf_challenge_end(text) from public;

create function private.community_writeup_event_end() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    if new.ctf_challenge_ref is not null then
        new.ctf_event_ends_at := private.ctf_challenge_end(new.ctf_challenge_ref);
        if new.ctf_event_ends_at is null then
            perform private.raise_error('community_challenge_unknown',
                'The write-up names a CTF challenge that does not exist.', '22023',
                jsonb_build_object('field', 'p_ctf_challenge_ref'));
        end if;
    end if;
    return new;
end;
$$;
comment on function private.community_writeup_event_end() is
'Trigger: a write-up''s publication time is its challenge''s event end, from ctf.events.';
revoke execute on function private.community_writeup_event_end() from public;

create trigger contributions_writeup_event_end
before insert or update of ctf_challenge_ref, ctf_event_ends_at on community.contributions
for each row execute function private.community_writeup_event_end();

create function private.ctf_event_end_moved() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    perform private.community_set_event_end(c.id::text, coalesce(new.ends_at, 'infinity'))
    from ctf.challenges as c where c.event_id = new.id;
    return new;
end;
$$;
comment on function private.ctf_event_end_moved() is
'Trigger: when an event''s end moves, its challenges'' write-ups move with it.';
revoke execute on function private.ctf_event_end_moved() from public;

create trigger events_end_moved after update of ends_at on ctf.events
for each row when (new.ends_at is distinct from old.ends_at)
execute function private.ctf_event_end_moved();

-- Approved proposals -> hidden practice challenges -------------------------------------------
alter table ctf.challenges
add column source_contribution_id bigint unique
references community.contributions (id) on delete set null;
comment on column ctf.challenges.source_contribution_id is
'The community challenge proposal this challenge was created from, if any.';

create function private.ctf_import_proposal(p_payload jsonb) returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_contribution bigint := (p_payload ->> 'contribution_id')::bigint;
    v_row community.contributions;
    v_event uuid;
    v_id uuid;
    v_category text;
    v_difficulty int;
begin
    select * into v_row from community.contributions as c
    where c.id = v_contribution and c.kind = 'challenge_proposal' and c.status = 'approved';
    if v_row.id is null then
        return null;  -- withdrawn or deleted since: nothing to import
    end if;
    select c.id into v_id from ctf.challenges as c where c.source_contribution_id = v_row.id;
    if v_id is not null then
        return v_id;  -- at-least-once delivery: already imported
    end if;
    select e.id into v_event from ctf.events as e where e.slug = 'practice';
    v_category := left(coalesce(nullif(btrim(v_row.data ->> 'category'), ''), 'misc'), 40);
    v_difficulty := case when (v_row.data ->> 'difficulty') ~ '^[1-5]$'
                         then (v_row.data ->> 'difficulty')::int end;
    insert into ctf.challenges (event_id, title, category, difficulty, state, author_id,
                                author_credit, source_contribution_id)
    values (v_event, left(v_row.title, 120), v_category, v_difficulty, 'hidden',
            v_row.author_id, left(private.community_username(v_row.author_id), 120), v_row.id)
    returning id into v_id;
    insert into ctf.challenge_contents (challenge_id, event_id, description)
    values (v_id, v_event, left(coalesce(v_row.body, ''), 50000));
    perform private.audit('ctf.challenge_imported', 'challenge', v_id::text,
        jsonb_build_object('contribution_id', v_row.id, 'approved_by', p_payload -> 'approved_by'));
    return v_id;
end;
$$;
comment on function private.ctf_import_proposal(jsonb) is
'Worker (community.challenge_proposal_approved): create the hidden practice-arena challenge
for an approved proposal, once. Flags are the organiser''s to add.';
revoke execute on function private.ctf_import_proposal(jsonb) from public;
grant execute on function private.ctf_import_proposal(jsonb) to service_role;
