-- events: the newsletter. An admin (newsletter.send) composes a campaign in markdown (the
-- worker renders it to sanitised HTML through content.render), picks an audience, previews
-- and schedules it. When it is due, the events.start_due_newsletters schedule resolves the
-- audience into one row per recipient (opted in to the newsletter category, not suppressed)
-- and queues one newsletter.send job per chunk of 100; the worker sends each chunk with
-- Resend's batch API under a per-chunk idempotency key and records each recipient's status.

insert into accounts.permissions (name, description) values
('newsletter.send', 'Compose, schedule and send newsletter campaigns.');
insert into accounts.role_permissions (role, permission) values ('admin', 'newsletter.send');

insert into ops.error_codes (code, sqlstate, http_status, description) values
('events_campaign_not_found', 'PT404', 404, 'No such newsletter campaign.'),
(
    'events_campaign_not_editable', 'PT409', 409,
    'The campaign was already scheduled or sent: only drafts change (cancel it first).'
),
(
    'events_audience_invalid', '22023', 400,
    'An audience is {"kind": "everyone"}, {"kind": "course", "course_id"}, '
    || '{"kind": "event", "event_id"} or {"kind": "plan", "feature"}.'
);

-- Tables ------------------------------------------------------------------------------------
create table ops.newsletter_campaigns (
    id bigint generated always as identity primary key,
    subject text not null check (char_length(subject) between 1 and 200),
    headline text check (char_length(headline) <= 200),
    body text not null check (char_length(body) between 1 and 100000),
    body_html text,
    audience jsonb not null,
    status text not null default 'draft'
    check (status in ('draft', 'scheduled', 'sending', 'sent', 'cancelled')),
    scheduled_at timestamptz,
    started_at timestamptz,
    finished_at timestamptz,
    created_by uuid references auth.users (id) on delete set null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
comment on table ops.newsletter_campaigns is
'Newsletter campaigns: markdown body (body_html rendered by the worker), audience, status
draft → scheduled → sending → sent (or cancelled). Written through the api.events_*
newsletter RPCs; read by admins through api.events_newsletter_campaigns.';
create index newsletter_campaigns_created_by_idx on ops.newsletter_campaigns (created_by);
create index newsletter_campaigns_due_idx on ops.newsletter_campaigns (scheduled_at)
where status = 'scheduled';
alter table ops.newsletter_campaigns enable row level security;
create trigger newsletter_campaigns_touch before update on ops.newsletter_campaigns
for each row execute function private.touch_updated_at();
create policy newsletter_campaigns_read on ops.newsletter_campaigns for select
to authenticated using ((select private.jwt_has_permission('platform.admin')));
grant select on ops.newsletter_campaigns to authenticated, service_role;
grant update on ops.newsletter_campaigns to service_role;

insert into ops.render_targets (table_name, source_column, html_column, key_column, key_type)
values ('ops.newsletter_campaigns', 'body', 'body_html', 'id', 'bigint');
create trigger newsletter_campaigns_z_render before insert or update of body, body_html
on ops.newsletter_campaigns
for each row execute function private.content_render_queue('body', 'body_html', 'id');

create table ops.newsletter_recipients (
    campaign_id bigint not null references ops.newsletter_campaigns (id) on delete cascade,
    email text not null check (char_length(email) <= 320),
    user_id uuid references auth.users (id) on delete set null,
    chunk int not null,
    status text not null default 'pending'
    check (status in ('pending', 'sent', 'suppressed', 'failed')),
    provider_id text,
    error text,
    sent_at timestamptz,
    primary key (campaign_id, email)
);
comment on table ops.newsletter_recipients is
'One row per recipient of a campaign, fixed when it starts: status pending → sent (with the
provider''s id) or failed; suppressed = unsubscribed or bounced before it was sent. chunk:
the newsletter.send job (100 recipients) that sends it.';
create index newsletter_recipients_chunk_idx on ops.newsletter_recipients (campaign_id, chunk);
create index newsletter_recipients_user_idx on ops.newsletter_recipients (user_id);
alter table ops.newsletter_recipients enable row level security;
create policy newsletter_recipients_read on ops.newsletter_recipients for select
to authenticated using ((select private.jwt_has_permission('platform.admin')));
grant select on ops.newsletter_recipients to authenticated, service_role;
grant update on ops.newsletter_recipients to service_role;

-- Audiences ---------------------------------------------------------------------------------
create function private.events_check_audience(p_audience jsonb) returns jsonb
language plpgsql stable
set search_path = ''
as $$
declare
    v_kind text := p_audience ->> 'kind';
    v_keys text[] := case v_kind
        when 'everyone' then array['kind']
        when 'course' then array['kind', 'course_id']
        when 'event' then array['kind', 'event_id']
        when 'plan' then array['kind', 'feature'] end;
begin
    if jsonb_typeof(p_audience) is distinct from 'object' or v_keys is null
       or exists (select 1 from jsonb_object_keys(p_audience) as k where k <> all(v_keys))
       or cardinality(v_keys) <> (select count(*) from jsonb_object_keys(p_audience)) then
        perform private.raise_error('events_audience_invalid',
            'An audience is everyone, the learners of a course, the participants of an event '
            || 'or the holders of a plan feature.', '22023',
            jsonb_build_object('field', 'p_audience'));
    end if;
    if v_kind in ('course', 'event')
       and (p_audience ->> (v_kind || '_id')) !~ '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$' then
        perform private.raise_error('events_audience_invalid',
            format('%s_id must be a uuid.', v_kind), '22023',
            jsonb_build_object('field', 'p_audience'));
    end if;
    return p_audience;
end;
$$;
comment on function private.events_check_audience(jsonb) is
'The audience argument, checked (events_audience_invalid otherwise).';
revoke execute on function private.events_check_audience(jsonb) from public;
grant execute on function private.events_check_audience(jsonb) to authenticated, service_role;

create function private.events_audience(p_audience jsonb)
returns table (user_id uuid, email text, suppressed boolean)
language sql stable
security definer
set search_path = ''
as $$
    with members as (
        select u.id from auth.users as u
        where (p_audience ->> 'kind') = 'everyone'
        union
        select e.user_id from learning.enrollments as e
        where (p_audience ->> 'kind') = 'course'
          and e.course_id = (p_audience ->> 'course_id')::uuid and e.status <> 'withdrawn'
        union
        select p.user_id from ctf.participants as p
        where (p_audience ->> 'kind') = 'event'
          and p.event_id = (p_audience ->> 'event_id')::uuid
        union
        select b.user_id from billing.entitlements as b
        where (p_audience ->> 'kind') = 'plan' and b.feature = (p_audience ->> 'feature')
    ),
    addressed as (
        select distinct on (lower(coalesce(c.email, u.email)))
            u.id, lower(coalesce(c.email, u.email)) as email
        from members as m
        join auth.users as u on u.id = m.id
        left join accounts.contact_emails as c on c.user_id = u.id
        left join accounts.settings as s on s.user_id = u.id
        where coalesce(c.email, u.email) <> ''
          and u.deleted_at is null
          -- Opted in: the newsletter category is off by default (private.default_settings).
          and coalesce(s.prefs -> 'email_categories' ->> 'newsletter',
                       private.default_settings() -> 'email_categories' ->> 'newsletter')
              = 'true'
        order by lower(coalesce(c.email, u.email)), u.id
    )
    select a.id, a.email, exists (
        select 1 from ops.email_suppressions as x
        where x.email = a.email and x.category in ('*', 'newsletter')
    )
    from addressed as a
$$;
comment on function private.events_audience(jsonb) is
'The members of an audience who opted in to the newsletter, one row per address (contact
email first), with whether the address is suppressed (bounced, complained or unsubscribed
from the newsletter). Definer: reads every user''s settings and address.';
revoke execute on function private.events_audience(jsonb) from public;
grant execute on function private.events_audience(jsonb) to service_role;

-- Starting due campaigns (the schedule) ----------------------------------------------------
create function private.events_start_due_newsletters() returns int
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_campaign ops.newsletter_campaigns;
    v_chunks int;
    v_started int := 0;
begin
    for v_campaign in
        select * from ops.newsletter_campaigns as c
        where c.status = 'scheduled' and c.scheduled_at <= now()
        order by c.scheduled_at
        for update skip locked
    loop
        insert into ops.newsletter_recipients (campaign_id, email, user_id, chunk, status)
        select v_campaign.id, a.email, a.user_id,
               ((row_number() over (order by a.email)) - 1)::int / 100,
               case when a.suppressed then 'suppressed' else 'pending' end
        from private.events_audience(v_campaign.audience) as a
        on conflict do nothing;
        select coalesce(max(r.chunk) + 1, 0) into v_chunks
        from ops.newsletter_recipients as r where r.campaign_id = v_campaign.id;
        perform ops.enqueue('newsletter.send',
            jsonb_build_object('campaign_id', v_campaign.id, 'chunk', n),
            format('campaign:%s:%s', v_campaign.id, n))
        from generate_series(0, v_chunks - 1) as n;
        update ops.newsletter_campaigns
        set status = case when v_chunks = 0 then 'sent' else 'sending' end,
            started_at = now(), finished_at = case when v_chunks = 0 then now() end
        where id = v_campaign.id;
        perform private.audit('events.newsletter_started', 'newsletter_campaign',
            v_campaign.id::text, jsonb_build_object('chunks', v_chunks));
        v_started := v_started + 1;
    end loop;
    return v_started;
end;
$$;
comment on function private.events_start_due_newsletters() is
'Scheduler: start every scheduled campaign that is due — fix its recipients (chunks of 100)
and queue one newsletter.send job per chunk. Returns how many campaigns started.';
revoke execute on function private.events_start_due_newsletters() from public;
grant execute on function private.events_start_due_newsletters() to service_role;
insert into ops.schedules (name, function_name, every) values
('events.start_due_newsletters', 'private.events_start_due_newsletters()', '1 minute');

-- Sending one chunk (the worker) -----------------------------------------------------------
create function private.events_newsletter_chunk(p_campaign bigint, p_chunk int) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_campaign ops.newsletter_campaigns;
begin
    select * into v_campaign from ops.newsletter_campaigns where id = p_campaign;
    if v_campaign.id is null or v_campaign.status not in ('sending', 'sent') then
        return null;
    end if;
    -- Unsubscribed or bounced since the campaign started: not sent.
    update ops.newsletter_recipients as r set status = 'suppressed'
    where r.campaign_id = p_campaign and r.chunk = p_chunk and r.status = 'pending'
      and exists (select 1 from ops.email_suppressions as x
                  where x.email = r.email and x.category in ('*', 'newsletter'));
    return jsonb_build_object(
        'campaign_id', v_campaign.id, 'subject', v_campaign.subject,
        'headline', v_campaign.headline, 'body', v_campaign.body,
        'body_html', v_campaign.body_html,
        'recipients', coalesce((
            select jsonb_agg(jsonb_build_object('email', r.email, 'user_id', r.user_id)
                             order by r.email)
            from ops.newsletter_recipients as r
            where r.campaign_id = p_campaign and r.chunk = p_chunk and r.status = 'pending'
        ), '[]'));
end;
$$;
comment on function private.events_newsletter_chunk(bigint, int) is
'Worker (newsletter.send): the campaign and the still-pending recipients of one chunk,
after marking those suppressed since it started; null when the campaign is gone or
cancelled.';
revoke execute on function private.events_newsletter_chunk(bigint, int) from public;
grant execute on function private.events_newsletter_chunk(bigint, int) to service_role;

create function private.events_newsletter_sent(p_campaign bigint, p_results jsonb)
returns int
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_count int;
begin
    update ops.newsletter_recipients as r
    set status = x.status, provider_id = x.provider_id, error = left(x.error, 500),
        sent_at = case when x.status = 'sent' then now() end
    from jsonb_to_recordset(p_results) as x (
        email text, status text, provider_id text, error text
    )
    where r.campaign_id = p_campaign and r.email = x.email and r.status = 'pending'
      and x.status in ('sent', 'failed');
    get diagnostics v_count = row_count;
    update ops.newsletter_campaigns as c set status = 'sent', finished_at = now()
    where c.id = p_campaign and c.status = 'sending'
      and not exists (select 1 from ops.newsletter_recipients as r
                      where r.campaign_id = p_campaign and r.status = 'pending');
    return v_count;
end;
$$;
comment on function private.events_newsletter_sent(bigint, jsonb) is
'Worker (newsletter.send): record the outcome per recipient ([{email, status sent|failed,
provider_id, error}]); the campaign is sent once no recipient is pending.';
revoke execute on function private.events_newsletter_sent(bigint, jsonb) from public;
grant execute on function private.events_newsletter_sent(bigint, jsonb) to service_role;

select ops.register_event_type(
    'newsletter.send', 1,
    'Send one chunk (up to 100 recipients) of a newsletter campaign through the batch API.',
    $json${
      "type": "object",
      "required": ["campaign_id", "chunk"],
      "additionalProperties": false,
      "properties": {
        "campaign_id": {"type": "integer", "minimum": 1},
        "chunk": {"type": "integer", "minimum": 0}
      }
    }$json$,
    '{"campaign_id": 3, "chunk": 0}',
    'sync.newsletter'
);

-- API ---------------------------------------------------------------------------------------
create function private.events_editable_campaign(p_id bigint) returns ops.newsletter_campaigns
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_row ops.newsletter_campaigns;
begin
    select * into v_row from ops.newsletter_campaigns where id = p_id for update;
    if v_row.id is null then
        perform private.raise_error('events_campaign_not_found', 'No such campaign.', 'PT404');
    end if;
    if v_row.status <> 'draft' then
        perform private.raise_error('events_campaign_not_editable',
            format('The campaign is %s: only drafts change.', v_row.status), 'PT409',
            jsonb_build_object('status', v_row.status));
    end if;
    return v_row;
end;
$$;
comment on function private.events_editable_campaign(bigint) is
'A draft campaign, locked, else events_campaign_not_found / events_campaign_not_editable.';
revoke execute on function private.events_editable_campaign(bigint) from public;

create function api.events_save_newsletter(
    p_subject text, p_body text, p_audience jsonb, p_headline text default null,
    p_id bigint default null
) returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_permission('newsletter.send');
    v_id bigint := p_id;
begin
    if nullif(btrim(coalesce(p_subject, '')), '') is null then
        perform private.arg_error('p_subject', 'p_subject is required.');
    end if;
    if nullif(btrim(coalesce(p_body, '')), '') is null then
        perform private.arg_error('p_body', 'p_body is required.');
    end if;
    perform private.arg_text(p_subject, 200, 'p_subject');
    if p_headline is not null then
        perform private.arg_text(p_headline, 200, 'p_headline');
    end if;
    perform private.arg_text(p_body, 100000, 'p_body');
    perform private.events_check_audience(p_audience);
    if v_id is null then
        insert into ops.newsletter_campaigns (subject, headline, body, audience, created_by)
        values (btrim(p_subject), p_headline, p_body, p_audience, v_uid)
        returning id into v_id;
    else
        perform private.events_editable_campaign(v_id);
        update ops.newsletter_campaigns
        set subject = btrim(p_subject), headline = p_headline, body = p_body,
            audience = p_audience
        where id = v_id;
    end if;
    perform private.audit('events.newsletter_saved', 'newsletter_campaign', v_id::text,
        jsonb_build_object('audience', p_audience));
    return v_id;
end;
$$;
comment on function api.events_save_newsletter(text, text, jsonb, text, bigint) is
'Create (p_id null) or update a draft newsletter campaign: subject, markdown body (rendered to
sanitised HTML by the worker), audience ({"kind": "everyone"}, {"kind": "course",
"course_id"}, {"kind": "event", "event_id"}, {"kind": "plan", "feature"}) and an optional
headline. Only members who opted in to the newsletter receive it. Returns the campaign id.
Needs newsletter.send. Errors: not_authenticated, forbidden, invalid_argument,
text_too_long, events_audience_invalid, events_campaign_not_found,
events_campaign_not_editable.';
revoke execute on function api.events_save_newsletter(text, text, jsonb, text, bigint)
from public, anon;
grant execute on function api.events_save_newsletter(text, text, jsonb, text, bigint)
to authenticated;

create function api.events_preview_newsletter(p_id bigint) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_row ops.newsletter_campaigns;
begin
    perform private.require_permission('newsletter.send');
    select * into v_row from ops.newsletter_campaigns where id = p_id;
    if v_row.id is null then
        perform private.raise_error('events_campaign_not_found', 'No such campaign.', 'PT404');
    end if;
    return jsonb_build_object(
        'id', v_row.id, 'subject', v_row.subject, 'headline', v_row.headline,
        'body', v_row.body, 'body_html', v_row.body_html, 'audience', v_row.audience,
        'status', v_row.status,
        'recipients', (select count(*) filter (where not a.suppressed)
                       from private.events_audience(v_row.audience) as a),
        'suppressed', (select count(*) filter (where a.suppressed)
                       from private.events_audience(v_row.audience) as a));
end;
$$;
comment on function api.events_preview_newsletter(bigint) is
'What a campaign would send now: subject, headline, markdown and its sanitised HTML (null
until the worker rendered it), and how many opted-in recipients the audience has
(suppressed addresses counted apart). Needs newsletter.send. Errors: not_authenticated,
forbidden, events_campaign_not_found.';
revoke execute on function api.events_preview_newsletter(bigint) from public, anon;
grant execute on function api.events_preview_newsletter(bigint) to authenticated;

create function api.events_schedule_newsletter(p_id bigint, p_at timestamptz default null)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_at timestamptz := greatest(coalesce(p_at, now()), now());
begin
    perform private.require_permission('newsletter.send');
    perform private.events_editable_campaign(p_id);
    update ops.newsletter_campaigns set status = 'scheduled', scheduled_at = v_at
    where id = p_id;
    perform private.audit('events.newsletter_scheduled', 'newsletter_campaign', p_id::text,
        jsonb_build_object('at', v_at));
    return jsonb_build_object('id', p_id, 'status', 'scheduled', 'scheduled_at', v_at);
end;
$$;
comment on function api.events_schedule_newsletter(bigint, timestamptz) is
'Schedule a draft campaign for p_at (now when null or past); the scheduler starts it within a
minute of that time. Needs newsletter.send. Errors: not_authenticated, forbidden,
events_campaign_not_found, events_campaign_not_editable.';
revoke execute on function api.events_schedule_newsletter(bigint, timestamptz)
from public, anon;
grant execute on function api.events_schedule_newsletter(bigint, timestamptz) to authenticated;

create function api.events_cancel_newsletter(p_id bigint) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_status text;
begin
    perform private.require_permission('newsletter.send');
    update ops.newsletter_campaigns set status = case status when 'scheduled' then 'draft'
                                                             else 'cancelled' end
    where id = p_id and status in ('scheduled', 'sending')
    returning status into v_status;
    if v_status is null then
        if not exists (select 1 from ops.newsletter_campaigns where id = p_id) then
            perform private.raise_error('events_campaign_not_found', 'No such campaign.',
                'PT404');
        end if;
        perform private.raise_error('events_campaign_not_editable',
            'Only a scheduled or sending campaign can be cancelled.', 'PT409');
    end if;
    perform private.audit('events.newsletter_cancelled', 'newsletter_campaign', p_id::text);
    return jsonb_build_object('id', p_id, 'status', v_status);
end;
$$;
comment on function api.events_cancel_newsletter(bigint) is
'Stop a campaign: a scheduled one goes back to draft; a sending one is cancelled (chunks not
yet sent are not sent). Needs newsletter.send. Errors: not_authenticated, forbidden,
events_campaign_not_found, events_campaign_not_editable.';
revoke execute on function api.events_cancel_newsletter(bigint) from public, anon;
grant execute on function api.events_cancel_newsletter(bigint) to authenticated;

create view api.events_newsletter_campaigns with (security_invoker = true) as
select
    c.id,
    c.subject,
    c.headline,
    c.audience,
    c.status,
    c.scheduled_at,
    c.started_at,
    c.finished_at,
    c.created_by,
    c.created_at,
    coalesce(s.recipients, 0) as recipients,
    coalesce(s.sent, 0) as sent,
    coalesce(s.pending, 0) as pending,
    coalesce(s.suppressed, 0) as suppressed,
    coalesce(s.failed, 0) as failed
from ops.newsletter_campaigns as c
left join lateral (
    select
        count(*) as recipients,
        count(*) filter (where r.status = 'sent') as sent,
        count(*) filter (where r.status = 'pending') as pending,
        count(*) filter (where r.status = 'suppressed') as suppressed,
        count(*) filter (where r.status = 'failed') as failed
    from ops.newsletter_recipients as r where r.campaign_id = c.id
) as s on true
where (select private.key_may_read('api.events_newsletter_campaigns'));
comment on view api.events_newsletter_campaigns is
'Newsletter campaigns with their stats (recipients, sent, pending, suppressed, failed).
Admins only.';
grant select on api.events_newsletter_campaigns to authenticated, service_role;

create view api.events_newsletter_recipients with (security_invoker = true) as
select
    r.campaign_id,
    r.email,
    r.user_id,
    r.status,
    r.provider_id,
    r.error,
    r.sent_at
from ops.newsletter_recipients as r
where (select private.key_may_read('api.events_newsletter_recipients'));
comment on view api.events_newsletter_recipients is
'Per-recipient status of newsletter campaigns (pending, sent with the provider id,
suppressed, failed with the error). Admins only.';
grant select on api.events_newsletter_recipients to authenticated, service_role;

insert into accounts.api_object_scopes (object, kind, access, scope) values
('api.events_save_newsletter', 'function', 'session', null),
('api.events_preview_newsletter', 'function', 'session', null),
('api.events_schedule_newsletter', 'function', 'session', null),
('api.events_cancel_newsletter', 'function', 'session', null),
('api.events_newsletter_campaigns', 'view', 'session', null),
('api.events_newsletter_recipients', 'view', 'session', null);
