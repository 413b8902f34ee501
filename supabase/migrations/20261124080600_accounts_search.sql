-- accounts: user search with trigram matching, filters and keyset pagination.

insert into ops.error_codes (code, sqlstate, http_status, description) values
('cursor_invalid', '22023', 400, 'The pagination cursor is not one this API returned.');

create extension if not exists pg_trgm with schema extensions;

create index profiles_username_trgm_idx on accounts.profiles
using gin (lower(username) extensions.gin_trgm_ops);
create index profiles_display_name_trgm_idx on accounts.profiles
using gin (lower(display_name) extensions.gin_trgm_ops);

create function private.accounts_search_args(
    p_query text, p_skill text, p_country text, p_role text, p_cursor text, p_limit int,
    out after_score real, out after_key text, out after_id uuid
)
language plpgsql stable
set search_path = ''
as $$
begin
    if p_limit is null or p_limit not between 1 and 100 then
        perform private.raise_error('invalid_argument', 'p_limit is between 1 and 100.', '22023',
            jsonb_build_object('field', 'p_limit'));
    end if;
    if p_query is not null and char_length(p_query) not between 2 and 64 then
        perform private.raise_error('invalid_argument', 'p_query is 2-64 characters.', '22023',
            jsonb_build_object('field', 'p_query'));
    end if;
    if p_skill is not null and p_skill !~ '^[a-z0-9][a-z0-9+#.-]{0,31}$' then
        perform private.raise_error('invalid_argument', 'p_skill is a lowercase skill tag.',
            '22023', jsonb_build_object('field', 'p_skill'));
    end if;
    if p_country is not null and p_country !~ '^[A-Z]{2}$' then
        perform private.raise_error('invalid_argument', 'p_country is an ISO alpha-2 code.',
            '22023', jsonb_build_object('field', 'p_country'));
    end if;
    if p_role is not null and not exists (select 1 from accounts.roles as r where r.name = p_role)
    then
        perform private.raise_error('role_unknown', format('No role named %L.', p_role), '22023');
    end if;
    if p_cursor is not null then
        begin
            select (c ->> 's')::real, c ->> 'k', (c ->> 'i')::uuid
            into strict after_score, after_key, after_id
            from (select convert_from(decode(p_cursor, 'base64'), 'utf8')::jsonb as c) as x;
        exception when others then
            perform private.raise_error('cursor_invalid', 'Bad cursor.', '22023');
        end;
        if after_id is null then
            perform private.raise_error('cursor_invalid', 'Bad cursor.', '22023');
        end if;
    end if;
end;
$$;
comment on function private.accounts_search_args(text, text, text, text, text, int) is
'Check the arguments of api.accounts_search_users (p_query already trimmed and lowered) and
decode its cursor into (after_score, after_key, after_id). Raises invalid_argument
(details.field), role_unknown, cursor_invalid.';
revoke execute on function private.accounts_search_args(text, text, text, text, text, int)
from public;

create function api.accounts_search_users(
    p_query text default null,
    p_skill text default null,
    p_country text default null,
    p_role text default null,
    p_cursor text default null,
    p_limit int default 20
)
returns table (
    id uuid,
    username text,
    display_name text,
    avatar_path text,
    country text,
    skills text[],
    roles text[],
    score real,
    next_cursor text
)
language plpgsql stable
-- Definer, with the visibility rule applied below: under RLS the planner may not use the
-- trigram indexes (their operators are not leakproof), and the sequential scan it falls
-- back to measured 10-20x slower at 30,000 users.
security definer
set search_path = ''
-- Optional filters ("p is null or ...") need plans made for the actual arguments, and the
-- planner prices the trigram operator as cheap, so without a nudge it still picks the
-- slow sequential scan.
set plan_cache_mode = 'force_custom_plan'
set enable_seqscan = off
as $$
declare
    v_uid uuid := (select auth.uid());
    v_staff boolean := private.jwt_has_permission('profiles.read_private')
        or (select auth.role()) = 'service_role';
    v_query text := lower(btrim(p_query));
    v_after_score real;
    v_after_key text;
    v_after_id uuid;
begin
    perform private.require_scope('api.accounts_search_users');  -- API key scope
    select a.after_score, a.after_key, a.after_id into v_after_score, v_after_key, v_after_id
    from private.accounts_search_args(v_query, p_skill, p_country, p_role, p_cursor, p_limit)
    as a;

    return query
    with matches as (
        select
            p.id, p.username, p.display_name, p.avatar_path, p.country, p.skills,
            case when v_query is null then 0::real
                 else greatest(
                     extensions.similarity(lower(p.username), v_query),
                     extensions.similarity(coalesce(lower(p.display_name), ''), v_query)
                 ) end as score,
            lower(p.username) as sort_key
        from accounts.profiles as p
        where (
            p.visibility = 'public'
            or (p.visibility = 'members' and v_uid is not null)
            or p.id = v_uid
            or v_staff
        )
          and (v_query is null
               or lower(p.username) operator(extensions.%) v_query
               or lower(p.display_name) operator(extensions.%) v_query
               or lower(p.username) like v_query || '%')
          and (p_skill is null or p.skills @> array[p_skill])
          and (p_country is null or p.country = p_country)
          and (p_role is null or exists (
              select 1 from accounts.user_roles as ur
              where ur.user_id = p.id and ur.role = p_role))
    ),
    page as (
        select m.* from matches as m
        where p_cursor is null
            or (v_query is null and (m.sort_key, m.id) > (v_after_key, v_after_id))
            or (
                v_query is not null and (
                    m.score < v_after_score
                    or (m.score = v_after_score
                        and (m.sort_key, m.id) > (v_after_key, v_after_id))
                )
            )
        order by
            case when v_query is not null then m.score end desc,
            m.sort_key, m.id
        limit p_limit
    )
    select
        pg.id, pg.username, pg.display_name, pg.avatar_path, pg.country, pg.skills,
        array(
            select ur.role from accounts.user_roles as ur
            join accounts.roles as r on r.name = ur.role
            where ur.user_id = pg.id order by r.rank
        ),
        pg.score,
        encode(convert_to(jsonb_build_object(
            's', pg.score, 'k', pg.sort_key, 'i', pg.id)::text, 'utf8'), 'base64')
    from page as pg
    order by
        case when v_query is not null then pg.score end desc,
        pg.sort_key, pg.id;
end;
$$;
comment on function api.accounts_search_users(text, text, text, text, text, int) is
'Find people: fuzzy text match on username and display name (pg_trgm), filters by skill,
country and role, keyset pagination (pass the last row''s next_cursor as p_cursor). Only
profiles the caller may see are returned. Errors: invalid_argument, role_unknown,
cursor_invalid.';
grant execute on function api.accounts_search_users(text, text, text, text, text, int)
to anon, authenticated, service_role;
