-- G-AUDIT: every event is an entry of one hash chain. audit_seq orders the chain; hash covers
-- prev_hash and the entry in canonical form, with the algorithm named in alg.
alter table events add column audit_seq integer;
alter table events add column prev_hash text;
alter table events add column hash text;
alter table events add column alg text;
create unique index events_by_audit_seq on events (audit_seq);

create table audit_head (
    id integer primary key,
    seq integer not null,
    hash text not null,
    updated_at text not null
);
insert into audit_head (id, seq, hash, updated_at) values (1, 0, '0000000000000000000000000000000000000000000000000000000000000000', '');
