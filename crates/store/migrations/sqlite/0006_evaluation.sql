-- The evaluator pool (URC-EVAL-1) with every change audited, and each round's draw: the
-- commitment published first, the secret kept until the draw, the public value, and the record.
create table evaluators (
    id text primary key,
    city text not null,
    name text not null,
    department text not null,
    employer text not null,
    specialty text not null,
    active integer not null,
    ties text not null,
    created_at text not null,
    updated_at text not null
);

create table evaluator_changes (
    id integer primary key autoincrement,
    evaluator_id text not null,
    actor_user_id integer,
    change text not null,
    created_at text not null
);

create table round_draws (
    round_id integer primary key references rounds(id),
    commitment text not null,
    secret text not null,
    committed_at text not null,
    public_value text,
    visit_on text,
    reveal_on text,
    record text,
    drawn_at text,
    updated_at text not null
);

alter table users add column evaluator_id text;
