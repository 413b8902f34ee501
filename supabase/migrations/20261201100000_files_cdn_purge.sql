-- files: the CDN purge hook. When an object of a public bucket is replaced (a new version),
-- moved or deleted, a `files.cdn_purge` job is queued in the same transaction; the worker's
-- handler (sync/cdn.py) asks the configured CDN to drop the object's public URLs.
-- Private buckets are never in a shared cache (their answers are `private, no-store`).

-- Purge queue -------------------------------------------------------------------------------
create function private.files_queue_cdn_purge() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    if tg_op = 'UPDATE' and new.version is not distinct from old.version
        and new.name is not distinct from old.name
        and new.bucket_id is not distinct from old.bucket_id then
        return null;  -- metadata only: the bytes a CDN holds are still right
    end if;
    if exists (
        select 1 from storage.buckets as b where b.id = old.bucket_id and b.public
    ) then
        perform ops.enqueue(
            'files.cdn_purge',
            jsonb_build_object(
                'bucket_id', old.bucket_id, 'name', old.name, 'version', old.version,
                'reason', case when tg_op = 'DELETE' then 'deleted'
                    when new.name is distinct from old.name
                        or new.bucket_id is distinct from old.bucket_id then 'moved'
                    else 'replaced' end
            ),
            old.bucket_id || '/' || old.name || '@' || coalesce(old.version, '')
        );
    end if;
    return null;
end;
$$;
comment on function private.files_queue_cdn_purge() is
'Trigger after update or delete on storage.objects: for an object of a public bucket whose
bytes or path changed, queue files.cdn_purge {bucket_id, name, version, reason} (deduplicated
per object version). Definer: it reads storage.buckets and calls ops.enqueue, which callers
cannot.';
revoke execute on function private.files_queue_cdn_purge() from public;

create trigger files_cdn_purge after update or delete on storage.objects
for each row execute function private.files_queue_cdn_purge();
