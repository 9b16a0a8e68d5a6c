//! Getting an application connected: what a client needs to reach one environment with the
//! access a request granted, and ready-to-paste configurations for the clients teams use (Java,
//! Python's confluent-kafka, Go's confluent-kafka-go, kcat). Passwords never appear in them:
//! each reads `KAFKA_PASSWORD` from the environment, so a snippet can be shared and committed.

use crate::domain::{EnvironmentName, GrantRole};
use serde::{Deserialize, Serialize};

/// How clients reach one cluster, as configured per environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterAddress {
    /// The address clients outside the platform use (may differ from the portal's own).
    pub bootstrap_servers: String,
    pub security_protocol: String,
    pub sasl_mechanism: String,
}

/// Everything one application needs to produce or consume one topic in one environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientSettings {
    pub environment: EnvironmentName,
    pub address: ClusterAddress,
    /// The SCRAM user name.
    pub principal: String,
    pub role: GrantRole,
    pub topic: String,
    /// For consumers: the group (or the prefix every group must start with).
    pub consumer_group: Option<String>,
    pub group_is_prefix: bool,
    /// The portal's Confluent-compatible schema registry.
    pub registry_url: String,
}

/// The clients the portal writes configurations for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    Java,
    Python,
    Go,
    Kcat,
}

impl Client {
    pub const ALL: [Client; 4] = [Client::Java, Client::Python, Client::Go, Client::Kcat];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Java => "java",
            Self::Python => "python",
            Self::Go => "go",
            Self::Kcat => "kcat",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Java => "Java (Apache Kafka clients)",
            Self::Python => "Python (confluent-kafka)",
            Self::Go => "Go (confluent-kafka-go)",
            Self::Kcat => "kcat (command line)",
        }
    }

    /// The oldest release that signs in to these clusters, in words (Kafka 4 brokers, SCRAM): Kafka 4
    /// dropped the protocol versions of older clients, and librdkafka before 2.12 is refused
    /// with "invalid credentials" (Debian 12's kcat 1.7.1 links librdkafka 2.0.2).
    pub fn minimum_version(self) -> &'static str {
        match self {
            Self::Java => {
                "kafka-clients 3.5 or later (for reading the password from the environment; Kafka 4 brokers refuse clients before 2.1)"
            }
            Self::Python => "confluent-kafka 2.12 or later",
            Self::Go => "confluent-kafka-go v2.12 or later",
            Self::Kcat => {
                "kcat built with librdkafka 2.12 or later (Debian 12's kcat 1.7.1 links librdkafka 2.0.2, which these clusters refuse)"
            }
        }
    }
}

/// A consumer group that starts with the prefix, for a grant of a prefix.
fn group_example(settings: &ClientSettings) -> String {
    match (&settings.consumer_group, settings.group_is_prefix) {
        (Some(group), true) => format!("{group}main"),
        (Some(group), false) => group.clone(),
        (None, _) => String::new(),
    }
}

impl ClientSettings {
    /// The configuration for `client`, ready to paste.
    pub fn snippet(&self, client: Client) -> String {
        match client {
            Client::Java => self.java(),
            Client::Python => self.python(),
            Client::Go => self.go(),
            Client::Kcat => self.kcat(),
        }
    }

    fn java(&self) -> String {
        let role_lines = match self.role {
            GrantRole::Producer => "\
# Every write acknowledged by all in-sync replicas, without duplicates on retry.
acks=all
enable.idempotence=true
key.serializer=org.apache.kafka.common.serialization.StringSerializer
value.serializer=org.apache.kafka.common.serialization.StringSerializer"
                .to_owned(),
            GrantRole::Consumer => format!(
                "\
group.id={group}
# A new group starts from the oldest event still kept; rebalances move few partitions.
auto.offset.reset=earliest
partition.assignment.strategy=org.apache.kafka.clients.consumer.CooperativeStickyAssignor
key.deserializer=org.apache.kafka.common.serialization.StringDeserializer
value.deserializer=org.apache.kafka.common.serialization.StringDeserializer",
                group = group_example(self)
            ),
        };
        format!(
            "\
# {topic} in {env}: client.properties (kafka-clients 3.5 or later).
# The password comes from the KAFKA_PASSWORD environment variable.
config.providers=env
config.providers.env.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider
bootstrap.servers={bootstrap}
security.protocol={protocol}
sasl.mechanism={mechanism}
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\
  username=\"{user}\" password=\"${{env:KAFKA_PASSWORD}}\";
{role_lines}
# Schema registry (Confluent serializers): the same user and password.
schema.registry.url={registry}
basic.auth.credentials.source=USER_INFO
basic.auth.user.info={user}:${{env:KAFKA_PASSWORD}}
",
            topic = self.topic,
            env = self.environment,
            bootstrap = self.address.bootstrap_servers,
            protocol = self.address.security_protocol,
            mechanism = self.address.sasl_mechanism,
            user = self.principal,
            registry = self.registry_url,
        )
    }

    fn python(&self) -> String {
        let common = format!(
            "\
# {topic} in {env} (confluent-kafka 2.12 or later: pip install \"confluent-kafka>=2.12\").
# The password comes from the KAFKA_PASSWORD environment variable.
import os
import sys

TOPIC = \"{topic}\"
config = {{
    \"bootstrap.servers\": \"{bootstrap}\",
    \"security.protocol\": \"{protocol}\",
    \"sasl.mechanism\": \"{mechanism}\",
    \"sasl.username\": \"{user}\",
    \"sasl.password\": os.environ[\"KAFKA_PASSWORD\"],
",
            topic = self.topic,
            env = self.environment,
            bootstrap = self.address.bootstrap_servers,
            protocol = self.address.security_protocol,
            mechanism = self.address.sasl_mechanism,
            user = self.principal,
        );
        let registry = format!(
            "\
# Schema registry (for AvroSerializer and friends): the same user and password.
registry = {{
    \"url\": \"{registry}\",
    \"basic.auth.user.info\": \"{user}:\" + os.environ[\"KAFKA_PASSWORD\"],
}}
",
            registry = self.registry_url,
            user = self.principal,
        );
        match self.role {
            GrantRole::Producer => format!(
                "\
{common}    # Every write acknowledged by all in-sync replicas, without duplicates on retry.
    \"acks\": \"all\",
    \"enable.idempotence\": True,
}}
{registry}
from confluent_kafka import Producer

failed = []


def delivered(error, message):
    if error is not None:
        failed.append(error)
    else:
        print(f\"delivered to {{message.topic()}} [{{message.partition()}}] at offset {{message.offset()}}\")


producer = Producer(config)
producer.produce(TOPIC, value=b'{{\"example\": true}}', on_delivery=delivered)
if producer.flush(30) > 0 or failed:
    sys.exit(f\"not delivered: {{failed or 'timed out'}}\")
"
            ),
            GrantRole::Consumer => format!(
                "\
{common}    \"group.id\": \"{group}\",
    # A new group starts from the oldest event still kept; rebalances move few partitions.
    \"auto.offset.reset\": \"earliest\",
    \"partition.assignment.strategy\": \"cooperative-sticky\",
}}
{registry}
from confluent_kafka import Consumer

consumer = Consumer(config)
consumer.subscribe([TOPIC])
try:
    while True:
        message = consumer.poll(1.0)
        if message is None:
            continue
        if message.error():
            sys.exit(f\"consumer error: {{message.error()}}\")
        print(message.topic(), message.partition(), message.offset(), message.value())
finally:
    consumer.close()
",
                group = group_example(self)
            ),
        }
    }

    fn go(&self) -> String {
        let role_lines = match self.role {
            GrantRole::Producer => "\
\t\t\"acks\":               \"all\",
\t\t\"enable.idempotence\": true,"
                .to_owned(),
            GrantRole::Consumer => format!(
                "\
\t\t\"group.id\":                      \"{}\",
\t\t\"auto.offset.reset\":             \"earliest\",
\t\t\"partition.assignment.strategy\": \"cooperative-sticky\",",
                group_example(self)
            ),
        };
        let constructor = match self.role {
            GrantRole::Producer => "kafka.NewProducer",
            GrantRole::Consumer => "kafka.NewConsumer",
        };
        format!(
            "\
// {topic} in {env} (confluent-kafka-go v2.12 or later).
// The password comes from the KAFKA_PASSWORD environment variable.
import (
\t\"os\"

\t\"github.com/confluentinc/confluent-kafka-go/v2/kafka\"
\t\"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry\"
)

func connect() (*kafka.{kind}, schemaregistry.Client, error) {{
\tclient, err := {constructor}(&kafka.ConfigMap{{
\t\t\"bootstrap.servers\": \"{bootstrap}\",
\t\t\"security.protocol\": \"{protocol}\",
\t\t\"sasl.mechanism\":    \"{mechanism}\",
\t\t\"sasl.username\":     \"{user}\",
\t\t\"sasl.password\":     os.Getenv(\"KAFKA_PASSWORD\"),
{role_lines}
\t}})
\tif err != nil {{
\t\treturn nil, nil, err
\t}}
\t// Schema registry: the same user and password.
\tregistry, err := schemaregistry.NewClient(schemaregistry.NewConfigWithBasicAuthentication(
\t\t\"{registry}\", \"{user}\", os.Getenv(\"KAFKA_PASSWORD\")))
\treturn client, registry, err
}}
",
            topic = self.topic,
            env = self.environment,
            kind = match self.role {
                GrantRole::Producer => "Producer",
                GrantRole::Consumer => "Consumer",
            },
            bootstrap = self.address.bootstrap_servers,
            protocol = self.address.security_protocol,
            mechanism = self.address.sasl_mechanism,
            user = self.principal,
            registry = self.registry_url,
        )
    }

    fn kcat(&self) -> String {
        let (mode, what) = match self.role {
            GrantRole::Producer => (
                format!("-P -t {}", self.topic),
                "writes each line of standard input as an event",
            ),
            GrantRole::Consumer => (
                format!("-G {} {}", group_example(self), self.topic),
                "reads as the consumer group, from the oldest event kept",
            ),
        };
        format!(
            "\
# {topic} in {env}: {what} (kcat built with librdkafka 2.12 or later).
# The password comes from the KAFKA_PASSWORD environment variable.
kcat -b {bootstrap} \\
  -X security.protocol={protocol} -X sasl.mechanism={mechanism} \\
  -X sasl.username={user} -X sasl.password=\"$KAFKA_PASSWORD\" \\
  {mode}
",
            topic = self.topic,
            env = self.environment,
            bootstrap = self.address.bootstrap_servers,
            protocol = self.address.security_protocol,
            mechanism = self.address.sasl_mechanism,
            user = self.principal,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(role: GrantRole) -> ClientSettings {
        ClientSettings {
            environment: EnvironmentName::parse("sandbox").expect("a valid name"),
            address: ClusterAddress {
                bootstrap_servers: "kafka.sandbox.example:9093".into(),
                security_protocol: "SASL_SSL".into(),
                sasl_mechanism: "SCRAM-SHA-512".into(),
            },
            principal: "claims-status.relay.sandbox".into(),
            role,
            topic: "orders_placed".into(),
            consumer_group: (role == GrantRole::Consumer).then(|| "claims-status.".into()),
            group_is_prefix: true,
            registry_url: "https://portal.example".into(),
        }
    }

    #[test]
    fn every_snippet_names_the_cluster_the_user_and_the_registry_but_no_password() {
        for role in [GrantRole::Producer, GrantRole::Consumer] {
            let s = settings(role);
            for client in Client::ALL {
                let text = s.snippet(client);
                for needed in [
                    "kafka.sandbox.example:9093",
                    "SASL_SSL",
                    "SCRAM-SHA-512",
                    "claims-status.relay.sandbox",
                    "KAFKA_PASSWORD",
                ] {
                    assert!(
                        text.contains(needed),
                        "{client:?} {role:?} lacks {needed}:\n{text}"
                    );
                }
                if client != Client::Kcat {
                    assert!(
                        text.contains("https://portal.example"),
                        "{client:?}: registry"
                    );
                }
            }
        }
    }

    #[test]
    fn consumers_get_a_group_within_their_prefix_and_producers_acks_all() {
        let consumer = settings(GrantRole::Consumer).snippet(Client::Python);
        assert!(
            consumer.contains("\"group.id\": \"claims-status.main\""),
            "{consumer}"
        );
        assert!(consumer.contains("auto.offset.reset"));
        let producer = settings(GrantRole::Producer).snippet(Client::Java);
        assert!(producer.contains("acks=all"));
        assert!(
            producer
                .contains("basic.auth.user.info=claims-status.relay.sandbox:${env:KAFKA_PASSWORD}")
        );
        assert!(!producer.contains("group.id"));
    }
}
