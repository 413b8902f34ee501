-- The local mailbox keeps attachments too (receipts carry their PDF), so the embedded
-- default shows everything a real send would have carried.

alter table ops.mailbox
add column attachments jsonb not null default '[]'
check (jsonb_typeof(attachments) = 'array');
comment on column ops.mailbox.attachments is
'Attachments as sent: [{filename, content_type, size, content_base64}].';
