-- dingdian schema, PostgreSQL flavour. Keep in step with ../sqlite/0001_init.sql.
create table meta (
    key text primary key,
    value text not null
);

create table profiles (
    profile_id text not null,
    version text not null,
    sha256 text not null,
    source text not null,
    created_at text not null,
    primary key (profile_id, version)
);

create table institutions (
    id bigint generated always as identity primary key,
    uscc text not null unique,
    name text not null,
    kind text not null,
    category text not null,
    city text not null,
    district text not null,
    national_code text,
    address text not null,
    beds bigint not null default 0,
    created_at text not null,
    updated_at text not null
);

create table users (
    id bigint generated always as identity primary key,
    username text not null unique,
    display_name text not null,
    password_hash text not null,
    role text not null,
    city text not null,
    district text,
    institution_id bigint references institutions(id),
    created_at text not null,
    updated_at text not null
);

create table sessions (
    token_hash text primary key,
    user_id bigint not null references users(id),
    kind text not null,
    expires_at bigint not null,
    created_at text not null
);

create table rounds (
    id bigint generated always as identity primary key,
    city text not null,
    name text not null,
    status text not null,
    created_at text not null,
    updated_at text not null
);

create table applications (
    id bigint generated always as identity primary key,
    number text unique,
    institution_id bigint not null references institutions(id),
    city text not null,
    district text not null,
    kind text not null,
    profile_id text not null,
    profile_version text not null,
    state text not null,
    version bigint not null,
    round_id bigint references rounds(id),
    data text not null,
    due_on text,
    due_action text,
    created_at text not null,
    updated_at text not null
);
create index applications_by_state on applications (city, state);
create index applications_due on applications (due_on) where due_action is not null;

create table events (
    id bigint generated always as identity primary key,
    application_id bigint not null references applications(id),
    seq bigint not null,
    kind text not null,
    payload text not null,
    from_state text not null,
    to_state text not null,
    actor_user_id bigint not null,
    actor_role text not null,
    occurred_at text not null,
    occurred_on text not null,
    created_at text not null,
    unique (application_id, seq)
);

create table bans (
    id bigint generated always as identity primary key,
    uscc text not null,
    rule text not null,
    until_on text not null,
    reason text not null,
    application_id bigint references applications(id),
    created_at text not null
);
create index bans_by_uscc on bans (uscc);
