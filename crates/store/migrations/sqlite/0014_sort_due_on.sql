-- The workbench sorts each queue by the nearest deadline of either kind: the automatic consequence
-- (due_on: deemed withdrawal, end of notice, deemed give-up) or the agency's own time limit
-- (HRB-ACC-1's 5 working days, HRB-EVAL-2's 3 months …). The earlier of the two is kept in
-- sort_due_on, written with every command; existing rows start from due_on and gain their agency
-- limit with their next command.
alter table applications add column sort_due_on text;
update applications set sort_due_on = due_on;
drop index applications_queue;
create index applications_queue on applications
    (city, state, coalesce(sort_due_on, '9999-12-31'), updated_at, id, district, kind, round_id, profile_id, profile_version, sort_due_on);
