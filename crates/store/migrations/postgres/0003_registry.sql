-- The institution registry's people and history: who runs an institution (identified by
-- resident ID number, stored once) and the records the not-accepted rules read (URC-REJ-*).
create table persons (
    id bigint generated always as identity primary key,
    resident_id text not null unique,
    name text not null,
    created_at text not null,
    updated_at text not null
);

create table institution_persons (
    institution_id bigint not null references institutions(id),
    person_id bigint not null references persons(id),
    role text not null,
    created_at text not null,
    primary key (institution_id, person_id, role)
);

create table records (
    id bigint generated always as identity primary key,
    institution_id bigint references institutions(id),
    person_id bigint references persons(id),
    kind text not null,
    occurred_on text not null,
    fulfilled bigint not null default 0,
    until_on text,
    source text not null,
    note text not null,
    created_by bigint,
    created_at text not null
);
create index records_by_institution on records (institution_id);
create index records_by_person on records (person_id);
