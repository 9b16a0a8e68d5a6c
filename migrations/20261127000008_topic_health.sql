-- Topic health: one-minute rollups written by the collector, the owners' expected intervals,
-- and the alerts raised when a topic or consumer group changes status.

-- Messages written to a topic in one minute (rows only for minutes with traffic).
create table topic_health_minute (
    environment text not null,
    topic text not null,
    minute timestamptz not null,
    messages bigint not null check (messages >= 0),
    max_rate double precision not null default 0,
    under_replicated integer not null default 0,
    primary key (environment, topic, minute)
);
create index topic_health_minute_time_idx on topic_health_minute (minute);

-- The largest lag a consumer group showed in one minute.
create table group_lag_minute (
    environment text not null,
    group_id text not null,
    minute timestamptz not null,
    max_lag bigint not null check (max_lag >= 0),
    max_seconds_behind double precision not null default 0,
    primary key (environment, group_id, minute)
);
create index group_lag_minute_time_idx on group_lag_minute (minute);

-- How long an owner expects a topic to stay quiet before it counts as silent.
create table topic_health_setting (
    topic_id uuid primary key references topic (id),
    expected_interval_seconds integer check (expected_interval_seconds between 60 and 2592000),
    updated_by text not null,
    updated_at timestamptz not null default now()
);

create type health_status as enum ('ok', 'warning', 'critical');

-- A status change of a topic or consumer group that someone was told about. At most one open
-- alert per subject: recovery closes it and sends the recovery notice.
create table health_alert (
    id bigserial primary key,
    environment text not null,
    subject_kind text not null check (subject_kind in ('topic', 'group')),
    subject text not null,
    team_slug text references team (slug),
    status health_status not null check (status <> 'ok'),
    reason text not null,
    opened_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    closed_at timestamptz,
    recovery_reason text
);
create unique index health_alert_open_idx on health_alert (environment, subject_kind, subject)
    where closed_at is null;
create index health_alert_subject_idx on health_alert (environment, subject_kind, subject, opened_at desc);
