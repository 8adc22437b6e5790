-- G-AUDIT: one hash chain per city instead of one for the deployment, so writes of different
-- cities never wait for the same row (issue: operable in production, item 6). An entry's chain is
-- its city's code; entries of no city (and every entry written before this migration) stay in the
-- shared chain '' and keep their hashes: the chain is part of the hashed entry only when it is not
-- empty. audit_seq now counts within a chain.
alter table events add column chain text not null default '';
drop index events_by_audit_seq;
create unique index events_by_chain_seq on events (chain, audit_seq);

alter table personal_data_reads add column chain text not null default '';
alter table personal_data_reads drop constraint personal_data_reads_audit_seq_key;
create unique index personal_data_reads_by_chain_seq on personal_data_reads (chain, audit_seq);

alter table account_events add column chain text not null default '';
alter table account_events drop constraint account_events_audit_seq_key;
create unique index account_events_by_chain_seq on account_events (chain, audit_seq);

-- One head per chain; a city's chain gets its row with its first entry.
create table audit_heads (
    chain text primary key,
    seq bigint not null,
    hash text not null,
    created_at text not null,
    updated_at text not null
);
insert into audit_heads (chain, seq, hash, created_at, updated_at) select '', seq, hash, updated_at, updated_at from audit_head where id = 1;
drop table audit_head;
