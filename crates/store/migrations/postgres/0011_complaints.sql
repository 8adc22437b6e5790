-- HRB-NOTICE / URC-RES-2: complaints from the public during a notice, with a receipt to follow
-- the outcome, and throttling by address that holds across server instances.
create table complaints (
    id bigint generated always as identity primary key,
    receipt text not null unique,
    application_id bigint not null references applications(id),
    number bigint not null,
    name text,
    contact text,
    content text not null,
    status text not null,
    finding text,
    created_at text not null,
    resolved_at text
);

create table complaint_attempts (
    key text not null,
    at bigint not null
);
create index complaint_attempts_by_key on complaint_attempts (key, at);
