//! `server::kafka::admin` against the sandbox cluster of the local stack.

use crate::helpers::settings;
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use secrecy::SecretString;
use server::config::KafkaEnvironmentSettings;
use server::kafka::admin::{
    AclBinding, AclFilter, AclOperation, AclPermission, AdminError, KafkaAdmin, PatternType,
    ResourceType, TopicSpec,
};
use server::kafka::{ClusterCheckError, check_cluster, client_config, client_config_as};
use std::future::Future;
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(10);
/// How long the broker may take to apply a new ACL or credential.
const PROPAGATION: Duration = Duration::from_secs(15);

fn sandbox() -> KafkaEnvironmentSettings {
    let settings = settings();
    let (_, env) = settings
        .environments()
        .into_iter()
        .find(|(name, _)| *name == "sandbox")
        .expect("a sandbox environment");
    env.clone()
}

fn admin(env: &KafkaEnvironmentSettings) -> KafkaAdmin {
    KafkaAdmin::new(&client_config(env), TIMEOUT).expect("admin client")
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

fn topic_spec(name: &str) -> TopicSpec {
    TopicSpec {
        name: name.to_owned(),
        partitions: 1,
        replication_factor: 1,
        configs: vec![("retention.ms".into(), "3600000".into())],
    }
}

fn acl(
    resource_type: ResourceType,
    name: &str,
    pattern: PatternType,
    principal: &str,
    operation: AclOperation,
) -> AclBinding {
    AclBinding {
        resource_type,
        resource_name: name.to_owned(),
        pattern,
        principal: principal.to_owned(),
        host: "*".into(),
        operation,
        permission: AclPermission::Allow,
    }
}

/// Retries `attempt` until it returns true, for at most `PROPAGATION`.
async fn eventually<F: Future<Output = bool>>(what: &str, mut attempt: impl FnMut() -> F) {
    let deadline = Instant::now() + PROPAGATION;
    while !attempt().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn delete_topic(env: &KafkaEnvironmentSettings, topic: &str) {
    let admin: AdminClient<DefaultClientContext> =
        client_config(env).create().expect("admin client");
    let _ = admin
        .delete_topics(
            &[topic],
            &AdminOptions::new().operation_timeout(Some(TIMEOUT)),
        )
        .await;
}

/// Produces one record as `user`; the error code when refused.
async fn produce_as(
    env: &KafkaEnvironmentSettings,
    user: &str,
    password: &str,
    topic: &str,
) -> Result<(), RDKafkaErrorCode> {
    let producer: FutureProducer = client_config_as(env, user, password)
        .set("message.timeout.ms", "5000")
        .create()
        .expect("producer");
    producer
        .send(
            FutureRecord::to(topic).key("k").payload("v"),
            Duration::from_secs(5),
        )
        .await
        .map(|_| ())
        .map_err(|(error, _)| match error {
            KafkaError::MessageProduction(code) => code,
            other => panic!("unexpected producer error {other:?}"),
        })
}

#[test]
fn kafka_admin_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<KafkaAdmin>();
}

#[test]
fn kafka_admin_acl_bindings_read_as_words() {
    let binding = acl(
        ResourceType::Topic,
        "orders",
        PatternType::Literal,
        "User:x",
        AclOperation::Read,
    );
    assert_eq!(
        binding.to_string(),
        "ALLOW User:x READ on topic orders (literal)"
    );
}

#[tokio::test]
async fn kafka_admin_creates_and_changes_topics() {
    let env = sandbox();
    let admin = admin(&env);
    let name = unique("admin-topic");
    let spec = topic_spec(&name);

    assert!(admin.broker_count().await.expect("brokers") >= 1);
    assert!(admin.create_topic(&spec).await.expect("create"), "created");
    assert!(
        !admin.create_topic(&spec).await.expect("create again"),
        "already exists"
    );
    // A new topic reaches every broker's metadata a moment after the controller created it.
    eventually("the new topic is listed", || async {
        admin.list_topics().await.expect("list").contains(&name)
    })
    .await;
    assert!(
        admin
            .list_topics()
            .await
            .expect("list")
            .iter()
            .all(|t| !t.starts_with("__"))
    );

    let state = admin
        .describe_topic(&name, &["retention.ms", "cleanup.policy"])
        .await
        .expect("describe")
        .expect("the topic exists");
    assert_eq!(state.partitions, 1);
    assert_eq!(
        state.configs.get("retention.ms").map(String::as_str),
        Some("3600000")
    );
    assert_eq!(
        state.configs.get("cleanup.policy").map(String::as_str),
        Some("delete")
    );

    admin
        .set_topic_configs(&name, &[("retention.ms".into(), "7200000".into())])
        .await
        .expect("set configs");
    admin
        .add_partitions(&name, 3)
        .await
        .expect("add partitions");
    admin.add_partitions(&name, 3).await.expect("already has 3");
    eventually("the changes are visible", || async {
        let state = admin
            .describe_topic(&name, &["retention.ms"])
            .await
            .expect("describe")
            .expect("exists");
        state.partitions == 3
            && state.configs.get("retention.ms").map(String::as_str) == Some("7200000")
    })
    .await;

    assert_eq!(
        admin
            .describe_topic(&unique("absent"), &["retention.ms"])
            .await
            .expect("describe"),
        None
    );
    delete_topic(&env, &name).await;
}

#[tokio::test]
async fn kafka_admin_manages_scram_users_and_producer_acls() {
    let env = sandbox();
    let admin = admin(&env);
    let user = unique("admin-user");
    let password = format!("pw-{}", uuid::Uuid::new_v4().simple());
    let principal = format!("User:{user}");
    let topic = unique("admin-acl-topic");
    admin
        .create_topic(&topic_spec(&topic))
        .await
        .expect("create topic");

    assert!(
        admin
            .scram_users(&[&user])
            .await
            .expect("describe")
            .is_empty()
    );
    admin
        .upsert_scram_credential(&user, &SecretString::from(password.clone()))
        .await
        .expect("upsert");
    // Brokers apply metadata changes a moment after the controller commits them.
    eventually("the credential is listed", || async {
        admin
            .scram_users(&[&user, "nobody-here"])
            .await
            .expect("describe")
            == [user.as_str()]
    })
    .await;
    eventually("the new user can authenticate", || async {
        check_cluster(
            client_config_as(&env, &user, &password),
            Duration::from_secs(5),
        )
        .await
        .is_ok()
    })
    .await;

    assert_eq!(
        produce_as(&env, &user, &password, &topic).await,
        Err(RDKafkaErrorCode::TopicAuthorizationFailed)
    );

    let mut grants = vec![
        acl(
            ResourceType::Topic,
            &topic,
            PatternType::Literal,
            &principal,
            AclOperation::Write,
        ),
        acl(
            ResourceType::Topic,
            &topic,
            PatternType::Literal,
            &principal,
            AclOperation::Describe,
        ),
    ];
    grants.sort();
    let started = Instant::now();
    admin.create_acls(&grants).await.expect("create ACLs");
    eprintln!("create_acls round trip: {:?}", started.elapsed());
    admin
        .create_acls(&grants)
        .await
        .expect("creating again is fine");

    let by_principal = AclFilter {
        principal: Some(principal.clone()),
        ..AclFilter::default()
    };
    eventually("the ACLs are listed", || async {
        admin.describe_acls(&by_principal).await.expect("describe") == grants
    })
    .await;
    assert_eq!(
        admin
            .describe_acls(&AclFilter::from(&grants[0]))
            .await
            .expect("describe"),
        grants[..1]
    );
    eventually("the producer is allowed", || async {
        produce_as(&env, &user, &password, &topic).await.is_ok()
    })
    .await;

    assert_eq!(
        admin
            .delete_acls(std::slice::from_ref(&by_principal))
            .await
            .expect("delete"),
        2
    );
    eventually("the ACLs are gone", || async {
        admin
            .describe_acls(&by_principal)
            .await
            .expect("describe")
            .is_empty()
    })
    .await;
    eventually("the producer is refused again", || async {
        produce_as(&env, &user, &password, &topic).await
            == Err(RDKafkaErrorCode::TopicAuthorizationFailed)
    })
    .await;

    admin
        .delete_scram_credential(&user)
        .await
        .expect("delete credential");
    admin
        .delete_scram_credential(&user)
        .await
        .expect("deleting again is fine");
    eventually("the credential is gone", || async {
        admin
            .scram_users(&[&user])
            .await
            .expect("describe")
            .is_empty()
    })
    .await;
    eventually("the user can no longer authenticate", || async {
        check_cluster(
            client_config_as(&env, &user, &password),
            Duration::from_secs(5),
        )
        .await
            == Err(ClusterCheckError::AuthenticationFailed)
    })
    .await;
    delete_topic(&env, &topic).await;
}

#[tokio::test]
async fn kafka_admin_acls_let_a_consumer_read_with_a_prefixed_group() {
    let env = sandbox();
    let admin = admin(&env);
    let user = unique("admin-consumer");
    let password = format!("pw-{}", uuid::Uuid::new_v4().simple());
    let principal = format!("User:{user}");
    let topic = unique("admin-consume-topic");
    let group_prefix = unique("admin-group");
    admin
        .create_topic(&topic_spec(&topic))
        .await
        .expect("create topic");
    admin
        .upsert_scram_credential(&user, &SecretString::from(password.clone()))
        .await
        .expect("upsert");
    let grants = [
        acl(
            ResourceType::Topic,
            &topic,
            PatternType::Literal,
            &principal,
            AclOperation::Read,
        ),
        acl(
            ResourceType::Topic,
            &topic,
            PatternType::Literal,
            &principal,
            AclOperation::Describe,
        ),
        acl(
            ResourceType::Group,
            &group_prefix,
            PatternType::Prefixed,
            &principal,
            AclOperation::Read,
        ),
    ];
    admin.create_acls(&grants).await.expect("create ACLs");
    produce_as(
        &env,
        &env.sasl_username,
        secrecy::ExposeSecret::expose_secret(&env.sasl_password),
        &topic,
    )
    .await
    .expect("the portal produces");

    eventually("the consumer reads the record", || async {
        let consumer: StreamConsumer = client_config_as(&env, &user, &password)
            .set("group.id", format!("{group_prefix}-1"))
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            .create()
            .expect("consumer");
        consumer.subscribe(&[&topic]).expect("subscribe");
        match tokio::time::timeout(Duration::from_secs(10), consumer.recv()).await {
            Ok(Ok(message)) => message.payload() == Some(b"v".as_slice()),
            _ => false,
        }
    })
    .await;

    assert_eq!(
        admin
            .delete_acls(&[AclFilter {
                principal: Some(principal),
                ..AclFilter::default()
            }])
            .await
            .expect("delete"),
        3
    );
    admin
        .delete_scram_credential(&user)
        .await
        .expect("delete credential");
    delete_topic(&env, &topic).await;
}

#[tokio::test]
async fn kafka_admin_maps_errors() {
    let env = sandbox();
    let mut config = client_config(&env);
    config.set("bootstrap.servers", "127.0.0.1:1");
    let unreachable = KafkaAdmin::new(&config, Duration::from_secs(2)).expect("admin client");
    let started = Instant::now();
    let error = unreachable
        .broker_count()
        .await
        .expect_err("nobody answers");
    assert!(matches!(error, AdminError::Unreachable), "{error:?}");
    assert!(error.is_transient());
    let error = unreachable
        .create_acls(&[acl(
            ResourceType::Topic,
            "t",
            PatternType::Literal,
            "User:x",
            AclOperation::Read,
        )])
        .await
        .expect_err("nobody answers");
    assert!(matches!(error, AdminError::Unreachable), "{error:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );

    let admin = admin(&env);
    let topic = unique("admin-bad-config");
    admin
        .create_topic(&topic_spec(&topic))
        .await
        .expect("create topic");
    let error = admin
        .set_topic_configs(&topic, &[("cleanup.policy".into(), "nonsense".into())])
        .await
        .expect_err("an invalid value");
    assert!(matches!(error, AdminError::Refused(_)), "{error:?}");
    assert!(!error.is_transient());
    assert!(error.to_string().contains("cleanup.policy"), "{error}");
    delete_topic(&env, &topic).await;
}
