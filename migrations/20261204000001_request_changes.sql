-- Open request pages follow their request live. Every change to a request, to one of its
-- approval slots or to one of its apply steps announces the request's id on the
-- `request_changed` channel; Postgres delivers one notice per id per transaction however many
-- rows changed. A credential rotation belongs to no request but shows on every request page of
-- its application, so its steps announce all of them. The server relays the notices to the
-- pages' event streams.
create function announce_request_change() returns trigger
language plpgsql as $$
begin
    perform pg_notify('request_changed', new.id::text);
    return null;
end;
$$;

create function announce_request_part_change() returns trigger
language plpgsql as $$
begin
    if new.request_id is not null then
        perform pg_notify('request_changed', new.request_id::text);
    end if;
    return null;
end;
$$;

create function announce_application_step_change() returns trigger
language plpgsql as $$
begin
    if new.request_id is not null then
        perform pg_notify('request_changed', new.request_id::text);
    elsif new.application_id is not null then
        perform pg_notify('request_changed', r.id::text)
           from access_request r where r.application_id = new.application_id;
    end if;
    return null;
end;
$$;

create trigger access_request_changed after insert or update on access_request
    for each row execute function announce_request_change();
create trigger approval_slot_changed after insert or update on approval_slot
    for each row execute function announce_request_part_change();
create trigger apply_step_changed after insert or update on apply_step
    for each row execute function announce_application_step_change();
