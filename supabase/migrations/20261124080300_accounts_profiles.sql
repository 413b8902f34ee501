-- accounts: profiles, created by a trigger on auth.users, and the avatars bucket.
--
-- A profile is the public face of a user. Its visibility decides who may read it:
-- public (everyone, anon included), members (signed-in users), private (the owner).
-- Staff (profiles.read_private) see all. The contact email stays in auth.users and is
-- returned only to its owner (api.accounts_get_my_account) and to admins.

insert into ops.error_codes (code, sqlstate, http_status, description) values
(
    'username_invalid', '22023', 400,
    'Usernames are 3-24 characters: a letter, then letters, digits or underscores.'
),
('username_taken', 'PT409', 409, 'Another user has that username (case-insensitively).'),
('profile_invalid', '22023', 400, 'A profile field is malformed; details.field names it.');

create type accounts.visibility as enum ('public', 'members', 'private');
comment on type accounts.visibility is
'Who may read a profile: everyone, signed-in members, or only its owner (and staff).';

create table accounts.profiles (
    id uuid primary key references auth.users (id) on delete cascade,
    username text not null check (username ~ '^[A-Za-z][A-Za-z0-9_]{2,23}$'),
    display_name text check (char_length(display_name) between 1 and 64),
    bio text check (char_length(bio) <= 2000),
    avatar_path text check (char_length(avatar_path) <= 300),
    country text check (country ~ '^[A-Z]{2}$'),
    skills text[] not null default '{}' check (cardinality(skills) <= 20),
    visibility accounts.visibility not null default 'members',
    username_skeleton text not null,
    display_name_skeleton text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
comment on table accounts.profiles is
'One profile per auth user, created by a trigger at sign-up. Username unique
case-insensitively. Read through api.accounts_profiles; changed through api.accounts_update_my_profile.';
create unique index profiles_username_key on accounts.profiles (lower(username));
-- No two usernames look alike (UTS #39 skeleton, private.accounts_name_skeleton).
create unique index profiles_username_skeleton_key on accounts.profiles (username_skeleton);
comment on column accounts.profiles.username_skeleton is
'private.accounts_name_skeleton(username), kept by a trigger; unique, so no username looks
like another.';
comment on column accounts.profiles.display_name_skeleton is
'private.accounts_name_skeleton(display_name), kept by a trigger.';
create index profiles_country_idx on accounts.profiles (country) where country is not null;
create index profiles_skills_idx on accounts.profiles using gin (skills);
create index profiles_created_idx on accounts.profiles (created_at desc, id);
alter table accounts.profiles enable row level security;

-- The visibility rule. Written inline (not as a helper function) so that the auth calls
-- are init-plans evaluated once per statement, not once per row.
create policy profiles_read on accounts.profiles for select to anon, authenticated
using (
    visibility = 'public'
    or (visibility = 'members' and (select auth.uid()) is not null)
    or id = (select auth.uid())
    or (select private.jwt_has_permission('profiles.read_private'))
);
grant select on accounts.profiles to anon, authenticated, service_role;

create function private.touch_updated_at() returns trigger
language plpgsql
set search_path = ''
as $$
begin
    new.updated_at := now();
    return new;
end;
$$;
comment on function private.touch_updated_at() is 'Trigger: keep updated_at current.';
revoke execute on function private.touch_updated_at() from public;

create trigger profiles_touch before update on accounts.profiles
for each row execute function private.touch_updated_at();

create function private.accounts_profile_skeletons() returns trigger
language plpgsql
set search_path = ''
as $$
begin
    new.username_skeleton := private.accounts_name_skeleton(new.username);
    new.display_name_skeleton := private.accounts_name_skeleton(new.display_name);
    return new;
end;
$$;
comment on function private.accounts_profile_skeletons() is
'Trigger: keep username_skeleton and display_name_skeleton current.';
revoke execute on function private.accounts_profile_skeletons() from public;
create trigger profiles_skeletons before insert or update of username, display_name
on accounts.profiles for each row execute function private.accounts_profile_skeletons();

-- Names ------------------------------------------------------------------------------------
create function private.accounts_username_problem(p_user uuid, p_username text) returns text
language sql stable
set search_path = ''
as $$
    with s as (select private.accounts_name_skeleton(p_username) as k)
    select case
        when exists (select 1 from accounts.profiles as p
                     where lower(p.username) = lower(p_username)
                       and p.id is distinct from p_user)
            then 'username_taken'
        when private.accounts_is_reserved_name((select s.k from s)) then 'name_reserved'
        when exists (select 1 from accounts.profiles as p
                     where p.username_skeleton = (select s.k from s)
                       and p.id is distinct from p_user)
            then 'username_confusable'
    end
$$;
comment on function private.accounts_username_problem(uuid, text) is
'Why p_user may not take p_username, or null: username_taken (same letters, any case),
name_reserved (looks like a staff or platform name), username_confusable (looks like
another user''s username).';
revoke execute on function private.accounts_username_problem(uuid, text) from public;

create function private.accounts_display_name_problem(p_user uuid, p_display_name text)
returns text
language sql stable
set search_path = ''
as $$
    with s as (select private.accounts_name_skeleton(p_display_name) as k)
    select case
        when private.has_invisible_characters(p_display_name) then 'profile_invalid'
        when private.accounts_is_reserved_name((select s.k from s)) then 'name_reserved'
        when exists (select 1 from accounts.profiles as p
                     where p.username_skeleton = (select s.k from s)
                       and p.id is distinct from p_user)
            then 'display_name_confusable'
    end
$$;
comment on function private.accounts_display_name_problem(uuid, text) is
'Why p_user may not show p_display_name, or null: profile_invalid (invisible or bidi control
characters), name_reserved, display_name_confusable (looks like another user''s username;
one''s own username is fine). Display names may repeat each other: where identity matters
the username is shown beside them.';
revoke execute on function private.accounts_display_name_problem(uuid, text) from public;

create function private.accounts_require_names(p_user uuid, p_changes jsonb) returns void
language plpgsql stable
set search_path = ''
as $$
declare
    v_problem text;
begin
    if p_changes ? 'username' then
        v_problem := private.accounts_username_problem(p_user, p_changes ->> 'username');
        if v_problem = 'username_taken' then
            perform private.raise_error(v_problem, 'That username is taken.', 'PT409');
        elsif v_problem = 'name_reserved' then
            perform private.raise_error(v_problem, 'That username is reserved.', 'PT409',
                jsonb_build_object('field', 'username'));
        elsif v_problem is not null then
            perform private.raise_error(v_problem,
                'That username looks like another user''s.', 'PT409');
        end if;
    end if;
    if p_changes ? 'display_name' and jsonb_typeof(p_changes -> 'display_name') = 'string' then
        v_problem := private.accounts_display_name_problem(p_user,
            btrim(p_changes ->> 'display_name'));
        if v_problem = 'profile_invalid' then
            perform private.raise_error(v_problem,
                'display_name may not contain invisible or bidirectional control characters.',
                '22023', jsonb_build_object('field', 'display_name'));
        elsif v_problem = 'name_reserved' then
            perform private.raise_error(v_problem, 'That display name is reserved.', 'PT409',
                jsonb_build_object('field', 'display_name'));
        elsif v_problem is not null then
            perform private.raise_error(v_problem,
                'That display name looks like another user''s username.', 'PT409');
        end if;
    end if;
end;
$$;
comment on function private.accounts_require_names(uuid, jsonb) is
'Raise username_taken, name_reserved, username_confusable, profile_invalid or
display_name_confusable if the username or display name in p_changes may not be used by
p_user.';
revoke execute on function private.accounts_require_names(uuid, jsonb) from public;

-- Sign-up -----------------------------------------------------------------------------------
create function private.available_username(p_wanted text, p_email text) returns text
language plpgsql volatile
set search_path = ''
as $$
declare
    v_base text;
    v_candidate text;
begin
    if p_wanted ~ '^[A-Za-z][A-Za-z0-9_]{2,23}$'
        and private.accounts_username_problem(null, p_wanted) is null then
        return p_wanted;
    end if;
    v_base := regexp_replace(coalesce(nullif(p_wanted, ''), split_part(p_email, '@', 1), ''),
        '[^A-Za-z0-9_]', '', 'g');
    if v_base !~ '^[A-Za-z]' then
        v_base := 'user' || v_base;
    end if;
    v_base := left(v_base, 16);
    if char_length(v_base) < 3 then
        v_base := rpad(v_base, 3, '_');
    end if;
    v_candidate := v_base;
    while private.accounts_username_problem(null, v_candidate) is not null loop
        v_candidate := v_base || '_' || substr(md5(random()::text), 1, 6);
    end loop;
    return v_candidate;
end;
$$;
comment on function private.available_username(text, text) is
'A free, valid username: the one asked for if possible (not taken, reserved or a look-alike
of another), else derived from it or the email.';
revoke execute on function private.available_username(text, text) from public;

create function private.handle_new_user() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_meta jsonb := coalesce(new.raw_user_meta_data, '{}'::jsonb);
    v_username text := private.available_username(v_meta ->> 'username', new.email);
    v_display text := nullif(left(btrim(private.strip_invisible_characters(
        coalesce(v_meta ->> 'display_name', v_meta ->> 'full_name', ''))), 64), '');
begin
    -- Sign-up must never fail because of profile data: bad metadata falls back to defaults
    -- (a display name that is reserved or looks like another user's username is dropped).
    if private.accounts_display_name_problem(new.id, v_display) is not null then
        v_display := null;
    end if;
    insert into accounts.profiles (id, username, display_name)
    values (new.id, v_username, v_display);
    insert into accounts.user_roles (user_id, role) values (new.id, 'member');
    return new;
end;
$$;
comment on function private.handle_new_user() is
'Trigger on auth.users insert: creates the profile and the member role. Definer because it
runs as Supabase Auth''s role, which cannot write the accounts tables.';
revoke execute on function private.handle_new_user() from public;

create trigger on_auth_user_created after insert on auth.users
for each row execute function private.handle_new_user();

-- Avatars -----------------------------------------------------------------------------------
insert into storage.buckets (id, name, public, file_size_limit, allowed_mime_types)
values (
    'avatars', 'avatars', true, 1048576,
    array['image/png', 'image/jpeg', 'image/webp', 'image/gif']
)
on conflict (id) do nothing;

-- Anyone may fetch an avatar (public bucket); a user writes only inside their own folder.
create policy avatars_read on storage.objects for select to anon, authenticated
using (bucket_id = 'avatars');
create policy avatars_insert on storage.objects for insert to authenticated
with check (
    bucket_id = 'avatars'
    and (storage.foldername(name))[1] = (select auth.uid())::text
);
create policy avatars_update on storage.objects for update to authenticated
using (bucket_id = 'avatars' and owner_id = (select auth.uid())::text)
with check (
    bucket_id = 'avatars'
    and (storage.foldername(name))[1] = (select auth.uid())::text
);
create policy avatars_delete on storage.objects for delete to authenticated
using (bucket_id = 'avatars' and owner_id = (select auth.uid())::text);

-- API ---------------------------------------------------------------------------------------
create view api.accounts_profiles with (security_invoker = true) as
select
    p.id,
    p.username,
    p.display_name,
    p.bio,
    p.avatar_path,
    p.country,
    p.skills,
    p.visibility,
    p.created_at
from accounts.profiles as p
where (select private.key_may_read('api.accounts_profiles'));
comment on view api.accounts_profiles is
'Profiles the caller may see (public; members-only when signed in; own; all for staff).
No email: see api.accounts_get_my_account.';
grant select on api.accounts_profiles to anon, authenticated, service_role;

create function private.validate_profile_field(p_field text, p_value jsonb) returns void
language plpgsql immutable
set search_path = ''
as $$
declare
    v_text text;
begin
    if p_value is null or jsonb_typeof(p_value) = 'null' then
        if p_field in ('username', 'visibility', 'skills') then
            perform private.raise_error('profile_invalid', format('%s cannot be null.', p_field),
                '22023', jsonb_build_object('field', p_field));
        end if;
        return;
    end if;
    if p_field = 'skills' then
        if jsonb_typeof(p_value) <> 'array' or jsonb_array_length(p_value) > 20 or exists (
            select 1 from jsonb_array_elements(p_value) as e(v)
            where jsonb_typeof(e.v) <> 'string'
               or (e.v #>> '{}') !~ '^[a-z0-9][a-z0-9+#.-]{0,31}$'
        ) then
            perform private.raise_error('profile_invalid',
                'skills is a list of at most 20 lowercase tags (letters, digits, + # . -).',
                '22023', jsonb_build_object('field', 'skills'));
        end if;
        return;
    end if;
    if jsonb_typeof(p_value) <> 'string' then
        perform private.raise_error('profile_invalid', format('%s must be a string.', p_field),
            '22023', jsonb_build_object('field', p_field));
    end if;
    v_text := p_value #>> '{}';
    if p_field = 'username' and v_text !~ '^[A-Za-z][A-Za-z0-9_]{2,23}$' then
        perform private.raise_error('username_invalid',
            'Usernames are 3-24 characters: a letter, then letters, digits or underscores.',
            '22023', jsonb_build_object('field', 'username'));
    elsif p_field = 'display_name' and char_length(btrim(v_text)) not between 1 and 64 then
        perform private.raise_error('profile_invalid', 'display_name is 1-64 characters.',
            '22023', jsonb_build_object('field', p_field));
    elsif p_field = 'bio' and char_length(v_text) > 2000 then
        perform private.raise_error('profile_invalid', 'bio is at most 2000 characters.',
            '22023', jsonb_build_object('field', p_field));
    elsif p_field = 'country' and v_text !~ '^[A-Z]{2}$' then
        perform private.raise_error('profile_invalid',
            'country is an ISO 3166-1 alpha-2 code such as FR.', '22023',
            jsonb_build_object('field', p_field));
    elsif p_field = 'visibility' and v_text not in ('public', 'members', 'private') then
        perform private.raise_error('profile_invalid',
            'visibility is public, members or private.', '22023',
            jsonb_build_object('field', p_field));
    end if;
end;
$$;
comment on function private.validate_profile_field(text, jsonb) is
'Validate one profile field of an update; raises profile_invalid / username_invalid.';
revoke execute on function private.validate_profile_field(text, jsonb) from public;
grant execute on function private.validate_profile_field(text, jsonb) to authenticated;

create function api.accounts_update_my_profile(p_changes jsonb) returns api.accounts_profiles
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
    v_key text;
    v_row api.accounts_profiles;
begin
    if p_changes is null or jsonb_typeof(p_changes) <> 'object' or p_changes = '{}' then
        perform private.raise_error('invalid_argument',
            'p_changes is a non-empty object of profile fields.', '22023');
    end if;
    for v_key in select jsonb_object_keys(p_changes) loop
        if v_key not in ('username', 'display_name', 'bio', 'country', 'skills', 'visibility') then
            perform private.raise_error('profile_invalid',
                format('%s is not an editable profile field.', v_key), '22023',
                jsonb_build_object('field', v_key));
        end if;
        perform private.validate_profile_field(v_key, p_changes -> v_key);
    end loop;
    perform private.accounts_require_names(v_uid, p_changes);
    begin
        update accounts.profiles as p set
            username = case when p_changes ? 'username' then p_changes ->> 'username'
                            else p.username end,
            display_name = case when p_changes ? 'display_name'
                                then btrim(p_changes ->> 'display_name') else p.display_name end,
            bio = case when p_changes ? 'bio' then p_changes ->> 'bio' else p.bio end,
            country = case when p_changes ? 'country' then p_changes ->> 'country'
                           else p.country end,
            skills = case when p_changes ? 'skills' then array(
                select distinct jsonb_array_elements_text(p_changes -> 'skills')
            ) else p.skills end,
            visibility = case when p_changes ? 'visibility'
                              then (p_changes ->> 'visibility')::accounts.visibility
                              else p.visibility end
        where p.id = v_uid;
    exception when unique_violation then
        perform private.raise_error('username_taken', 'That username is taken.', 'PT409');
    end;
    select * into v_row from api.accounts_profiles where id = v_uid;
    return v_row;
end;
$$;
comment on function api.accounts_update_my_profile(jsonb) is
'Change fields of your own profile: {"username","display_name","bio","country","skills",
"visibility"}; a key set to null clears an optional field. Errors: not_authenticated,
invalid_argument, profile_invalid (details.field; invisible characters in display_name),
username_invalid, username_taken, username_confusable, name_reserved (details.field),
display_name_confusable.
Definer because clients have no update grant on the table: this function is the one way in.';
revoke execute on function api.accounts_update_my_profile(jsonb) from public, anon;
grant execute on function api.accounts_update_my_profile(jsonb) to authenticated;

create function api.accounts_set_my_avatar(p_path text) returns api.accounts_profiles
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
    v_row api.accounts_profiles;
begin
    if p_path is not null and (
        (storage.foldername(p_path))[1] is distinct from v_uid::text
        or not exists (
            select 1 from storage.objects where bucket_id = 'avatars' and name = p_path
        )
    ) then
        perform private.raise_error('profile_invalid',
            'avatar_path must name an uploaded object in your own avatars folder.', '22023',
            jsonb_build_object('field', 'avatar_path'));
    end if;
    update accounts.profiles set avatar_path = p_path where id = v_uid;
    select * into v_row from api.accounts_profiles where id = v_uid;
    return v_row;
end;
$$;
comment on function api.accounts_set_my_avatar(text) is
'Point your profile at an uploaded avatar (avatars/<your id>/...), or clear it with null.
Errors: not_authenticated, profile_invalid.';
revoke execute on function api.accounts_set_my_avatar(text) from public, anon;
grant execute on function api.accounts_set_my_avatar(text) to authenticated;

-- Roles are badges: anyone who may see a profile may see its roles.
alter policy user_roles_read on accounts.user_roles
using (
    user_id = (select auth.uid())
    or (select private.jwt_has_permission('profiles.read_private'))
    or exists (select 1 from accounts.profiles as p where p.id = user_roles.user_id)
);
create policy user_roles_read_anon on accounts.user_roles for select to anon
using (exists (select 1 from accounts.profiles as p where p.id = user_roles.user_id));
grant select on accounts.user_roles to anon;
grant select on api.accounts_user_roles to anon;
comment on view api.accounts_user_roles is
'Roles held by the users whose profiles you may see (roles are public badges).';
