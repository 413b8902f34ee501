-- accounts: settings and preferences, validated against their defaults.
--
-- The defaults (private.default_settings) are also the schema: an update may only set
-- keys that exist there, with the same JSON type, and string leaves must be one of the
-- values listed in private.settings_choices. A row exists only once a user changed
-- something; everyone else reads the defaults, so new keys reach every user at once.

insert into ops.error_codes (code, sqlstate, http_status, description) values
(
    'settings_invalid', '22023', 400,
    'A setting is unknown or has a wrong type or value; details.path names it.'
);

create table accounts.settings (
    user_id uuid primary key references auth.users (id) on delete cascade,
    prefs jsonb not null default '{}' check (jsonb_typeof(prefs) = 'object'),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
comment on table accounts.settings is
'Per-user overrides of private.default_settings(); read merged via api.accounts_get_my_settings.';
alter table accounts.settings enable row level security;
create policy settings_read_own on accounts.settings for select to authenticated
using (user_id = (select auth.uid()));
grant select on accounts.settings to authenticated, service_role;
create trigger settings_touch before update on accounts.settings
for each row execute function private.touch_updated_at();

create function private.default_settings() returns jsonb
language sql immutable
set search_path = ''
as $$
    select '{
        "locale": "en",
        "theme": "system",
        "timezone": "UTC",
        "notifications": {
            "replies":    {"in_app": true, "email": "immediate"},
            "mentions":   {"in_app": true, "email": "immediate"},
            "messages":   {"in_app": true, "email": "digest"},
            "reactions":  {"in_app": true, "email": "off"},
            "moderation": {"in_app": true, "email": "immediate"},
            "courses":    {"in_app": true, "email": "digest"},
            "ctf":        {"in_app": true, "email": "digest"}
        },
        "email_categories": {
            "product_updates": true,
            "newsletter": false,
            "course_updates": true,
            "ctf_events": true
        },
        "privacy": {
            "show_activity": true,
            "show_country": true,
            "allow_messages": "members"
        }
    }'::jsonb
$$;
comment on function private.default_settings() is
'Every setting and its default; also the shape that updates are validated against.
Account and security emails are not a category: they cannot be switched off.';

create function private.settings_choices() returns jsonb
language sql immutable
set search_path = ''
as $$
    select '{
        "locale": ["en", "fr", "de", "es", "it", "pt-BR", "ja", "zh-CN"],
        "theme": ["system", "light", "dark"],
        "email": ["off", "immediate", "digest", "weekly"],
        "allow_messages": ["everyone", "members", "nobody"]
    }'::jsonb
$$;
comment on function private.settings_choices() is
'Allowed values of string settings, by leaf key (timezone is checked against the server).';

revoke execute on function private.default_settings() from public;
revoke execute on function private.settings_choices() from public;
grant execute on function private.default_settings(), private.settings_choices()
to authenticated, service_role;

create function private.validate_settings(p_changes jsonb, p_shape jsonb, p_path text)
returns void
language plpgsql stable
set search_path = ''
as $$
declare
    v_key text;
    v_value jsonb;
    v_expected jsonb;
    v_path text;
    v_choices jsonb;
begin
    if jsonb_typeof(p_changes) <> 'object' then
        perform private.raise_error('settings_invalid',
            format('%s must be an object.', coalesce(nullif(p_path, ''), 'settings')), '22023',
            jsonb_build_object('path', p_path));
    end if;
    for v_key, v_value in select * from jsonb_each(p_changes) loop
        v_path := ltrim(p_path || '.' || v_key, '.');
        v_expected := p_shape -> v_key;
        if v_expected is null then
            perform private.raise_error('settings_invalid',
                format('Unknown setting %s.', v_path), '22023', jsonb_build_object('path', v_path));
        end if;
        if jsonb_typeof(v_value) <> jsonb_typeof(v_expected) then
            perform private.raise_error('settings_invalid',
                format('%s must be a %s.', v_path, jsonb_typeof(v_expected)), '22023',
                jsonb_build_object('path', v_path));
        end if;
        if jsonb_typeof(v_value) = 'object' then
            perform private.validate_settings(v_value, v_expected, v_path);
        elsif jsonb_typeof(v_value) = 'string' then
            v_choices := private.settings_choices() -> v_key;
            if v_key = 'timezone' then
                if not exists (
                    select 1 from pg_catalog.pg_timezone_names where name = v_value #>> '{}'
                ) then
                    perform private.raise_error('settings_invalid',
                        'timezone must be an IANA time zone such as Europe/Paris.', '22023',
                        jsonb_build_object('path', v_path));
                end if;
            elsif v_choices is not null and not v_choices ? (v_value #>> '{}') then
                perform private.raise_error('settings_invalid',
                    format('%s must be one of %s.', v_path, v_choices), '22023',
                    jsonb_build_object('path', v_path, 'allowed', v_choices));
            end if;
        end if;
    end loop;
end;
$$;
comment on function private.validate_settings(jsonb, jsonb, text) is
'Check a (partial) settings object against the defaults'' shape; raises settings_invalid.';
revoke execute on function private.validate_settings(jsonb, jsonb, text) from public;
grant execute on function private.validate_settings(jsonb, jsonb, text) to authenticated;

create function private.deep_merge(p_base jsonb, p_over jsonb) returns jsonb
language sql immutable
set search_path = ''
as $$
    select coalesce(jsonb_object_agg(
        k,
        case
            when jsonb_typeof(p_base -> k) = 'object' and jsonb_typeof(p_over -> k) = 'object'
                then private.deep_merge(p_base -> k, p_over -> k)
            when p_over ? k then p_over -> k
            else p_base -> k
        end
    ), '{}'::jsonb)
    from (
        select jsonb_object_keys(p_base) as k
        union
        select jsonb_object_keys(p_over)
    ) as keys
$$;
comment on function private.deep_merge(jsonb, jsonb) is
'Merge two JSON objects recursively; p_over wins on leaves.';
revoke execute on function private.deep_merge(jsonb, jsonb) from public;
grant execute on function private.deep_merge(jsonb, jsonb) to authenticated, service_role;

create function private.user_settings(p_user uuid) returns jsonb
language sql stable
security definer
set search_path = ''
as $$
    select private.deep_merge(
        private.default_settings(),
        coalesce((select s.prefs from accounts.settings as s where s.user_id = p_user), '{}')
    )
$$;
comment on function private.user_settings(uuid) is
'Effective settings of any user, for other domains'' definer functions (notifications,
email). Definer: a user''s settings are private to them.';
revoke execute on function private.user_settings(uuid) from public;

create function api.accounts_get_my_settings() returns jsonb
language plpgsql stable
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
begin
    return private.deep_merge(
        private.default_settings(),
        coalesce((select s.prefs from accounts.settings as s where s.user_id = v_uid), '{}')
    );
end;
$$;
comment on function api.accounts_get_my_settings() is
'Your effective settings (defaults merged with your changes). Errors: not_authenticated.';

create function api.accounts_update_my_settings(p_changes jsonb) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
begin
    if p_changes is null or jsonb_typeof(p_changes) <> 'object' or p_changes = '{}' then
        perform private.raise_error('invalid_argument',
            'p_changes is a non-empty object of settings.', '22023');
    end if;
    perform private.validate_settings(p_changes, private.default_settings(), '');
    insert into accounts.settings as s (user_id, prefs)
    values (v_uid, p_changes)
    on conflict (user_id) do update set prefs = private.deep_merge(s.prefs, excluded.prefs);
    return private.user_settings(v_uid);
end;
$$;
comment on function api.accounts_update_my_settings(jsonb) is
'Change some of your settings (a partial object, merged deeply) and return all of them.
Errors: not_authenticated, invalid_argument, settings_invalid (details.path).';

revoke execute on function api.accounts_get_my_settings() from public, anon;
revoke execute on function api.accounts_update_my_settings(jsonb) from public, anon;
grant execute on function api.accounts_get_my_settings(), api.accounts_update_my_settings(jsonb)
to authenticated;
