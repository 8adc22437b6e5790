-- Login throttling: failures per account and per address, and the addresses an account has
-- signed in from (an account lock-out does not apply there, so nobody can lock a user out).
create table login_failures (
    key text not null,
    at integer not null
);
create index login_failures_by_key on login_failures (key, at);

create table login_known (
    username text not null,
    addr text not null,
    last_success integer not null,
    primary key (username, addr)
);
