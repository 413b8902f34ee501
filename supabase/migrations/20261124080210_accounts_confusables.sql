-- accounts: look-alike names. Unicode confusable skeletons (UTS #39), invisible and
-- bidirectional control characters, and names reserved for staff, so that nobody can pass
-- for another user or for the platform.
--
-- skeleton(X) = NFD(map each character of NFD(X) to its prototype), with the prototypes in
-- accounts.confusables (generated data: 20261124080205_accounts_confusables_data.sql). Names
-- are compared by their *name skeleton*: invisible characters stripped, skeleton, lower case,
-- skeleton again (so 'aIice' ~ 'alice', 'adrnin' ~ 'admin', 'b0b' ~ 'bob', 'Mallory' ~
-- 'rnallory').

insert into ops.error_codes (code, sqlstate, http_status, description) values
(
    'username_confusable', 'PT409', 409,
    'The username looks like another user''s (same confusable skeleton, UTS #39).'
),
(
    'name_reserved', 'PT409', 409,
    'The name is reserved for the platform and its staff (details.field).'
),
(
    'display_name_confusable', 'PT409', 409,
    'The display name looks like another user''s username.'
);

-- Invisible characters: format characters (general category Cf, which includes the bidi
-- controls U+202A..U+202E and U+2066..U+2069, the zero-width U+200B..U+200F, U+2060..U+2064
-- and U+FEFF), plus the invisible fillers and selectors (U+034F, Hangul fillers, Khmer
-- inherent vowels, Mongolian and variation selectors).
create function private.invisible_characters_pattern() returns text
language sql immutable
set search_path = ''
as $$
    select '[\u00AD\u034F\u0600-\u0605\u061C\u06DD\u070F\u0890-\u0891\u08E2\u115F\u1160'
        || '\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F'
        || '\u3164\uFE00-\uFE0F\uFEFF\uFFA0\uFFF9-\uFFFB\U000110BD\U000110CD'
        || '\U00013430-\U00013438\U0001BCA0-\U0001BCA3\U0001D173-\U0001D17A\U000E0001'
        || '\U000E0020-\U000E007F\U000E0100-\U000E01EF]'
$$;
comment on function private.invisible_characters_pattern() is
'Regular expression class of the invisible characters stripped from and refused in names:
Unicode general category Cf (bidi controls, zero-width characters, BOM, ...) and invisible
fillers and variation selectors.';
revoke execute on function private.invisible_characters_pattern() from public;

create function private.has_invisible_characters(p_text text) returns boolean
language sql immutable
set search_path = ''
as $$
    select p_text ~ private.invisible_characters_pattern()
$$;
comment on function private.has_invisible_characters(text) is
'Does the text contain an invisible or bidirectional control character?';
revoke execute on function private.has_invisible_characters(text) from public;

create function private.strip_invisible_characters(p_text text) returns text
language sql immutable
set search_path = ''
as $$
    select regexp_replace(p_text, private.invisible_characters_pattern(), '', 'g')
$$;
comment on function private.strip_invisible_characters(text) is
'The text without its invisible and bidirectional control characters.';
revoke execute on function private.strip_invisible_characters(text) from public;

-- PL/pgSQL rather than SQL: its query plan is cached per session (a SQL function that is
-- not inlined is planned at every call, which cost ~2 ms here).
create function private.confusable_skeleton(p_text text) returns text
language plpgsql stable
set search_path = ''
as $$
begin
    if p_text is null then
        return null;
    end if;
    return (
        -- one primary-key probe per character (a join would hash the whole table)
        select normalize(coalesce(string_agg(coalesce(
            (select c.target from accounts.confusables as c where c.source = s.ch), s.ch
        ), '' order by s.n), ''), nfd)
        from regexp_split_to_table(normalize(p_text, nfd), '') with ordinality as s (ch, n)
    );
end;
$$;
comment on function private.confusable_skeleton(text) is
'UTS #39 skeleton: NFD, every character replaced by its confusable prototype
(accounts.confusables), NFD again. Two strings with the same skeleton look alike.';
revoke execute on function private.confusable_skeleton(text) from public;

create function private.accounts_name_skeleton(p_name text) returns text
language plpgsql stable
set search_path = ''
as $$
begin
    return private.confusable_skeleton(lower(private.confusable_skeleton(
        btrim(private.strip_invisible_characters(p_name))
    )));
end;
$$;
comment on function private.accounts_name_skeleton(text) is
'How a username or display name is compared: invisible characters stripped, trimmed,
skeleton, lower case, skeleton again (case-insensitive look-alikes: aIice ~ alice,
adrnin ~ admin, b0b ~ bob).';
revoke execute on function private.accounts_name_skeleton(text) from public;

-- Reserved names -------------------------------------------------------------------------
create table accounts.reserved_names (
    name text primary key check (name ~ '^[a-z][a-z0-9_]*$'),
    skeleton text not null default '',
    spaced_skeleton text not null default '',
    created_at timestamptz not null default now()
);
create index reserved_names_skeleton_idx on accounts.reserved_names (skeleton);
create index reserved_names_spaced_skeleton_idx on accounts.reserved_names (spaced_skeleton);
comment on table accounts.reserved_names is
'Names nobody may take as username or display name (staff and platform names), compared by
name skeleton, so look-alikes of them are refused too. No client grant.';
alter table accounts.reserved_names enable row level security;

create function private.accounts_reserved_name_skeletons() returns trigger
language plpgsql
set search_path = ''
as $$
begin
    new.skeleton := private.accounts_name_skeleton(new.name);
    new.spaced_skeleton := private.accounts_name_skeleton(replace(new.name, '_', ' '));
    return new;
end;
$$;
comment on function private.accounts_reserved_name_skeletons() is
'Trigger: keep a reserved name''s skeletons (as written, and with underscores as spaces).';
revoke execute on function private.accounts_reserved_name_skeletons() from public;
create trigger reserved_names_skeletons before insert or update of name
on accounts.reserved_names for each row
execute function private.accounts_reserved_name_skeletons();

insert into accounts.reserved_names (name) values
('admin'), ('administrator'), ('admins'), ('moderator'), ('moderators'), ('mod'), ('mods'),
('staff'), ('support'), ('security'), ('flagship'), ('flagship_team'), ('flagship_staff'),
('flagship_support'), ('root'), ('system'), ('sysadmin'), ('superuser'), ('official'),
('helpdesk'), ('abuse'), ('postmaster'), ('webmaster'), ('hostmaster'), ('noreply'),
('no_reply'), ('anonymous'), ('deleted_user');

create function private.accounts_is_reserved_name(p_skeleton text) returns boolean
language sql stable
set search_path = ''
as $$
    select exists (
        select 1 from accounts.reserved_names as r
        where r.skeleton = p_skeleton or r.spaced_skeleton = p_skeleton
    )
$$;
comment on function private.accounts_is_reserved_name(text) is
'Is p_skeleton (a name skeleton) the skeleton of a reserved name (with underscores read as
spaces too, for display names)?';
revoke execute on function private.accounts_is_reserved_name(text) from public;
