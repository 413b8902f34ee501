-- Supabase platform contract: Realtime's publication and broadcast table.
-- probe: select to_regclass('realtime.messages') is not null
--
-- `postgres_changes` streams rows of tables in the `supabase_realtime` publication to
-- subscribers whose RLS lets them read the row; `realtime.send()` broadcasts from SQL on
-- topics that policies on `realtime.messages` guard (`realtime.topic()` is the topic).
-- Owned by whoever applies the contract: `supabase_admin` on the embedded default, the
-- superuser (`postgres`) on a plain PostgreSQL.
create schema if not exists realtime authorization current_user;
grant usage on schema realtime to postgres, anon, authenticated, service_role;

create table realtime.messages (
    id bigint generated always as identity primary key,
    topic text not null,
    extension text not null default 'broadcast',
    payload jsonb,
    event text,
    private boolean default false,
    inserted_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
comment on table realtime.messages is 'Realtime broadcast messages (platform contract).';
alter table realtime.messages enable row level security;
alter table realtime.messages owner to postgres;
grant select, insert on realtime.messages to anon, authenticated, service_role;

create function realtime.topic() returns text
language sql stable
as $$
    select nullif(current_setting('realtime.topic', true), '')
$$;

create function realtime.send(
    payload jsonb, event text, topic text, private boolean default true
) returns void
language sql volatile
security definer
set search_path = ''
as $$
    insert into realtime.messages (topic, extension, payload, event, private)
    values (topic, 'broadcast', payload, event, private)
$$;
revoke execute on function realtime.send(jsonb, text, text, boolean) from public;
grant execute on function realtime.topic() to postgres, anon, authenticated, service_role;
grant execute on function realtime.send(jsonb, text, text, boolean) to postgres, service_role;

do $publication$
begin
    if not exists (select from pg_publication where pubname = 'supabase_realtime') then
        create publication supabase_realtime;
    end if;
    alter publication supabase_realtime owner to postgres;
end
$publication$;
