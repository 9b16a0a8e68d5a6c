-- The catalog list reuses pages it has read while the catalog stays the same. Every change to
-- topics, their environments or teams (the list's rows and its filter choices) announces itself
-- on the `catalog_changed` channel; Postgres delivers one notice per transaction however many
-- rows changed. Each server relays the notices to its page cache, which reuses nothing while it
-- is not listening.
create function announce_catalog_change() returns trigger
language plpgsql as $$
begin
    perform pg_notify('catalog_changed', '');
    return null;
end;
$$;

create trigger topic_catalog_changed after insert or update or delete or truncate on topic
    for each statement execute function announce_catalog_change();
create trigger topic_environment_catalog_changed
    after insert or update or delete or truncate on topic_environment
    for each statement execute function announce_catalog_change();
create trigger team_catalog_changed after insert or update or delete or truncate on team
    for each statement execute function announce_catalog_change();
