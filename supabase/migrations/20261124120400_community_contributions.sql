-- community: contributions (challenge proposals, articles, write-ups) with a review
-- workflow, and the community's data provider (export, erasure).

create table community.contributions (
    id bigint generated always as identity primary key,
    author_id uuid references auth.users (id) on delete set null,
    kind text not null check (kind in ('challenge_proposal', 'article', 'writeup')),
    title text not null check (char_length(title) between 1 and 200),
    body text not null check (char_length(body) <= 100000),
    data jsonb not null default '{}' check (jsonb_typeof(data) = 'object'),
    ctf_challenge_ref text check (char_length(ctf_challenge_ref) <= 200),
    ctf_event_ends_at timestamptz,
    status text not null default 'draft' check (status in (
        'draft', 'submitted', 'in_review', 'changes_requested', 'approved', 'rejected'
    )),
    reviewer_id uuid references auth.users (id) on delete set null,
    submitted_at timestamptz,
    decided_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    check (ctf_challenge_ref is null or ctf_event_ends_at is not null)
);
comment on table community.contributions is
'Member contributions: challenge proposals (data holds category, difficulty, description,
files, solution notes), articles and write-ups. draft -> submitted -> in_review ->
changes_requested (-> submitted again) | approved | rejected. Approved articles are public;
a write-up about a CTF challenge (ctf_challenge_ref) only once ctf_event_ends_at has passed;
approved challenge proposals are not public: the CTF domain consumes the outbox job
community.challenge_proposal_approved and creates a hidden challenge for an organiser.';
create index contributions_author_idx on community.contributions (author_id);
create index contributions_reviewer_idx on community.contributions (reviewer_id);
create index contributions_status_idx on community.contributions (status, submitted_at);
create index contributions_ctf_ref_idx on community.contributions (ctf_challenge_ref)
where ctf_challenge_ref is not null;
create trigger contributions_touch before update on community.contributions
for each row execute function private.touch_updated_at();
alter table community.contributions enable row level security;
create policy contributions_read on community.contributions for select to anon, authenticated
using (
    author_id = (select auth.uid())
    or (status <> 'draft' and (select private.jwt_has_permission('contributions.review')))
    or (
        status = 'approved' and kind in ('article', 'writeup')
        and (ctf_event_ends_at is null or ctf_event_ends_at <= now())
    )
);
grant select on community.contributions to anon, authenticated, service_role;

create table community.contribution_comments (
    id bigint generated always as identity primary key,
    contribution_id bigint not null references community.contributions (id) on delete cascade,
    author_id uuid references auth.users (id) on delete set null,
    body text not null check (char_length(body) <= 10000),
    from_status text,
    to_status text,
    created_at timestamptz not null default now()
);
comment on table community.contribution_comments is
'Review conversation on a contribution between its author and reviewers; status changes
are recorded here too (from_status / to_status). Not public.';
create index contribution_comments_contribution_idx on community.contribution_comments
(contribution_id, id);
create index contribution_comments_author_idx on community.contribution_comments (author_id);
alter table community.contribution_comments enable row level security;
create policy contribution_comments_read on community.contribution_comments for select
to authenticated
using (
    exists (
        select 1 from community.contributions as c
        where
            c.id = contribution_comments.contribution_id
            and (
                c.author_id = (select auth.uid())
                or (select private.jwt_has_permission('contributions.review'))
            )
    )
);
grant select on community.contribution_comments to authenticated, service_role;

create function private.community_contribution_transition(
    p_contribution community.contributions, p_to text, p_actor uuid, p_comment text
) returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
    update community.contributions set
        status = p_to,
        submitted_at = case when p_to = 'submitted' then now() else submitted_at end,
        reviewer_id = case when p_to in ('in_review', 'changes_requested', 'approved',
                                        'rejected') then p_actor else reviewer_id end,
        decided_at = case when p_to in ('approved', 'rejected') then now() else decided_at end
    where id = p_contribution.id;
    insert into community.contribution_comments (contribution_id, author_id, body, from_status,
                                                  to_status)
    values (p_contribution.id, p_actor, coalesce(p_comment, ''), p_contribution.status, p_to);
end;
$$;
comment on function private.community_contribution_transition(
    community.contributions, text, uuid, text
) is 'Move a contribution to a new status and record it in its comments.';
revoke execute on function private.community_contribution_transition(
    community.contributions, text, uuid, text
) from public;

create function api.community_save_contribution(
    p_kind text,
    p_title text,
    p_body text,
    p_data jsonb default '{}',
    p_ctf_challenge_ref text default null,
    p_ctf_event_ends_at timestamptz default null,
    p_id bigint default null
) returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_member community.members := private.community_actor(true);
    v_row community.contributions;
    v_id bigint;
begin
    if p_kind is null or p_kind not in ('challenge_proposal', 'article', 'writeup') then
        perform private.raise_error('invalid_argument',
            'p_kind is challenge_proposal, article or writeup.', '22023',
            jsonb_build_object('field', 'p_kind'));
    end if;
    perform private.arg_text(p_title, 200, 'title');
    perform private.arg_text(p_body, 100000, 'body');
    if p_data is null or jsonb_typeof(p_data) <> 'object' or pg_column_size(p_data) > 100000 then
        perform private.raise_error('invalid_argument', 'p_data is a JSON object (max 100 kB).',
            '22023', jsonb_build_object('field', 'p_data'));
    end if;
    if (p_ctf_challenge_ref is null) <> (p_ctf_event_ends_at is null)
        or (p_ctf_challenge_ref is not null and p_kind <> 'writeup') then
        perform private.raise_error('invalid_argument',
            'A write-up about a CTF challenge names it and when its event ends.', '22023',
            jsonb_build_object('field', 'p_ctf_challenge_ref'));
    end if;
    if p_id is null then
        insert into community.contributions (author_id, kind, title, body, data,
                                             ctf_challenge_ref, ctf_event_ends_at)
        values (v_member.user_id, p_kind, btrim(p_title), p_body, p_data, p_ctf_challenge_ref,
                p_ctf_event_ends_at)
        returning id into v_id;
        return v_id;
    end if;
    select * into v_row from community.contributions
    where id = p_id and author_id = v_member.user_id for update;
    if not found then
        perform private.raise_error('not_found', 'No such contribution of yours.', 'PT404');
    end if;
    if v_row.status not in ('draft', 'changes_requested') then
        perform private.raise_error('community_transition_invalid',
            'Only drafts and contributions with requested changes can be edited.', 'PT409',
            jsonb_build_object('status', v_row.status));
    end if;
    update community.contributions set
        kind = p_kind, title = btrim(p_title), body = p_body, data = p_data,
        ctf_challenge_ref = p_ctf_challenge_ref, ctf_event_ends_at = p_ctf_event_ends_at
    where id = p_id;
    return p_id;
end;
$$;
comment on function api.community_save_contribution(
    text, text, text, jsonb, text, timestamptz, bigint
) is
'Create (p_id null) or edit your draft (or one with requested changes): a challenge
proposal, article or write-up; a write-up about a CTF challenge names it
(p_ctf_challenge_ref) and its event''s end (published only after). Errors: not_authenticated,
community_suspended, community_silenced, invalid_argument, text_too_long,
not_found, community_transition_invalid.';
revoke execute on function api.community_save_contribution(
    text, text, text, jsonb, text, timestamptz, bigint
) from public, anon;
grant execute on function api.community_save_contribution(
    text, text, text, jsonb, text, timestamptz, bigint
) to authenticated;

create function api.community_submit_contribution(p_id bigint) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_member community.members := private.community_actor(true);
    v_row community.contributions;
begin
    select * into v_row from community.contributions
    where id = p_id and author_id = v_member.user_id for update;
    if not found then
        perform private.raise_error('not_found', 'No such contribution of yours.', 'PT404');
    end if;
    if v_row.status not in ('draft', 'changes_requested') then
        perform private.raise_error('community_transition_invalid',
            'Only drafts and contributions with requested changes can be submitted.', 'PT409',
            jsonb_build_object('status', v_row.status));
    end if;
    perform private.rate_limit('community.contribution:' || v_member.user_id, 10,
        interval '1 day');
    perform private.community_contribution_transition(v_row, 'submitted', v_member.user_id,
        null);
end;
$$;
comment on function api.community_submit_contribution(bigint) is
'Submit your contribution for review. Errors: not_authenticated, community_suspended,
community_silenced, not_found, community_transition_invalid, rate_limited.';
revoke execute on function api.community_submit_contribution(bigint) from public, anon;
grant execute on function api.community_submit_contribution(bigint) to authenticated;

create function api.community_review_contribution(
    p_id bigint, p_status text, p_comment text default null
)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_reviewer uuid := private.require_permission('contributions.review');
    v_row community.contributions;
begin
    if p_status is null or p_status not in (
        'in_review', 'changes_requested', 'approved', 'rejected'
    ) then
        perform private.raise_error('invalid_argument',
            'p_status is in_review, changes_requested, approved or rejected.', '22023',
            jsonb_build_object('field', 'p_status'));
    end if;
    if p_status in ('changes_requested', 'rejected') and coalesce(btrim(p_comment), '') = '' then
        perform private.raise_error('invalid_argument',
            'Say what to change, or why it is rejected.', '22023',
            jsonb_build_object('field', 'p_comment'));
    end if;
    if char_length(p_comment) > 10000 then
        perform private.raise_error('text_too_long', 'The comment is too long.',
            '22023', jsonb_build_object('max', 10000));
    end if;
    select * into v_row from community.contributions where id = p_id for update;
    if not found or v_row.status = 'draft' then
        perform private.raise_error('not_found', 'No such submitted contribution.', 'PT404');
    end if;
    if v_row.author_id = v_reviewer then
        perform private.raise_error('forbidden', 'You cannot review your own contribution.',
            '42501');
    end if;
    if not (
        (v_row.status = 'submitted' and p_status in ('in_review', 'changes_requested',
                                                     'approved', 'rejected'))
        or (v_row.status = 'in_review' and p_status in ('changes_requested', 'approved',
                                                        'rejected'))
    ) then
        perform private.raise_error('community_transition_invalid',
            format('A %s contribution cannot become %s.', v_row.status, p_status), 'PT409',
            jsonb_build_object('status', v_row.status));
    end if;
    perform private.community_contribution_transition(v_row, p_status, v_reviewer, p_comment);
    if p_status = 'approved' and v_row.kind = 'challenge_proposal' then
        perform ops.enqueue('community.challenge_proposal_approved',
            jsonb_build_object('contribution_id', v_row.id, 'author_id', v_row.author_id,
                'title', v_row.title, 'body', v_row.body, 'data', v_row.data,
                'approved_by', v_reviewer),
            'contribution:' || v_row.id);
    end if;
    perform private.audit('community.contribution_' || p_status, 'contribution', p_id::text,
        jsonb_build_object('kind', v_row.kind, 'from', v_row.status), p_comment);
    perform private.notify(v_row.author_id, 'contribution.' || p_status, 'contribution',
        p_id::text, jsonb_build_object('title', v_row.title, 'comment', p_comment),
        v_reviewer);
end;
$$;
comment on function api.community_review_contribution(bigint, text, text) is
'Reviewer (contributions.review): take a submitted contribution in review, request changes,
approve or reject it, with a comment (required for changes and rejections). An approved
challenge proposal is queued for the CTF domain as community.challenge_proposal_approved
(it becomes a hidden challenge). The author is notified; audited. Errors: not_authenticated,
forbidden, invalid_argument, text_too_long, not_found,
community_transition_invalid.';
revoke execute on function api.community_review_contribution(bigint, text, text) from public, anon;
grant execute on function api.community_review_contribution(bigint, text, text) to authenticated;

create function api.community_comment_contribution(p_id bigint, p_body text) returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
    v_row community.contributions;
    v_reviewer boolean;
    v_id bigint;
begin
    v_reviewer := private.user_has_permission(v_uid, 'contributions.review');
    select * into v_row from community.contributions where id = p_id;
    if not found or not (v_row.author_id = v_uid or (v_reviewer and v_row.status <> 'draft')) then
        perform private.raise_error('not_found', 'No such contribution.', 'PT404');
    end if;
    perform private.community_actor(true);
    perform private.arg_text(p_body, 10000, 'body');
    insert into community.contribution_comments (contribution_id, author_id, body)
    values (p_id, v_uid, p_body)
    returning id into v_id;
    if v_uid <> v_row.author_id then
        perform private.notify(v_row.author_id, 'contribution.comment', 'contribution',
            p_id::text, jsonb_build_object('title', v_row.title), v_uid);
    elsif v_row.reviewer_id is not null then
        perform private.notify(v_row.reviewer_id, 'contribution.comment', 'contribution',
            p_id::text, jsonb_build_object('title', v_row.title), v_uid);
    end if;
    return v_id;
end;
$$;
comment on function api.community_comment_contribution(bigint, text) is
'Comment on a contribution (its author, or reviewers once submitted). Errors:
not_authenticated, not_found, community_suspended, community_silenced, invalid_argument,
text_too_long.';
revoke execute on function api.community_comment_contribution(bigint, text) from public, anon;
grant execute on function api.community_comment_contribution(bigint, text) to authenticated;

create function private.community_set_event_end(p_challenge_ref text, p_ends_at timestamptz)
returns int
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_count int;
begin
    update community.contributions set ctf_event_ends_at = p_ends_at
    where ctf_challenge_ref = p_challenge_ref;
    get diagnostics v_count = row_count;
    return v_count;
end;
$$;
comment on function private.community_set_event_end(text, timestamptz) is
'For the CTF domain: when an event''s end moves, move the publication time of write-ups
about its challenges. Returns how many write-ups changed.';
revoke execute on function private.community_set_event_end(text, timestamptz) from public;
grant execute on function private.community_set_event_end(text, timestamptz) to service_role;

create view api.community_contributions with (security_invoker = true) as
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
    c.updated_at
from community.contributions as c
where (select private.key_may_read('api.community_contributions'));
comment on view api.community_contributions is
'Contributions: your own, all submitted ones for reviewers, and published articles and
write-ups (a CTF write-up once its event ended) for everyone.';
grant select on api.community_contributions to anon, authenticated, service_role;

create view api.community_contribution_comments with (security_invoker = true) as
select
    c.id,
    c.contribution_id,
    c.author_id,
    c.body,
    c.from_status,
    c.to_status,
    c.created_at
from community.contribution_comments as c
where (select private.key_may_read('api.community_contribution_comments'));
comment on view api.community_contribution_comments is
'Review comments and status changes of contributions you author or review.';
grant select on api.community_contribution_comments to authenticated, service_role;

-- Data provider -----------------------------------------------------------------------------
create function private.export_community(p_user uuid) returns jsonb
language sql stable
security definer
set search_path = ''
as $$
    select jsonb_build_object(
        'member', (select to_jsonb(m) - 'user_id' from community.members as m
                   where m.user_id = p_user),
        'threads', coalesce((select jsonb_agg(jsonb_build_object('id', t.id, 'title', t.title,
            'category_id', t.category_id, 'tags', t.tags, 'created_at', t.created_at) order by t.id)
            from community.threads as t where t.author_id = p_user), '[]'),
        'posts', coalesce((select jsonb_agg(jsonb_build_object('id', p.id,
            'thread_id', p.thread_id, 'post_number', p.post_number, 'body', p.body,
            'created_at', p.created_at, 'deleted', p.deleted_at is not null) order by p.id)
            from community.posts as p where p.author_id = p_user), '[]'),
        'reactions', coalesce((select jsonb_agg(jsonb_build_object('post_id', r.post_id,
            'kind', r.kind, 'created_at', r.created_at))
            from community.reactions as r where r.user_id = p_user), '[]'),
        'messages', coalesce((select jsonb_agg(jsonb_build_object('id', m.id,
            'conversation_id', m.conversation_id, 'body', m.body, 'created_at', m.created_at)
            order by m.id)
            from community.messages as m where m.sender_id = p_user), '[]'),
        'blocks', coalesce((select jsonb_agg(b.blocked_id) from community.blocks as b
                            where b.blocker_id = p_user), '[]'),
        'flags', coalesce((select jsonb_agg(jsonb_build_object('target_type', f.target_type,
            'target_id', f.target_id, 'reason', f.reason, 'message', f.message,
            'created_at', f.created_at)) from community.flags as f
            where f.flagger_id = p_user), '[]'),
        'moderation_actions', coalesce((select jsonb_agg(jsonb_build_object('action', a.action,
            'reason', a.reason, 'until', a.until, 'created_at', a.created_at))
            from community.moderation_actions as a where a.target_user_id = p_user), '[]'),
        'contributions', coalesce((select jsonb_agg(to_jsonb(c) - 'author_id' order by c.id)
            from community.contributions as c where c.author_id = p_user), '[]'),
        'notifications', (select count(*) from community.notifications as n
                          where n.user_id = p_user)
    )
$$;
comment on function private.export_community(uuid) is
'The community section of a data export: member state, threads, posts, reactions, sent
messages, blocks, flags raised, moderation actions about the user, contributions.';
revoke execute on function private.export_community(uuid) from public;

create function private.erase_community(p_user uuid) returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
    -- Authored public content stays for the discussions it belongs to, without an author.
    update community.posts set author_id = null where author_id = p_user;
    update community.threads set author_id = null where author_id = p_user;
    update community.threads set last_poster_id = null where last_poster_id = p_user;
    update community.post_revisions set editor_id = null where editor_id = p_user;
    update community.messages set sender_id = null where sender_id = p_user;
    update community.contributions set author_id = null
    where author_id = p_user and status = 'approved';
    delete from community.contributions where author_id = p_user;
    update community.contribution_comments set author_id = null where author_id = p_user;
    -- Reactions, watches, reads, notifications, blocks, flags, participations and the member
    -- row are personal: they go with the auth user (on delete cascade).
end;
$$;
comment on function private.erase_community(uuid) is
'Account deletion: anonymise authored posts, threads, messages and approved contributions;
delete unpublished contributions; the rest cascades with the auth user.';
revoke execute on function private.erase_community(uuid) from public;

insert into accounts.data_providers (name, export_function, erase_function, position)
values ('community', 'private.export_community(uuid)', 'private.erase_community(uuid)', 40);
