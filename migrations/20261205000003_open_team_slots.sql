-- A team approver's queue is found from the approval slots that wait for their teams, rather
-- than by walking every submitted request and looking up its slots.
create index approval_slot_open_team_idx on approval_slot (team_slug, request_id)
    where decided_by is null and slot = 'owning_team';
