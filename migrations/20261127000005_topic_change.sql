-- Owning teams propose new settings for their topics (more partitions, retention, cleanup
-- policy); governance decides, and the portal applies them to every environment of the topic.

alter type request_kind add value 'topic_change';

-- The settings before and after, as the request was made.
alter table access_request add column topic_change jsonb;
-- (kind::text, because a new enum value cannot be used in the transaction that adds it.)
alter table access_request add constraint access_request_topic_change_check
    check ((kind::text = 'topic_change') = (topic_change is not null));
