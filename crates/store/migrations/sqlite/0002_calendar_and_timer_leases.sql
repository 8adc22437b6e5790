-- Calendar years loaded by an administrator (LAW-WD data), and leases on due time limits so one
-- worker at a time fires each (G-CLOCKS).
create table calendar_years (
    year integer primary key,
    source text not null,
    sha256 text not null,
    loaded_by integer,
    created_at text not null,
    updated_at text not null
);

alter table applications add column timer_owner text;
alter table applications add column timer_lease_until integer;
