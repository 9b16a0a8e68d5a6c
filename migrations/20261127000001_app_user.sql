-- People who have signed in at least once. The identity provider stays the source of truth for
-- who someone is; this table lets requests and decisions refer to them.
create table app_user (
    subject text primary key check (length(subject) between 1 and 255),
    display_name text not null check (length(display_name) between 1 and 200),
    email text check (email is null or length(email) <= 320),
    groups text[] not null default '{}',
    first_seen_at timestamptz not null default now(),
    last_login_at timestamptz not null default now()
);
