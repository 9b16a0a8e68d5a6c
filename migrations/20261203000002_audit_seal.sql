-- Each audit row's chain hash sealed with HMAC-SHA-256 under a key the database never sees
-- (`audit.key` in the server's configuration). The SHA-256 chain alone can be recomputed by
-- anyone holding the table owner's role after an edit; the seals cannot.
create table audit_seal (
    -- No foreign key: a truncate of audit_log must meet its own append-only trigger.
    audit_id bigint primary key,
    seal bytea not null check (length(seal) = 32)
);

create trigger audit_seal_no_update before update or delete on audit_seal
for each row execute function audit_log_refuse_change();
create trigger audit_seal_no_truncate before truncate on audit_seal
for each statement execute function audit_log_refuse_change();
