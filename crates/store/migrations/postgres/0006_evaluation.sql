-- The evaluator pool (URC-EVAL-1) with every change audited, and each round's draw: the
-- commitment published first, the secret kept until the draw, the public value, and the record.
create table evaluators (
    id text primary key,
    city text not null,
    name text not null,
    department text not null,
    employer text not null,
    specialty text not null,
    active bigint not null,
    ties text not null,
    created_at text not null,
    updated_at text not null
);

create table evaluator_changes (
    id bigint generated always as identity primary key,
    evaluator_id text not null,
    actor_user_id bigint,
    change text not null,
    created_at text not null
);

create table round_draws (
    round_id bigint primary key references rounds(id),
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
