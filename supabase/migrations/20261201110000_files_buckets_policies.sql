-- files: every domain bucket with its allowlist and size limit, and the storage.objects
-- policies of the new ones (avatars, course-content and challenge-files keep the policies
-- of their domains' migrations; here they get their allowlists).
--
-- Object paths (the first folder decides who may do what):
--   avatars             <user id>/<file>                        public read, owner write
--   course-covers       <course id>/<file>                      public read, course team write
--   course-content      <course id>/<file>                      enrolled learners + course team
--   challenge-files     <event id>/<challenge id>/<file>        participants after the start
--   certificates        <user id>/<code>.pdf                    owner; written by the worker
--   forum-attachments   <author id>/<post id>/<file>            author, staff; images public
--                                                               once the post is visible
--   contribution-files  <author id>/<contribution id>/<file>    author and staff
-- supabase/config.toml lists the same buckets (tests/files/test_buckets.py compares).

create schema if not exists files;
comment on schema files is
'Files and storage: quotas, usage, the record of inspected uploads (not exposed).';
grant usage on schema files to authenticated, service_role;

insert into ops.error_codes (code, sqlstate, http_status, description) values
('file_empty', '22023', 400, 'The upload has no bytes.'),
(
    'file_path_invalid', '22023', 400,
    'The object path is empty, too long, absolute or has a `..`, a backslash, a control '
    || 'character or an empty segment.'
),
('file_too_large', 'PT413', 413, 'The upload is larger than the bucket''s file size limit.'),
(
    'file_quota_exceeded', 'PT413', 413,
    'The upload would take the owner over the storage quota of their plan '
    || '(details: used, quota, size).'
),
(
    'file_type_unknown', 'PT415', 415,
    'The content matches no known file signature and the bucket does not take arbitrary '
    || 'binary files.'
),
('file_type_mismatch', 'PT415', 415, 'The declared content type is not what the bytes are.'),
('file_type_not_allowed', 'PT415', 415, 'The bucket''s allowlist does not include this type.'),
(
    'file_polyglot', 'PT422', 422,
    'The file is also another kind of file (data after the end of the format, or an embedded '
    || 'archive, page or script).'
),
('file_image_invalid', 'PT422', 422, 'The image cannot be decoded.'),
(
    'file_image_too_large', 'PT422', 422,
    'The image has more pixels (or frames) than allowed: a decompression bomb is refused '
    || 'before it is decoded.'
),
(
    'file_svg_unsafe', 'PT422', 422,
    'The SVG has scripts, event handlers, external references, foreignObject, entities or is '
    || 'not well-formed.'
),
('file_pdf_invalid', 'PT422', 422, 'The PDF cannot be parsed, or is encrypted.'),
(
    'file_pdf_unsafe', 'PT422', 422,
    'The PDF has JavaScript, launch or submit actions, embedded files, rich media or XFA forms.'
),
('file_archive_invalid', 'PT422', 422, 'The archive cannot be read.'),
(
    'file_archive_unsafe_path', 'PT422', 422,
    'An archive member''s path is absolute, has a drive letter, a `..` segment or a control '
    || 'character.'
),
(
    'file_archive_link', 'PT422', 422,
    'An archive member is a symbolic or hard link, or a device.'
),
(
    'file_archive_bomb', 'PT422', 422,
    'The archive expands too much (ratio, total size, member count, nesting or overlapping '
    || 'members).'
),
('file_not_found', 'PT404', 404, 'No such object (or not one you may read).');

-- Buckets -------------------------------------------------------------------------------------
-- The three buckets of earlier migrations get their allowlists here.
update storage.buckets set
    allowed_mime_types = array[
        'image/png', 'image/jpeg', 'image/webp', 'image/gif'
    ], file_size_limit = 1048576
where id = 'avatars';
update storage.buckets set
    allowed_mime_types = array[
        'video/mp4', 'video/webm', 'audio/mpeg', 'audio/ogg', 'application/pdf',
        'image/png', 'image/jpeg', 'image/webp', 'image/gif', 'image/svg+xml',
        'text/plain', 'text/markdown', 'text/csv', 'application/json', 'application/zip'
    ]
where id = 'course-content';
update storage.buckets set
    allowed_mime_types = array[
        'application/zip', 'application/gzip', 'application/x-tar', 'application/x-elf',
        'application/vnd.tcpdump.pcap', 'application/pdf', 'application/json', 'text/plain',
        'text/csv', 'image/png', 'image/jpeg', 'image/gif', 'image/webp',
        'application/octet-stream'
    ]
where id = 'challenge-files';

insert into storage.buckets (id, name, public, file_size_limit, allowed_mime_types) values
(
    'course-covers', 'course-covers', true, 5242880,
    array['image/png', 'image/jpeg', 'image/webp']
),
('certificates', 'certificates', false, 5242880, array['application/pdf']),
(
    'forum-attachments', 'forum-attachments', false, 10485760,
    array[
        'image/png', 'image/jpeg', 'image/gif', 'image/webp', 'application/pdf',
        'text/plain'
    ]
),
(
    'contribution-files', 'contribution-files', false, 52428800,
    array[
        'image/png', 'image/jpeg', 'image/gif', 'image/webp', 'application/pdf',
        'text/plain', 'text/markdown', 'application/zip', 'application/gzip',
        'application/x-tar'
    ]
)
on conflict (id) do nothing;

-- Policy helpers --------------------------------------------------------------------------------
create function private.files_uuid(p_text text) returns uuid
language sql immutable
set search_path = ''
as $$
    select case when p_text ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
        then p_text::uuid end
$$;
comment on function private.files_uuid(text) is
'A path segment as a uuid, or null when it is not one (policies never cast blindly).';

create function private.files_id(p_text text) returns bigint
language sql immutable
set search_path = ''
as $$
    select case when p_text ~ '^[1-9][0-9]{0,17}$' then p_text::bigint end
$$;
comment on function private.files_id(text) is
'A path segment as a bigint id, or null when it is not one.';

create function private.files_owns_post(p_post text) returns boolean
language sql stable
security definer
set search_path = ''
as $$
    select exists (
        select 1 from community.posts as p
        where p.id = private.files_id(p_post) and p.author_id = (select auth.uid())
          and p.deleted_at is null
    )
$$;
comment on function private.files_owns_post(text) is
'Storage policy helper: the caller wrote this (not deleted) post. Definer: the post''s own
visibility rules must not hide the caller''s post from this check.';

create function private.files_owns_contribution(p_contribution text) returns boolean
language sql stable
security definer
set search_path = ''
as $$
    select exists (
        select 1 from community.contributions as c
        where c.id = private.files_id(p_contribution) and c.author_id = (select auth.uid())
    )
$$;
comment on function private.files_owns_contribution(text) is
'Storage policy helper: the caller is the author of this contribution.';

create function private.files_public_post_image(p_author text, p_post text) returns boolean
language sql stable
security definer
set search_path = ''
as $$
    select exists (
        select 1 from community.posts as p
        join community.threads as t on t.id = p.thread_id
        where p.id = private.files_id(p_post) and p.author_id = private.files_uuid(p_author)
          and p.hidden_at is null and p.deleted_at is null
          and t.hidden_at is null and t.deleted_at is null
          and t.category_id = any(private.community_readable_categories())
    )
$$;
comment on function private.files_public_post_image(text, text) is
'Storage policy helper: the post (by that author) is visible to everyone who may read its
category, so its images are readable too.';

revoke execute on function private.files_uuid(text), private.files_id(text),
private.files_owns_post(text), private.files_owns_contribution(text),
private.files_public_post_image(text, text) from public;
grant execute on function private.files_uuid(text), private.files_id(text),
private.files_public_post_image(text, text) to anon, authenticated, service_role;
grant execute on function private.files_owns_post(text), private.files_owns_contribution(text)
to authenticated, service_role;

-- Course covers: public, written by the course team -------------------------------------------
create policy course_covers_read on storage.objects for select to anon, authenticated
using (
    bucket_id = 'course-covers'
    and private.learning_course_visible(private.files_uuid((storage.foldername(name))[1]))
);
create policy course_covers_insert on storage.objects for insert to authenticated
with check (bucket_id = 'course-covers' and private.learning_can_write_content(name));
create policy course_covers_update on storage.objects for update to authenticated
using (bucket_id = 'course-covers' and private.learning_can_write_content(name))
with check (bucket_id = 'course-covers' and private.learning_can_write_content(name));
create policy course_covers_delete on storage.objects for delete to authenticated
using (bucket_id = 'course-covers' and private.learning_can_write_content(name));

-- Certificates: the holder reads; only the worker (service role) writes ------------------------
create policy certificates_read on storage.objects for select to authenticated
using (
    bucket_id = 'certificates'
    and (
        (storage.foldername(name))[1] = (select auth.uid())::text
        or (select private.jwt_has_permission('platform.admin'))
    )
);

-- Forum attachments ------------------------------------------------------------------------------
create policy forum_attachments_read on storage.objects for select to anon, authenticated
using (
    bucket_id = 'forum-attachments'
    and (
        (storage.foldername(name))[1] = (select auth.uid())::text
        or (select private.jwt_is_staff())
        or (
            metadata ->> 'mimetype' like 'image/%'
            and private.files_public_post_image(
                (storage.foldername(name))[1], (storage.foldername(name))[2]
            )
        )
    )
);
create policy forum_attachments_insert on storage.objects for insert to authenticated
with check (
    bucket_id = 'forum-attachments'
    and (storage.foldername(name))[1] = (select auth.uid())::text
    and private.files_owns_post((storage.foldername(name))[2])
);
create policy forum_attachments_update on storage.objects for update to authenticated
using (bucket_id = 'forum-attachments' and owner_id = (select auth.uid())::text)
with check (
    bucket_id = 'forum-attachments'
    and (storage.foldername(name))[1] = (select auth.uid())::text
    and private.files_owns_post((storage.foldername(name))[2])
);
create policy forum_attachments_delete on storage.objects for delete to authenticated
using (
    bucket_id = 'forum-attachments'
    and (owner_id = (select auth.uid())::text or (select private.jwt_is_staff()))
);

-- Contribution files -------------------------------------------------------------------------
create policy contribution_files_read on storage.objects for select to authenticated
using (
    bucket_id = 'contribution-files'
    and (
        (storage.foldername(name))[1] = (select auth.uid())::text
        or (select private.jwt_is_staff())
    )
);
create policy contribution_files_insert on storage.objects for insert to authenticated
with check (
    bucket_id = 'contribution-files'
    and (storage.foldername(name))[1] = (select auth.uid())::text
    and private.files_owns_contribution((storage.foldername(name))[2])
);
create policy contribution_files_update on storage.objects for update to authenticated
using (bucket_id = 'contribution-files' and owner_id = (select auth.uid())::text)
with check (
    bucket_id = 'contribution-files'
    and (storage.foldername(name))[1] = (select auth.uid())::text
    and private.files_owns_contribution((storage.foldername(name))[2])
);
create policy contribution_files_delete on storage.objects for delete to authenticated
using (
    bucket_id = 'contribution-files'
    and (owner_id = (select auth.uid())::text or (select private.jwt_is_staff()))
);
