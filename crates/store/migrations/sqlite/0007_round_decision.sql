-- URC-EVAL-4: the collective decision of a round, with its minutes.
alter table rounds add column minutes text;
alter table rounds add column decided_at text;
