-- The approvals queue lists submitted requests oldest change first and pages by keyset
-- (updated_at, id): this index serves both the order and the page boundary, so a page reads
-- the rows it shows rather than every submitted request. It replaces the index on state alone.
drop index access_request_state_idx;
create index access_request_queue_idx on access_request (updated_at, id) where state = 'submitted';
