-- ctf: fewer indexes on the stored standings. Settling a moved challenge rewrites the score
-- of every earlier solver, and a score is in the rank indexes, so each of those updates
-- inserts a new entry into every index of the table (no HOT update is possible). Five
-- indexes made a settle cost ~40 us a row (7-15 ms of one core per moved challenge at 2M
-- submissions), on the same cores as the solves.
--
-- - The team and bracket foreign keys become composite, (event_id, team_id) and
--   (event_id, bracket_id): a team's or a bracket's deletion then finds its rows through
--   the primary key (event_id, team_id) instead of an index of their own, and a standings
--   row can no longer name another event's team or bracket.
-- - The bracket rank index holds only rows with a bracket: events without brackets (the
--   common case) no longer maintain it at all; a bracket's scoreboard (bracket_id = ...)
--   still uses it.
-- Every lookup of these rows names the event (checked: functions, views, policies).

alter table ctf.brackets
add constraint brackets_event_id_id_key unique (event_id, id);

alter table ctf.standings_stored drop constraint standings_team_id_fkey;
alter table ctf.standings_stored
add constraint standings_event_team_fkey foreign key (event_id, team_id)
references ctf.teams (event_id, id) on delete cascade;

alter table ctf.standings_stored drop constraint standings_bracket_id_fkey;
alter table ctf.standings_stored
add constraint standings_event_bracket_fkey foreign key (event_id, bracket_id)
references ctf.brackets (event_id, id) on delete set null (bracket_id);

drop index ctf.standings_team_idx;
drop index ctf.standings_bracket_idx;
drop index ctf.standings_bracket_rank_idx;
create index standings_bracket_rank_idx on ctf.standings_stored (
    event_id, bracket_id, score desc, last_score_at, team_id
) where ranked and bracket_id is not null;

comment on index ctf.standings_bracket_rank_idx is
'A bracket''s scoreboard in rank order; rows without a bracket are not in it (events without
brackets do not maintain it).';
