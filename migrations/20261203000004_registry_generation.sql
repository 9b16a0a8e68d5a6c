-- What an application may read in the schema registry follows its grants, its team's topics and
-- their environments, and the schema versions. The registry keeps what it loaded per
-- application and reuses it while this number stays the same; it reads the number with every
-- request's credential check, so a change is seen by the next request, on every server.
create table registry_generation (
    only_row boolean primary key default true check (only_row),
    n bigint not null
);
insert into registry_generation (n) values (0);

create function registry_generation_bump() returns trigger
language plpgsql as $$
begin
    update registry_generation set n = n + 1;
    return null;
end
$$;

create trigger access_grant_registry after insert or update or delete or truncate on access_grant
for each statement execute function registry_generation_bump();
create trigger topic_registry after insert or update of owning_team or delete or truncate on topic
for each statement execute function registry_generation_bump();
create trigger topic_environment_registry after insert or update or delete or truncate on topic_environment
for each statement execute function registry_generation_bump();
create trigger application_registry after insert or update of team_slug or delete or truncate on application
for each statement execute function registry_generation_bump();
create trigger schema_subject_registry after insert or update or delete or truncate on schema_subject
for each statement execute function registry_generation_bump();
create trigger schema_version_registry after insert or update or delete or truncate on schema_version
for each statement execute function registry_generation_bump();
