-- G-AUDIT: every read of a full resident ID number by agency staff is an entry of the same hash
-- chain as the events, with who, when and why.
create table personal_data_reads (
    id bigint generated always as identity primary key,
    audit_seq bigint not null unique,
    user_id bigint not null,
    actor_role text not null,
    payload text not null,
    occurred_at text not null,
    occurred_on text not null,
    prev_hash text not null,
    hash text not null,
    alg text not null
);
