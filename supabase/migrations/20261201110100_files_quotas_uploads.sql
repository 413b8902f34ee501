-- files: per-user quotas by plan, usage counters, the record of inspected uploads, and the
-- guard every storage.objects write passes (path, bucket size limit and allowlist, quota),
-- so the rules hold on Supabase too, whoever writes the row. Every removal is audited.

-- Quotas and usage ------------------------------------------------------------------------------
create table files.quotas (
    grantee text primary key check (
        grantee = 'everyone' or grantee ~ '^(feature|permission):[a-z][a-z0-9_.]*$'
    ),
    bytes bigint check (bytes is null or bytes >= 0),
    description text not null check (char_length(description) <= 300)
);
comment on table files.quotas is
'Storage quota per grantee: everyone, a plan feature (feature:pro, through
private.user_has_entitlement) or a permission (permission:courses.author). A user''s quota is
the largest that applies to them; bytes null means unlimited.';
alter table files.quotas enable row level security;
create policy quotas_read on files.quotas for select to authenticated using (true);
grant select on files.quotas to authenticated, service_role;

insert into files.quotas (grantee, bytes, description) values
('everyone', 104857600, 'Every member: 100 MiB.'),
('feature:pro', 5368709120, 'The pro plan: 5 GiB.'),
('permission:courses.author', 21474836480, 'Instructors (course material): 20 GiB.'),
('permission:ctf.organise', 21474836480, 'CTF organisers (challenge files): 20 GiB.'),
('permission:platform.admin', null, 'Admins: unlimited.');

create table files.usage (
    user_id uuid primary key references auth.users (id) on delete cascade,
    bytes bigint not null default 0,
    objects int not null default 0,
    updated_at timestamptz not null default now()
);
comment on table files.usage is
'Bytes and objects each user owns in storage.objects, kept by the storage.objects triggers
(the row lock serialises a user''s concurrent uploads, so the quota holds under races).';
alter table files.usage enable row level security;
create policy usage_read on files.usage for select to authenticated
using (user_id = (select auth.uid()));
grant select on files.usage to authenticated, service_role;

create function private.files_quota(p_user uuid) returns bigint
language sql stable
security definer
set search_path = ''
as $$
    select case when count(*) = 0 then 0 when bool_or(q.bytes is null) then null
                else max(q.bytes) end
    from files.quotas as q
    where q.grantee = 'everyone'
       or (q.grantee like 'feature:%'
           and private.user_has_entitlement(p_user, substr(q.grantee, 9)))
       or (q.grantee like 'permission:%'
           and private.user_has_permission(p_user, substr(q.grantee, 12)))
$$;
comment on function private.files_quota(uuid) is
'The storage quota of a user in bytes (null: unlimited): the largest files.quotas row that
applies, by plan (private.user_has_entitlement) or permission.';

-- The record of inspected uploads ------------------------------------------------------------
create table files.uploads (
    bucket_id text not null,
    name text not null,
    sha256 text not null check (sha256 ~ '^[0-9a-f]{64}$'),
    size bigint not null check (size >= 0),
    content_type text not null check (char_length(content_type) <= 200),
    original_sha256 text not null check (original_sha256 ~ '^[0-9a-f]{64}$'),
    details jsonb not null default '{}' check (jsonb_typeof(details) = 'object'),
    inspected_at timestamptz not null default now(),
    primary key (bucket_id, name),
    foreign key (bucket_id, name) references storage.objects (bucket_id, name)
    on delete cascade on update cascade
);
comment on table files.uploads is
'Objects that passed the safe-upload pipeline (files.inspect_upload): the SHA-256 and size
of the stored (cleaned) bytes, of the bytes received, and what inspection found. Written
only through private.files_record_upload; follows its object on move and removal.';
alter table files.uploads enable row level security;
grant select on files.uploads to service_role;

-- The guard on storage.objects ---------------------------------------------------------------
create function private.files_path_ok(p_name text) returns boolean
language sql immutable
set search_path = ''
as $$
    select p_name is not null and char_length(p_name) between 1 and 1024
        and p_name !~ '[[:cntrl:]\\]' and left(p_name, 1) <> '/'
        and not (string_to_array(p_name, '/') && array['', '.', '..'])
$$;
comment on function private.files_path_ok(text) is
'Object names are relative paths of non-empty segments, never `.` or `..`, without control
characters or backslashes (the same rule as files.paths.check_object_path).';

create function private.files_type_allowed(p_type text, p_allowed text[]) returns boolean
language sql immutable
set search_path = ''
as $$
    select p_allowed is null or exists (
        select 1 from unnest(p_allowed) as a (t)
        where lower(a.t) = p_type
           or (a.t like '%/*' and p_type like lower(left(a.t, -1)) || '%')
    )
$$;
comment on function private.files_type_allowed(text, text[]) is
'Supabase''s allowlist matching: exact types and type/* wildcards; no list allows all.';

create function private.files_object_size(p_metadata jsonb) returns bigint
language sql immutable
set search_path = ''
as $$
    select case when p_metadata ->> 'size' ~ '^[0-9]{1,18}$'
        then (p_metadata ->> 'size')::bigint end
$$;
comment on function private.files_object_size(jsonb) is
'The size Storage records in storage.objects.metadata, or null.';

create function private.files_guard_object() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_bucket storage.buckets;
    v_size bigint := private.files_object_size(new.metadata);
    v_type text := lower(btrim(split_part(coalesce(new.metadata ->> 'mimetype', ''), ';', 1)));
    v_owner uuid := private.files_uuid(coalesce(new.owner_id, new.owner::text));
    v_old_owner uuid;
    v_old_size bigint := 0;
    v_delta bigint;
    v_used bigint;
    v_quota bigint;
begin
    if not private.files_path_ok(new.name) then
        perform private.raise_error('file_path_invalid',
            'The object path must be relative, without empty, `.` or `..` segments, control '
            || 'characters or backslashes.', '22023', jsonb_build_object('path', left(new.name, 200)));
    end if;
    select * into v_bucket from storage.buckets as b where b.id = new.bucket_id;
    if v_size is not null and v_size > v_bucket.file_size_limit then
        perform private.raise_error('file_too_large',
            format('The object is over the %s bucket''s limit of %s bytes.',
                   new.bucket_id, v_bucket.file_size_limit), 'PT413',
            jsonb_build_object('limit', v_bucket.file_size_limit, 'size', v_size));
    end if;
    if v_type <> '' and not private.files_type_allowed(v_type, v_bucket.allowed_mime_types) then
        perform private.raise_error('file_type_not_allowed',
            format('The %s bucket does not take %s.', new.bucket_id, v_type), 'PT415',
            jsonb_build_object('type', v_type, 'allowed', v_bucket.allowed_mime_types));
    end if;
    if tg_op = 'UPDATE' then
        v_old_owner := private.files_uuid(coalesce(old.owner_id, old.owner::text));
        v_old_size := coalesce(private.files_object_size(old.metadata), 0);
        if v_old_owner is not null and v_old_owner is distinct from v_owner then
            update files.usage set bytes = greatest(0, bytes - v_old_size),
                objects = greatest(0, objects - 1), updated_at = now()
            where user_id = v_old_owner;
        end if;
    end if;
    if v_owner is null or not exists (select 1 from auth.users as u where u.id = v_owner) then
        return new;
    end if;
    v_delta := coalesce(v_size, 0)
        - case when v_old_owner = v_owner then v_old_size else 0 end;
    insert into files.usage as u (user_id, bytes, objects)
    values (v_owner, greatest(v_delta, 0),
            case when v_old_owner = v_owner then 0 else 1 end)
    on conflict (user_id) do update set
        bytes = greatest(0, u.bytes + v_delta),
        objects = u.objects + case when v_old_owner = v_owner then 0 else 1 end,
        updated_at = now()
    returning u.bytes into v_used;
    if v_delta > 0 then
        v_quota := private.files_quota(v_owner);
        if v_quota is not null and v_used > v_quota then
            perform private.raise_error('file_quota_exceeded',
                format('This upload would use %s of your %s bytes of storage.', v_used, v_quota),
                'PT413',
                jsonb_build_object('used', v_used - v_delta, 'quota', v_quota, 'size', v_size));
        end if;
    end if;
    return new;
end;
$$;
comment on function private.files_guard_object() is
'Trigger before insert or update on storage.objects: a safe path, the bucket''s size limit
and allowlist (against the recorded mimetype), and the owner''s quota (files.usage, locked
per user). Definer: it keeps files.usage, which callers cannot write.';

create function private.files_object_removed() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_owner uuid := private.files_uuid(coalesce(old.owner_id, old.owner::text));
    v_size bigint := private.files_object_size(old.metadata);
begin
    if v_owner is not null then
        update files.usage set bytes = greatest(0, bytes - coalesce(v_size, 0)),
            objects = greatest(0, objects - 1), updated_at = now()
        where user_id = v_owner;
    end if;
    perform private.audit('files.object_removed', 'storage_object',
        old.bucket_id || '/' || old.name,
        jsonb_build_object('bucket', old.bucket_id, 'name', old.name, 'owner', v_owner,
                           'size', v_size),
        nullif(current_setting('files.removal_reason', true), ''));
    return null;
end;
$$;
comment on function private.files_object_removed() is
'Trigger after delete on storage.objects: release the owner''s usage and audit the removal
(files.object_removed; the reason is the files.removal_reason setting when the remover set
one).';

revoke execute on function private.files_quota(uuid), private.files_path_ok(text),
private.files_type_allowed(text, text[]), private.files_object_size(jsonb),
private.files_guard_object(), private.files_object_removed() from public;
grant execute on function private.files_quota(uuid), private.files_path_ok(text)
to authenticated, service_role;

create trigger files_guard before insert or update on storage.objects
for each row execute function private.files_guard_object();
create trigger files_removed after delete on storage.objects
for each row execute function private.files_object_removed();

-- Objects that existed before these triggers count from now on.
insert into files.usage (user_id, bytes, objects)
select
    u.id,
    coalesce(sum(private.files_object_size(o.metadata)), 0) as bytes,
    count(*) as objects
from storage.objects as o
inner join auth.users as u on u.id = private.files_uuid(coalesce(o.owner_id, o.owner::text))
group by u.id
on conflict (user_id) do nothing;

-- Recording an inspected upload -----------------------------------------------------------------
create function private.files_record_upload(
    p_bucket text, p_name text, p_owner uuid, p_sha256 text, p_size bigint,
    p_content_type text, p_original_sha256 text, p_details jsonb default '{}'
) returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
    -- Stored with the service key, the object has no owner yet: the uploader becomes it
    -- (the guard trigger charges their quota, and refuses here when it is exceeded).
    update storage.objects set owner_id = p_owner::text, owner = p_owner
    where bucket_id = p_bucket and name = p_name and p_owner is not null
      and owner_id is distinct from p_owner::text;
    insert into files.uploads as u (
        bucket_id, name, sha256, size, content_type, original_sha256, details
    ) values (p_bucket, p_name, p_sha256, p_size, p_content_type, p_original_sha256,
              coalesce(p_details, '{}'))
    on conflict (bucket_id, name) do update set
        sha256 = excluded.sha256, size = excluded.size, content_type = excluded.content_type,
        original_sha256 = excluded.original_sha256, details = excluded.details,
        inspected_at = now();
end;
$$;
comment on function private.files_record_upload(
    text, text, uuid, text, bigint, text, text, jsonb
) is
'After the upload pipeline stored an object: make the uploader its owner and record what
inspection found (files.uploads). Called by the edge and the local Storage, as service role.';
revoke execute on function private.files_record_upload(
    text, text, uuid, text, bigint, text, text, jsonb
) from public;
grant execute on function private.files_record_upload(
    text, text, uuid, text, bigint, text, text, jsonb
) to service_role;

-- Challenge files carry the SHA-256 players check -----------------------------------------------
create function private.files_challenge_file_hash() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    new.sha256 := (
        select u.sha256 from files.uploads as u
        where u.bucket_id = 'challenge-files' and u.name = new.storage_path
    );
    return new;
end;
$$;
comment on function private.files_challenge_file_hash() is
'Trigger on ctf.challenge_files: sha256 is the inspected object''s (null until inspected).';

create function private.files_upload_hash_changed() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    if tg_op in ('UPDATE', 'DELETE') and old.bucket_id = 'challenge-files' then
        update ctf.challenge_files set sha256 = null where storage_path = old.name;
    end if;
    if tg_op in ('INSERT', 'UPDATE') and new.bucket_id = 'challenge-files' then
        update ctf.challenge_files set sha256 = new.sha256 where storage_path = new.name;
    end if;
    return null;
end;
$$;
comment on function private.files_upload_hash_changed() is
'Trigger on files.uploads: keep ctf.challenge_files.sha256 equal to the object''s.';
revoke execute on function private.files_challenge_file_hash(),
private.files_upload_hash_changed() from public;

create trigger challenge_files_sha256 before insert or update of storage_path
on ctf.challenge_files for each row execute function private.files_challenge_file_hash();
create trigger uploads_challenge_hash after insert or update or delete on files.uploads
for each row execute function private.files_upload_hash_changed();

-- API ---------------------------------------------------------------------------------------
create function api.files_get_my_usage() returns jsonb
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
begin
    return (
        select jsonb_build_object(
            'bytes', coalesce(u.bytes, 0), 'objects', coalesce(u.objects, 0),
            'quota', private.files_quota(v_uid))
        from (select 1) as one
        left join files.usage as u on u.user_id = v_uid
    );
end;
$$;
comment on function api.files_get_my_usage() is
'Your storage use: {bytes, objects, quota} (quota in bytes by your plan and roles; null =
unlimited). Errors: not_authenticated.';
revoke execute on function api.files_get_my_usage() from public, anon;
grant execute on function api.files_get_my_usage() to authenticated, service_role;

insert into accounts.api_object_scopes (object, kind, access, scope) values
('api.files_get_my_usage', 'function', 'scope', 'profile:read');
