-- Outgoing team webhooks, delivered by a durable, retried job.
create table webhook_delivery (
    id bigserial primary key,
    team_slug text not null references team (slug),
    url text not null,
    -- Slack-compatible JSON: {"text": "..."} plus structured fields.
    payload jsonb not null,
    attempts integer not null default 0,
    next_attempt_at timestamptz not null default now(),
    last_error text,
    delivered_at timestamptz,
    -- Set when the retries are exhausted.
    abandoned_at timestamptz,
    created_at timestamptz not null default now()
);
create index webhook_delivery_due_idx on webhook_delivery (next_attempt_at)
    where delivered_at is null and abandoned_at is null;
