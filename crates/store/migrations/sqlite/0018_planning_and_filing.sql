-- URC-RES-1: a round's passed list filed (备案) with the administrative department, and the
-- department's acknowledgement.
alter table rounds add column filed_at text;
alter table rounds add column filed_by integer;
alter table rounds add column filing_acknowledged_at text;
alter table rounds add column filing_acknowledged_by integer;

-- URC-REV-1: the planning figures (设置规划) per district and kind of institution, kept by the
-- city's administrator: the resident population, and a ceiling on designated institutions or a
-- target density per 10,000 residents (in hundredths: 150 = 1.50).
create table planning (
    city text not null,
    district text not null,
    kind text not null,
    population integer not null,
    ceiling integer,
    density_centi integer,
    updated_at text not null,
    updated_by integer not null,
    primary key (city, district, kind)
);
