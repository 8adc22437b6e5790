-- Readiness probes (`/readyz`): each instance rewrites its own row, proving the database takes
-- writes.
create table readiness (
    instance text primary key,
    at bigint not null
);
