-- HRB-NOTICE / URC-RES-2: complaints may carry attachments (a JSON list of stored files), which only
-- the agency and supervisors can read.
alter table complaints add column attachments text not null default '[]';
