-- files: work the worker does on stored objects, queued through the outbox.
--   files.certificate_pdf   render a certificate's PDF (valid) or remove it (revoked)
--   files.avatar_variants   64/128/256 px WebP variants of a new avatar
--   files.remove_objects    remove a batch of objects (orphans), audited
-- accounts.user_deleted (queued by private.erase_user) is handled by the files worker too:
-- it removes what private.files_objects_of_user lists.

-- Certificate PDFs -------------------------------------------------------------------------------
create function private.files_queue_certificate_pdf() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    perform ops.enqueue('files.certificate_pdf', jsonb_build_object(
        'certificate_id', new.id, 'code', new.code, 'user_id', new.user_id,
        'action', case when new.status = 'valid' then 'render' else 'remove' end
    ), new.id::text || ':' || new.status::text || ':'
       || coalesce(extract(epoch from new.status_changed_at)::text, 'issued'));
    return null;
end;
$$;
comment on function private.files_queue_certificate_pdf() is
'Trigger on learning.certificates: queue files.certificate_pdf beside certificate.issued
(render on issue and reinstatement, remove on revocation).';
revoke execute on function private.files_queue_certificate_pdf() from public;

create trigger certificates_pdf_issued after insert on learning.certificates
for each row execute function private.files_queue_certificate_pdf();
create trigger certificates_pdf_status after update of status on learning.certificates
for each row when (old.status is distinct from new.status)
execute function private.files_queue_certificate_pdf();

create function private.files_certificate_path(p_certificate_id uuid) returns text
language sql stable
security definer
set search_path = ''
as $$
    select c.user_id::text || '/' || c.code || '.pdf' from learning.certificates as c
    where c.id = p_certificate_id and c.user_id is not null
$$;
comment on function private.files_certificate_path(uuid) is
'Where a certificate''s PDF lives in the certificates bucket: <holder id>/<code>.pdf.';

create function private.files_certificate_source(p_certificate_id uuid) returns jsonb
language sql stable
security definer
set search_path = ''
as $$
    select jsonb_build_object(
        'id', c.id, 'code', c.code, 'status', c.status, 'user_id', c.user_id,
        'holder_name', c.holder_name, 'holder_username', c.holder_username,
        'course_title', c.course_title, 'issued_at', c.issued_at,
        'path', private.files_certificate_path(c.id))
    from learning.certificates as c where c.id = p_certificate_id
$$;
comment on function private.files_certificate_source(uuid) is
'What the worker prints on a certificate PDF, read when the job runs (so a revoked or
renamed certificate is never printed from a stale payload).';
revoke execute on function private.files_certificate_path(uuid),
private.files_certificate_source(uuid) from public;
grant execute on function private.files_certificate_source(uuid) to service_role;

create function api.files_get_certificate_pdf(p_code text) returns jsonb
language plpgsql stable
-- Definer: the public verification page (anon) reaches the PDF of a valid certificate by
-- its code alone; the bucket itself has no anonymous read policy.
security definer
set search_path = ''
as $$
declare
    v_code text := upper(btrim(p_code));
    v_path text;
begin
    perform private.require_scope('api.files_get_certificate_pdf');
    select private.files_certificate_path(c.id) into v_path
    from learning.certificates as c
    where c.code = v_code and c.status = 'valid' and v_code ~ '^FLG-[0-9A-F]{24}$';
    if v_path is null then
        perform private.raise_error('learning_certificate_not_found',
            'No valid certificate has that code.', 'PT404');
    end if;
    if not exists (
        select 1 from storage.objects as o where o.bucket_id = 'certificates' and o.name = v_path
    ) then
        perform private.raise_error('file_not_found',
            'The certificate''s PDF is not rendered yet; try again in a minute.', 'PT404');
    end if;
    return jsonb_build_object('bucket', 'certificates', 'path', v_path, 'code', v_code);
end;
$$;
comment on function api.files_get_certificate_pdf(text) is
'Public (anon allowed): where the PDF of the valid certificate with this verification code
is, {bucket, path, code}; GET /functions/v1/files/certificates/{code} redirects to a signed
URL of it. Errors: learning_certificate_not_found, file_not_found (not rendered yet).';
revoke execute on function api.files_get_certificate_pdf(text) from public;
grant execute on function api.files_get_certificate_pdf(text)
to anon, authenticated, service_role;

insert into accounts.api_object_scopes (object, kind, access, scope) values
('api.files_get_certificate_pdf', 'function', 'scope', 'learning:courses:read');

-- Avatar variants ----------------------------------------------------------------------------
create function private.files_queue_avatar_variants() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    perform ops.enqueue('files.avatar_variants',
        jsonb_build_object('bucket', new.bucket_id, 'name', new.name),
        new.name || ':' || coalesce(new.version, new.metadata ->> 'eTag',
                                    new.updated_at::text));
    return null;
end;
$$;
comment on function private.files_queue_avatar_variants() is
'Trigger on storage.objects: an avatar (<user id>/<file>) was stored, queue its variants
(<user id>/variants/<file>/<size>.webp).';
revoke execute on function private.files_queue_avatar_variants() from public;

create trigger files_avatar_variants after insert or update of metadata, version
on storage.objects for each row
when (
    new.bucket_id = 'avatars' and new.metadata is not null
    and new.name ~ '^[0-9a-f-]{36}/[^/]+$'
)
execute function private.files_queue_avatar_variants();

-- Whose objects, which orphans -------------------------------------------------------------
create function private.files_objects_of_user(p_user uuid)
returns table (bucket_id text, name text)
language sql stable
security definer
set search_path = ''
as $$
    select o.bucket_id, o.name from storage.objects as o
    where o.owner_id = p_user::text or o.owner = p_user
       or (o.bucket_id in ('avatars', 'certificates', 'forum-attachments', 'contribution-files')
           and o.name like p_user::text || '/%')
    order by o.bucket_id, o.name
$$;
comment on function private.files_objects_of_user(uuid) is
'Every object a user owns or that lives in their own folder (avatars, certificates, forum
and contribution attachments): what accounts.user_deleted removes.';

create function private.files_orphans(p_grace interval default interval '1 day')
returns table (bucket_id text, name text, reason text)
language sql stable
security definer
set search_path = ''
as $$
    select o.bucket_id, o.name,
        case o.bucket_id
            when 'avatars' then 'not the owner''s avatar (or a variant of it)'
            when 'course-covers' then 'no such course'
            when 'course-content' then 'no such course'
            when 'challenge-files' then 'not attached to a challenge'
            when 'certificates' then 'no valid certificate'
            when 'forum-attachments' then 'no such post'
            when 'contribution-files' then 'no such contribution'
        end
    from storage.objects as o
    where o.created_at < now() - p_grace
      and case o.bucket_id
        when 'avatars' then not exists (
            select 1 from accounts.profiles as p
            where p.id = private.files_uuid(split_part(o.name, '/', 1))
              and p.avatar_path in (
                  o.name, split_part(o.name, '/', 1) || '/' || split_part(o.name, '/', 3))
        )
        when 'course-covers' then not exists (
            select 1 from learning.courses as c
            where c.id = private.files_uuid(split_part(o.name, '/', 1))
        )
        when 'course-content' then not exists (
            select 1 from learning.courses as c
            where c.id = private.files_uuid(split_part(o.name, '/', 1))
        )
        when 'challenge-files' then not exists (
            select 1 from ctf.challenge_files as f where f.storage_path = o.name
        )
        when 'certificates' then not exists (
            select 1 from learning.certificates as c
            where c.status = 'valid' and c.user_id::text || '/' || c.code || '.pdf' = o.name
        )
        when 'forum-attachments' then not exists (
            select 1 from community.posts as p
            where p.id = private.files_id(split_part(o.name, '/', 2)) and p.deleted_at is null
        )
        when 'contribution-files' then not exists (
            select 1 from community.contributions as c
            where c.id = private.files_id(split_part(o.name, '/', 2))
        )
        else false
      end
    order by o.bucket_id, o.name
    limit 5000
$$;
comment on function private.files_orphans(interval) is
'Objects older than the grace period that no row references any more (avatars that are not
the profile''s, files of deleted courses, posts and contributions, challenge files never
attached, certificates not valid). At most 5,000 per call.';

create function private.files_enqueue_orphan_cleanup() returns int
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_batch record;
    v_count int := 0;
begin
    for v_batch in
        select o.bucket_id, array_agg(o.name order by o.name) as names
        from private.files_orphans() as o group by o.bucket_id
    loop
        perform ops.enqueue('files.remove_objects', jsonb_build_object(
            'bucket', v_batch.bucket_id, 'names', to_jsonb(v_batch.names), 'reason', 'orphan'
        ), 'orphans:' || v_batch.bucket_id || ':' || md5(array_to_string(v_batch.names, '/')));
        v_count := v_count + cardinality(v_batch.names);
    end loop;
    return v_count;
end;
$$;
comment on function private.files_enqueue_orphan_cleanup() is
'Schedule files.clean_orphans: queue files.remove_objects for every orphan (one job per
bucket); returns how many objects were queued.';

create function private.files_audit_removal(
    p_bucket text, p_names text[], p_reason text, p_details jsonb default '{}'
) returns bigint
language sql
security definer
set search_path = ''
as $$
    select private.audit('files.objects_removed', 'storage_bucket', p_bucket,
        coalesce(p_details, '{}') || jsonb_build_object(
            'names', to_jsonb(p_names), 'count', cardinality(p_names)),
        p_reason)
$$;
comment on function private.files_audit_removal(text, text[], text, jsonb) is
'The worker''s record of a batch removal (orphans, a deleted account), beside the
files.object_removed row each object''s deletion writes.';

revoke execute on function private.files_objects_of_user(uuid), private.files_orphans(interval),
private.files_enqueue_orphan_cleanup(),
private.files_audit_removal(text, text[], text, jsonb) from public;
grant execute on function private.files_objects_of_user(uuid), private.files_orphans(interval),
private.files_audit_removal(text, text[], text, jsonb) to service_role;

insert into ops.schedules (name, function_name, every) values
('files.clean_orphans', 'private.files_enqueue_orphan_cleanup()', '1 hour');
