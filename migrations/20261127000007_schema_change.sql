-- Owning teams propose new versions of a topic's key or value schema (Avro or JSON Schema) and
-- may change a subject's compatibility mode with it; the check against earlier versions is made
-- while the request is written and again when it is decided.

alter type request_kind add value 'schema_change';

-- The proposal as it was made: subject, format, schema text, the modes before and after, the
-- version it follows and what the check found then.
alter table access_request add column schema_change jsonb;
-- (kind::text, because a new enum value cannot be used in the transaction that adds it.)
alter table access_request add constraint access_request_schema_change_check
    check ((kind::text = 'schema_change') = (schema_change is not null));

-- Key subjects are created with the first key schema, like value subjects.
comment on table schema_subject is
    'Registry subjects (<topic>-key, <topic>-value) with their compatibility mode.';
