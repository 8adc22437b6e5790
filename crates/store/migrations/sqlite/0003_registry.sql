-- The institution registry's people and history: who runs an institution (identified by
-- resident ID number, stored once) and the records the not-accepted rules read (URC-REJ-*).
create table persons (
    id integer primary key autoincrement,
    resident_id text not null unique,
    name text not null,
    created_at text not null,
    updated_at text not null
);

create table institution_persons (
    institution_id integer not null references institutions(id),
    person_id integer not null references persons(id),
    role text not null,
    created_at text not null,
    primary key (institution_id, person_id, role)
);

create table records (
    id integer primary key autoincrement,
    institution_id integer references institutions(id),
    person_id integer references persons(id),
    kind text not null,
    occurred_on text not null,
    fulfilled integer not null default 0,
    until_on text,
    source text not null,
    note text not null,
    created_by integer,
    created_at text not null
);
create index records_by_institution on records (institution_id);
create index records_by_person on records (person_id);
