-- G-AUDIT: one hash chain per city instead of one for the deployment, so writes of different
-- cities never wait for the same row (issue: operable in production, item 6). An entry's chain is
-- its city's code; entries of no city (and every entry written before this migration) stay in the
-- shared chain '' and keep their hashes: the chain is part of the hashed entry only when it is not
-- empty. audit_seq now counts within a chain.
alter table events add column chain text not null default '';
drop index events_by_audit_seq;
create unique index events_by_chain_seq on events (chain, audit_seq);

create table personal_data_reads_0023 (
    id integer primary key autoincrement,
    chain text not null default '',
    audit_seq integer not null,
    user_id integer not null,
    actor_role text not null,
    payload text not null,
    occurred_at text not null,
    occurred_on text not null,
    prev_hash text not null,
    hash text not null,
    alg text not null
);
insert into personal_data_reads_0023 (id, audit_seq, user_id, actor_role, payload, occurred_at, occurred_on, prev_hash, hash, alg)
    select id, audit_seq, user_id, actor_role, payload, occurred_at, occurred_on, prev_hash, hash, alg from personal_data_reads;
drop table personal_data_reads;
alter table personal_data_reads_0023 rename to personal_data_reads;
create unique index personal_data_reads_by_chain_seq on personal_data_reads (chain, audit_seq);

create table account_events_0023 (
    id integer primary key autoincrement,
    chain text not null default '',
    audit_seq integer not null,
    kind text not null,
    user_id integer not null,
    actor_role text not null,
    payload text not null,
    occurred_at text not null,
    occurred_on text not null,
    prev_hash text not null,
    hash text not null,
    alg text not null
);
insert into account_events_0023 (id, audit_seq, kind, user_id, actor_role, payload, occurred_at, occurred_on, prev_hash, hash, alg)
    select id, audit_seq, kind, user_id, actor_role, payload, occurred_at, occurred_on, prev_hash, hash, alg from account_events;
drop table account_events;
alter table account_events_0023 rename to account_events;
create unique index account_events_by_chain_seq on account_events (chain, audit_seq);

-- One head per chain; a city's chain gets its row with its first entry.
create table audit_heads (
    chain text primary key,
    seq integer not null,
    hash text not null,
    created_at text not null,
    updated_at text not null
);
insert into audit_heads (chain, seq, hash, created_at, updated_at) select '', seq, hash, updated_at, updated_at from audit_head where id = 1;
drop table audit_head;
