-- Rendered user content: markdown stays the stored truth; the worker renders sanitised HTML
-- (sync/markup.py: markdown-it-py without raw HTML, then the nh3 allow-list) into a *_html
-- column that frontends show. Until it is rendered the column is null and frontends show
-- the markdown escaped.
--
-- A write of the markdown clears *_html and queues one outbox job, topic content.render
-- {table, id, column}; the worker reads the markdown and its hash with
-- private.content_render_source and stores the HTML with private.content_store_render, which
-- keeps it only if the markdown did not change meanwhile (then a newer job is queued).

create table ops.render_targets (
    table_name text not null,
    source_column text not null,
    html_column text not null,
    key_column text not null,
    key_type text not null check (key_type in ('bigint', 'uuid')),
    primary key (table_name, source_column)
);
comment on table ops.render_targets is
'Which markdown columns are rendered to which HTML columns (table_name is schema.table, keyed
by key_column of key_type). The render functions read and write only what is listed here.';
alter table ops.render_targets enable row level security;
-- No policy and no client grant: read by the definer render functions only.

insert into ops.render_targets (table_name, source_column, html_column, key_column, key_type)
values
('community.posts', 'body', 'body_html', 'id', 'bigint'),
('community.messages', 'body', 'body_html', 'id', 'bigint'),
('community.contributions', 'body', 'body_html', 'id', 'bigint'),
('learning.lesson_contents', 'body_md', 'body_html', 'lesson_id', 'uuid'),
('learning.courses', 'description', 'description_html', 'id', 'uuid');

alter table community.posts add column body_html text;
comment on column community.posts.body_html is
'The body rendered to sanitised HTML by the worker; null until rendered (show the markdown
escaped).';
alter table community.messages add column body_html text;
comment on column community.messages.body_html is
'The body rendered to sanitised HTML by the worker; null until rendered.';
alter table community.contributions add column body_html text;
comment on column community.contributions.body_html is
'The body rendered to sanitised HTML by the worker; null until rendered.';
alter table learning.lesson_contents add column body_html text;
comment on column learning.lesson_contents.body_html is
'body_md rendered to sanitised HTML by the worker; null until rendered.';
alter table learning.courses add column description_html text;
comment on column learning.courses.description_html is
'The description rendered to sanitised HTML by the worker; null until rendered.';

create function private.content_render_queue() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_source text := tg_argv[0];
    v_html text := tg_argv[1];
    v_key text := tg_argv[2];
    v_new jsonb := to_jsonb(new);
    v_old jsonb;
begin
    if tg_op = 'UPDATE' then
        v_old := to_jsonb(old);
        if v_new -> v_source is not distinct from v_old -> v_source then
            if v_new -> v_html is distinct from v_old -> v_html then
                -- The worker stored a rendering: not an edit, keep updated_at.
                new := jsonb_populate_record(new,
                    jsonb_build_object('updated_at', v_old -> 'updated_at'));
            end if;
            return new;
        end if;
    end if;
    new := jsonb_populate_record(new, jsonb_build_object(v_html, null));
    perform ops.enqueue('content.render', jsonb_build_object(
        'table', tg_table_schema || '.' || tg_table_name, 'id', v_new ->> v_key,
        'column', v_source));
    return new;
end;
$$;
comment on function private.content_render_queue() is
'Trigger (arguments: markdown column, html column, key column): a new or changed markdown
clears the html and queues one content.render job; a stored rendering keeps updated_at.
Named *_z_render so it runs after the *_touch trigger (same-event triggers fire by name).';
revoke execute on function private.content_render_queue() from public;

create trigger posts_z_render before insert or update of body, body_html on community.posts
for each row execute function private.content_render_queue('body', 'body_html', 'id');
create trigger messages_z_render before insert or update of body, body_html
on community.messages
for each row execute function private.content_render_queue('body', 'body_html', 'id');
create trigger contributions_z_render before insert or update of body, body_html
on community.contributions
for each row execute function private.content_render_queue('body', 'body_html', 'id');
create trigger lesson_contents_z_render before insert or update of body_md, body_html
on learning.lesson_contents
for each row execute function private.content_render_queue('body_md', 'body_html', 'lesson_id');
create trigger courses_z_render before insert or update of description, description_html
on learning.courses
for each row execute function private.content_render_queue(
    'description', 'description_html', 'id'
);

create function private.content_render_target(p_table text, p_column text)
returns ops.render_targets
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    v_target ops.render_targets;
begin
    select t.* into v_target from ops.render_targets as t
    where t.table_name = p_table and t.source_column = p_column;
    if not found then
        perform private.raise_error('invalid_argument', 'Not a rendered column.', '22023',
            jsonb_build_object('field', 'column', 'table', p_table, 'column', p_column));
    end if;
    return v_target;
end;
$$;
comment on function private.content_render_target(text, text) is
'The ops.render_targets row of a table and markdown column, else invalid_argument.';
revoke execute on function private.content_render_target(text, text) from public;

create function private.content_render_source(p_table text, p_id text, p_column text)
returns jsonb
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    v_target ops.render_targets := private.content_render_target(p_table, p_column);
    v_markdown text;
begin
    -- Identifiers come from ops.render_targets only, never from the caller.
    execute format('select %I from %s where %I = $1::%s', v_target.source_column,
        v_target.table_name, v_target.key_column, v_target.key_type)
    into v_markdown using p_id;
    if v_markdown is null then
        return null;
    end if;
    return jsonb_build_object('markdown', v_markdown,
        'hash', encode(sha256(convert_to(v_markdown, 'UTF8')), 'hex'));
end;
$$;
comment on function private.content_render_source(text, text, text) is
'Worker: the markdown to render for a content.render job, {markdown, hash (sha-256 hex)}, or
null when the row is gone. Errors: invalid_argument (not a rendered column).';
revoke execute on function private.content_render_source(text, text, text) from public;
grant execute on function private.content_render_source(text, text, text) to service_role;

create function private.content_store_render(
    p_table text, p_id text, p_column text, p_hash text, p_html text
) returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_target ops.render_targets := private.content_render_target(p_table, p_column);
    v_rows int;
begin
    if p_html is null or p_hash is null then
        perform private.raise_error('invalid_argument', 'p_html and p_hash are required.',
            '22023', jsonb_build_object('field', case when p_html is null then 'html'
                                                      else 'hash' end));
    end if;
    execute format(
        'update %s set %I = $1 where %I = $2::%s'
        ' and encode(sha256(convert_to(%I, ''UTF8'')), ''hex'') = $3',
        v_target.table_name, v_target.html_column, v_target.key_column, v_target.key_type,
        v_target.source_column
    ) using p_html, p_id, p_hash;
    get diagnostics v_rows = row_count;
    return v_rows > 0;
end;
$$;
comment on function private.content_store_render(text, text, text, text, text) is
'Worker: store the sanitised HTML of a row''s markdown, only if the markdown still has hash
p_hash (else false: it changed meanwhile and a newer job renders it). Errors:
invalid_argument.';
revoke execute on function private.content_store_render(text, text, text, text, text)
from public;
grant execute on function private.content_store_render(text, text, text, text, text)
to service_role;

-- API: the rendered columns, appended to the views that return the markdown. ---------------
create or replace view api.community_forum_posts with (security_invoker = true) as
select
    p.id,
    p.thread_id,
    p.post_number,
    p.author_id,
    private.community_username(p.author_id) as author_username,
    p.reply_to_post_id,
    p.quoted_post_ids,
    p.body,
    p.reactions,
    p.reaction_count,
    p.edit_count,
    p.hidden_at is not null as hidden,
    p.deleted_at is not null as deleted,
    p.created_at,
    p.updated_at,
    p.body_html
from community.posts as p
where (select private.key_may_read('api.community_forum_posts'));
comment on view api.community_forum_posts is
'Posts you may read. body_html is the sanitised rendering (null until the worker rendered
it: show body escaped). For a thread page use api.community_list_thread_posts.';

create or replace view api.community_conversation_messages with (security_invoker = true) as
select
    m.id,
    m.conversation_id,
    m.sender_id,
    private.community_username(m.sender_id) as sender_username,
    m.body,
    m.hidden_at is not null as hidden,
    m.created_at,
    m.body_html
from community.messages as m
where (select private.key_may_read('api.community_conversation_messages'));
comment on view api.community_conversation_messages is
'Messages of your conversations (page with id < last seen, order by id desc). body_html is
the sanitised rendering, null until rendered.';

create or replace view api.community_contributions with (security_invoker = true) as
select
    c.id,
    c.author_id,
    private.community_username(c.author_id) as author_username,
    c.kind,
    c.title,
    c.body,
    c.data,
    c.ctf_challenge_ref,
    c.ctf_event_ends_at,
    c.status,
    c.reviewer_id,
    c.submitted_at,
    c.decided_at,
    c.created_at,
    c.updated_at,
    c.body_html
from community.contributions as c
where (select private.key_may_read('api.community_contributions'));
comment on view api.community_contributions is
'Contributions: your own, all submitted ones for reviewers, and published articles and
write-ups (a CTF write-up once its event ended) for everyone. body_html is the sanitised
rendering, null until rendered.';

create or replace view api.learning_courses with (security_invoker = true) as
select
    c.id,
    c.slug,
    c.title,
    c.summary,
    c.description,
    c.level,
    c.tags,
    c.estimated_hours,
    c.language,
    c.price_tier,
    c.status,
    c.cover_path,
    c.sequential,
    c.published_at,
    c.enrollment_count,
    c.rating_avg,
    c.rating_count,
    c.created_at,
    c.updated_at,
    c.description_html
from learning.courses as c
where (select private.key_may_read('api.learning_courses'));
comment on view api.learning_courses is
'Courses you may see: published ones; drafts of courses you teach; archived ones you are
enrolled in; all for admins. For the catalog with search and paging use api.learning_list_courses.
description_html is the sanitised rendering, null until rendered.';
