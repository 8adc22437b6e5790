-- HRB-QUERY: an application number plus its query code lets anyone follow the stage and dates.
alter table applications add column query_code text;
