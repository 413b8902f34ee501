-- API-key scopes for every api object, enforced at one choke point.
--
-- accounts.api_object_scopes declares, for every function and view in `api`, what an API key
-- token (a JWT with an api_key_id claim) needs to use it: a scope from accounts.api_scopes,
-- `any_key` (public reference data), or `session` (never through a key: key management,
-- account deletion, role grants...). Objects without a row are refused to key tokens (deny
-- by default); tests/security/test_api_scopes.py fails when an api object has no row.
--
-- Enforcement, for key tokens only (user sessions, anon and service_role pass untouched):
-- * private.pre_request(): PostgREST's db-pre-request (set on the authenticator role below, so
--   hosted PostgREST reads it; flagship.database.as_caller runs it too). It reads
--   request.path (`/rpc/<fn>` or `/<view>`, with or without `/rest/v1`) and request.method.
-- * private.require_calling_scope(), called by private.require_user(): the same check for
--   every api function on the call stack, so a definer RPC reached any other way
--   (from SQL, through a view) still checks. Definer RPCs that do not call require_user call
--   private.require_scope('api.<fn>') at their top.
-- Both read the key's live state by api_key_id: a revoked or expired key (or one whose
-- rotation overlap ended) stops working at once, also for JWTs already exchanged from it.

insert into ops.error_codes (code, sqlstate, http_status, description) values
(
    'scope_missing', '42501', 403,
    'An API key token may not use this object: details.object names it, details.scope the '
    || 'scope it needs (null: signed-in sessions only, or not available to API keys).'
);

create table accounts.api_object_scopes (
    object text primary key check (object ~ '^api\.[a-z][a-z0-9_]*$'),
    kind text not null check (kind in ('function', 'view')),
    access text not null check (access in ('scope', 'any_key', 'session')),
    scope text references accounts.api_scopes (scope),
    write_scope text references accounts.api_scopes (scope),
    check ((access = 'scope') = (scope is not null)),
    check (write_scope is null or (kind = 'view' and access = 'scope'))
);
comment on table accounts.api_object_scopes is
'What an API key token needs per api object: access scope (the scope column: calling the
function, or GET/HEAD on the view; write_scope: POST/PATCH/DELETE through the view, null =
refused), any_key (public reference data) or session (signed-in sessions only). Objects
without a row are refused to key tokens.';
create index api_object_scopes_scope_idx on accounts.api_object_scopes (scope);
create index api_object_scopes_write_scope_idx on accounts.api_object_scopes (write_scope);
alter table accounts.api_object_scopes enable row level security;
create policy api_object_scopes_read on accounts.api_object_scopes for select
to anon, authenticated using (true);
grant select on accounts.api_object_scopes to anon, authenticated, service_role;

-- The declarations -------------------------------------------------------------------------
insert into accounts.api_object_scopes (object, kind, access, scope) values
-- accounts
('api.accounts_confirm_contact_email_change', 'function', 'session', null),
('api.accounts_create_api_key', 'function', 'session', null),
('api.accounts_delete_my_account', 'function', 'session', null),
('api.accounts_delete_user', 'function', 'session', null),
('api.accounts_export_my_data', 'function', 'session', null),
('api.accounts_get_my_account', 'function', 'scope', 'profile:read'),
('api.accounts_get_my_settings', 'function', 'scope', 'profile:read'),
('api.accounts_get_user', 'function', 'scope', 'profile:read'),
('api.accounts_grant_role', 'function', 'session', null),
('api.accounts_request_contact_email_change', 'function', 'session', null),
('api.accounts_revoke_api_key', 'function', 'session', null),
('api.accounts_revoke_role', 'function', 'session', null),
('api.accounts_rotate_api_key', 'function', 'session', null),
('api.accounts_search_users', 'function', 'scope', 'profile:read'),
('api.accounts_set_my_avatar', 'function', 'scope', 'profile:write'),
('api.accounts_update_my_profile', 'function', 'scope', 'profile:write'),
('api.accounts_update_my_settings', 'function', 'scope', 'profile:write'),
('api.accounts_api_keys', 'view', 'session', null),
('api.accounts_api_scopes', 'view', 'any_key', null),
('api.accounts_my_activity', 'view', 'scope', 'profile:read'),
('api.accounts_profile_stats', 'view', 'scope', 'profile:read'),
('api.accounts_profiles', 'view', 'scope', 'profile:read'),
('api.accounts_roles', 'view', 'scope', 'profile:read'),
('api.accounts_user_roles', 'view', 'scope', 'profile:read'),
-- billing
('api.billing_assign_seat', 'function', 'scope', 'billing:seats:write'),
('api.billing_release_seat', 'function', 'scope', 'billing:seats:write'),
('api.billing_admin_events', 'view', 'session', null),
('api.billing_admin_overview', 'view', 'session', null),
('api.billing_invoices', 'view', 'scope', 'billing:read'),
('api.billing_my_entitlements', 'view', 'scope', 'billing:read'),
('api.billing_plans', 'view', 'scope', 'billing:read'),
('api.billing_seats', 'view', 'scope', 'billing:read'),
('api.billing_subscriptions', 'view', 'scope', 'billing:read'),
-- community
('api.community_add_participant', 'function', 'scope', 'community:messages:write'),
('api.community_appeal', 'function', 'scope', 'community:posts:write'),
('api.community_block_user', 'function', 'scope', 'community:posts:write'),
('api.community_comment_contribution', 'function', 'scope', 'community:posts:write'),
('api.community_count_notifications', 'function', 'scope', 'community:posts:read'),
('api.community_count_unread_messages', 'function', 'scope', 'community:messages:read'),
('api.community_create_post', 'function', 'scope', 'community:posts:write'),
('api.community_create_thread', 'function', 'scope', 'community:posts:write'),
('api.community_decide_appeal', 'function', 'scope', 'community:moderation:write'),
('api.community_decide_review', 'function', 'scope', 'community:moderation:write'),
('api.community_delete_post', 'function', 'scope', 'community:posts:write'),
('api.community_edit_post', 'function', 'scope', 'community:posts:write'),
('api.community_get_moderation_stats', 'function', 'scope', 'community:moderation:read'),
('api.community_leave_conversation', 'function', 'scope', 'community:messages:write'),
('api.community_list_thread_posts', 'function', 'scope', 'community:posts:read'),
('api.community_list_threads', 'function', 'scope', 'community:posts:read'),
('api.community_mark_conversation_read', 'function', 'scope', 'community:messages:write'),
('api.community_mark_notification_unread', 'function', 'scope', 'community:posts:write'),
('api.community_mark_notifications_read', 'function', 'scope', 'community:posts:write'),
('api.community_mark_solved', 'function', 'scope', 'community:posts:write'),
('api.community_mark_thread_read', 'function', 'scope', 'community:posts:write'),
('api.community_moderate', 'function', 'scope', 'community:moderation:write'),
('api.community_react', 'function', 'scope', 'community:posts:write'),
('api.community_record_visit', 'function', 'scope', 'community:posts:write'),
('api.community_report', 'function', 'scope', 'community:posts:write'),
('api.community_review_contribution', 'function', 'scope', 'community:moderation:write'),
('api.community_save_category', 'function', 'session', null),
('api.community_save_contribution', 'function', 'scope', 'community:posts:write'),
('api.community_search_forum', 'function', 'scope', 'community:posts:read'),
('api.community_send_message', 'function', 'scope', 'community:messages:write'),
('api.community_set_trust_level', 'function', 'session', null),
('api.community_start_conversation', 'function', 'scope', 'community:messages:write'),
('api.community_submit_contribution', 'function', 'scope', 'community:posts:write'),
('api.community_unblock_user', 'function', 'scope', 'community:posts:write'),
('api.community_unreact', 'function', 'scope', 'community:posts:write'),
('api.community_watch', 'function', 'scope', 'community:posts:write'),
('api.community_appeals', 'view', 'scope', 'community:posts:read'),
('api.community_contribution_comments', 'view', 'scope', 'community:posts:read'),
('api.community_contributions', 'view', 'scope', 'community:posts:read'),
('api.community_conversation_messages', 'view', 'scope', 'community:messages:read'),
('api.community_conversation_participants', 'view', 'scope', 'community:messages:read'),
('api.community_forum_categories', 'view', 'scope', 'community:posts:read'),
('api.community_forum_posts', 'view', 'scope', 'community:posts:read'),
('api.community_forum_threads', 'view', 'scope', 'community:posts:read'),
('api.community_members', 'view', 'scope', 'community:posts:read'),
('api.community_moderation_actions', 'view', 'scope', 'community:moderation:read'),
('api.community_my_blocks', 'view', 'scope', 'community:posts:read'),
('api.community_my_conversations', 'view', 'scope', 'community:messages:read'),
('api.community_my_reports', 'view', 'scope', 'community:posts:read'),
('api.community_my_watches', 'view', 'scope', 'community:posts:read'),
('api.community_notifications', 'view', 'scope', 'community:posts:read'),
('api.community_post_reactions', 'view', 'scope', 'community:posts:read'),
('api.community_post_revisions', 'view', 'scope', 'community:posts:read'),
('api.community_report_reasons', 'view', 'scope', 'community:posts:read'),
('api.community_review_history', 'view', 'scope', 'community:moderation:read'),
('api.community_review_queue', 'view', 'scope', 'community:moderation:read'),
('api.community_trust_levels', 'view', 'scope', 'community:posts:read'),
-- ctf
('api.ctf_add_file', 'function', 'scope', 'ctf:challenges:write'),
('api.ctf_add_flag', 'function', 'scope', 'ctf:challenges:write'),
('api.ctf_add_hint', 'function', 'scope', 'ctf:challenges:write'),
('api.ctf_ban_participant', 'function', 'scope', 'ctf:events:write'),
('api.ctf_create_bracket', 'function', 'scope', 'ctf:events:write'),
('api.ctf_create_event', 'function', 'scope', 'ctf:events:write'),
('api.ctf_create_team', 'function', 'scope', 'ctf:play'),
('api.ctf_delete_solve', 'function', 'scope', 'ctf:events:write'),
('api.ctf_export_event', 'function', 'scope', 'ctf:challenges:write'),
('api.ctf_get_ctftime_feed', 'function', 'scope', 'ctf:scores:read'),
('api.ctf_get_score_graph', 'function', 'scope', 'ctf:scores:read'),
('api.ctf_get_scoreboard', 'function', 'scope', 'ctf:scores:read'),
('api.ctf_get_team_invite_code', 'function', 'scope', 'ctf:play'),
('api.ctf_get_team_page', 'function', 'scope', 'ctf:scores:read'),
('api.ctf_give_feedback', 'function', 'scope', 'ctf:play'),
('api.ctf_grant_award', 'function', 'scope', 'ctf:events:write'),
('api.ctf_join_team', 'function', 'scope', 'ctf:play'),
('api.ctf_kick_member', 'function', 'scope', 'ctf:play'),
('api.ctf_leave_team', 'function', 'scope', 'ctf:play'),
('api.ctf_list_challenges', 'function', 'scope', 'ctf:challenges:read'),
('api.ctf_list_flags', 'function', 'scope', 'ctf:challenges:write'),
('api.ctf_list_team_flags', 'function', 'scope', 'ctf:play'),
('api.ctf_moderate_team', 'function', 'scope', 'ctf:events:write'),
('api.ctf_recompute_standings', 'function', 'scope', 'ctf:events:write'),
('api.ctf_register', 'function', 'scope', 'ctf:play'),
('api.ctf_reinvite_member', 'function', 'scope', 'ctf:play'),
('api.ctf_remove_award', 'function', 'scope', 'ctf:events:write'),
('api.ctf_remove_flag', 'function', 'scope', 'ctf:challenges:write'),
('api.ctf_rename_team', 'function', 'scope', 'ctf:play'),
('api.ctf_rotate_team_invite_code', 'function', 'scope', 'ctf:play'),
('api.ctf_save_challenge', 'function', 'scope', 'ctf:challenges:write'),
('api.ctf_set_organiser', 'function', 'session', null),
('api.ctf_submit', 'function', 'scope', 'ctf:play'),
('api.ctf_transfer_captaincy', 'function', 'scope', 'ctf:play'),
('api.ctf_unlock_hint', 'function', 'scope', 'ctf:play'),
('api.ctf_update_event', 'function', 'scope', 'ctf:events:write'),
('api.ctf_awards', 'view', 'scope', 'ctf:scores:read'),
('api.ctf_brackets', 'view', 'scope', 'ctf:challenges:read'),
('api.ctf_challenge_files', 'view', 'scope', 'ctf:challenges:read'),
('api.ctf_challenge_stats', 'view', 'scope', 'ctf:scores:read'),
('api.ctf_challenges', 'view', 'scope', 'ctf:challenges:read'),
('api.ctf_events', 'view', 'scope', 'ctf:challenges:read'),
('api.ctf_feedback_summary', 'view', 'scope', 'ctf:challenges:read'),
('api.ctf_hints', 'view', 'scope', 'ctf:challenges:read'),
('api.ctf_organisers', 'view', 'scope', 'ctf:challenges:read'),
('api.ctf_sharing_reports', 'view', 'scope', 'ctf:challenges:read'),
('api.ctf_solves', 'view', 'scope', 'ctf:scores:read'),
('api.ctf_submissions', 'view', 'scope', 'ctf:play'),
('api.ctf_team_members', 'view', 'scope', 'ctf:scores:read'),
('api.ctf_teams', 'view', 'scope', 'ctf:scores:read'),
-- learning
('api.learning_archive_course', 'function', 'scope', 'learning:courses:write'),
('api.learning_complete_lesson', 'function', 'scope', 'learning:progress:write'),
('api.learning_configure_quiz', 'function', 'scope', 'learning:courses:write'),
('api.learning_create_course', 'function', 'scope', 'learning:courses:write'),
('api.learning_create_lesson', 'function', 'scope', 'learning:courses:write'),
('api.learning_create_module', 'function', 'scope', 'learning:courses:write'),
('api.learning_delete_lesson', 'function', 'scope', 'learning:courses:write'),
('api.learning_delete_my_review', 'function', 'scope', 'learning:progress:write'),
('api.learning_delete_question', 'function', 'scope', 'learning:courses:write'),
('api.learning_enroll', 'function', 'scope', 'learning:progress:write'),
('api.learning_get_attempt', 'function', 'scope', 'learning:progress:read'),
('api.learning_get_attempt_review', 'function', 'scope', 'learning:progress:read'),
('api.learning_get_course_outline', 'function', 'scope', 'learning:courses:read'),
('api.learning_get_lesson', 'function', 'scope', 'learning:courses:read'),
('api.learning_get_quiz_for_authoring', 'function', 'scope', 'learning:courses:write'),
('api.learning_list_courses', 'function', 'scope', 'learning:courses:read'),
('api.learning_publish_course', 'function', 'scope', 'learning:courses:write'),
('api.learning_reinstate_certificate', 'function', 'scope', 'learning:courses:write'),
('api.learning_reorder_lessons', 'function', 'scope', 'learning:courses:write'),
('api.learning_reorder_modules', 'function', 'scope', 'learning:courses:write'),
('api.learning_reply_to_review', 'function', 'scope', 'learning:courses:write'),
('api.learning_review_course', 'function', 'scope', 'learning:progress:write'),
('api.learning_revoke_certificate', 'function', 'scope', 'learning:courses:write'),
('api.learning_save_answers', 'function', 'scope', 'learning:progress:write'),
('api.learning_save_question', 'function', 'scope', 'learning:courses:write'),
('api.learning_save_video_position', 'function', 'scope', 'learning:progress:write'),
('api.learning_set_accommodation', 'function', 'scope', 'learning:courses:write'),
('api.learning_set_course_prerequisites', 'function', 'scope', 'learning:courses:write'),
('api.learning_set_course_team', 'function', 'session', null),
('api.learning_set_module_prerequisites', 'function', 'scope', 'learning:courses:write'),
('api.learning_start_attempt', 'function', 'scope', 'learning:progress:write'),
('api.learning_submit_attempt', 'function', 'scope', 'learning:progress:write'),
('api.learning_unenroll', 'function', 'scope', 'learning:progress:write'),
('api.learning_update_course', 'function', 'scope', 'learning:courses:write'),
('api.learning_update_lesson', 'function', 'scope', 'learning:courses:write'),
('api.learning_update_module', 'function', 'scope', 'learning:courses:write'),
('api.learning_verify_certificate', 'function', 'scope', 'learning:courses:read'),
('api.learning_certificate_history', 'view', 'scope', 'learning:progress:read'),
('api.learning_course_accommodations', 'view', 'scope', 'learning:progress:read'),
('api.learning_course_attempts', 'view', 'scope', 'learning:progress:read'),
('api.learning_course_enrollment_stats', 'view', 'scope', 'learning:progress:read'),
('api.learning_course_lesson_funnel', 'view', 'scope', 'learning:progress:read'),
('api.learning_course_lessons', 'view', 'scope', 'learning:courses:read'),
('api.learning_course_modules', 'view', 'scope', 'learning:courses:read'),
('api.learning_course_prerequisites', 'view', 'scope', 'learning:courses:read'),
('api.learning_course_reviews', 'view', 'scope', 'learning:courses:read'),
('api.learning_course_roster', 'view', 'scope', 'learning:progress:read'),
('api.learning_course_team', 'view', 'scope', 'learning:courses:read'),
('api.learning_courses', 'view', 'scope', 'learning:courses:read'),
('api.learning_my_certificates', 'view', 'scope', 'learning:progress:read'),
('api.learning_my_enrollments', 'view', 'scope', 'learning:progress:read'),
('api.learning_my_lesson_progress', 'view', 'scope', 'learning:progress:read'),
('api.learning_my_quiz_attempts', 'view', 'scope', 'learning:progress:read'),
('api.learning_my_quiz_results', 'view', 'scope', 'learning:progress:read'),
('api.learning_quiz_item_difficulty', 'view', 'scope', 'learning:progress:read'),
('api.learning_quizzes', 'view', 'scope', 'learning:courses:read'),
-- ops
('api.ops_audit_log', 'view', 'session', null),
('api.ops_error_codes', 'view', 'any_key', null);

create view api.accounts_api_object_scopes with (security_invoker = true) as
select
    o.object,
    o.kind,
    o.access,
    o.scope,
    o.write_scope
from accounts.api_object_scopes as o
where (select private.key_may_read('api.accounts_api_object_scopes'));
comment on view api.accounts_api_object_scopes is
'What an API key needs per api object: access scope (scope: call the function or read the
view; write_scope: write through the view), any_key, or session (signed-in sessions only).
Objects not listed are refused to API keys.';
grant select on api.accounts_api_object_scopes to anon, authenticated, service_role;
insert into accounts.api_object_scopes (object, kind, access, scope) values
('api.accounts_api_object_scopes', 'view', 'any_key', null);

-- The checks ---------------------------------------------------------------------------------
create function private.require_live_api_key() returns text[]
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    v_id text := (select auth.jwt()) ->> 'api_key_id';
    v_key accounts.api_keys;
begin
    if v_id is null then
        return null;
    end if;
    if v_id !~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
        perform private.raise_error('edge_api_key_invalid', 'Invalid API key.', '42501');
    end if;
    select * into v_key from accounts.api_keys as k where k.id = v_id::uuid;
    if not found or v_key.owner_id::text is distinct from ((select auth.jwt()) ->> 'sub') then
        perform private.raise_error('edge_api_key_invalid', 'Invalid API key.', '42501');
    end if;
    if v_key.revoked_at is not null then
        perform private.raise_error('edge_api_key_revoked', 'The API key was revoked.', '42501',
            jsonb_build_object('prefix', v_key.prefix));
    end if;
    if v_key.expires_at <= now() then
        perform private.raise_error('edge_api_key_expired', 'The API key expired.', '42501',
            jsonb_build_object('prefix', v_key.prefix));
    end if;
    return v_key.scopes;
end;
$$;
comment on function private.require_live_api_key() is
'For a key token (api_key_id claim): the key''s scopes if the key exists for this owner, is
not revoked and not expired (rotation overlap included); else edge_api_key_invalid /
edge_api_key_revoked / edge_api_key_expired (401). Null for any other caller.';
revoke execute on function private.require_live_api_key() from public;
grant execute on function private.require_live_api_key() to anon, authenticated, service_role;

create function private.require_scope(p_object text, p_method text default 'POST')
returns void
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    v_scopes text[] := private.require_live_api_key();
    v_decl accounts.api_object_scopes;
    v_needed text;
begin
    if v_scopes is null then
        return;  -- not a key token: sessions, anon and service_role are not scoped
    end if;
    select * into v_decl from accounts.api_object_scopes as o where o.object = p_object;
    if found and v_decl.access = 'any_key' and upper(p_method) in ('GET', 'HEAD') then
        return;
    end if;
    if found and v_decl.access = 'scope' then
        v_needed := case
            when v_decl.kind = 'view' and upper(p_method) not in ('GET', 'HEAD')
                then v_decl.write_scope
            else v_decl.scope
        end;
        if v_needed = any(v_scopes) then
            return;
        end if;
    end if;
    perform private.raise_error(
        'scope_missing',
        case
            when v_needed is not null then format('This API key lacks the %s scope.', v_needed)
            else format('%s is not available to API keys; sign in.', coalesce(p_object, 'This'))
        end,
        '42501',
        jsonb_build_object('object', p_object, 'scope', v_needed)
    );
end;
$$;
comment on function private.require_scope(text, text) is
'For key tokens: refuse (scope_missing, 403, details.object/scope) unless the key is live and
holds the scope accounts.api_object_scopes declares for p_object and p_method (functions:
any method; views: GET/HEAD read, others write). Undeclared and session-only objects are
refused. No-op for every other caller. Definer RPCs that skip require_user call it first.';
revoke execute on function private.require_scope(text, text) from public;
grant execute on function private.require_scope(text, text) to anon, authenticated, service_role;

create function private.require_calling_scope() returns void
language plpgsql stable
set search_path = ''
as $$
declare
    v_stack text;
    v_object text;
    v_found boolean := false;
begin
    if not coalesce((select auth.jwt()) ? 'api_key_id', false) then
        return;
    end if;
    get diagnostics v_stack = pg_context;
    -- Every api function on the stack, outermost first: a key needs the scope of each (one
    -- api function calling another must not lend the inner one the outer one's scope).
    -- plpgsql frames name the function with its schema; SQL-language ones without it.
    for v_object in
        select o.object from (
            select 'api.' || m[1] as object, t.n
            from regexp_matches(v_stack, 'function api\.([a-z0-9_]+)\(', 'g')
                with ordinality as t (m, n)
            union all
            select 'api.' || m[1], t.n
            from regexp_matches(v_stack, 'SQL function "([a-z0-9_]+)"', 'g')
                with ordinality as t (m, n)
            where exists (
                select 1 from pg_proc as p
                where p.pronamespace = 'api'::regnamespace and p.proname = m[1]
            )
        ) as o
        group by o.object
        order by max(o.n) desc
    loop
        v_found := true;
        perform private.require_scope(v_object);
    end loop;
    if not v_found then
        -- Not inside an api function (a view's query or a policy): pre_request checked the
        -- object named by the request path; only the key's live state is left to check.
        perform private.require_live_api_key();
    end if;
end;
$$;
comment on function private.require_calling_scope() is
'For key tokens: private.require_scope for every api function on the call stack (read from
PG_CONTEXT), outermost first. Called by private.require_user, so every RPC that needs a user
checks the key''s scope however it was reached.';
revoke execute on function private.require_calling_scope() from public;
grant execute on function private.require_calling_scope() to anon, authenticated, service_role;

create function private.pre_request() returns void
language plpgsql stable
set search_path = ''
as $$
declare
    v_path text;
    v_method text := coalesce(nullif(current_setting('request.method', true), ''), 'GET');
begin
    if not coalesce((select auth.jwt()) ? 'api_key_id', false) then
        return;
    end if;
    v_path := regexp_replace(coalesce(current_setting('request.path', true), ''), '^/rest/v1', '');
    if v_path = '' or v_path like '/functions/v1/%' then
        -- No HTTP path: SQL run directly (CLI, tests); definer RPCs still check through
        -- require_user. The edge's routes declare their own scope (edge.auth.deps).
        perform private.require_live_api_key();
        return;
    end if;
    perform private.require_scope(
        case
            when v_path ~ '^/rpc/[a-z][a-z0-9_]*/?$' then 'api.' || rtrim(substr(v_path, 6), '/')
            when v_path ~ '^/[a-z][a-z0-9_]*/?$' then 'api.' || rtrim(substr(v_path, 2), '/')
        end,
        case when v_path like '/rpc/%' then 'POST' else v_method end
    );
end;
$$;
comment on function private.pre_request() is
'PostgREST db-pre-request: for key tokens, refuse a request whose object (request.path
/rpc/<fn> or /<view>) the key may not use (private.require_scope) or whose key is revoked or
expired. Other callers pass untouched. Set as pgrst.db_pre_request on the authenticator role.';
revoke execute on function private.pre_request() from public;
grant execute on function private.pre_request() to anon, authenticated, service_role;

-- PostgREST reads its settings from the authenticator role (hosted Supabase as well).
-- (In a block: sqlfluff cannot parse the dotted setting name.)
do $pgrst$
begin
    alter role authenticator set pgrst.db_pre_request = 'private.pre_request';
    perform pg_notify('pgrst', 'reload config');
end
$pgrst$;
