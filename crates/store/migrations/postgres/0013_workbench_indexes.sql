-- The agency workbench (issue #8), with 100,000 applications in mind.
--
-- The queue picks and orders a page on this index alone: city, state, then the nearest automatic
-- deadline (applications without one last) and the longest untouched — the same expression as
-- the query's order (crates/store/src/reports.rs, QUEUE_ORDER). The filter columns follow, so a
-- filtered queue is still answered from the index without reading rows (PostgreSQL needs the
-- plain due_on too, to scan the index alone).
create index applications_queue on applications
    (city, state, (coalesce(due_on, '9999-12-31')), updated_at, id, district, kind, round_id, profile_id, profile_version, due_on);
-- Counts per district and state (the queue's tabs and district filter, the statistics) and a
-- branch reviewer's queue, with any filter, read from the index without touching the rows.
create index applications_by_district on applications (city, district, state, kind, round_id, profile_id, profile_version);
-- The statistics' pass rates read only evaluation results and expert reviews, a small share of
-- all events.
create index events_results on events (kind, application_id) where kind in ('result_decided', 'expert_review_recorded');
