-- learning: the tables of the learning domain (catalog, enrollment, progress, assessments,
-- certificates, reviews). Their row-level security, the access rules and the course-content
-- bucket follow in 20261124100050_learning_access.sql.
--
-- Clients never write these tables directly: every change goes through an api RPC that
-- validates it. Reads go through api views (security_invoker, so the policies apply)
-- or through definer RPCs where a rule cannot be expressed as a policy (lesson bodies,
-- quiz questions of an attempt, answer keys per reveal policy).
--
-- Answer keys live in learning.question_keys, which no client role has any grant on; only
-- definer functions read it.

create schema if not exists learning;
comment on schema learning is
'Learning domain: courses, modules, lessons, enrollment, progress, quizzes, certificates,
reviews. Never exposed: clients use the api schema.';
grant usage on schema learning to anon, authenticated, service_role;

insert into ops.error_codes (code, sqlstate, http_status, description) values
('learning_course_not_found', 'PT404', 404, 'No such course, or it is not visible to you.'),
('learning_lesson_not_found', 'PT404', 404, 'No such lesson, or it is not visible to you.'),
('learning_module_not_found', 'PT404', 404, 'No such module, or it is not visible to you.'),
('learning_quiz_not_found', 'PT404', 404, 'No such quiz, or it is not visible to you.'),
('learning_question_not_found', 'PT404', 404, 'No such question in this quiz.'),
('learning_attempt_not_found', 'PT404', 404, 'No such attempt, or it is not yours.'),
('learning_certificate_not_found', 'PT404', 404, 'No certificate has that code.'),
('learning_review_not_found', 'PT404', 404, 'No such review.'),
(
    'learning_review_own_course', 'PT403', 403,
    'The course team (owner, co-instructors, TAs) cannot review its own course.'
),
('learning_slug_taken', 'PT409', 409, 'Another course already uses that slug.'),
('learning_already_enrolled', 'PT409', 409, 'You are already enrolled in this course.'),
('learning_not_enrolled', '42501', 403, 'You are not enrolled in this course.'),
('learning_course_closed', 'PT409', 409, 'The course is archived: no new enrollments.'),
(
    'learning_entitlement_required', 'PT402', 402,
    'This is a pro course: it needs the pro entitlement (details.feature).'
),
(
    'learning_prerequisites_unmet', 'PT409', 409,
    'Complete the prerequisite courses first (details.missing lists them).'
),
(
    'learning_lesson_locked', 'PT423', 423,
    'The lesson is not unlocked yet (details.reason: unlock_date, sequential,
module_prerequisites).'
),
('learning_quiz_not_passed', 'PT409', 409, 'A quiz lesson is completed by passing its quiz.'),
('learning_quiz_closed', 'PT409', 409, 'The quiz is past its due date.'),
(
    'learning_attempt_limit_reached', 'PT409', 409,
    'No attempts left for this quiz (details.max_attempts).'
),
(
    'learning_attempt_wait', 'PT429', 429,
    'Wait before starting another attempt (details.retry_after seconds).'
),
(
    'learning_attempt_expired', 'PT409', 409,
    'The attempt''s time limit has passed; late answers are refused.'
),
('learning_attempt_closed', 'PT409', 409, 'The attempt was already submitted.'),
(
    'learning_answer_invalid', '22023', 400,
    'An answer is malformed or names a question that is not part of the attempt (details).'
),
(
    'learning_option_mismatch', '22023', 400,
    'An answer uses option ids that do not belong to its question (details.question_id).'
),
('learning_payload_too_large', 'PT413', 413, 'The request body is too large (details.limit).'),
('learning_course_empty', 'PT409', 409, 'A course needs at least one lesson to be published.'),
(
    'learning_quiz_incomplete', 'PT409', 409,
    'A quiz has no questions or a question has no answer key (details.problems).'
),
('learning_certificate_revoked', 'PT409', 409, 'The certificate is already revoked.'),
('learning_certificate_valid', 'PT409', 409, 'The certificate is already valid.');

-- Types ----------------------------------------------------------------------------------
create type learning.course_level as enum ('beginner', 'intermediate', 'advanced');
comment on type learning.course_level is 'How hard a course is.';
create type learning.course_status as enum ('draft', 'published', 'archived');
comment on type learning.course_status is
'draft: course team only; published: in the catalog; archived: out of the catalog, enrolled
learners keep access, no new enrollments.';
create type learning.price_tier as enum ('free', 'pro');
comment on type learning.price_tier is 'free: anyone may enroll; pro: needs the pro entitlement.';
create type learning.team_role as enum ('owner', 'co_instructor', 'ta');
comment on type learning.team_role is
'owner: everything incl. course team changes; co_instructor: authoring; ta: roster and analytics.';
create type learning.lesson_kind as enum ('article', 'video', 'lab', 'quiz');
comment on type learning.lesson_kind is 'What a lesson is; quiz lessons carry a quiz.';
create type learning.enrollment_status as enum ('active', 'completed', 'withdrawn');
comment on type learning.enrollment_status is 'Enrollment state; withdrawn keeps progress.';
create type learning.question_kind as enum (
    'single_choice', 'multiple_choice', 'true_false', 'short_text', 'numeric', 'ordering'
);
comment on type learning.question_kind is 'Question types a quiz supports.';
create type learning.grading_method as enum ('highest', 'last', 'first', 'average');
comment on type learning.grading_method is 'How several attempts make the quiz grade.';
create type learning.overdue_policy as enum ('auto_submit', 'refuse');
comment on type learning.overdue_policy is
'auto_submit: a late submission grades the answers saved before the deadline;
refuse: a late submission is refused and the attempt is closed with score 0.';
create type learning.reveal_policy as enum (
    'never', 'after_passing', 'after_last_attempt', 'after_due_date'
);
comment on type learning.reveal_policy is 'When a learner may see correct answers.';
create type learning.attempt_status as enum (
    'in_progress', 'submitted', 'auto_submitted', 'expired'
);
comment on type learning.attempt_status is 'Attempt lifecycle.';
create type learning.certificate_status as enum ('valid', 'revoked');
comment on type learning.certificate_status is 'Certificate state.';

-- Catalog ---------------------------------------------------------------------------------
create table learning.courses (
    id uuid primary key default gen_random_uuid(),
    slug text not null unique check (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' and char_length(slug) <= 80),
    title text not null check (char_length(title) between 3 and 200),
    summary text not null default '' check (char_length(summary) <= 500),
    description text not null default '' check (char_length(description) <= 20000),
    level learning.course_level not null default 'beginner',
    tags text[] not null default '{}' check (cardinality(tags) <= 20),
    estimated_hours numeric(6, 1) check (estimated_hours between 0 and 10000),
    language text not null default 'en' check (language ~ '^[a-z]{2}(-[A-Z]{2})?$'),
    price_tier learning.price_tier not null default 'free',
    status learning.course_status not null default 'draft',
    cover_path text check (char_length(cover_path) <= 300),
    sequential boolean not null default false,
    created_by uuid references auth.users (id) on delete set null,
    published_at timestamptz,
    enrollment_count int not null default 0,
    rating_count int not null default 0,
    rating_sum int not null default 0,
    rating_avg numeric(3, 2) not null default 0,
    search tsvector not null default ''::tsvector,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
comment on table learning.courses is
'A course. enrollment_count and rating_* are kept current by the enrollment RPC and the
review trigger (catalog sorting never aggregates). search is maintained by a trigger.';
create index courses_created_by_idx on learning.courses (created_by);
create index courses_newest_idx on learning.courses (published_at desc, id desc)
where status = 'published';
create index courses_popular_idx on learning.courses (enrollment_count desc, id desc)
where status = 'published';
create index courses_rating_idx on learning.courses (rating_avg desc, id desc)
where status = 'published';
create index courses_tags_idx on learning.courses using gin (tags);
create index courses_search_idx on learning.courses using gin (search);

create function private.learning_course_search() returns trigger
language plpgsql
set search_path = ''
as $$
begin
    new.search :=
        setweight(to_tsvector('english'::regconfig, coalesce(new.title, '')), 'A')
        || setweight(to_tsvector('english'::regconfig, array_to_string(new.tags, ' ')), 'B')
        || setweight(to_tsvector('english'::regconfig, coalesce(new.summary, '')), 'C')
        || setweight(to_tsvector('english'::regconfig, left(coalesce(new.description, ''), 5000)),
            'D');
    return new;
end;
$$;
comment on function private.learning_course_search() is
'Trigger: keep courses.search (title A, tags B, summary C, description D).';
revoke execute on function private.learning_course_search() from public;
create trigger courses_search before insert or update of title, tags, summary, description
on learning.courses for each row execute function private.learning_course_search();
create trigger courses_touch before update on learning.courses
for each row execute function private.touch_updated_at();

create table learning.course_team (
    course_id uuid not null references learning.courses (id) on delete cascade,
    user_id uuid not null references auth.users (id) on delete cascade,
    role learning.team_role not null,
    created_at timestamptz not null default now(),
    primary key (course_id, user_id)
);
comment on table learning.course_team is
'Who teaches a course: owner, co-instructors and teaching assistants.';
create index course_team_user_idx on learning.course_team (user_id);

create table learning.modules (
    id uuid primary key default gen_random_uuid(),
    course_id uuid not null references learning.courses (id) on delete cascade,
    position int not null check (position >= 0),
    title text not null check (char_length(title) between 1 and 200),
    unlock_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (course_id, position) deferrable initially immediate
);
comment on table learning.modules is
'Ordered sections of a course. unlock_at: lessons cannot be completed before then.';
create trigger modules_touch before update on learning.modules
for each row execute function private.touch_updated_at();

create table learning.module_prerequisites (
    module_id uuid not null references learning.modules (id) on delete cascade,
    requires_module_id uuid not null references learning.modules (id) on delete cascade,
    primary key (module_id, requires_module_id),
    check (module_id <> requires_module_id)
);
comment on table learning.module_prerequisites is
'A module''s lessons unlock once every lesson of the required modules is completed.';
create index module_prerequisites_requires_idx on learning.module_prerequisites (
    requires_module_id
);

create table learning.course_prerequisites (
    course_id uuid not null references learning.courses (id) on delete cascade,
    requires_course_id uuid not null references learning.courses (id) on delete cascade,
    primary key (course_id, requires_course_id),
    check (course_id <> requires_course_id)
);
comment on table learning.course_prerequisites is
'Courses a learner must have completed before enrolling.';
create index course_prerequisites_requires_idx on learning.course_prerequisites (
    requires_course_id
);

create table learning.lessons (
    id uuid primary key default gen_random_uuid(),
    course_id uuid not null references learning.courses (id) on delete cascade,
    module_id uuid not null references learning.modules (id) on delete cascade,
    position int not null check (position >= 0),
    title text not null check (char_length(title) between 1 and 200),
    kind learning.lesson_kind not null,
    is_preview boolean not null default false,
    is_required boolean not null default true,
    duration_seconds int check (duration_seconds between 0 and 86400),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (module_id, position) deferrable initially immediate
);
comment on table learning.lessons is
'Ordered lessons of a module (course_id denormalised for policies and counts). Bodies are
in learning.lesson_contents, delivered only by RPCs.';
create index lessons_course_idx on learning.lessons (course_id);
create trigger lessons_touch before update on learning.lessons
for each row execute function private.touch_updated_at();

create table learning.lesson_contents (
    lesson_id uuid primary key references learning.lessons (id) on delete cascade,
    body_md text not null default '' check (char_length(body_md) <= 200000),
    attachments text[] not null default '{}' check (cardinality(attachments) <= 50),
    updated_at timestamptz not null default now()
);
comment on table learning.lesson_contents is
'Lesson bodies (markdown) and attachment paths in the private course-content bucket.
No client grants: delivered by api.learning_get_course_outline / api.learning_get_lesson, which return them
only to enrolled learners and course team (preview lessons to everyone).';
create trigger lesson_contents_touch before update on learning.lesson_contents
for each row execute function private.touch_updated_at();

-- Enrollment and progress -------------------------------------------------------------------
create table learning.enrollments (
    user_id uuid not null references auth.users (id) on delete cascade,
    course_id uuid not null references learning.courses (id) on delete cascade,
    status learning.enrollment_status not null default 'active',
    enrolled_at timestamptz not null default now(),
    completed_at timestamptz,
    withdrawn_at timestamptz,
    lessons_completed int not null default 0,
    progress_pct numeric(5, 2) not null default 0,
    last_activity_at timestamptz,
    updated_at timestamptz not null default now(),
    primary key (user_id, course_id)
);
comment on table learning.enrollments is
'Who is enrolled where. progress_pct = completed lessons / lessons, recomputed at each
completion. completed_at is set once the completion rules hold (issues the certificate).';
create index enrollments_course_idx on learning.enrollments (course_id, enrolled_at);
create trigger enrollments_touch before update on learning.enrollments
for each row execute function private.touch_updated_at();

create table learning.lesson_progress (
    user_id uuid not null,
    course_id uuid not null,
    lesson_id uuid not null references learning.lessons (id) on delete cascade,
    completed_at timestamptz,
    position_seconds int not null default 0 check (position_seconds between 0 and 86400),
    updated_at timestamptz not null default now(),
    primary key (user_id, course_id, lesson_id),
    foreign key (user_id, course_id) references learning.enrollments (user_id, course_id)
    on delete cascade
);
comment on table learning.lesson_progress is
'Per learner and lesson: completion time (null = started, e.g. a video resume position).';
create index lesson_progress_lesson_idx on learning.lesson_progress (lesson_id)
include (completed_at);

-- Assessments ---------------------------------------------------------------------------------
create table learning.quizzes (
    id uuid primary key default gen_random_uuid(),
    course_id uuid not null references learning.courses (id) on delete cascade,
    lesson_id uuid not null unique references learning.lessons (id) on delete cascade,
    passing_score numeric(5, 2) not null default 70 check (passing_score between 0 and 100),
    max_attempts int check (max_attempts between 1 and 100),
    wait_seconds int not null default 0 check (wait_seconds between 0 and 2592000),
    grading_method learning.grading_method not null default 'highest',
    time_limit_seconds int check (time_limit_seconds between 10 and 86400),
    overdue_policy learning.overdue_policy not null default 'auto_submit',
    shuffle_questions boolean not null default true,
    shuffle_options boolean not null default true,
    draw_count int check (draw_count between 1 and 200),
    reveal_policy learning.reveal_policy not null default 'after_last_attempt',
    due_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
comment on table learning.quizzes is
'Quiz settings of a quiz lesson (the question bank is learning.questions). draw_count:
questions drawn at random per attempt (null = all). The quiz is required when its lesson
is (lessons.is_required); passing it completes the lesson.';
create index quizzes_course_idx on learning.quizzes (course_id);
create trigger quizzes_touch before update on learning.quizzes
for each row execute function private.touch_updated_at();

create table learning.questions (
    id uuid primary key default gen_random_uuid(),
    quiz_id uuid not null references learning.quizzes (id) on delete cascade,
    course_id uuid not null references learning.courses (id) on delete cascade,
    kind learning.question_kind not null,
    prompt text not null check (char_length(prompt) between 1 and 5000),
    points numeric(6, 2) not null default 1 check (points > 0 and points <= 1000),
    position int not null default 0 check (position >= 0),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
comment on table learning.questions is
'The question bank of a quiz (no answers here). Course team read it; learners get the questions
of their own attempt through api.learning_get_attempt.';
create index questions_quiz_idx on learning.questions (quiz_id, position);
create index questions_course_idx on learning.questions (course_id);
create trigger questions_touch before update on learning.questions
for each row execute function private.touch_updated_at();

create table learning.question_options (
    id uuid primary key default gen_random_uuid(),
    question_id uuid not null references learning.questions (id) on delete cascade,
    position int not null check (position >= 0),
    label text not null check (char_length(label) between 1 and 1000)
);
comment on table learning.question_options is
'Options of choice and ordering questions (no correctness here).';
create index question_options_question_idx on learning.question_options (question_id, position);

create table learning.question_keys (
    question_id uuid primary key references learning.questions (id) on delete cascade,
    correct_option_ids uuid[],
    correct_bool boolean,
    accepted_answers text[],
    case_sensitive boolean not null default false,
    numeric_answer numeric,
    tolerance numeric not null default 0 check (tolerance >= 0),
    explanation text check (char_length(explanation) <= 5000),
    updated_at timestamptz not null default now()
);
comment on table learning.question_keys is
'ANSWER KEYS. No grant to anon or authenticated, no policy, not in any publication: read
only inside definer functions (grading, reveal per policy, course team authoring).
correct_option_ids is the set of right options (choice) or the right order (ordering).';
create trigger question_keys_touch before update on learning.question_keys
for each row execute function private.touch_updated_at();

create table learning.accommodations (
    course_id uuid not null references learning.courses (id) on delete cascade,
    user_id uuid not null references auth.users (id) on delete cascade,
    extra_time_pct int not null check (extra_time_pct between 0 and 400),
    note text check (char_length(note) <= 500),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (course_id, user_id)
);
comment on table learning.accommodations is
'Per-learner extra time on timed quizzes of a course (e.g. 50 = +50%), set by course team.';
create index accommodations_user_idx on learning.accommodations (user_id);
create trigger accommodations_touch before update on learning.accommodations
for each row execute function private.touch_updated_at();

create table learning.attempts (
    id uuid primary key default gen_random_uuid(),
    quiz_id uuid not null references learning.quizzes (id) on delete cascade,
    user_id uuid not null references auth.users (id) on delete cascade,
    course_id uuid not null references learning.courses (id) on delete cascade,
    attempt_no int not null check (attempt_no >= 1),
    status learning.attempt_status not null default 'in_progress',
    started_at timestamptz not null default now(),
    deadline_at timestamptz,
    submitted_at timestamptz,
    question_ids uuid[] not null,
    option_order jsonb not null default '{}',
    saved_answers jsonb not null default '{}',
    points numeric(10, 2),
    max_points numeric(10, 2),
    score numeric(5, 2),
    passed boolean,
    updated_at timestamptz not null default now(),
    unique (quiz_id, user_id, attempt_no)
);
comment on table learning.attempts is
'Quiz attempts: the drawn questions and option order of this attempt, the deadline (time
limit with accommodations, capped by the due date), answers saved so far, and the grade.
A learner reads their own through api.learning_my_quiz_attempts; course team read their course''s.';
create index attempts_user_idx on learning.attempts (user_id, quiz_id);
create index attempts_course_idx on learning.attempts (course_id);
create unique index attempts_one_open_idx on learning.attempts (quiz_id, user_id)
where status = 'in_progress';
create trigger attempts_touch before update on learning.attempts
for each row execute function private.touch_updated_at();

create table learning.attempt_answers (
    attempt_id uuid not null references learning.attempts (id) on delete cascade,
    question_id uuid not null references learning.questions (id) on delete cascade,
    response jsonb,
    points_awarded numeric(6, 2) not null,
    max_points numeric(6, 2) not null,
    is_correct boolean not null,
    primary key (attempt_id, question_id)
);
comment on table learning.attempt_answers is
'Graded answers. Per-question correctness hints at the key, so learners do not read this
table: course team do (item difficulty); learners see it through api.learning_get_attempt_review, which
applies the reveal policy.';
create index attempt_answers_question_idx on learning.attempt_answers (question_id);

create table learning.quiz_results (
    user_id uuid not null references auth.users (id) on delete cascade,
    quiz_id uuid not null references learning.quizzes (id) on delete cascade,
    course_id uuid not null references learning.courses (id) on delete cascade,
    attempts_used int not null default 0,
    final_score numeric(5, 2),
    passed boolean not null default false,
    passed_at timestamptz,
    last_submitted_at timestamptz,
    updated_at timestamptz not null default now(),
    primary key (user_id, quiz_id)
);
comment on table learning.quiz_results is
'One row per learner and quiz: attempts used, the grade by the quiz''s grading method,
passed. Limits and waits are checked here, never by scanning attempts.';
create index quiz_results_quiz_idx on learning.quiz_results (quiz_id);
create index quiz_results_course_idx on learning.quiz_results (course_id);
create trigger quiz_results_touch before update on learning.quiz_results
for each row execute function private.touch_updated_at();

-- Certificates and reviews -----------------------------------------------------------------
create table learning.certificates (
    id uuid primary key default gen_random_uuid(),
    code text not null unique check (code ~ '^FLG-[0-9A-F]{24}$'),
    user_id uuid references auth.users (id) on delete set null,
    course_id uuid not null references learning.courses (id) on delete cascade,
    holder_name text,
    holder_username text,
    course_title text not null,
    issued_at timestamptz not null default now(),
    status learning.certificate_status not null default 'valid',
    status_changed_at timestamptz,
    status_reason text check (char_length(status_reason) <= 500),
    updated_at timestamptz not null default now(),
    unique (user_id, course_id)
);
comment on table learning.certificates is
'Certificates of completion, issued by a trigger when an enrollment completes. code is
96 random bits (unguessable); holder_name (the display name), holder_username and
course_title are what the certificate says: the username is shown beside the display name
because display names are not unique.';
create index certificates_course_idx on learning.certificates (course_id);
create trigger certificates_touch before update on learning.certificates
for each row execute function private.touch_updated_at();

create table learning.certificate_events (
    id bigint generated always as identity primary key,
    certificate_id uuid not null references learning.certificates (id) on delete cascade,
    status learning.certificate_status not null,
    reason text,
    actor_id uuid references auth.users (id) on delete set null,
    occurred_at timestamptz not null default now()
);
comment on table learning.certificate_events is
'Append-only history of certificate status (issued, revoked, reinstated).';
create index certificate_events_certificate_idx on learning.certificate_events (
    certificate_id, occurred_at
);
create index certificate_events_actor_idx on learning.certificate_events (actor_id);
-- History is never rewritten; the actor may be anonymised (account deletion sets it null)
-- and rows go with their certificate.
create trigger certificate_events_append_only before update of
certificate_id, status, reason, occurred_at
on learning.certificate_events for each row execute function private.forbid_change();

create table learning.reviews (
    id uuid primary key default gen_random_uuid(),
    course_id uuid not null references learning.courses (id) on delete cascade,
    user_id uuid references auth.users (id) on delete set null,
    rating int not null check (rating between 1 and 5),
    body text not null default '' check (char_length(body) <= 5000),
    reply_body text check (char_length(reply_body) <= 5000),
    reply_by uuid references auth.users (id) on delete set null,
    replied_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (user_id, course_id)
);
comment on table learning.reviews is
'One rating (1-5) and review per learner per course, editable; course team may reply. When the
author deletes their account the review stays, anonymised (user_id null).';
create index reviews_course_idx on learning.reviews (course_id, created_at desc);
create index reviews_reply_by_idx on learning.reviews (reply_by);
create trigger reviews_touch before update on learning.reviews
for each row execute function private.touch_updated_at();

create function private.learning_review_aggregate() returns trigger
language plpgsql
set search_path = ''
as $$
declare
    v_course uuid := coalesce(new.course_id, old.course_id);
begin
    update learning.courses as c set
        rating_count = a.n, rating_sum = a.s,
        rating_avg = case when a.n = 0 then 0 else round(a.s::numeric / a.n, 2) end
    from (
        select count(*)::int as n, coalesce(sum(r.rating), 0)::int as s
        from learning.reviews as r where r.course_id = v_course
    ) as a
    where c.id = v_course;
    return null;
end;
$$;
comment on function private.learning_review_aggregate() is
'Trigger: keep courses.rating_count/sum/avg current after each review change.';
revoke execute on function private.learning_review_aggregate() from public;
create trigger reviews_aggregate after insert or delete or update of rating
on learning.reviews for each row execute function private.learning_review_aggregate();
