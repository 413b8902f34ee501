-- ctf: organiser RPCs, continued — challenges, flags, hints and files. The helpers they
-- use (organiser checks, argument validation) are in the organise migration before it.

-- Challenges ------------------------------------------------------------------------------------
create function private.ctf_check_challenge_args(c jsonb) returns void
language plpgsql stable
set search_path = ''
as $$
begin
    perform private.arg_keys(c, array[
        'title', 'category', 'tags', 'difficulty', 'state', 'release_at',
        'anonymise_when_locked', 'preview', 'max_attempts', 'attempt_window', 'flag_logic',
        'writeup_visibility', 'author_id', 'author_credit', 'scoring', 'initial', 'minimum',
        'decay', 'first_blood_bonus', 'position', 'description', 'connection_info', 'writeup',
        'prerequisites'
    ]);
    perform private.arg_enum(c, 'state', array['hidden', 'visible', 'locked']);
    perform private.arg_enum(c, 'flag_logic', array['any', 'all']);
    perform private.arg_enum(c, 'writeup_visibility',
        array['never', 'after_solve', 'after_event']);
    perform private.arg_enum(c, 'scoring',
        array['static', 'linear', 'logarithmic', 'rctf']);
end;
$$;
comment on function private.ctf_check_challenge_args(jsonb) is
'Save-challenge phase 1: only known fields, enums in range (invalid_argument, details.field).';
revoke execute on function private.ctf_check_challenge_args(jsonb) from public;

create function private.ctf_challenge_to_save(p_event uuid, c jsonb, p_id uuid) returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_id uuid;
begin
    if p_id is not null then
        select id into v_id from ctf.challenges where id = p_id and event_id = p_event
        for update;
        if v_id is null then
            perform private.raise_error('ctf_challenge_not_found', 'No such challenge.', 'PT404');
        end if;
        return v_id;
    end if;
    if private.arg_field(c, 'title', 'text') is null then
        perform private.raise_error('invalid_argument', 'title is required.', '22023',
            jsonb_build_object('field', 'title'));
    end if;
    begin
        insert into ctf.challenges (event_id, title, author_id)
        values (p_event, c ->> 'title', (select auth.uid()))
        returning id into v_id;
    exception when check_violation then
        perform private.raise_error('invalid_argument', 'title is 1-120 characters.', '22023',
            jsonb_build_object('field', 'title'));
    end;
    insert into ctf.challenge_contents (challenge_id, event_id) values (v_id, p_event);
    return v_id;
end;
$$;
comment on function private.ctf_challenge_to_save(uuid, jsonb, uuid) is
'Save-challenge phase 2: the challenge to write, locked (an edit) or created with its empty
contents row (p_id null: title required).';
revoke execute on function private.ctf_challenge_to_save(uuid, jsonb, uuid) from public;

create function private.ctf_apply_challenge_fields(p_event uuid, p_id uuid, c jsonb)
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
    begin
        update ctf.challenges as ch set
            title = coalesce(private.arg_field(c, 'title', 'text'), ch.title),
            category = coalesce(private.arg_field(c, 'category', 'text'), ch.category),
            tags = case when c ? 'tags'
                        then coalesce(private.arg_field(c, 'tags', 'text[]')::text[], '{}')
                        else ch.tags end,
            difficulty = case when c ? 'difficulty'
                              then private.arg_field(c, 'difficulty', 'int')::int
                              else ch.difficulty end,
            state = coalesce((c ->> 'state')::ctf.challenge_state, ch.state),
            release_at = case when c ? 'release_at'
                              then private.arg_field(c, 'release_at', 'timestamptz')::timestamptz
                              else ch.release_at end,
            anonymise_when_locked = coalesce(
                private.arg_field(c, 'anonymise_when_locked', 'bool')::boolean,
                ch.anonymise_when_locked
            ),
            preview = coalesce(private.arg_field(c, 'preview', 'text'), ch.preview),
            max_attempts = case when c ? 'max_attempts'
                                then private.arg_field(c, 'max_attempts', 'int')::int
                                else ch.max_attempts end,
            attempt_window = case when c ? 'attempt_window'
                                  then private.arg_field(c, 'attempt_window', 'interval')::interval
                                  else ch.attempt_window end,
            flag_logic = coalesce(c ->> 'flag_logic', ch.flag_logic),
            writeup_visibility = coalesce(
                (c ->> 'writeup_visibility')::ctf.writeup_visibility, ch.writeup_visibility
            ),
            author_id = case when c ? 'author_id'
                             then private.arg_field(c, 'author_id', 'uuid')::uuid
                             else ch.author_id end,
            author_credit = case when c ? 'author_credit'
                                 then private.arg_field(c, 'author_credit', 'text')
                                 else ch.author_credit end,
            scoring = coalesce((c ->> 'scoring')::ctf.scoring, ch.scoring),
            initial = coalesce(private.arg_field(c, 'initial', 'int')::int, ch.initial),
            minimum = coalesce(private.arg_field(c, 'minimum', 'int')::int, ch.minimum),
            decay = coalesce(private.arg_field(c, 'decay', 'int')::int, ch.decay),
            first_blood_bonus = case when c ? 'first_blood_bonus'
                                     then coalesce(private.arg_field(
                                         c, 'first_blood_bonus', 'numeric[]'
                                     )::numeric[], '{}')
                                     else ch.first_blood_bonus end,
            position = coalesce(private.arg_field(c, 'position', 'int')::int, ch.position)
        where ch.id = p_id;
        if c ?| array['description', 'connection_info'] then
            update ctf.challenge_contents as cc set
                description = case when c ? 'description'
                                   then coalesce(private.arg_field(c, 'description', 'text'), '')
                                   else cc.description end,
                connection_info = case when c ? 'connection_info'
                                       then private.arg_field(c, 'connection_info', 'text')
                                       else cc.connection_info end
            where cc.challenge_id = p_id;
        end if;
        if c ? 'writeup' then
            if private.arg_field(c, 'writeup', 'text') is null then
                delete from ctf.challenge_writeups where challenge_id = p_id;
            else
                insert into ctf.challenge_writeups (challenge_id, event_id, content)
                values (p_id, p_event, c ->> 'writeup')
                on conflict (challenge_id) do update set content = excluded.content;
            end if;
        end if;
    exception
        when check_violation or foreign_key_violation then
            perform private.raise_error('invalid_argument',
                'A challenge field is out of range (title 1-120, difficulty 1-5, minimum <= '
                || 'initial, non-negative decay, at most 20 tags, known author_id).', '22023');
    end;
end;
$$;
comment on function private.ctf_apply_challenge_fields(uuid, uuid, jsonb) is
'Save-challenge phase 3: write the given fields (absent ones keep their value), contents and
write-up; out-of-range values are invalid_argument.';
revoke execute on function private.ctf_apply_challenge_fields(uuid, uuid, jsonb) from public;

create function private.ctf_set_prerequisites(p_event uuid, p_id uuid, c jsonb) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_req uuid[];
begin
    if c ? 'prerequisites' then
        v_req := coalesce(private.arg_field(c, 'prerequisites', 'uuid[]')::uuid[], '{}');
        if exists (
            select 1 from unnest(v_req) as r(id)
            where r.id = p_id or not exists (
                select 1 from ctf.challenges as x where x.id = r.id and x.event_id = p_event
            )
        ) then
            perform private.raise_error('invalid_argument',
                'prerequisites are other challenges of the same event.', '22023',
                jsonb_build_object('field', 'prerequisites'));
        end if;
        delete from ctf.challenge_prerequisites where challenge_id = p_id;
        insert into ctf.challenge_prerequisites (challenge_id, requires_id)
        select distinct p_id, r from unnest(v_req) as r;
    end if;
end;
$$;
comment on function private.ctf_set_prerequisites(uuid, uuid, jsonb) is
'Save-challenge phase 4: replace the prerequisites when given (other challenges of the same
event only).';
revoke execute on function private.ctf_set_prerequisites(uuid, uuid, jsonb) from public;

create function private.ctf_revalue_challenge(p_event uuid, p_id uuid, p_rescore boolean)
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
    if p_rescore then
        -- CTFd leaves values stale when a challenge is edited; we recompute them.
        perform private.ctf_recompute_event(p_event);
    else
        update ctf.challenges set
            value = private.ctf_value(scoring, initial, minimum, decay, solve_count)
        where id = p_id
          and value <> private.ctf_value(scoring, initial, minimum, decay, solve_count);
    end if;
end;
$$;
comment on function private.ctf_revalue_challenge(uuid, uuid, boolean) is
'Save-challenge phase 5: after changed scoring parameters recompute the event (every
solver''s points); otherwise bring the challenge''s value in line with its parameters.';
revoke execute on function private.ctf_revalue_challenge(uuid, uuid, boolean) from public;

create function api.ctf_save_challenge(
    p_event_id uuid, p_challenge jsonb, p_challenge_id uuid default null
) returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
    c constant jsonb := p_challenge;
    v_id uuid;
begin
    perform private.ctf_require_organiser(p_event_id);
    perform private.ctf_check_challenge_args(c);
    v_id := private.ctf_challenge_to_save(p_event_id, c, p_challenge_id);
    perform private.ctf_apply_challenge_fields(p_event_id, v_id, c);
    perform private.ctf_set_prerequisites(p_event_id, v_id, c);
    perform private.ctf_revalue_challenge(p_event_id, v_id, p_challenge_id is not null
        and c ?| array['scoring', 'initial', 'minimum', 'decay', 'first_blood_bonus']);
    perform private.audit('ctf.challenge_saved', 'ctf_challenge', v_id::text,
        c - 'description' - 'writeup');
    return v_id;
end;
$$;
comment on function api.ctf_save_challenge(uuid, jsonb, uuid) is
'Organisers: create (p_challenge_id null) or edit a challenge; returns its id. Fields:
title, category, tags[], difficulty (1-5), state (hidden|visible|locked), release_at,
anonymise_when_locked, preview, max_attempts, attempt_window (null = lock out after
max_attempts wrong flags; an interval = max_attempts per window), flag_logic (any|all),
writeup_visibility (never|after_solve|after_event), writeup, author_id, author_credit,
scoring (static|linear|logarithmic|rctf), initial, minimum, decay, first_blood_bonus
(e.g. [1.05,1.03,1.01]), position, description (markdown), connection_info,
prerequisites (challenge ids). Changing scoring parameters recomputes every solver''s score.
Errors: not_authenticated, ctf_event_not_found, ctf_not_organiser, ctf_challenge_not_found,
invalid_argument.';

create function private.ctf_challenge_for_organiser(p_challenge uuid) returns ctf.challenges
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    v_ch ctf.challenges;
begin
    perform private.require_user();
    select * into v_ch from ctf.challenges where id = p_challenge;
    if v_ch.id is null then
        perform private.raise_error('ctf_challenge_not_found', 'No such challenge.', 'PT404');
    end if;
    perform private.ctf_require_organiser(v_ch.event_id);
    return v_ch;
end;
$$;
comment on function private.ctf_challenge_for_organiser(uuid) is
'The challenge, if the caller organises its event; else the matching error.';
revoke execute on function private.ctf_challenge_for_organiser(uuid) from public;

-- Flags -----------------------------------------------------------------------------------------
create function private.ctf_regex_is_safe(p_pattern text) returns boolean
language plpgsql immutable
set search_path = ''
as $$
begin
    if p_pattern is null or char_length(p_pattern) not between 1 and 200 then
        return false;
    end if;
    -- Back-references are the one construct that makes PostgreSQL's (DFA/NFA hybrid) regex
    -- engine backtrack; lookaround and nested quantifiers are refused as well.
    if p_pattern ~ '\\[1-9]' or p_pattern ~ '\\k' or p_pattern ~ '\(\?[=!<]'
        or p_pattern ~ '\([^()]*[*+}][^()]*\)[*+{]' then
        return false;
    end if;
    begin
        perform '' ~ p_pattern;
    exception when others then
        return false;
    end;
    return true;
end;
$$;
comment on function private.ctf_regex_is_safe(text) is
'May this regex be a flag? At most 200 characters, compiles, no back-references, lookaround
or nested quantifiers (e.g. (a+)+).';
revoke execute on function private.ctf_regex_is_safe(text) from public;

create function private.ctf_team_flag_text(p_secret bytea, p_template text, p_team uuid)
returns text
language sql immutable
set search_path = ''
as $$
    select replace(
        p_template, '%s',
        left(encode(sha256(p_secret || convert_to(p_team::text, 'UTF8')), 'hex'), 32)
    )
$$;
comment on function private.ctf_team_flag_text(bytea, text, uuid) is
'A team''s flag: the template with %s replaced by the first 32 hex digits of
sha256(secret || team id) (HMAC-like: unforgeable without the per-flag secret).';
revoke execute on function private.ctf_team_flag_text(bytea, text, uuid) from public;

create function api.ctf_add_flag(
    p_challenge_id uuid, p_kind text, p_content text, p_label text default null
) returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_ch ctf.challenges := private.ctf_challenge_for_organiser(p_challenge_id);
    v_id uuid;
begin
    if p_kind is null or p_kind not in ('static', 'static_ci', 'regex', 'team') then
        perform private.raise_error('invalid_argument', 'kind is static, static_ci, regex or team.',
            '22023', jsonb_build_object('field', 'kind'));
    end if;
    if p_content is null or char_length(p_content) not between 1 and 512 then
        perform private.raise_error('invalid_argument', 'The flag is 1-512 characters.', '22023',
            jsonb_build_object('field', 'content'));
    end if;
    if p_label is not null and char_length(p_label) > 60 then
        perform private.raise_error('invalid_argument', 'label is at most 60 characters.', '22023',
            jsonb_build_object('field', 'label'));
    end if;
    if p_kind = 'regex' and not private.ctf_regex_is_safe(p_content) then
        perform private.raise_error('ctf_regex_unsafe',
            'The pattern must compile, be at most 200 characters, and use no back-references, '
            || 'lookaround or nested quantifiers.', '22023');
    end if;
    if p_kind = 'team' and p_content !~ '^[^%]*%s[^%]*$' then
        perform private.raise_error('invalid_argument',
            'A team flag template contains %s exactly once (e.g. flag{%s}).', '22023',
            jsonb_build_object('field', 'content'));
    end if;
    insert into ctf.flags (challenge_id, kind, digest, pattern, secret, template, label)
    values (
        v_ch.id,
        p_kind::ctf.flag_kind,
        case p_kind
            when 'static' then sha256(convert_to(p_content, 'UTF8'))
            when 'static_ci' then sha256(convert_to(lower(p_content), 'UTF8'))
        end,
        case when p_kind = 'regex' then p_content end,
        case when p_kind = 'team' then sha256(convert_to(
            gen_random_uuid()::text || gen_random_uuid()::text || clock_timestamp()::text, 'UTF8'
        )) end,
        case when p_kind = 'team' then p_content end,
        p_label
    )
    returning id into v_id;
    perform private.audit('ctf.flag_added', 'ctf_challenge', v_ch.id::text,
        jsonb_build_object('flag_id', v_id, 'kind', p_kind));
    return v_id;
end;
$$;
comment on function api.ctf_add_flag(uuid, text, text, text) is
'Organisers: add an accepted flag. p_kind: static (only its sha256 digest is stored),
static_ci (digest of the lower-cased flag), regex (anchored; checked by
ctf_regex_is_safe), team (p_content is a template such as flag{%s}; a random secret is
generated and each team''s flag is derived from it). Returns the flag id; the plaintext is never
stored nor returned. Errors: not_authenticated, ctf_challenge_not_found, ctf_not_organiser,
invalid_argument, ctf_regex_unsafe.';

create function api.ctf_remove_flag(p_flag_id uuid) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_challenge uuid;
begin
    perform private.require_user();
    select challenge_id into v_challenge from ctf.flags where id = p_flag_id;
    if v_challenge is null then
        perform private.raise_error('not_found', 'No such flag.', 'PT404');
    end if;
    perform private.ctf_challenge_for_organiser(v_challenge);
    delete from ctf.flags where id = p_flag_id;
    perform private.audit('ctf.flag_removed', 'ctf_challenge', v_challenge::text,
        jsonb_build_object('flag_id', p_flag_id));
end;
$$;
comment on function api.ctf_remove_flag(uuid) is
'Organisers: remove a flag. Errors: not_authenticated, not_found, ctf_not_organiser.';

create function api.ctf_list_flags(p_challenge_id uuid) returns jsonb
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    v_ch ctf.challenges := private.ctf_challenge_for_organiser(p_challenge_id);
begin
    return coalesce((
        select jsonb_agg(jsonb_build_object(
            'id', f.id, 'kind', f.kind, 'label', f.label, 'pattern', f.pattern,
            'template', f.template
        ) order by f.created_at, f.id)
        from ctf.flags as f where f.challenge_id = v_ch.id
    ), '[]'::jsonb);
end;
$$;
comment on function api.ctf_list_flags(uuid) is
'Organisers: the flags of a challenge (id, kind, label; the pattern of regex flags and the
template of team flags). Static flags are digests and are never shown. Errors:
not_authenticated, ctf_challenge_not_found, ctf_not_organiser.';

create function api.ctf_list_team_flags(p_challenge_id uuid, p_team_id uuid) returns jsonb
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    v_ch ctf.challenges := private.ctf_challenge_for_organiser(p_challenge_id);
begin
    if not exists (select 1 from ctf.teams where id = p_team_id and event_id = v_ch.event_id) then
        perform private.raise_error('ctf_team_not_found', 'No such team in this event.', 'PT404');
    end if;
    return coalesce((
        select jsonb_agg(jsonb_build_object(
            'flag_id', f.id, 'flag', private.ctf_team_flag_text(f.secret, f.template, p_team_id)
        ) order by f.created_at, f.id)
        from ctf.flags as f where f.challenge_id = v_ch.id and f.kind = 'team'
    ), '[]'::jsonb);
end;
$$;
comment on function api.ctf_list_team_flags(uuid, uuid) is
'Organisers: the per-team flags of a challenge for one team (to deploy its instance).
Errors: not_authenticated, ctf_challenge_not_found, ctf_not_organiser, ctf_team_not_found.';

-- Hints and files --------------------------------------------------------------------------------
create function api.ctf_add_hint(
    p_challenge_id uuid,
    p_content text,
    p_cost int default 0,
    p_title text default 'Hint',
    p_requires_hint_id uuid default null
) returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_ch ctf.challenges := private.ctf_challenge_for_organiser(p_challenge_id);
    v_id uuid;
begin
    if p_content is null or char_length(p_content) not between 1 and 20000 then
        perform private.raise_error('invalid_argument', 'A hint is 1-20000 characters.', '22023',
            jsonb_build_object('field', 'content'));
    end if;
    if p_cost is null or p_cost not between 0 and 100000 then
        perform private.raise_error('invalid_argument', 'cost is 0-100000.', '22023',
            jsonb_build_object('field', 'cost'));
    end if;
    if p_title is null or char_length(p_title) not between 1 and 120 then
        perform private.raise_error('invalid_argument', 'title is 1-120 characters.', '22023',
            jsonb_build_object('field', 'title'));
    end if;
    if p_requires_hint_id is not null and not exists (
        select 1 from ctf.hints where id = p_requires_hint_id and challenge_id = v_ch.id
    ) then
        perform private.raise_error('invalid_argument',
            'requires_hint_id is another hint of the same challenge.', '22023',
            jsonb_build_object('field', 'requires_hint_id'));
    end if;
    insert into ctf.hints (challenge_id, event_id, title, cost, requires_hint_id, position)
    values (
        v_ch.id, v_ch.event_id, p_title, p_cost, p_requires_hint_id,
        (select count(*) from ctf.hints where challenge_id = v_ch.id)
    )
    returning id into v_id;
    insert into ctf.hint_contents (hint_id, event_id, content) values (v_id, v_ch.event_id,
        p_content);
    return v_id;
end;
$$;
comment on function api.ctf_add_hint(uuid, text, int, text, uuid) is
'Organisers: add a hint (cost in points, optional prerequisite hint); returns its id.
Errors: not_authenticated, ctf_challenge_not_found, ctf_not_organiser, invalid_argument.';

create function api.ctf_add_file(p_challenge_id uuid, p_name text, p_storage_path text)
returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_ch ctf.challenges := private.ctf_challenge_for_organiser(p_challenge_id);
    v_id uuid;
begin
    if p_name is null or char_length(p_name) not between 1 and 200 then
        perform private.raise_error('invalid_argument', 'name is 1-200 characters.', '22023',
            jsonb_build_object('field', 'name'));
    end if;
    if p_storage_path is null or char_length(p_storage_path) > 500
        or p_storage_path not like v_ch.event_id::text || '/' || v_ch.id::text || '/_%'
        or p_storage_path like '%..%' then
        perform private.raise_error('invalid_argument',
            'The path is <event id>/<challenge id>/<file> in the challenge-files bucket.',
            '22023', jsonb_build_object('field', 'storage_path'));
    end if;
    insert into ctf.challenge_files (challenge_id, event_id, name, storage_path)
    values (v_ch.id, v_ch.event_id, p_name, p_storage_path)
    on conflict (challenge_id, name) do update set storage_path = excluded.storage_path
    returning id into v_id;
    return v_id;
end;
$$;
comment on function api.ctf_add_file(uuid, text, text) is
'Organisers: attach a file uploaded to challenge-files at <event id>/<challenge id>/...;
participants download it once the event started. Errors: not_authenticated,
ctf_challenge_not_found, ctf_not_organiser, invalid_argument.';

revoke execute on function api.ctf_create_event(jsonb) from public, anon;
revoke execute on function api.ctf_update_event(uuid, jsonb) from public, anon;
revoke execute on function api.ctf_create_bracket(uuid, text) from public, anon;
revoke execute on function api.ctf_set_organiser(uuid, uuid, boolean) from public, anon;
revoke execute on function api.ctf_save_challenge(uuid, jsonb, uuid) from public, anon;
revoke execute on function api.ctf_add_flag(uuid, text, text, text) from public, anon;
revoke execute on function api.ctf_remove_flag(uuid) from public, anon;
revoke execute on function api.ctf_list_flags(uuid) from public, anon;
revoke execute on function api.ctf_list_team_flags(uuid, uuid) from public, anon;
revoke execute on function api.ctf_add_hint(uuid, text, int, text, uuid) from public, anon;
revoke execute on function api.ctf_add_file(uuid, text, text) from public, anon;
grant execute on function api.ctf_create_event(jsonb), api.ctf_update_event(uuid, jsonb),
api.ctf_create_bracket(uuid, text), api.ctf_set_organiser(uuid, uuid, boolean),
api.ctf_save_challenge(uuid, jsonb, uuid), api.ctf_add_flag(uuid, text, text, text),
api.ctf_remove_flag(uuid), api.ctf_list_flags(uuid), api.ctf_list_team_flags(uuid, uuid),
api.ctf_add_hint(uuid, text, int, text, uuid), api.ctf_add_file(uuid, text, text)
to authenticated;
