-- A provincial administrator (issue #17 item 10) belongs to a province, not a city: its
-- account has an empty `city` and the province's GB/T 2260 code here (e.g. 230000). Every
-- other account keeps `province` null.
alter table users add column province text;
