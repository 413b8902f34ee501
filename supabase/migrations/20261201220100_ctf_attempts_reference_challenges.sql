-- ctf: submissions and solves no longer check the event row; they reach their event through
-- their challenge.
--
-- A foreign key check takes a key-share lock on the row it references. Every submission
-- checked ctf.events: one row per event, locked by every parallel submitter (a multixact per
-- burst of submissions, and buffer-lock waits on that row's page for all of them). Their
-- challenge_id keys already reference ctf.challenges, whose own event_id references the
-- event: deleting an event still deletes its submissions and solves, through its challenges.
-- event_id stays as a copy of the challenge's event, written only by the submit functions
-- (security definer; clients cannot write either table), for per-event reads.

alter table ctf.submissions drop constraint submissions_event_id_fkey;
alter table ctf.solves drop constraint solves_event_id_fkey;

comment on column ctf.submissions.event_id is
'The challenge''s event (a copy written by private.ctf_record_submission, not a foreign key:
checking it would lock the event row for every submission).';
comment on column ctf.solves.event_id is
'The challenge''s event (a copy written by private.ctf_record_solve, not a foreign key:
checking it would lock the event row for every solve).';
