-- Notifications (G-NOTHING-LOST): the in-app inbox is written in the same transaction as the
-- event; e-mail goes through a transactional outbox with an idempotency key, retries with
-- backoff and a final failure the agency is alerted to.
alter table users add column email text;

create table inbox (
    id bigint generated always as identity primary key,
    user_id bigint not null references users(id),
    application_id bigint,
    subject text not null,
    body text not null,
    read_at text,
    created_at text not null
);
create index inbox_by_user on inbox (user_id, id);

create table outbox (
    id bigint generated always as identity primary key,
    idempotency_key text not null unique,
    user_id bigint not null references users(id),
    city text not null,
    recipient text not null,
    subject text not null,
    body text not null,
    status text not null,
    attempts bigint not null default 0,
    next_attempt_at bigint not null,
    lease_owner text,
    lease_until bigint,
    last_error text,
    created_at text not null,
    sent_at text
);
create index outbox_due on outbox (next_attempt_at) where status = 'pending';
