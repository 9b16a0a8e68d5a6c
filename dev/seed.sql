-- Demo data for the local portal: teams, applications, topics like the real bus's, grants, and
-- requests in every state. Applied by dev/run and dev/test when the database has no teams yet.
begin;

insert into app_user (subject, display_name, email, groups) values
    ('maria', 'Maria Lopez', 'maria@example.test', '{team-benefits-notifications,team-claims-status}'),
    ('omar', 'Omar Haddad', 'omar@example.test', '{team-claims-status,team-approvers}'),
    ('gary', 'Gary Chen', 'gary@example.test', '{governance}'),
    ('nina', 'Nina Park', 'nina@example.test', '{governance}'),
    ('ada', 'Ada Okafor', 'ada@example.test', '{platform-admins}'),
    ('victor', 'Victor Stein', 'victor@example.test', '{engineers}')
on conflict (subject) do nothing;

insert into team (slug, display_name, contact_email) values
    ('benefits-notifications', 'Benefits Notifications', 'notify-team@example.test'),
    ('claims-status', 'Claims Status', 'claims-status@example.test'),
    ('appointments', 'Appointments', 'appointments@example.test'),
    ('veteran-profile', 'Veteran Profile', 'profile@example.test'),
    ('pharmacy', 'Pharmacy', 'pharmacy@example.test');

insert into application (id, team_slug, name, system_registration_id, security_package_id, fisma_rating,
        ato_status, ato_date, privacy_assessment, contains_pii, hosting_location, technical_contact, product_contact) values
    ('a0000000-0000-4000-8000-000000000001', 'benefits-notifications', 'Notify Service', 'SR-10442', 'SP-2231', 'moderate',
        'granted', '2026-03-01', 'completed', true, 'cloud_account', 'notify-oncall@example.test', 'pat.rivera@example.test'),
    ('a0000000-0000-4000-8000-000000000002', 'claims-status', 'Claim Status Tool', 'SR-10017', 'SP-1180', 'moderate',
        'granted', '2025-11-15', 'completed', true, 'internal_platform', 'cst-dev@example.test', 'jo.kim@example.test'),
    ('a0000000-0000-4000-8000-000000000003', 'claims-status', 'Claims Evidence Intake', 'SR-10231', 'SP-1181', 'moderate',
        'in_progress', null, 'in_progress', true, 'internal_platform', 'evidence-dev@example.test', 'jo.kim@example.test'),
    ('a0000000-0000-4000-8000-000000000004', 'appointments', 'Appointments Scheduler', 'SR-20110', 'SP-3302', 'moderate',
        'granted', '2026-01-20', 'completed', true, 'other_cloud', 'sched-dev@example.test', 'lee.morgan@example.test'),
    ('a0000000-0000-4000-8000-000000000005', 'veteran-profile', 'Profile Service', 'SR-30007', 'SP-4410', 'low',
        'granted', '2025-08-30', 'not_required', false, 'on_premises', 'profile-dev@example.test', 'sam.ortiz@example.test');

insert into topic (id, name, title, description, business_domain, lifecycle, removal_date, owning_team, source_systems,
        data_classification, contains_pii, partitions, retention_ms, cleanup_policy) values
    ('70000000-0000-4000-8000-000000000001', 'decision_letter_availability', 'Decision letter available',
        'Published when a claim decision letter is ready to view online, so notification systems can tell the person days before paper mail arrives.',
        'claims status', 'production', null, 'claims-status', '{Claim Status Tool}', 'moderate', true, 6, 604800000, 'delete'),
    ('70000000-0000-4000-8000-000000000002', 'submission_trace_form_status_change', 'Form submission status changed',
        'Published whenever a submitted form moves to a new processing status (received, in review, processed, rejected).',
        'claims status', 'production', null, 'claims-status', '{Claims Evidence Intake}', 'low', false, 3, 604800000, 'delete'),
    ('70000000-0000-4000-8000-000000000003', 'claim_status_change', 'Claim status changed',
        'Published when a disability or pension claim changes phase, with the new phase and the date it changed.',
        'claims status', 'production', null, 'claims-status', '{Claim Status Tool}', 'moderate', false, 6, 1209600000, 'delete'),
    ('70000000-0000-4000-8000-000000000004', 'appointment_booked', 'Appointment booked',
        'Published when a health appointment is booked, by the person or by staff, with its facility and time.',
        'appointments', 'production', null, 'appointments', '{Appointments Scheduler}', 'moderate', true, 6, 604800000, 'delete'),
    ('70000000-0000-4000-8000-000000000005', 'appointment_cancelled', 'Appointment cancelled',
        'Published when a booked appointment is cancelled, with who cancelled it and why.',
        'appointments', 'development', null, 'appointments', '{Appointments Scheduler}', 'low', false, 3, 604800000, 'delete'),
    ('70000000-0000-4000-8000-000000000006', 'contact_information_change', 'Contact information changed',
        'Published when a person updates their mailing address, email or phone number; the latest value per person is kept.',
        'profile', 'production', null, 'veteran-profile', '{Profile Service}', 'moderate', true, 12, 2592000000, 'compact'),
    ('70000000-0000-4000-8000-000000000007', 'prescription_refill_shipped', 'Prescription refill shipped',
        'Published when a mail-order prescription refill leaves the pharmacy, with its tracking number.',
        'health', 'experimental', null, 'pharmacy', '{Pharmacy Fulfilment}', 'moderate', true, 3, 604800000, 'delete'),
    ('70000000-0000-4000-8000-000000000008', 'notification_delivery_status', 'Notification delivery status',
        'Published for each email or text notification with its delivery outcome, so senders can retry or fall back to mail.',
        'benefits', 'development', null, 'benefits-notifications', '{Notify Service}', 'low', false, 3, 259200000, 'delete'),
    ('70000000-0000-4000-8000-000000000009', 'claim_evidence_uploaded', 'Claim evidence uploaded (legacy)',
        'Published when a document is uploaded to a claim through the legacy intake; replaced by submission_trace_form_status_change.',
        'claims status', 'deprecated', '2027-03-31', 'claims-status', '{Claims Evidence Intake}', 'low', false, 3, 604800000, 'delete');

-- The sandbox allows no PII or PHI: topics that contain PII are in production only.
insert into topic_environment (topic_id, environment)
select id, env from topic, unnest(array['sandbox', 'prod']) env where not contains_pii;
insert into topic_environment (topic_id, environment)
select id, 'prod' from topic where contains_pii;

-- Requests in every state, each with its approval slots, grants and audit entries.
insert into access_request (id, kind, state, version, requester, application_id, topic_id, environments,
        consumer_group, purpose, decision_reason, created_at, updated_at) values
    ('b0000000-0000-4000-8000-000000000001', 'consumer_access', 'active', 4, 'maria',
        'a0000000-0000-4000-8000-000000000001', '70000000-0000-4000-8000-000000000001', '{prod}',
        'notify-decision-letters', 'Email people when their decision letter is ready, 7-10 days before paper mail arrives.',
        null, now() - interval '30 days', now() - interval '27 days'),
    ('b0000000-0000-4000-8000-000000000002', 'consumer_access', 'submitted', 2, 'maria',
        'a0000000-0000-4000-8000-000000000001', '70000000-0000-4000-8000-000000000004', '{prod}',
        'notify-appointment-reminders', 'Send appointment reminders by text message the day before the appointment.',
        null, now() - interval '3 days', now() - interval '2 days'),
    ('b0000000-0000-4000-8000-000000000003', 'consumer_access', 'declined', 2, 'maria',
        'a0000000-0000-4000-8000-000000000002', '70000000-0000-4000-8000-000000000006', '{prod}',
        'claim-status-contact', 'Show the latest mailing address next to each claim.',
        'Claim Status Tool does not need mailing addresses; use the contact record attached to the claim.',
        now() - interval '20 days', now() - interval '19 days'),
    ('b0000000-0000-4000-8000-000000000004', 'consumer_access', 'changes_requested', 2, 'maria',
        'a0000000-0000-4000-8000-000000000001', '70000000-0000-4000-8000-000000000003', '{sandbox}',
        'claims', 'Tell people by email when their claim moves to the next phase.',
        'Please use a consumer group named notify-claim-status, following our naming convention.',
        now() - interval '6 days', now() - interval '5 days'),
    ('b0000000-0000-4000-8000-000000000005', 'producer_access', 'withdrawn', 2, 'omar',
        'a0000000-0000-4000-8000-000000000003', '70000000-0000-4000-8000-000000000009', '{sandbox}',
        null, 'Keep publishing legacy upload events until the new intake is live.',
        null, now() - interval '12 days', now() - interval '11 days'),
    ('b0000000-0000-4000-8000-000000000006', 'consumer_access', 'draft', 1, 'maria',
        'a0000000-0000-4000-8000-000000000001', '70000000-0000-4000-8000-000000000008', '{sandbox}',
        'notify-delivery-feedback', 'Retry failed notifications by mail when email delivery fails.',
        null, now() - interval '1 day', now() - interval '1 day'),
    ('b0000000-0000-4000-8000-000000000008', 'producer_access', 'active', 4, 'maria',
        'a0000000-0000-4000-8000-000000000002', '70000000-0000-4000-8000-000000000001', '{prod}',
        null, 'Publish decision letter availability from the claim status tool as letters are generated.',
        null, now() - interval '60 days', now() - interval '58 days'),
    ('b0000000-0000-4000-8000-000000000007', 'consumer_access', 'submitted', 1, 'omar',
        'a0000000-0000-4000-8000-000000000002', '70000000-0000-4000-8000-000000000005', '{sandbox,prod}',
        'claim-status-appointments', 'Show upcoming exam appointments on the claim status page.',
        null, now() - interval '1 day', now() - interval '1 day'),
    -- Active in prod; dev/traffic.py writes and reads with these applications' credentials.
    ('b0000000-0000-4000-8000-000000000009', 'producer_access', 'active', 4, 'maria',
        'a0000000-0000-4000-8000-000000000002', '70000000-0000-4000-8000-000000000003', '{prod}',
        null, 'Publish every claim phase change from the claim status tool as it happens.',
        null, now() - interval '45 days', now() - interval '43 days'),
    ('b0000000-0000-4000-8000-00000000000a', 'consumer_access', 'active', 4, 'maria',
        'a0000000-0000-4000-8000-000000000001', '70000000-0000-4000-8000-000000000003', '{prod}',
        'notify-claim-status', 'Tell people by email when their claim moves to the next phase.',
        null, now() - interval '40 days', now() - interval '38 days');

insert into approval_slot (request_id, slot, team_slug, reason, decided_by, decision, decision_reason, decided_at) values
    ('b0000000-0000-4000-8000-000000000001', 'owning_team', 'claims-status', 'The topic is owned by team claims-status, who decide who may use their events.', 'omar', 'approved', null, now() - interval '29 days'),
    ('b0000000-0000-4000-8000-000000000001', 'governance', null, 'Governance reviews every grant of access to events.', 'gary', 'approved', null, now() - interval '28 days'),
    ('b0000000-0000-4000-8000-000000000001', 'second_governance', null, 'The topic carries Moderate data that includes PII, so a second governance approver must agree.', 'nina', 'approved', null, now() - interval '27 days'),
    ('b0000000-0000-4000-8000-000000000002', 'owning_team', 'appointments', 'The topic is owned by team appointments, who decide who may use their events.', null, null, null, null),
    ('b0000000-0000-4000-8000-000000000002', 'governance', null, 'Governance reviews every grant of access to events.', 'gary', 'approved', null, now() - interval '2 days'),
    ('b0000000-0000-4000-8000-000000000002', 'second_governance', null, 'The topic carries Moderate data that includes PII, so a second governance approver must agree.', null, null, null, null),
    ('b0000000-0000-4000-8000-000000000003', 'owning_team', 'veteran-profile', 'The topic is owned by team veteran-profile, who decide who may use their events.', null, null, null, null),
    ('b0000000-0000-4000-8000-000000000003', 'governance', null, 'Governance reviews every grant of access to events.', 'nina', 'declined', 'Claim Status Tool does not need mailing addresses; use the contact record attached to the claim.', now() - interval '19 days'),
    ('b0000000-0000-4000-8000-000000000003', 'second_governance', null, 'The topic carries Moderate data that includes PII, so a second governance approver must agree.', null, null, null, null),
    ('b0000000-0000-4000-8000-000000000004', 'owning_team', 'claims-status', 'The topic is owned by team claims-status, who decide who may use their events.', 'omar', 'changes_requested', 'Please use a consumer group named notify-claim-status, following our naming convention.', now() - interval '5 days'),
    ('b0000000-0000-4000-8000-000000000004', 'governance', null, 'Governance reviews every grant of access to events.', null, null, null, null),
    ('b0000000-0000-4000-8000-000000000004', 'second_governance', null, 'The topic carries Moderate data, so a second governance approver must agree.', null, null, null, null),
    ('b0000000-0000-4000-8000-000000000005', 'owning_team', 'claims-status', 'The topic is owned by team claims-status, who decide who may use their events.', null, null, null, null),
    ('b0000000-0000-4000-8000-000000000005', 'governance', null, 'Governance reviews every grant of access to events.', null, null, null, null),
    ('b0000000-0000-4000-8000-000000000006', 'owning_team', 'benefits-notifications', 'The topic is owned by team benefits-notifications, who decide who may use their events.', null, null, null, null),
    ('b0000000-0000-4000-8000-000000000006', 'governance', null, 'Governance reviews every grant of access to events.', null, null, null, null),
    ('b0000000-0000-4000-8000-000000000008', 'owning_team', 'claims-status', 'The topic is owned by team claims-status, who decide who may use their events.', 'omar', 'approved', null, now() - interval '59 days'),
    ('b0000000-0000-4000-8000-000000000008', 'governance', null, 'Governance reviews every grant of access to events.', 'gary', 'approved', null, now() - interval '59 days'),
    ('b0000000-0000-4000-8000-000000000008', 'second_governance', null, 'The topic carries Moderate data that includes PII, so a second governance approver must agree.', 'nina', 'approved', null, now() - interval '58 days'),
    ('b0000000-0000-4000-8000-000000000007', 'owning_team', 'appointments', 'The topic is owned by team appointments, who decide who may use their events.', null, null, null, null),
    ('b0000000-0000-4000-8000-000000000007', 'governance', null, 'Governance reviews every grant of access to events.', null, null, null, null),
    ('b0000000-0000-4000-8000-000000000009', 'owning_team', 'claims-status', 'The topic is owned by team claims-status, who decide who may use their events.', 'omar', 'approved', null, now() - interval '44 days'),
    ('b0000000-0000-4000-8000-000000000009', 'governance', null, 'Governance reviews every grant of access to events.', 'gary', 'approved', null, now() - interval '44 days'),
    ('b0000000-0000-4000-8000-000000000009', 'second_governance', null, 'The topic carries Moderate data, so a second governance approver must agree.', 'nina', 'approved', null, now() - interval '43 days'),
    ('b0000000-0000-4000-8000-00000000000a', 'owning_team', 'claims-status', 'The topic is owned by team claims-status, who decide who may use their events.', 'omar', 'approved', null, now() - interval '39 days'),
    ('b0000000-0000-4000-8000-00000000000a', 'governance', null, 'Governance reviews every grant of access to events.', 'gary', 'approved', null, now() - interval '39 days'),
    ('b0000000-0000-4000-8000-00000000000a', 'second_governance', null, 'The topic carries Moderate data, so a second governance approver must agree.', 'nina', 'approved', null, now() - interval '38 days');

insert into access_grant (id, request_id, topic_id, application_id, role, environment, consumer_group) values
    (gen_random_uuid(), 'b0000000-0000-4000-8000-000000000001', '70000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 'consumer', 'prod', 'notify-decision-letters'),
    (gen_random_uuid(), 'b0000000-0000-4000-8000-000000000008', '70000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000002', 'producer', 'prod', null),
    (gen_random_uuid(), 'b0000000-0000-4000-8000-000000000009', '70000000-0000-4000-8000-000000000003', 'a0000000-0000-4000-8000-000000000002', 'producer', 'prod', null),
    (gen_random_uuid(), 'b0000000-0000-4000-8000-00000000000a', '70000000-0000-4000-8000-000000000003', 'a0000000-0000-4000-8000-000000000001', 'consumer', 'prod', 'notify-claim-status');

-- Decision letters come at least every minute while letters are being generated: the demo's
-- traffic writes a burst and stops, so the topic turns silent.
insert into topic_health_setting (topic_id, expected_interval_seconds, updated_by) values
    ('70000000-0000-4000-8000-000000000001', 60, 'omar');

-- Their applications' Kafka principals. Passwords are set when a team's next request is applied
-- (or rotated); the reconciler creates the ACLs and topics on the local clusters at start.
insert into kafka_principal (application_id, environment, principal) values
    ('a0000000-0000-4000-8000-000000000001', 'sandbox', 'benefits-notifications.notify-service.sandbox'),
    ('a0000000-0000-4000-8000-000000000001', 'prod', 'benefits-notifications.notify-service.prod'),
    ('a0000000-0000-4000-8000-000000000002', 'sandbox', 'claims-status.claim-status-tool.sandbox'),
    ('a0000000-0000-4000-8000-000000000002', 'prod', 'claims-status.claim-status-tool.prod');

-- The audit trail of those requests, in order. The chain trigger links and hashes each row.
insert into audit_log (actor, action, entity_type, entity_id, before, after, prev_hash, hash)
select actor, action, 'access_request', entity_id, before::jsonb, after::jsonb, '', ''
from (values
    (-12, 'maria', 'request.submitted', 'b0000000-0000-4000-8000-000000000009', null, '{"state":"submitted"}'),
    (-11, 'omar', 'request.approved', 'b0000000-0000-4000-8000-000000000009', '{"state":"submitted"}', '{"state":"submitted","slot":"owning_team"}'),
    (-10, 'gary', 'request.approved', 'b0000000-0000-4000-8000-000000000009', '{"state":"submitted"}', '{"state":"submitted","slot":"governance"}'),
    (-9, 'nina', 'request.approved', 'b0000000-0000-4000-8000-000000000009', '{"state":"submitted"}', '{"state":"approved","slot":"second_governance"}'),
    (-8, 'maria', 'request.submitted', 'b0000000-0000-4000-8000-00000000000a', null, '{"state":"submitted"}'),
    (-7, 'omar', 'request.approved', 'b0000000-0000-4000-8000-00000000000a', '{"state":"submitted"}', '{"state":"submitted","slot":"owning_team"}'),
    (-6, 'gary', 'request.approved', 'b0000000-0000-4000-8000-00000000000a', '{"state":"submitted"}', '{"state":"submitted","slot":"governance"}'),
    (-5, 'nina', 'request.approved', 'b0000000-0000-4000-8000-00000000000a', '{"state":"submitted"}', '{"state":"approved","slot":"second_governance"}'),
    (-4, 'maria', 'request.submitted', 'b0000000-0000-4000-8000-000000000008', null, '{"state":"submitted"}'),
    (-3, 'omar', 'request.approved', 'b0000000-0000-4000-8000-000000000008', '{"state":"submitted"}', '{"state":"submitted","slot":"owning_team"}'),
    (-2, 'gary', 'request.approved', 'b0000000-0000-4000-8000-000000000008', '{"state":"submitted"}', '{"state":"submitted","slot":"governance"}'),
    (-1, 'nina', 'request.approved', 'b0000000-0000-4000-8000-000000000008', '{"state":"submitted"}', '{"state":"approved","slot":"second_governance"}'),
    (1, 'maria', 'request.submitted', 'b0000000-0000-4000-8000-000000000001', null, '{"state":"submitted"}'),
    (2, 'omar', 'request.approved', 'b0000000-0000-4000-8000-000000000001', '{"state":"submitted"}', '{"state":"submitted","slot":"owning_team"}'),
    (3, 'gary', 'request.approved', 'b0000000-0000-4000-8000-000000000001', '{"state":"submitted"}', '{"state":"submitted","slot":"governance"}'),
    (4, 'nina', 'request.approved', 'b0000000-0000-4000-8000-000000000001', '{"state":"submitted"}', '{"state":"approved","slot":"second_governance"}'),
    (5, 'omar', 'request.submitted', 'b0000000-0000-4000-8000-000000000005', null, '{"state":"submitted"}'),
    (6, 'omar', 'request.withdrawn', 'b0000000-0000-4000-8000-000000000005', '{"state":"submitted"}', '{"state":"withdrawn"}'),
    (7, 'maria', 'request.submitted', 'b0000000-0000-4000-8000-000000000003', null, '{"state":"submitted"}'),
    (8, 'nina', 'request.declined', 'b0000000-0000-4000-8000-000000000003', '{"state":"submitted"}', '{"state":"declined","slot":"governance","reason":"Claim Status Tool does not need mailing addresses; use the contact record attached to the claim."}'),
    (9, 'maria', 'request.submitted', 'b0000000-0000-4000-8000-000000000004', null, '{"state":"submitted"}'),
    (10, 'omar', 'request.changes_requested', 'b0000000-0000-4000-8000-000000000004', '{"state":"submitted"}', '{"state":"changes_requested","slot":"owning_team","reason":"Please use a consumer group named notify-claim-status, following our naming convention."}'),
    (11, 'maria', 'request.submitted', 'b0000000-0000-4000-8000-000000000002', null, '{"state":"submitted"}'),
    (12, 'gary', 'request.approved', 'b0000000-0000-4000-8000-000000000002', '{"state":"submitted"}', '{"state":"submitted","slot":"governance"}'),
    (13, 'maria', 'request.created', 'b0000000-0000-4000-8000-000000000006', null, '{"state":"draft"}'),
    (14, 'omar', 'request.submitted', 'b0000000-0000-4000-8000-000000000007', null, '{"state":"submitted"}')
) as entries(seq, actor, action, entity_id, before, after)
order by seq;

-- Schemas: the claim status value schema (Avro) and the delivery status value schema (JSON Schema).
insert into schema_text (format, canonical, original) values
    ('avro', '{"doc":"A disability or pension claim moved to a new phase.","fields":[{"doc":"The claim''s id in the claims system.","name":"claim_id","type":"string"},{"doc":"The phase the claim entered.","name":"phase","type":{"name":"ClaimPhase","symbols":["RECEIVED","EVIDENCE_GATHERING","REVIEW","DECISION","COMPLETE"],"type":"enum"}},{"doc":"The day the phase changed.","name":"changed_on","type":{"logicalType":"date","type":"int"}},{"default":null,"doc":"A short note for the person, if any.","name":"note","type":["null","string"]}],"name":"ClaimStatusChanged","namespace":"bus.claims","type":"record"}', '{
  "type": "record",
  "name": "ClaimStatusChanged",
  "namespace": "bus.claims",
  "doc": "A disability or pension claim moved to a new phase.",
  "fields": [
    {
      "name": "claim_id",
      "type": "string",
      "doc": "The claim''s id in the claims system."
    },
    {
      "name": "phase",
      "type": {
        "type": "enum",
        "name": "ClaimPhase",
        "symbols": [
          "RECEIVED",
          "EVIDENCE_GATHERING",
          "REVIEW",
          "DECISION",
          "COMPLETE"
        ]
      },
      "doc": "The phase the claim entered."
    },
    {
      "name": "changed_on",
      "type": {
        "type": "int",
        "logicalType": "date"
      },
      "doc": "The day the phase changed."
    },
    {
      "name": "note",
      "type": [
        "null",
        "string"
      ],
      "default": null,
      "doc": "A short note for the person, if any."
    }
  ]
}'),
    ('json', '{"$schema":"https://json-schema.org/draft/2020-12/schema","additionalProperties":false,"properties":{"attempts":{"description":"Tries so far.","minimum":1,"type":"integer"},"channel":{"description":"How it was sent.","enum":["email","sms"],"type":"string"},"delivered":{"description":"Whether the provider confirmed delivery.","type":"boolean"},"notification_id":{"description":"The notification''s id.","format":"uuid","type":"string"}},"required":["notification_id","channel","delivered"],"title":"NotificationDeliveryStatus","type":"object"}', '{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "NotificationDeliveryStatus",
  "type": "object",
  "properties": {
    "notification_id": {
      "type": "string",
      "format": "uuid",
      "description": "The notification''s id."
    },
    "channel": {
      "type": "string",
      "enum": [
        "email",
        "sms"
      ],
      "description": "How it was sent."
    },
    "delivered": {
      "type": "boolean",
      "description": "Whether the provider confirmed delivery."
    },
    "attempts": {
      "type": "integer",
      "minimum": 1,
      "description": "Tries so far."
    }
  },
  "required": [
    "notification_id",
    "channel",
    "delivered"
  ],
  "additionalProperties": false
}');
insert into schema_subject (subject, topic_id, compatibility) values
    ('claim_status_change-value', '70000000-0000-4000-8000-000000000003', 'BACKWARD'),
    ('notification_delivery_status-value', '70000000-0000-4000-8000-000000000008', 'FULL');
insert into schema_version (subject, version, schema_id)
select 'claim_status_change-value', 1, id from schema_text where format = 'avro' and canonical = '{"doc":"A disability or pension claim moved to a new phase.","fields":[{"doc":"The claim''s id in the claims system.","name":"claim_id","type":"string"},{"doc":"The phase the claim entered.","name":"phase","type":{"name":"ClaimPhase","symbols":["RECEIVED","EVIDENCE_GATHERING","REVIEW","DECISION","COMPLETE"],"type":"enum"}},{"doc":"The day the phase changed.","name":"changed_on","type":{"logicalType":"date","type":"int"}},{"default":null,"doc":"A short note for the person, if any.","name":"note","type":["null","string"]}],"name":"ClaimStatusChanged","namespace":"bus.claims","type":"record"}'
union all
select 'notification_delivery_status-value', 1, id from schema_text where format = 'json' and canonical = '{"$schema":"https://json-schema.org/draft/2020-12/schema","additionalProperties":false,"properties":{"attempts":{"description":"Tries so far.","minimum":1,"type":"integer"},"channel":{"description":"How it was sent.","enum":["email","sms"],"type":"string"},"delivered":{"description":"Whether the provider confirmed delivery.","type":"boolean"},"notification_id":{"description":"The notification''s id.","format":"uuid","type":"string"}},"required":["notification_id","channel","delivered"],"title":"NotificationDeliveryStatus","type":"object"}';

commit;
