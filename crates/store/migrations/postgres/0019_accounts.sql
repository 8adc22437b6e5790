-- Accounts an agency can run (issue: accounts and hardening): usernames unique ignoring case,
-- accounts that can be disabled, passwords that must be changed at the next sign-in, and the
-- devices an account signed in from (a correct password from a known device passes the
-- sign-in throttle, so nobody can lock a user out).
alter table users add column username_key text;
update users set username_key = lower(username);
create unique index users_unique_username_key on users (username_key);
alter table users add column disabled_at text;
alter table users add column must_change_password bigint not null default 0;

create table login_devices (
    username_key text not null,
    device_hash text not null,
    last_success bigint not null,
    primary key (username_key, device_hash)
);

-- G-AUDIT: every account event (created, password set or reset, disabled, enabled, role or
-- district changed, sessions revoked) is an entry of the same hash chain as the events.
create table account_events (
    id bigint generated always as identity primary key,
    audit_seq bigint not null unique,
    kind text not null,
    user_id bigint not null,
    actor_role text not null,
    payload text not null,
    occurred_at text not null,
    occurred_on text not null,
    prev_hash text not null,
    hash text not null,
    alg text not null
);
