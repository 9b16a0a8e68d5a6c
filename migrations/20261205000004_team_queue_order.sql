-- A team approver's queue in its own order. Each approval slot carries its request's state and
-- place in the queue (the request's last change), kept by triggers whoever writes: a team's
-- open slots of submitted requests are then walked in queue order from a page's boundary and
-- the walk stops once the page is full, however long the team's history of requests that were
-- declined or withdrawn with its slot still open.
alter table approval_slot
    add column request_state request_state,
    add column request_updated_at timestamptz;
update approval_slot s
   set request_state = r.state, request_updated_at = r.updated_at
  from access_request r
 where r.id = s.request_id;
alter table approval_slot
    alter column request_state set not null,
    alter column request_updated_at set not null;

create function approval_slot_takes_request_place() returns trigger
language plpgsql as $$
begin
    select r.state, r.updated_at into new.request_state, new.request_updated_at
      from access_request r where r.id = new.request_id;
    return new;
end;
$$;
create trigger approval_slot_request_place before insert or update of request_id on approval_slot
    for each row execute function approval_slot_takes_request_place();

create function access_request_place_to_slots() returns trigger
language plpgsql as $$
begin
    update approval_slot
       set request_state = new.state, request_updated_at = new.updated_at
     where request_id = new.id;
    return null;
end;
$$;
create trigger access_request_place_to_slots after update of state, updated_at on access_request
    for each row
    when (old.state is distinct from new.state or old.updated_at is distinct from new.updated_at)
    execute function access_request_place_to_slots();

drop index approval_slot_open_team_idx;
create index approval_slot_team_queue_idx
    on approval_slot (team_slug, request_updated_at, request_id)
 where decided_by is null and slot = 'owning_team' and request_state = 'submitted';
