-- URC-EVAL-1 ("于现场评估前日随机抽取评估人员与医药机构的分组"), G-DRAW: the two-stage draw. At the
-- commitment the server also draws the grouping secret and publishes its hash; stage 1 draws the
-- evaluators; on the day before the visit the timer draws the grouping once (grouped_at set in
-- the same statement that stores it) with the grouping secret and a public value that did not
-- exist before that day. Rounds drawn before this release (one stage) have neither.
alter table round_draws add column grouping_commitment text;
alter table round_draws add column grouping_secret text;
alter table round_draws add column grouped_at text;
