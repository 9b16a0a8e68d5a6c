-- Webhook deliveries are leased for the length of one HTTP call instead of being held under a
-- row lock, so several can be under way at once (one per team) without holding connections.
alter table webhook_delivery add column claimed_until timestamptz;
create index webhook_delivery_team_idx on webhook_delivery (team_slug)
    where delivered_at is null and abandoned_at is null;
