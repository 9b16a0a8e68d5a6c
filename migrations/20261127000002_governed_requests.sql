-- Teams, applications, the topic catalog, access requests with their approvals, and the audit log.

create extension if not exists pg_trgm;

create table team (
    slug text primary key check (slug ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
    display_name text not null check (length(display_name) between 1 and 120),
    contact_email text check (contact_email is null or length(contact_email) <= 320),
    -- Optional outgoing webhook (Slack-compatible JSON) for the team's notifications.
    webhook_url text check (webhook_url is null or webhook_url ~ '^https?://'),
    created_at timestamptz not null default now()
);

create type fisma_rating as enum ('low', 'moderate', 'high');
create type ato_status as enum ('granted', 'in_progress', 'not_started', 'expired');
create type privacy_assessment as enum ('completed', 'in_progress', 'not_started', 'not_required');
create type hosting_location as enum ('internal_platform', 'cloud_account', 'other_cloud', 'on_premises');

-- A team's client system, with the compliance fields the bus needs before it may connect.
create table application (
    id uuid primary key,
    team_slug text not null references team (slug),
    name text not null check (length(name) between 2 and 80),
    system_registration_id text not null check (length(system_registration_id) between 1 and 64),
    security_package_id text not null check (length(security_package_id) between 1 and 64),
    fisma_rating fisma_rating not null,
    ato_status ato_status not null,
    ato_date date,
    privacy_assessment privacy_assessment not null,
    contains_pii boolean not null,
    hosting_location hosting_location not null,
    technical_contact text not null check (length(technical_contact) between 3 and 320),
    product_contact text not null check (length(product_contact) between 3 and 320),
    created_at timestamptz not null default now(),
    unique (team_slug, name)
);

create type lifecycle as enum ('experimental', 'development', 'production', 'deprecated');
create type data_classification as enum ('low', 'moderate');
create type cleanup_policy as enum ('delete', 'compact', 'compact_delete');

create table topic (
    id uuid primary key,
    name text not null unique check (length(name) between 1 and 249),
    title text not null check (length(title) between 3 and 120),
    description text not null check (length(description) between 10 and 4000),
    business_domain text not null check (length(business_domain) between 2 and 60),
    lifecycle lifecycle not null,
    removal_date date,
    owning_team text not null references team (slug),
    source_systems text[] not null default '{}',
    data_classification data_classification not null,
    contains_pii boolean not null,
    partitions integer not null check (partitions between 1 and 1000),
    retention_ms bigint not null check (retention_ms between 3600000 and 31536000000),
    cleanup_policy cleanup_policy not null,
    created_at timestamptz not null default now(),
    check ((lifecycle = 'deprecated') = (removal_date is not null))
);
create index topic_owning_team_idx on topic (owning_team);
create index topic_domain_lifecycle_idx on topic (business_domain, lifecycle);
create index topic_search_trgm_idx on topic using gin ((name || ' ' || title || ' ' || description) gin_trgm_ops);

create table topic_environment (
    topic_id uuid not null references topic (id),
    environment text not null,
    primary key (topic_id, environment)
);

create type request_kind as enum ('new_topic', 'producer_access', 'consumer_access', 'revoke_access');
create type request_state as enum ('draft', 'submitted', 'changes_requested', 'approved', 'declined', 'withdrawn');

create table access_request (
    id uuid primary key,
    kind request_kind not null,
    state request_state not null,
    -- Bumped on every change; a decision names the version it was made on.
    version integer not null default 1,
    requester text not null references app_user (subject),
    application_id uuid not null references application (id),
    -- The topic asked about; for a new topic, the proposal below until it is approved.
    topic_id uuid references topic (id),
    proposed_topic jsonb,
    environments text[] not null check (cardinality(environments) between 1 and 10),
    consumer_group text,
    consumer_group_is_prefix boolean not null default false,
    purpose text not null check (length(purpose) between 10 and 2000),
    requested_expiry date,
    fit_answers jsonb,
    promoted_from uuid references access_request (id),
    -- Why it is declined or sent back; shown to the requester.
    decision_reason text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    check ((kind = 'new_topic') = (proposed_topic is not null)),
    check (kind = 'new_topic' or topic_id is not null),
    check ((kind = 'consumer_access') = (consumer_group is not null))
);
create index access_request_requester_idx on access_request (requester, created_at desc);
create index access_request_state_idx on access_request (state) where state = 'submitted';
create index access_request_topic_idx on access_request (topic_id);

create type approval_slot_kind as enum ('owning_team', 'governance', 'second_governance');
create type approval_decision as enum ('approved', 'declined', 'changes_requested');

-- Who must approve a request, one row per required approval.
create table approval_slot (
    request_id uuid not null references access_request (id),
    slot approval_slot_kind not null,
    -- Which team must fill an owning-team slot.
    team_slug text references team (slug),
    reason text not null,
    decided_by text references app_user (subject),
    decision approval_decision,
    decision_reason text,
    decided_at timestamptz,
    primary key (request_id, slot),
    check ((decided_by is null) = (decision is null)),
    check ((slot = 'owning_team') = (team_slug is not null))
);
-- One person never fills two slots of the same request.
create unique index approval_slot_one_person_idx on approval_slot (request_id, decided_by) where decided_by is not null;

-- Access that an approval granted: who may produce or consume what, where.
create table access_grant (
    id uuid primary key,
    request_id uuid not null references access_request (id),
    topic_id uuid not null references topic (id),
    application_id uuid not null references application (id),
    role text not null check (role in ('producer', 'consumer')),
    environment text not null,
    consumer_group text,
    consumer_group_is_prefix boolean not null default false,
    expires_on date,
    created_at timestamptz not null default now(),
    revoked_at timestamptz
);
create index access_grant_topic_idx on access_grant (topic_id) where revoked_at is null;
create index access_grant_application_idx on access_grant (application_id);

create table notification (
    id bigserial primary key,
    recipient text not null references app_user (subject),
    message text not null,
    link text,
    created_at timestamptz not null default now(),
    read_at timestamptz
);
create index notification_unread_idx on notification (recipient) where read_at is null;

-- Append-only, hash-chained audit log: each row stores the hash of the row before it.
create sequence audit_log_seq;
create table audit_log (
    -- Assigned by the chaining trigger under its lock, so id order is chain order.
    id bigint primary key,
    occurred_at timestamptz not null,
    actor text not null,
    action text not null,
    entity_type text not null,
    entity_id text not null,
    before jsonb,
    after jsonb,
    prev_hash bytea not null,
    hash bytea not null
);
create index audit_log_entity_idx on audit_log (entity_type, entity_id, id);

create function audit_log_row_digest(prev bytea, r audit_log) returns bytea
language sql immutable as $$
    select sha256(
        prev
        || convert_to(
            r.id::text || '|' || to_char(r.occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '|'
            || r.actor || '|' || r.action || '|' || r.entity_type || '|' || r.entity_id || '|'
            || coalesce(r.before::text, 'null') || '|' || coalesce(r.after::text, 'null'),
            'UTF8'
        )
    )
$$;

create function audit_log_chain() returns trigger
language plpgsql as $$
declare
    last_hash bytea;
begin
    -- Serialise appends so every row links to exactly one predecessor.
    perform pg_advisory_xact_lock(727274);
    new.id := nextval('audit_log_seq');
    new.occurred_at := clock_timestamp();
    select hash into last_hash from audit_log order by id desc limit 1;
    new.prev_hash := coalesce(last_hash, '\x00'::bytea);
    new.hash := audit_log_row_digest(new.prev_hash, new);
    return new;
end
$$;

create trigger audit_log_chain before insert on audit_log
for each row execute function audit_log_chain();

create function audit_log_refuse_change() returns trigger
language plpgsql as $$
begin
    raise exception 'the audit log is append-only: % is not allowed', tg_op
        using errcode = 'insufficient_privilege';
end
$$;

create trigger audit_log_no_update before update or delete on audit_log
for each row execute function audit_log_refuse_change();
create trigger audit_log_no_truncate before truncate on audit_log
for each statement execute function audit_log_refuse_change();

-- Walks the chain; returns the first row whose links or hash do not match, if any.
create function audit_log_verify() returns table (rows_checked bigint, first_broken_id bigint)
language plpgsql stable as $$
declare
    r audit_log;
    expected_prev bytea := '\x00'::bytea;
    n bigint := 0;
begin
    for r in select * from audit_log order by id loop
        n := n + 1;
        if r.prev_hash <> expected_prev or r.hash <> audit_log_row_digest(r.prev_hash, r) then
            rows_checked := n;
            first_broken_id := r.id;
            return next;
            return;
        end if;
        expected_prev := r.hash;
    end loop;
    rows_checked := n;
    first_broken_id := null;
    return next;
end
$$;
