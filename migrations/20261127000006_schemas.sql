-- Event schemas, as a Confluent-compatible registry keeps them: global ids per distinct schema,
-- subjects (`<topic>-key`, `<topic>-value`) with numbered versions and a compatibility mode.

create type schema_format as enum ('avro', 'json');

-- One row per distinct schema text (canonical form); its id is global and never reused.
create table schema_text (
    id integer primary key generated always as identity,
    format schema_format not null,
    canonical text not null,
    -- The schema as it was written (with its documentation and layout), shown to people.
    original text not null,
    unique (format, canonical)
);

create table schema_subject (
    subject text primary key check (subject ~ '^.{1,249}-(key|value)$'),
    topic_id uuid not null references topic (id),
    compatibility text not null default 'BACKWARD' check (compatibility in
        ('BACKWARD', 'BACKWARD_TRANSITIVE', 'FORWARD', 'FORWARD_TRANSITIVE', 'FULL',
         'FULL_TRANSITIVE', 'NONE')),
    created_at timestamptz not null default now()
);

create table schema_version (
    subject text not null references schema_subject (subject),
    version integer not null check (version >= 1),
    schema_id integer not null references schema_text (id),
    -- The approved request that brought this version.
    request_id uuid references access_request (id),
    created_at timestamptz not null default now(),
    primary key (subject, version)
);
create index schema_version_schema_idx on schema_version (schema_id);
