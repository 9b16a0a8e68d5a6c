-- The catalog list and the approvals queue reuse pages they have read while what those pages
-- show stays the same. Every change to it announces the listing on the `listing_changed`
-- channel, whichever server, worker or operator made it: `catalog` for topics, their
-- environments and teams (the list's rows and its filter choices); `queue` for requests, their
-- approval slots and the names a queue row shows (topic, application, requester). Postgres
-- delivers one notice per payload per transaction however many rows changed. Each server
-- relays the notices to its page caches, which reuse nothing while they are not listening.
create function announce_listing_change() returns trigger
language plpgsql as $$
declare
    listing text;
begin
    foreach listing in array tg_argv loop
        perform pg_notify('listing_changed', listing);
    end loop;
    return null;
end;
$$;

create trigger topic_listing_changed after insert or update or delete or truncate on topic
    for each statement execute function announce_listing_change('catalog', 'queue');
create trigger topic_environment_listing_changed
    after insert or update or delete or truncate on topic_environment
    for each statement execute function announce_listing_change('catalog');
create trigger team_listing_changed after insert or update or delete or truncate on team
    for each statement execute function announce_listing_change('catalog');

create trigger access_request_listing_changed
    after insert or update or delete or truncate on access_request
    for each statement execute function announce_listing_change('queue');
create trigger approval_slot_listing_changed
    after insert or update or delete or truncate on approval_slot
    for each statement execute function announce_listing_change('queue');
create trigger application_listing_changed
    after insert or update of name or delete or truncate on application
    for each statement execute function announce_listing_change('queue');
-- Signing in writes a person's row each time; only a new name changes a queue.
create trigger app_user_listing_changed
    after update of display_name on app_user
    for each row when (old.display_name is distinct from new.display_name)
    execute function announce_listing_change('queue');
