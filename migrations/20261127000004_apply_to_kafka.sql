-- Applying approved changes to Kafka: the states a request reaches after approval, the steps that
-- apply it (a transactional outbox run by workers), application principals with one-time
-- credentials, grant expiry, and what the reconciler finds on the clusters.

alter type request_state add value 'applying';
alter type request_state add value 'active';
alter type request_state add value 'failed';
alter type request_state add value 'revoked';
alter type request_state add value 'expired';

create type apply_step_kind as enum (
    'create_topic', 'set_topic_configs', 'create_credentials', 'rotate_credentials',
    'create_acls', 'delete_acls'
);
-- cancelled: the request was revoked before the step ran.
create type apply_step_status as enum ('pending', 'waiting_for_cluster', 'done', 'failed', 'cancelled');

-- One unit of work against one cluster. Written in the transaction that approves (or revokes)
-- a request; claimed by workers with FOR UPDATE SKIP LOCKED; every kind is idempotent.
create table apply_step (
    id uuid primary key,
    -- Null only for a credential rotation, which is asked for outside any request.
    request_id uuid references access_request (id),
    environment text not null,
    -- Steps of one request in one environment run in this order.
    position integer not null,
    kind apply_step_kind not null,
    topic_id uuid references topic (id),
    application_id uuid references application (id),
    grant_id uuid references access_grant (id),
    status apply_step_status not null default 'pending',
    attempts integer not null default 0,
    next_attempt_at timestamptz not null default now(),
    -- Safe text for people: never a password, never a broker address.
    last_error text,
    created_at timestamptz not null default now(),
    done_at timestamptz,
    check (request_id is not null or kind = 'rotate_credentials')
);
create unique index apply_step_order_idx on apply_step (request_id, environment, position);
create index apply_step_due_idx on apply_step (next_attempt_at)
    where status in ('pending', 'waiting_for_cluster');
create index apply_step_request_idx on apply_step (request_id, position);

-- Wakes the workers (LISTEN apply_step); they also poll, so a lost notification only delays.
create function apply_step_wake() returns trigger
language plpgsql as $$
begin
    perform pg_notify('apply_step', '');
    return null;
end
$$;
create trigger apply_step_wake after insert or update of status, next_attempt_at on apply_step
for each statement execute function apply_step_wake();

-- One Kafka principal per application per environment: User:<team>.<application>.
create table kafka_principal (
    application_id uuid not null references application (id),
    environment text not null,
    principal text not null check (principal ~ '^[a-z0-9][a-z0-9.-]{1,190}$'),
    -- When the current SCRAM credential was set on the cluster.
    credential_set_at timestamptz,
    primary key (application_id, environment),
    unique (environment, principal)
);

-- A freshly generated password, sealed with the server's key (ChaCha20-Poly1305), kept only until
-- the owning team has seen it once. The cluster stores only the salted SCRAM verifier.
create table credential_reveal (
    application_id uuid not null,
    environment text not null,
    nonce bytea not null,
    sealed bytea not null,
    created_at timestamptz not null default now(),
    primary key (application_id, environment),
    foreign key (application_id, environment) references kafka_principal (application_id, environment)
);

-- Owners hear about an expiry a week ahead, once.
alter table access_grant add column expiry_notified_at timestamptz;
create index access_grant_expiry_idx on access_grant (expires_on)
    where revoked_at is null and expires_on is not null;

-- Topics and ACLs the reconciler found on a cluster that the portal did not create.
create table drift_finding (
    id uuid primary key,
    environment text not null,
    kind text not null check (kind in ('unknown_acl', 'unknown_topic')),
    -- Canonical text of the resource (an ACL binding or a topic name); the identity of a finding.
    resource_key text not null,
    resource jsonb not null,
    description text not null,
    first_seen_at timestamptz not null default now(),
    last_seen_at timestamptz not null default now(),
    resolved_at timestamptz,
    resolution text check (resolution in ('adopted', 'removed', 'gone')),
    resolved_by text references app_user (subject),
    -- An admin asked for it to be removed from the cluster; the reconciler does it.
    removal_requested_by text references app_user (subject),
    removal_requested_at timestamptz,
    check ((resolved_at is null) = (resolution is null))
);
create unique index drift_finding_open_idx on drift_finding (environment, resource_key)
    where resolved_at is null;

-- Resources adopted from a cluster: known to the portal, kept, and no longer reported.
create table adopted_resource (
    environment text not null,
    resource_key text not null,
    resource jsonb not null,
    adopted_by text not null references app_user (subject),
    adopted_at timestamptz not null default now(),
    primary key (environment, resource_key)
);

-- Admins ask for a check now (NOTIFY reconcile); the reconciler also runs on a schedule.
create function reconcile_wake() returns trigger
language plpgsql as $$
begin
    perform pg_notify('reconcile', '');
    return null;
end
$$;
create trigger drift_finding_wake after update of removal_requested_at on drift_finding
for each statement execute function reconcile_wake();

-- Each reconciler pass, for the Drift page and for operators.
create table reconcile_run (
    id bigserial primary key,
    environment text not null,
    started_at timestamptz not null,
    finished_at timestamptz not null default now(),
    acls_seen integer not null,
    topics_seen integer not null,
    restored integer not null,
    unknown integer not null,
    removed integer not null default 0,
    elapsed_ms integer not null default 0,
    error text
);
