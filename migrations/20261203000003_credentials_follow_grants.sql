-- An application keeps a SCRAM credential on a cluster only while it holds a live grant there:
-- revoking or expiring its last grant in an environment deletes the credential as a step.
alter type apply_step_kind add value 'delete_credentials';

-- The registry finds a principal by name on every request.
create index kafka_principal_principal_idx on kafka_principal (principal);
