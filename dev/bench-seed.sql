-- A second seed for dev/bench, in plain SQL and independent of the bench's own generator
-- (BENCH_SEED_SQL=dev/bench-seed.sql dev/bench), so its figures do not depend on how the data was
-- made: 10,000 topics, 50,000 grants and 2,000 open requests, inserted in random order (the
-- table's physical order follows neither names nor time), names from hashes rather than word
-- lists, and the people the bench signs in as (member-0001, gov-approver-01).

insert into team (slug, display_name, contact_email)
select 'team-' || lpad(i::text, 2, '0'), 'Team ' || i, 'team' || i || '@example.test'
  from generate_series(1, 50) i;

insert into app_user (subject, display_name, email, groups)
select 'member-' || lpad(i::text, 4, '0'), 'Member ' || i, 'member' || i || '@example.test',
       array['team-team-' || lpad((1 + i % 50)::text, 2, '0'),
             'team-team-' || lpad((1 + (i * 13) % 50)::text, 2, '0')]
  from generate_series(1, 400) i;
insert into app_user (subject, display_name, groups)
select 'gov-approver-' || lpad(i::text, 2, '0'), 'Governance approver ' || i, '{governance}'
  from generate_series(1, 12) i;

insert into application (id, team_slug, name, system_registration_id, security_package_id,
        fisma_rating, ato_status, privacy_assessment, contains_pii, hosting_location,
        technical_contact, product_contact)
select gen_random_uuid(), 'team-' || lpad((1 + i % 50)::text, 2, '0'), 'Application ' || i,
       'SR-' || i, 'SP-' || i, 'moderate', 'granted', 'completed', i % 3 = 0,
       'internal_platform', 'oncall' || i || '@example.test', 'product' || i || '@example.test'
  from generate_series(1, 500) i;

-- Topic names are a domain and a hash; titles and descriptions carry the words people search.
insert into topic (id, name, title, description, business_domain, lifecycle, removal_date,
        owning_team, data_classification, contains_pii, partitions, retention_ms, cleanup_policy)
select gen_random_uuid(),
       d.domain || '.' || substr(md5(i::text), 1, 12) || '_v' || (1 + i % 3),
       initcap(d.word) || ' ' || w.word || ' event ' || i,
       'Published when a ' || d.word || ' ' || w.word || ' changes. Kafka Streams and plain consumers '
           || 'read it; see the schema for each field. ' || repeat('Keyed by the record id. ', 1 + i % 8),
       d.domain, (array['production', 'development', 'experimental', 'deprecated'])[1 + i % 4]::lifecycle,
       case when i % 4 = 3 then current_date + 90 end,
       'team-' || lpad((1 + (i * 7) % 50)::text, 2, '0'),
       (case when i % 5 = 0 then 'moderate' else 'low' end)::data_classification, i % 4 = 0,
       1 + i % 12, 604800000, 'delete'
  from (select i from generate_series(1, 10000) i order by random()) g
  cross join lateral (select (array['claims', 'payments', 'health', 'housing', 'identity',
                                    'education', 'pharmacy', 'appointments'])[1 + i % 8] as domain,
                             (array['claim', 'payment', 'health', 'address', 'identity',
                                    'letter', 'refill', 'appointment'])[1 + i % 8] as word) d
  cross join lateral (select (array['status changed', 'vaccination', 'headstone', 'warehouse',
                                    'idempotent retry', 'record'])[1 + (i / 8) % 6] as word) w;

insert into topic_environment (topic_id, environment)
select id, 'sandbox' from topic where not contains_pii;
insert into topic_environment (topic_id, environment)
select id, 'prod' from topic where contains_pii or lifecycle = 'production';

create temp table numbered_topic as
select (row_number() over (order by id))::int as n, id, owning_team from topic;
create temp table numbered_app as
select (row_number() over (order by id))::int as n, id, team_slug from application;

-- 2,000 open requests, each waiting for its topic's owning team and for governance, in random
-- order of their last change; and 3,000 decided ones behind the 50,000 grants.
insert into access_request (id, kind, state, requester, application_id, topic_id, environments,
        consumer_group, purpose, created_at, updated_at)
select gen_random_uuid(), 'consumer_access', 'submitted',
       'member-' || lpad((1 + i % 400)::text, 4, '0'), a.id, t.id, array['sandbox'],
       'group-' || i, 'Needed to keep a local copy up to date.',
       now() - (i % 40) * interval '1 day', now() - random() * interval '30 days'
  from (select i from generate_series(1, 2000) i order by random()) g
  join numbered_topic t on t.n = 1 + (i * 37) % 10000
  join numbered_app a on a.n = 1 + (i * 11) % 500;
insert into access_request (id, kind, state, requester, application_id, topic_id, environments,
        purpose, created_at, updated_at)
select gen_random_uuid(), 'producer_access', 'approved',
       'member-' || lpad((1 + i % 400)::text, 4, '0'), a.id, t.id, array['sandbox'],
       'Publishes the events of its own records.', now() - interval '200 days',
       now() - interval '190 days'
  from generate_series(1, 3000) i
  join numbered_topic t on t.n = 1 + (i * 53) % 10000
  join numbered_app a on a.n = 1 + (i * 17) % 500;

insert into approval_slot (request_id, slot, team_slug, reason)
select r.id, 'owning_team', t.owning_team, 'The owning team decides.'
  from access_request r join topic t on t.id = r.topic_id where r.state = 'submitted';
insert into approval_slot (request_id, slot, reason)
select id, 'governance', 'Governance decides.' from access_request where state = 'submitted';
insert into approval_slot (request_id, slot, team_slug, reason, decided_by, decision, decided_at)
select r.id, 'owning_team', t.owning_team, 'The owning team decides.', 'gov-approver-02',
       'approved', r.updated_at
  from access_request r join topic t on t.id = r.topic_id where r.state = 'approved';
insert into approval_slot (request_id, slot, reason, decided_by, decision, decided_at)
select id, 'governance', 'Governance decides.', 'gov-approver-03', 'approved', updated_at
  from access_request where state = 'approved';

create temp table numbered_approved as
select (row_number() over (order by id))::int as n, id from access_request where state = 'approved';
insert into access_grant (id, request_id, topic_id, application_id, role, environment, consumer_group)
select gen_random_uuid(), r.id, t.id, a.id, (case when i % 3 = 0 then 'producer' else 'consumer' end)::grant_role,
       case when i % 2 = 0 then 'sandbox' else 'prod' end,
       case when i % 3 <> 0 then 'grant-group-' || i end
  from (select i from generate_series(1, 50000) i order by random()) g
  join numbered_approved r on r.n = 1 + i % 3000
  join numbered_topic t on t.n = 1 + (i * 7919) % 10000
  join numbered_app a on a.n = 1 + (i * 31) % 500;
