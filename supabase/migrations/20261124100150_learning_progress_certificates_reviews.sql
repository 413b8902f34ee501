-- learning: progress and completion, certificates (issue, verify, revoke), reviews.
--
-- Continues 20261124100100_learning_catalog_enrollment.sql (its shared helpers).

-- Progress ---------------------------------------------------------------------------------
create function private.learning_require_enrollment(p_user uuid, p_course uuid)
returns learning.enrollments
language plpgsql
set search_path = ''
as $$
declare
    v_row learning.enrollments;
begin
    select * into v_row from learning.enrollments as e
    where e.user_id = p_user and e.course_id = p_course
      and private.learning_enrollment_is_live(e.status);
    if v_row.user_id is null then
        perform private.raise_error('learning_not_enrolled',
            'You are not enrolled in this course.', '42501',
            jsonb_build_object('course_id', p_course));
    end if;
    if exists (select 1 from learning.courses as c where c.id = p_course and c.price_tier = 'pro')
        and not private.user_has_entitlement(p_user, 'pro')
        and not private.learning_is_course_team(p_course) then
        perform private.raise_error('learning_entitlement_required',
            'This course is part of the pro plan; renew it to continue.', 'PT402',
            jsonb_build_object('feature', 'pro'));
    end if;
    return v_row;
end;
$$;
comment on function private.learning_require_enrollment(uuid, uuid) is
'The user''s live enrollment in the course, or raise learning_not_enrolled; for a pro course
also a current pro plan, or raise learning_entitlement_required (PT402).';
revoke execute on function private.learning_require_enrollment(uuid, uuid) from public;

create function api.learning_complete_lesson(p_lesson_id uuid) returns jsonb
language plpgsql
-- Definer: writes lesson_progress and enrollments (no client grants), after checking
-- enrollment, lesson kind and locks.
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
    v_lesson learning.lessons;
    v_lock text;
    v_new boolean;
    v_at timestamptz;
    v_enr learning.enrollments;
begin
    select * into v_lesson from learning.lessons as l where l.id = p_lesson_id;
    if v_lesson.id is null or not private.learning_course_visible(v_lesson.course_id) then
        perform private.raise_error('learning_lesson_not_found', 'No such lesson.', 'PT404');
    end if;
    perform private.learning_require_enrollment(v_uid, v_lesson.course_id);
    select lp.completed_at into v_at from learning.lesson_progress as lp
    where lp.user_id = v_uid and lp.course_id = v_lesson.course_id
      and lp.lesson_id = v_lesson.id;
    if v_at is null then
        if v_lesson.kind = 'quiz' then
            perform private.raise_error('learning_quiz_not_passed',
                'A quiz lesson is completed by passing its quiz.', 'PT409');
        end if;
        v_lock := private.learning_lesson_lock(v_uid, v_lesson.id);
        if v_lock is not null then
            perform private.raise_error('learning_lesson_locked', 'This lesson is locked.',
                'PT423', jsonb_build_object('reason', v_lock));
        end if;
        insert into learning.lesson_progress as lp (user_id, course_id, lesson_id, completed_at)
        values (v_uid, v_lesson.course_id, v_lesson.id, now())
        on conflict (user_id, course_id, lesson_id) do update
        set completed_at = now(), updated_at = now()
        where lp.completed_at is null
        returning lp.completed_at into v_at;
        v_new := v_at is not null;
        if v_new then
            perform private.record_activity(v_uid, 'lesson.completed', 'lesson',
                v_lesson.id::text, jsonb_build_object('course_id', v_lesson.course_id), 10);
            perform private.learning_refresh_progress(v_uid, v_lesson.course_id);
        else
            select lp.completed_at into v_at from learning.lesson_progress as lp
            where lp.user_id = v_uid and lp.course_id = v_lesson.course_id
              and lp.lesson_id = v_lesson.id;
        end if;
    else
        v_new := false;
    end if;
    select * into v_enr from learning.enrollments as e
    where e.user_id = v_uid and e.course_id = v_lesson.course_id;
    return jsonb_build_object(
        'lesson_id', v_lesson.id, 'completed_at', v_at, 'newly_completed', v_new,
        'course_id', v_lesson.course_id, 'progress_pct', v_enr.progress_pct,
        'lessons_completed', v_enr.lessons_completed,
        'course_completed', v_enr.completed_at is not null
    );
end;
$$;
comment on function api.learning_complete_lesson(uuid) is
'Mark a lesson completed (idempotent: completing it again changes nothing and earns no XP).
Earns 10 XP; recomputes course progress; completing the last required lesson completes the
course and issues the certificate. Quiz lessons complete by passing their quiz.
Errors: not_authenticated, learning_lesson_not_found, learning_not_enrolled,
learning_quiz_not_passed, learning_lesson_locked (details.reason).';
revoke execute on function api.learning_complete_lesson(uuid) from public, anon;
grant execute on function api.learning_complete_lesson(uuid) to authenticated;

create function api.learning_save_video_position(p_lesson_id uuid, p_position_seconds int)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
    v_lesson learning.lessons;
begin
    select * into v_lesson from learning.lessons as l where l.id = p_lesson_id;
    if v_lesson.id is null or not private.learning_course_visible(v_lesson.course_id) then
        perform private.raise_error('learning_lesson_not_found', 'No such lesson.', 'PT404');
    end if;
    if p_position_seconds is null or p_position_seconds < 0
        or p_position_seconds > coalesce(v_lesson.duration_seconds, 86400) then
        perform private.raise_error('invalid_argument',
            'p_position_seconds is between 0 and the lesson''s duration.', '22023',
            jsonb_build_object('field', 'p_position_seconds'));
    end if;
    perform private.learning_require_enrollment(v_uid, v_lesson.course_id);
    insert into learning.lesson_progress as lp (user_id, course_id, lesson_id, position_seconds)
    values (v_uid, v_lesson.course_id, v_lesson.id, p_position_seconds)
    on conflict (user_id, course_id, lesson_id) do update
    set position_seconds = excluded.position_seconds, updated_at = now();
end;
$$;
comment on function api.learning_save_video_position(uuid, int) is
'Remember where the learner stopped in a video (resume position, seconds). Frequent and
not an achievement, so it writes no activity. Errors: not_authenticated,
learning_lesson_not_found, invalid_argument, learning_not_enrolled.';
revoke execute on function api.learning_save_video_position(uuid, int) from public, anon;
grant execute on function api.learning_save_video_position(uuid, int) to authenticated;

-- Certificates -----------------------------------------------------------------------------
create function private.learning_new_certificate_code() returns text
language sql volatile
set search_path = ''
as $$
    select 'FLG-' || upper(substr(encode(sha256(convert_to(
        gen_random_uuid()::text || gen_random_uuid()::text, 'utf8')), 'hex'), 1, 24))
$$;
comment on function private.learning_new_certificate_code() is
'A verification code: 96 bits taken from a hash of two random UUIDs (no pgcrypto).';
revoke execute on function private.learning_new_certificate_code() from public;

create function private.learning_issue_certificate() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_cert learning.certificates;
begin
    insert into learning.certificates as c (
        code, user_id, course_id, holder_name, holder_username, course_title
    )
    select private.learning_new_certificate_code(), new.user_id, new.course_id,
           coalesce(p.display_name, p.username, 'Learner'), p.username, co.title
    from learning.courses as co
    left join accounts.profiles as p on p.id = new.user_id
    where co.id = new.course_id
    on conflict (user_id, course_id) do nothing
    returning * into v_cert;
    if v_cert.id is null then
        return null;  -- completed before (re-enrollment): the certificate already exists
    end if;
    insert into learning.certificate_events (certificate_id, status, reason, actor_id)
    values (v_cert.id, 'valid', 'issued', new.user_id);
    perform private.record_activity(new.user_id, 'course.completed', 'course',
        new.course_id::text, jsonb_build_object('certificate_code', v_cert.code), 100);
    perform ops.enqueue('certificate.issued', jsonb_build_object(
        'certificate_id', v_cert.id, 'code', v_cert.code, 'user_id', v_cert.user_id,
        'course_id', v_cert.course_id, 'course_title', v_cert.course_title,
        'holder_name', v_cert.holder_name, 'holder_username', v_cert.holder_username,
        'issued_at', v_cert.issued_at
    ), v_cert.id::text);
    return null;
end;
$$;
comment on function private.learning_issue_certificate() is
'Trigger: when an enrollment completes, issue its certificate (once per learner and
course), record the history row and 100 XP, and queue certificate.issued for the worker
(PDF and email). Definer: it writes tables the learner cannot.';
revoke execute on function private.learning_issue_certificate() from public;

create trigger enrollments_issue_certificate after update of completed_at
on learning.enrollments for each row
when (old.completed_at is null and new.completed_at is not null)
execute function private.learning_issue_certificate();

create function api.learning_verify_certificate(p_code text) returns jsonb
language plpgsql stable
-- Definer: anonymous visitors verify a certificate without any read access to the table.
security definer
set search_path = ''
as $$
declare
    v_code text := upper(btrim(p_code));
    v_result jsonb;
begin
    perform private.require_scope('api.learning_verify_certificate');  -- API key scope
    if v_code is null or v_code !~ '^FLG-[0-9A-F]{24}$' then
        perform private.raise_error('learning_certificate_not_found',
            'No certificate has that code.', 'PT404');
    end if;
    select jsonb_build_object(
        'code', c.code, 'holder_name', c.holder_name, 'holder_username', c.holder_username,
        'course_title', c.course_title,
        'course_slug', co.slug, 'issued_at', c.issued_at, 'status', c.status,
        'status_changed_at', c.status_changed_at)
    into v_result
    from learning.certificates as c
    join learning.courses as co on co.id = c.course_id
    where c.code = v_code;
    if v_result is null then
        perform private.raise_error('learning_certificate_not_found',
            'No certificate has that code.', 'PT404');
    end if;
    perform set_config('response.headers', '[{"Cache-Control": "public, max-age=60"}]', true);
    return v_result;
end;
$$;
comment on function api.learning_verify_certificate(text) is
'Public certificate check (anon allowed): holder name with the holder''s username beside it
(display names are not unique), course, issue date and status
(valid or revoked) for a verification code FLG-XXXXXXXXXXXXXXXXXXXXXXXX.
Errors: learning_certificate_not_found.';
revoke execute on function api.learning_verify_certificate(text) from public;
grant execute on function api.learning_verify_certificate(text)
to anon, authenticated, service_role;

create function private.learning_set_certificate_status(
    p_code text, p_status learning.certificate_status, p_reason text
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_actor uuid := private.require_permission('platform.admin');
    v_cert learning.certificates;
begin
    if p_reason is null or char_length(btrim(p_reason)) not between 3 and 500 then
        perform private.raise_error('invalid_argument', 'A reason (3-500 characters) is required.',
            '22023', jsonb_build_object('field', 'p_reason'));
    end if;
    select * into v_cert from learning.certificates as c
    where c.code = upper(btrim(p_code)) for update;
    if v_cert.id is null then
        perform private.raise_error('learning_certificate_not_found',
            'No certificate has that code.', 'PT404');
    end if;
    if v_cert.status = p_status then
        if p_status = 'revoked' then
            perform private.raise_error('learning_certificate_revoked',
                'The certificate is already revoked.', 'PT409');
        end if;
        perform private.raise_error('learning_certificate_valid',
            'The certificate is already valid.', 'PT409');
    end if;
    update learning.certificates set status = p_status, status_changed_at = now(),
        status_reason = btrim(p_reason)
    where id = v_cert.id;
    insert into learning.certificate_events (certificate_id, status, reason, actor_id)
    values (v_cert.id, p_status, btrim(p_reason), v_actor);
    perform private.audit(
        case when p_status = 'revoked' then 'learning.certificate_revoked'
             else 'learning.certificate_reinstated' end,
        'certificate', v_cert.id::text,
        jsonb_build_object('code', v_cert.code, 'user_id', v_cert.user_id,
                           'course_id', v_cert.course_id),
        btrim(p_reason));
    return jsonb_build_object('code', v_cert.code, 'status', p_status);
end;
$$;
comment on function private.learning_set_certificate_status(
    text, learning.certificate_status, text
) is 'Admin: change a certificate''s status with a reason; history row and audit entry.';
revoke execute on function private.learning_set_certificate_status(
    text, learning.certificate_status, text
) from public;

create function api.learning_revoke_certificate(p_code text, p_reason text) returns jsonb
language sql
-- Definer: the admin check (private.require_permission) is inside the helper.
security definer
set search_path = ''
as $$
    select private.learning_set_certificate_status(p_code, 'revoked', p_reason)
$$;
comment on function api.learning_revoke_certificate(text, text) is
'Admin: revoke a certificate (needs platform.admin, checked against the tables), with a
reason (3-500 characters); audited and kept in its history. Errors: not_authenticated,
forbidden, invalid_argument, learning_certificate_not_found, learning_certificate_revoked.';
revoke execute on function api.learning_revoke_certificate(text, text) from public, anon;
grant execute on function api.learning_revoke_certificate(text, text) to authenticated;

create function api.learning_reinstate_certificate(p_code text, p_reason text) returns jsonb
language sql
security definer
set search_path = ''
as $$
    select private.learning_set_certificate_status(p_code, 'valid', p_reason)
$$;
comment on function api.learning_reinstate_certificate(text, text) is
'Admin: make a revoked certificate valid again, with a reason; audited. Errors:
not_authenticated, forbidden, invalid_argument, learning_certificate_not_found,
learning_certificate_valid.';
revoke execute on function api.learning_reinstate_certificate(text, text) from public, anon;
grant execute on function api.learning_reinstate_certificate(text, text) to authenticated;

-- Reviews ----------------------------------------------------------------------------------
create function api.learning_review_course(p_course_id uuid, p_rating int, p_body text default '')
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
    v_row learning.reviews;
begin
    if p_rating is null or p_rating not between 1 and 5 then
        perform private.raise_error('invalid_argument', 'p_rating is 1 to 5.', '22023',
            jsonb_build_object('field', 'p_rating'));
    end if;
    if char_length(coalesce(p_body, '')) > 5000 then
        perform private.raise_error('invalid_argument', 'p_body is at most 5000 characters.',
            '22023', jsonb_build_object('field', 'p_body'));
    end if;
    if not exists (select 1 from learning.courses as c where c.id = p_course_id) then
        perform private.raise_error('learning_course_not_found', 'No such course.', 'PT404');
    end if;
    -- The course team may enroll (to test their course) but never rate it.
    if private.learning_is_course_team(p_course_id) then
        perform private.raise_error('learning_review_own_course',
            'The course team cannot review its own course.', 'PT403');
    end if;
    perform private.learning_require_enrollment(v_uid, p_course_id);
    insert into learning.reviews as r (course_id, user_id, rating, body)
    values (p_course_id, v_uid, p_rating, coalesce(p_body, ''))
    on conflict (user_id, course_id) do update
    set rating = excluded.rating, body = excluded.body
    returning * into v_row;
    perform private.record_activity(v_uid, 'course.reviewed', 'course', p_course_id::text,
        jsonb_build_object('rating', p_rating), 0);
    return jsonb_build_object('id', v_row.id, 'course_id', v_row.course_id,
        'rating', v_row.rating, 'body', v_row.body, 'updated_at', v_row.updated_at);
end;
$$;
comment on function api.learning_review_course(uuid, int, text) is
'Rate (1-5) and review a course you are enrolled in; calling again edits your review.
The course''s rating aggregate is kept current. The course team cannot review their own
course. Errors: not_authenticated, invalid_argument, learning_course_not_found,
learning_review_own_course (PT403), learning_not_enrolled.';
revoke execute on function api.learning_review_course(uuid, int, text) from public, anon;
grant execute on function api.learning_review_course(uuid, int, text) to authenticated;

create function api.learning_delete_my_review(p_course_id uuid) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
begin
    delete from learning.reviews where course_id = p_course_id and user_id = v_uid;
    if not found then
        perform private.raise_error('learning_review_not_found', 'You have no review here.',
            'PT404');
    end if;
end;
$$;
comment on function api.learning_delete_my_review(uuid) is
'Delete your review of a course. Errors: not_authenticated, learning_review_not_found.';
revoke execute on function api.learning_delete_my_review(uuid) from public, anon;
grant execute on function api.learning_delete_my_review(uuid) to authenticated;

create function api.learning_reply_to_review(p_review_id uuid, p_body text) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_uid uuid := private.require_user();
    v_row learning.reviews;
begin
    select * into v_row from learning.reviews as r where r.id = p_review_id;
    if v_row.id is null or not private.learning_course_visible(v_row.course_id) then
        perform private.raise_error('learning_review_not_found', 'No such review.', 'PT404');
    end if;
    if not (private.learning_is_course_team(v_row.course_id)
            or private.user_has_permission(v_uid, 'platform.admin')) then
        perform private.raise_error('forbidden', 'Only the course team may reply.', '42501');
    end if;
    if p_body is not null and char_length(btrim(p_body)) not between 1 and 5000 then
        perform private.raise_error('invalid_argument', 'p_body is 1-5000 characters or null.',
            '22023', jsonb_build_object('field', 'p_body'));
    end if;
    update learning.reviews set
        reply_body = nullif(btrim(p_body), ''),
        reply_by = case when p_body is null then null else v_uid end,
        replied_at = case when p_body is null then null else now() end
    where id = p_review_id
    returning * into v_row;
    return jsonb_build_object('id', v_row.id, 'reply_body', v_row.reply_body,
        'reply_by', v_row.reply_by, 'replied_at', v_row.replied_at);
end;
$$;
comment on function api.learning_reply_to_review(uuid, text) is
'Course team: reply to a review (null removes the reply). Errors: not_authenticated,
learning_review_not_found, forbidden, invalid_argument.';
revoke execute on function api.learning_reply_to_review(uuid, text) from public, anon;
grant execute on function api.learning_reply_to_review(uuid, text) to authenticated;
