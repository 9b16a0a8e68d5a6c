use crate::helpers::settings;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord};
use server::config::KafkaEnvironmentSettings;
use server::kafka::{ClusterCheckError, check_cluster, client_config, client_config_as};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(10);
/// A principal bootstrapped on the local clusters with credentials and no ACLs at all.
const UNPRIVILEGED: (&str, &str) = ("unprivileged", "unprivileged-secret");

fn environments() -> Vec<(app::domain::EnvironmentName, KafkaEnvironmentSettings)> {
    settings()
        .environments()
        .into_iter()
        .map(|(name, env)| (name.clone(), env.clone()))
        .collect()
}

fn unique_topic(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

async fn create_topic_as_portal(env: &KafkaEnvironmentSettings, topic: &str) {
    let admin: AdminClient<DefaultClientContext> =
        client_config(env).create().expect("admin client");
    let results = admin
        .create_topics(
            &[NewTopic::new(topic, 1, TopicReplication::Fixed(1))],
            &AdminOptions::new().operation_timeout(Some(TIMEOUT)),
        )
        .await
        .expect("create topics request");
    for result in results {
        result.expect("the portal's principal may create topics");
    }
}

async fn delete_topic_as_portal(env: &KafkaEnvironmentSettings, topic: &str) {
    let admin: AdminClient<DefaultClientContext> =
        client_config(env).create().expect("admin client");
    let _ = admin
        .delete_topics(
            &[topic],
            &AdminOptions::new().operation_timeout(Some(TIMEOUT)),
        )
        .await;
}

#[tokio::test]
async fn the_portal_connects_to_every_cluster_with_scram() {
    for (name, env) in environments() {
        let info = check_cluster(client_config(&env), TIMEOUT)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(info.brokers, 1, "{name}");
    }
}

#[tokio::test]
async fn a_wrong_password_is_refused() {
    for (name, env) in environments() {
        let config = client_config_as(&env, &env.sasl_username, "wrong-password");
        let result = check_cluster(config, Duration::from_secs(5)).await;
        assert_eq!(
            result,
            Err(ClusterCheckError::AuthenticationFailed),
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_principal_without_acls_cannot_create_a_topic() {
    let (_, env) = environments().remove(0);
    let topic = unique_topic("unprivileged_create");
    let admin: AdminClient<DefaultClientContext> =
        client_config_as(&env, UNPRIVILEGED.0, UNPRIVILEGED.1)
            .create()
            .expect("admin client");
    let results = admin
        .create_topics(
            &[NewTopic::new(&topic, 1, TopicReplication::Fixed(1))],
            &AdminOptions::new().operation_timeout(Some(TIMEOUT)),
        )
        .await
        .expect("the request itself is answered");
    let error = results
        .into_iter()
        .next()
        .expect("one result")
        .expect_err("creating a topic without ACLs must fail");
    assert!(
        matches!(
            error.1,
            RDKafkaErrorCode::TopicAuthorizationFailed
                | RDKafkaErrorCode::ClusterAuthorizationFailed
        ),
        "unexpected error {:?}",
        error.1
    );
}

#[tokio::test]
async fn a_principal_without_acls_cannot_produce() {
    let (_, env) = environments().remove(0);
    let topic = unique_topic("unprivileged_produce");
    create_topic_as_portal(&env, &topic).await;

    let producer: FutureProducer = client_config_as(&env, UNPRIVILEGED.0, UNPRIVILEGED.1)
        .set("message.timeout.ms", "10000")
        .create()
        .expect("producer");
    let result = producer
        .send(
            FutureRecord::to(&topic).key("k").payload("must not arrive"),
            Duration::from_secs(10),
        )
        .await;
    delete_topic_as_portal(&env, &topic).await;

    let (error, _) = result.expect_err("producing without ACLs must fail");
    assert!(
        matches!(
            error,
            KafkaError::MessageProduction(RDKafkaErrorCode::TopicAuthorizationFailed)
        ),
        "unexpected error {error:?}"
    );
}
