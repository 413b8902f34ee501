-- community: moderation, continued — the review queue and decisions, moderator actions,
-- appeals, views and statistics. Reports (flags) are in the moderation migration before it.

-- API: review -------------------------------------------------------------------------------
create function api.community_decide_review(
    p_item_id bigint, p_decision text, p_version int, p_note text default null
) returns int
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_moderator uuid := private.require_permission('community.moderate');
    v_item community.review_items;
    v_status text;
begin
    perform private.community_actor(false); -- a suspended moderator acts no more
    if p_decision is null or p_decision not in ('agree', 'disagree', 'defer') then
        perform private.raise_error('invalid_argument', 'p_decision is agree, disagree or defer.',
            '22023', jsonb_build_object('field', 'p_decision'));
    end if;
    if char_length(p_note) > 1000 then
        perform private.arg_error('p_note', 'p_note is at most 1000 characters.');
    end if;
    v_status := case p_decision when 'agree' then 'agreed' when 'disagree' then 'disagreed'
                                else 'deferred' end;
    -- A report about your own content (or you), or about a member of your rank or above, is
    -- decided by someone else.
    perform private.community_check_authority(v_moderator, (
        select r.target_author_id from community.review_items as r where r.id = p_item_id));
    -- Optimistic concurrency: only the version the moderator saw may be decided.
    update community.review_items set
        status = v_status, version = version + 1, resolved_by = v_moderator,
        resolved_at = now(), resolution_note = p_note
    where id = p_item_id and version = p_version and status = 'pending'
    returning * into v_item;
    if not found then
        select * into v_item from community.review_items where id = p_item_id;
        if not found then
            perform private.raise_error('not_found', 'No such review item.', 'PT404');
        elsif v_item.status <> 'pending' then
            perform private.raise_error('community_review_closed', 'Already decided.', 'PT409',
                jsonb_build_object('status', v_item.status, 'version', v_item.version));
        else
            perform private.raise_error('community_review_stale',
                'The item changed since you loaded it.', 'PT409',
                jsonb_build_object('version', v_item.version));
        end if;
    end if;
    insert into community.review_history (review_item_id, actor_id, action, from_status,
                                          to_status, version, note)
    values (v_item.id, v_moderator, p_decision, 'pending', v_status, v_item.version, p_note);
    if p_decision = 'agree' then
        if v_item.target_type <> 'user' then
            perform private.community_set_state(v_item.target_type, v_item.target_id, 'hide');
        end if;
        if v_item.target_author_id is not null then
            perform private.community_member(v_item.target_author_id);
            update community.members set upheld_flags = upheld_flags + 1,
                last_upheld_flag_at = now()
            where user_id = v_item.target_author_id;
            perform private.community_recompute_trust(v_item.target_author_id);
        end if;
        perform private.community_record_action(v_moderator,
            case when v_item.target_type = 'user' then 'silence' else 'hide' end,
            v_item.target_type, v_item.target_id, v_item.target_author_id,
            coalesce(p_note, 'Flags upheld by a moderator.'),
            case when v_item.target_type = 'user' then now() + interval '1 day' end,
            jsonb_build_object('decision', 'agree'), v_item.id);
        if v_item.target_type = 'user' then
            perform private.community_sanction(v_item.target_author_id, 'silence',
                now() + interval '1 day');
        end if;
    elsif p_decision = 'disagree' and v_item.auto_hidden then
        perform private.community_set_state(v_item.target_type, v_item.target_id, 'restore');
        perform private.community_record_action(v_moderator, 'restore', v_item.target_type,
            v_item.target_id, v_item.target_author_id,
            coalesce(p_note, 'A moderator found the flags unwarranted.'), null,
            jsonb_build_object('decision', 'disagree'), v_item.id);
    else
        perform private.audit('community.review_' || v_status, 'review_item', v_item.id::text,
            jsonb_build_object('target_type', v_item.target_type,
                'target_id', v_item.target_id), p_note);
    end if;
    return v_item.version;
end;
$$;
comment on function api.community_decide_review(bigint, text, int, text) is
'Moderator: decide a pending review item at the version you loaded. agree: the content is
(or stays) hidden, the author''s upheld flags grow (trust may fall), a flagged user is
silenced for a day; disagree: auto-hidden content is restored; defer: closed without action.
The author is notified, everything audited and kept in api.community_review_history. Returns the new
version. Nobody decides a report about themselves or their content, and moderators decide
only about members below them. Errors: not_authenticated, forbidden, invalid_argument,
not_found, community_self_moderation, community_outranked,
community_review_stale (details.version), community_review_closed.';
revoke execute on function api.community_decide_review(bigint, text, int, text) from public, anon;
grant execute on function api.community_decide_review(bigint, text, int, text) to authenticated;

create function api.community_moderate(
    p_action text,
    p_target_type text,
    p_target_id text,
    p_reason text,
    p_until timestamptz default null,
    p_category_id int default null
) returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_moderator uuid := private.require_permission('community.moderate');
    v_reason text := private.community_check_reason(p_reason);
    v_target jsonb;
    v_id text;
    v_author uuid;
    v_details jsonb := '{}';
    v_from int;
begin
    if p_action = 'suspend' then
        -- Suspensions run one at a time, so two admins suspending each other at once cannot
        -- both succeed: the second sees itself suspended (or the last admin check below).
        -- Taken before any row lock (community_actor may insert the member row).
        perform pg_advisory_xact_lock(hashtext('community.suspend'));
    end if;
    -- A suspended moderator's still-valid token acts no more than a member's.
    perform private.community_actor(false);
    if p_action is null or p_action not in (
        'hide', 'restore', 'lock', 'unlock', 'pin', 'unpin', 'move', 'delete', 'silence',
        'unsilence', 'suspend', 'unsuspend'
    ) then
        perform private.raise_error('invalid_argument', 'Unknown moderation action.', '22023',
            jsonb_build_object('field', 'p_action'));
    end if;
    if (p_action in ('silence', 'unsilence', 'suspend', 'unsuspend')) <> (p_target_type = 'user')
        or (p_action in ('lock', 'unlock', 'pin', 'unpin', 'move') and p_target_type <> 'thread')
    then
        perform private.raise_error('invalid_argument',
            format('%s does not apply to a %s.', p_action, p_target_type), '22023',
            jsonb_build_object('field', 'p_target_type'));
    end if;
    if p_action in ('silence', 'suspend') and (p_until is null or p_until <= now()) then
        perform private.raise_error('invalid_argument', 'p_until must be in the future.',
            '22023', jsonb_build_object('field', 'p_until'));
    end if;
    v_target := private.community_resolve_target(p_target_type, p_target_id, v_moderator);
    v_id := v_target ->> 'target_id';
    v_author := (v_target ->> 'author_id')::uuid;
    if p_action not in ('pin', 'unpin') then
        -- Pinning arranges a category; every other action is about the member.
        perform private.community_check_authority(v_moderator, v_author);
    end if;
    if p_action = 'suspend' and exists (
        select 1 from accounts.user_roles where user_id = v_author and role = 'admin'
    ) then
        if not exists (
            select 1 from accounts.user_roles as ur
            join auth.users as u on u.id = ur.user_id
            left join community.members as m on m.user_id = ur.user_id
            where ur.role = 'admin' and ur.user_id <> v_author
              and coalesce(u.banned_until, '-infinity') <= now()
              and coalesce(m.suspended_until, '-infinity') <= now()
        ) then
            perform private.raise_error('community_last_admin',
                'The last active admin cannot be suspended.', 'PT403');
        end if;
    end if;
    if p_action = 'move' then
        if not exists (select 1 from community.categories where id = p_category_id) then
            perform private.raise_error('invalid_argument', 'p_category_id: no such category.',
                '22023', jsonb_build_object('field', 'p_category_id'));
        end if;
        select t.category_id into v_from from community.threads as t
        where t.id = v_id::bigint;
        update community.threads set category_id = p_category_id where id = v_id::bigint;
        update community.categories set thread_count = thread_count - 1 where id = v_from;
        update community.categories set thread_count = thread_count + 1 where id = p_category_id;
        v_details := jsonb_build_object('from_category_id', v_from, 'to_category_id',
            p_category_id);
    elsif p_target_type = 'user' then
        perform private.community_sanction(v_author, p_action, p_until);
    else
        perform private.community_set_state(p_target_type, v_id, p_action);
    end if;
    return private.community_record_action(v_moderator, p_action, p_target_type, v_id,
        v_author, v_reason, p_until, v_details, null);
end;
$$;
comment on function api.community_moderate(text, text, text, text, timestamptz, int) is
'Moderator action with a reason: hide / restore / delete (post, thread, message), lock /
unlock / pin / unpin / move (thread; p_category_id), silence / suspend until p_until and
unsilence / unsuspend (user). Suspension also sets auth.users.banned_until. The member
concerned is notified; the action is audited. Returns the action id (appealable).
Moderators act only on members (and their content) below their role, nobody on themselves,
and the last active admin is never suspended. Errors: not_authenticated, forbidden,
community_suspended, invalid_argument, not_found, user_not_found, community_self_moderation,
community_outranked, community_last_admin.';
revoke execute on function api.community_moderate(text, text, text, text, timestamptz, int)
from public, anon;
grant execute on function api.community_moderate(text, text, text, text, timestamptz, int)
to authenticated;

-- API: appeals ------------------------------------------------------------------------------
create function api.community_appeal(p_action_id bigint, p_body text) returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
    v_id bigint;
begin
    -- Suspended members may appeal too: no community_actor check here.
    if not exists (
        select 1 from community.moderation_actions
        where id = p_action_id and target_user_id = v_uid and reversed_at is null
          and action in ('hide', 'delete', 'lock', 'silence', 'suspend', 'move')
    ) then
        perform private.raise_error('not_found', 'No appealable action of yours.', 'PT404');
    end if;
    perform private.arg_text(p_body, 2000, 'body');
    insert into community.appeals (action_id, user_id, body)
    values (p_action_id, v_uid, p_body)
    on conflict (action_id) do nothing
    returning id into v_id;
    if v_id is null then
        perform private.raise_error('community_appeal_exists', 'You already appealed this.',
            'PT409');
    end if;
    return v_id;
end;
$$;
comment on function api.community_appeal(bigint, text) is
'Appeal a moderation action taken about you (once per action; suspended members too).
Errors: not_authenticated, not_found, invalid_argument, text_too_long,
community_appeal_exists.';
revoke execute on function api.community_appeal(bigint, text) from public, anon;
grant execute on function api.community_appeal(bigint, text) to authenticated;

create function api.community_decide_appeal(p_appeal_id bigint, p_grant boolean, p_note text)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_moderator uuid := private.require_permission('community.moderate');
    v_note text := private.community_check_reason(p_note);
    v_appeal community.appeals;
    v_action community.moderation_actions;
    v_reverse text;
begin
    perform private.community_actor(false); -- a suspended moderator acts no more
    if p_grant is null then
        perform private.raise_error('invalid_argument', 'p_grant is true or false.', '22023');
    end if;
    perform private.community_check_authority(v_moderator, (
        select a.user_id from community.appeals as a where a.id = p_appeal_id));
    update community.appeals set
        status = case when p_grant then 'granted' else 'denied' end,
        decided_by = v_moderator, decided_at = now(), decision_note = v_note
    where id = p_appeal_id and status = 'open'
    returning * into v_appeal;
    if not found then
        if exists (select 1 from community.appeals where id = p_appeal_id) then
            perform private.raise_error('conflict', 'The appeal is already decided.', 'PT409');
        end if;
        perform private.raise_error('not_found', 'No such appeal.', 'PT404');
    end if;
    select * into v_action from community.moderation_actions where id = v_appeal.action_id;
    if p_grant then
        v_reverse := case v_action.action
            when 'hide' then 'restore' when 'delete' then 'undelete' when 'lock' then 'unlock'
            when 'silence' then 'unsilence' when 'suspend' then 'unsuspend' end;
        if v_action.target_type = 'user' then
            perform private.community_sanction(v_action.target_user_id, v_reverse, null);
        elsif v_action.action = 'move' then
            update community.threads set category_id = (v_action.details ->> 'from_category_id')::int
            where id = v_action.target_id::bigint;
        else
            perform private.community_set_state(v_action.target_type, v_action.target_id,
                v_reverse);
        end if;
        update community.moderation_actions set reversed_at = now() where id = v_action.id;
    end if;
    perform private.audit('community.appeal_' || case when p_grant then 'granted'
                                                        else 'denied' end,
        'appeal', p_appeal_id::text,
        jsonb_build_object('action_id', v_action.id, 'action', v_action.action), v_note);
    perform private.notify(v_appeal.user_id, 'appeal', 'appeal', p_appeal_id::text,
        jsonb_build_object('granted', p_grant, 'note', v_note, 'action_id', v_action.id),
        v_moderator);
end;
$$;
comment on function api.community_decide_appeal(bigint, boolean, text) is
'Moderator: grant (the action is reversed) or deny an open appeal, with a note; the member
is notified; audited. Nobody decides their own appeal; moderators decide only appeals of
members below them. Errors: not_authenticated, forbidden, invalid_argument, not_found,
community_self_moderation, community_outranked, conflict (already decided).';
revoke execute on function api.community_decide_appeal(bigint, boolean, text) from public, anon;
grant execute on function api.community_decide_appeal(bigint, boolean, text) to authenticated;

-- API: views and statistics -----------------------------------------------------------------
create view api.community_report_reasons with (security_invoker = true) as
select
    r.name,
    r.label,
    r.description,
    r.message_required,
    r.applies_to
from community.flag_reasons as r
where
    (select private.key_may_read('api.community_report_reasons'))
    and (r.active);
comment on view api.community_report_reasons is
'Reasons a member can give when flagging (order by position), and what each applies to.';
grant select on api.community_report_reasons to anon, authenticated, service_role;

create view api.community_my_reports with (security_invoker = true) as
select
    f.id,
    f.target_type,
    f.target_id,
    f.reason,
    f.message,
    f.created_at
from community.flags as f
where
    (select private.key_may_read('api.community_my_reports'))
    and (f.flagger_id = (select auth.uid()));
comment on view api.community_my_reports is 'Flags you raised.';
grant select on api.community_my_reports to authenticated, service_role;

create view api.community_review_queue with (security_invoker = true) as
select
    r.id,
    r.target_type,
    r.target_id,
    r.target_author_id,
    private.community_username(r.target_author_id) as target_author_username,
    r.snapshot,
    r.status,
    r.total_weight,
    r.flag_count,
    r.auto_hidden,
    r.version,
    (
        select
            coalesce(jsonb_agg(jsonb_build_object(
                'flagger_id', f.flagger_id, 'reason', f.reason, 'message', f.message,
                'weight', f.weight, 'created_at', f.created_at
            ) order by f.id), '[]')
        from community.flags as f where f.review_item_id = r.id
    ) as flags,
    r.resolved_by,
    r.resolved_at,
    r.resolution_note,
    r.created_at,
    r.updated_at
from community.review_items as r
where (select private.key_may_read('api.community_review_queue'));
comment on view api.community_review_queue is
'Moderators: flagged items with their flags and a snapshot of the content; pending ones
(status = pending, oldest first) are the queue. Decide with api.community_decide_review(id, ...,
version).';
grant select on api.community_review_queue to authenticated, service_role;

create view api.community_review_history with (security_invoker = true) as
select
    h.id,
    h.review_item_id,
    h.actor_id,
    h.action,
    h.from_status,
    h.to_status,
    h.version,
    h.note,
    h.created_at
from community.review_history as h
where (select private.key_may_read('api.community_review_history'));
comment on view api.community_review_history is 'Moderators: every change of every review item.';
grant select on api.community_review_history to authenticated, service_role;

create view api.community_moderation_actions with (security_invoker = true) as
select
    a.id,
    a.moderator_id,
    a.action,
    a.target_type,
    a.target_id,
    a.target_user_id,
    a.reason,
    a.until,
    a.details,
    a.review_item_id,
    a.reversed_at,
    a.created_at
from community.moderation_actions as a
where (select private.key_may_read('api.community_moderation_actions'));
comment on view api.community_moderation_actions is
'Moderation actions: those about you (to understand and appeal them), or all for staff.';
grant select on api.community_moderation_actions to authenticated, service_role;

create view api.community_appeals with (security_invoker = true) as
select
    a.id,
    a.action_id,
    a.user_id,
    a.body,
    a.status,
    a.decided_by,
    a.decided_at,
    a.decision_note,
    a.created_at
from community.appeals as a
where (select private.key_may_read('api.community_appeals'));
comment on view api.community_appeals is 'Your appeals, or all appeals for staff.';
grant select on api.community_appeals to authenticated, service_role;

create function api.community_get_moderation_stats(p_since timestamptz default null) returns jsonb
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    v_since timestamptz := coalesce(p_since, now() - interval '30 days');
begin
    perform private.require_permission('community.moderate');
    return jsonb_build_object(
        'since', v_since,
        'open_items', (select count(*) from community.review_items where status = 'pending'),
        'open_flags', (
            select count(*) from community.flags as f
            join community.review_items as r on r.id = f.review_item_id
            where r.status = 'pending'
        ),
        'open_appeals', (select count(*) from community.appeals where status = 'open'),
        'resolved', (
            select count(*) from community.review_items
            where status <> 'pending' and resolved_at >= v_since
        ),
        'decisions', coalesce((
            select jsonb_object_agg(s.status, s.n) from (
                select status, count(*) as n from community.review_items
                where status <> 'pending' and resolved_at >= v_since group by status
            ) as s
        ), '{}'),
        'resolution_seconds', (
            select jsonb_build_object(
                'avg', round(avg(extract(epoch from resolved_at - created_at))),
                'median', round((percentile_cont(0.5) within group (
                    order by extract(epoch from resolved_at - created_at)))::numeric),
                'p95', round((percentile_cont(0.95) within group (
                    order by extract(epoch from resolved_at - created_at)))::numeric)
            )
            from community.review_items where status <> 'pending' and resolved_at >= v_since
        ),
        'actions_by_moderator', coalesce((
            select jsonb_agg(jsonb_build_object(
                'moderator_id', m.moderator_id,
                'username', private.community_username(m.moderator_id),
                'total', m.total, 'by_action', m.by_action
            ) order by m.total desc)
            from (
                select a.moderator_id, sum(a.n) as total, jsonb_object_agg(a.action, a.n)
                    as by_action
                from (
                    select moderator_id, action, count(*) as n
                    from community.moderation_actions
                    where created_at >= v_since
                    group by moderator_id, action
                ) as a
                group by a.moderator_id
            ) as m
        ), '[]')
    );
end;
$$;
comment on function api.community_get_moderation_stats(timestamptz) is
'Moderators: open review items, flags and appeals; decisions and time to resolution
(seconds: avg, median, p95) since p_since (default 30 days); actions by moderator.
Errors: not_authenticated, forbidden.';
revoke execute on function api.community_get_moderation_stats(timestamptz) from public, anon;
grant execute on function api.community_get_moderation_stats(timestamptz) to authenticated;
