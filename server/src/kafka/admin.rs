//! The Kafka administration the portal performs: topics, ACLs and SCRAM credentials.
//!
//! Topics go through rdkafka's safe `AdminClient`. ACLs (`acls`), SCRAM credentials
//! (`scram`), incremental config changes and the committed offsets of groups exist only in
//! librdkafka's C API: the raw calls are wrapped once, in `ffi`, the only module of the server
//! allowed `unsafe`. It hands back owned values; what they mean (which errors are transient,
//! which refusals are benign) is decided here, in safe code. Every call gets its own result
//! queue, polled on a blocking thread for at most the operation timeout. Passwords never reach a
//! log or an error message.
//!
//! Writes are acknowledged once the KRaft controller commits them; brokers apply them a moment
//! later, so a read right after a write (`describe_acls`, `scram_users`, `describe_topic`, or a
//! client using a new ACL or credential) may briefly still see the old state.

mod acls;
#[expect(
    unsafe_code,
    reason = "the raw librdkafka calls; each unsafe block states why it is sound"
)]
mod ffi;
mod scram;

pub use acls::{AclBinding, AclFilter, AclOperation, AclPermission, PatternType, ResourceType};
pub use ffi::list_offsets_in_place;

use ffi::{CallError, GroupAnswer, NativeError};
use rdkafka::ClientConfig;
use rdkafka::admin::{
    AdminClient, AdminOptions, NewPartitions, NewTopic, ResourceSpecifier, TopicReplication,
};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode as Code};
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Extra wait beyond the request timeout, so librdkafka reports its own timeout first.
const POLL_MARGIN: Duration = Duration::from_secs(2);
const NOT_AUTHORIZED: &[Code] = &[
    Code::TopicAuthorizationFailed,
    Code::GroupAuthorizationFailed,
    Code::ClusterAuthorizationFailed,
    Code::TransactionalIdAuthorizationFailed,
    Code::DelegationTokenAuthorizationFailed,
    Code::SaslAuthenticationFailed,
    Code::Authentication,
];
/// Errors that say nothing about the request itself: no answer, or a cluster not ready yet.
const TRANSIENT: &[Code] = &[
    Code::OperationTimedOut,
    Code::TimedOutQueue,
    Code::AllBrokersDown,
    Code::BrokerTransportFailure,
    Code::Resolve,
    Code::RequestTimedOut,
    Code::NetworkException,
    Code::BrokerNotAvailable,
    Code::LeaderNotAvailable,
    Code::NotLeaderForPartition,
    Code::NotController,
    Code::CoordinatorNotAvailable,
    Code::NotCoordinator,
    Code::CoordinatorLoadInProgress,
    Code::NotEnoughReplicas,
    Code::KafkaStorageError,
    Code::ThrottlingQuotaExceeded,
];

type Admin = AdminClient<DefaultClientContext>;

/// Administers one cluster as the portal's principal. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct KafkaAdmin {
    client: Arc<Admin>,
    timeout: Duration,
}

/// A topic to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: i32,
    pub replication_factor: i32,
    pub configs: Vec<(String, String)>,
}

/// A topic as it exists on the cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicState {
    pub partitions: usize,
    pub configs: BTreeMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("the cluster did not answer in time")]
    Unreachable,
    #[error("the cluster refused the portal: not authorized")]
    NotAuthorized,
    #[error("the cluster refused the request: {0}")]
    Refused(String),
    #[error("the Kafka client failed: {0}")]
    Client(String),
}

impl AdminError {
    /// Whether retrying later may succeed. Retriable broker errors (no controller yet, leader
    /// elections, throttling...) are reported as `Unreachable`, so this is exactly that variant.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unreachable)
    }

    fn from_code(code: Code, message: &str, retriable: bool) -> Self {
        if NOT_AUTHORIZED.contains(&code) {
            Self::NotAuthorized
        } else if retriable || TRANSIENT.contains(&code) {
            Self::Unreachable
        } else if message.is_empty() {
            Self::Refused(code.to_string())
        } else {
            Self::Refused(message.to_owned())
        }
    }

    /// An error librdkafka reported, classified like any other.
    fn from_native(error: &NativeError) -> Self {
        Self::from_code(error.code, &error.message, error.retriable)
    }

    fn from_kafka(error: &KafkaError) -> Self {
        match error.rdkafka_error_code() {
            Some(code) => Self::from_code(code, "", false),
            None => Self::Client(error.to_string()),
        }
    }
}

impl From<CallError> for AdminError {
    fn from(error: CallError) -> Self {
        match error {
            CallError::Client(message) => Self::Client(message),
            CallError::NoAnswer => Self::Unreachable,
            CallError::Failed(error) => Self::from_native(&error),
        }
    }
}

impl KafkaAdmin {
    /// From a librdkafka config (`server::kafka::client_config(env)` gives the portal's admin
    /// principal). Each request waits at most `timeout`.
    pub fn new(config: &ClientConfig, timeout: Duration) -> Result<Self, AdminError> {
        let client: Admin = config
            .create()
            .map_err(|e| AdminError::Client(format!("creating the admin client: {e}")))?;
        let client = Arc::new(client);
        Ok(Self { client, timeout })
    }

    /// Number of brokers in the cluster (metadata).
    pub async fn broker_count(&self) -> Result<usize, AdminError> {
        let count = self
            .blocking(|client, timeout| {
                let metadata = client.inner().fetch_metadata(None, timeout);
                Ok(metadata
                    .map_err(|e| AdminError::from_kafka(&e))?
                    .brokers()
                    .len())
            })
            .await?;
        if count == 0 {
            Err(AdminError::Unreachable)
        } else {
            Ok(count)
        }
    }

    /// All topic names (metadata), excluding internal ones starting with "__".
    pub async fn list_topics(&self) -> Result<Vec<String>, AdminError> {
        let topics = self.topic_partitions().await?.into_keys();
        Ok(topics.filter(|name| !name.starts_with("__")).collect())
    }

    /// Topic as it exists: partitions count and the given config keys' current values (keys
    /// without a value are left out); None when absent.
    pub async fn describe_topic(
        &self,
        name: &str,
        config_keys: &[&str],
    ) -> Result<Option<TopicState>, AdminError> {
        // Whole-cluster metadata: asking for one topic could auto-create it on some clusters.
        let Some(partitions) = self.topic_partitions().await?.remove(name) else {
            return Ok(None);
        };
        let mut configs = BTreeMap::new();
        if !config_keys.is_empty() {
            let topic = ResourceSpecifier::Topic(name);
            let results = self.run(self.client.describe_configs([&topic], &self.options()));
            for result in results.await? {
                let resource = match result {
                    Ok(resource) => resource,
                    Err(Code::UnknownTopicOrPartition) => return Ok(None),
                    Err(code) => return Err(AdminError::from_code(code, "", false)),
                };
                for key in config_keys {
                    if let Some(value) = resource.get(key).and_then(|e| e.value.clone()) {
                        configs.insert((*key).to_owned(), value);
                    }
                }
            }
        }
        Ok(Some(TopicState {
            partitions,
            configs,
        }))
    }

    /// Creates the topic; Ok(false) (not an error) when it already exists.
    pub async fn create_topic(&self, spec: &TopicSpec) -> Result<bool, AdminError> {
        let replication = TopicReplication::Fixed(spec.replication_factor);
        let topic = (spec.configs.iter()).fold(
            NewTopic::new(&spec.name, spec.partitions, replication),
            |t, (k, v)| t.set(k, v),
        );
        let results = self
            .run(self.client.create_topics([&topic], &self.options()))
            .await?;
        first_result(results, Code::TopicAlreadyExists)
    }

    /// Deletes the topic; Ok when it does not exist.
    pub async fn delete_topic(&self, name: &str) -> Result<(), AdminError> {
        let results = self
            .run(self.client.delete_topics(&[name], &self.options()))
            .await?;
        first_result(results, Code::UnknownTopicOrPartition).map(drop)
    }

    /// Raises the partition count to `total`; Ok when it already has that many.
    pub async fn add_partitions(&self, name: &str, total: usize) -> Result<(), AdminError> {
        let partitions = NewPartitions::new(name, total);
        let results = self.run(
            self.client
                .create_partitions([&partitions], &self.options()),
        );
        if first_result(results.await?, Code::InvalidPartitions)? {
            return Ok(());
        }
        // Refused: already that many, or more. The broker's metadata may lag the controller's.
        let deadline = Instant::now() + self.timeout;
        loop {
            let current = self.topic_partitions().await?.get(name).copied();
            match current {
                Some(current) if current == total => return Ok(()),
                Some(current) if current > total || Instant::now() >= deadline => {
                    return Err(AdminError::Refused(format!(
                        "the topic has {current} partitions; it cannot have {total}"
                    )));
                }
                None if Instant::now() >= deadline => {
                    return Err(AdminError::Refused(format!("no topic {name}")));
                }
                _ => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }

    /// IncrementalAlterConfigs SET for each (key, value) on a topic.
    pub async fn set_topic_configs(
        &self,
        name: &str,
        configs: &[(String, String)],
    ) -> Result<(), AdminError> {
        if configs.is_empty() {
            return Ok(());
        }
        let name = ffi::cstring(name)?;
        let configs = (configs.iter())
            .map(|(k, v)| Ok((ffi::cstring(k)?, ffi::cstring(v)?)))
            .collect::<Result<Vec<_>, CallError>>()?;
        self.blocking(move |client, timeout| {
            first_error(ffi::alter_topic_configs(client, timeout, &name, &configs)?)
        })
        .await
    }

    /// Partition counts of every topic, by name.
    async fn topic_partitions(&self) -> Result<BTreeMap<String, usize>, AdminError> {
        self.blocking(|client, timeout| {
            let metadata = client.inner().fetch_metadata(None, timeout);
            let metadata = metadata.map_err(|e| AdminError::from_kafka(&e))?;
            let topics = metadata.topics().iter().filter(|t| t.error().is_none());
            Ok(topics
                .map(|t| (t.name().to_owned(), t.partitions().len()))
                .collect())
        })
        .await
    }

    /// The committed offsets of each group, as `(topic, partition, offset)` (partitions without
    /// a committed offset are left out). One ListConsumerGroupOffsets request per group (librdkafka
    /// takes one group per call), all sent at once on one queue and collected together; a group
    /// that failed gets its own error.
    pub async fn committed_offsets(
        &self,
        groups: Vec<String>,
    ) -> Result<Vec<GroupOffsets>, AdminError> {
        if groups.is_empty() {
            return Ok(Vec::new());
        }
        let names = groups
            .iter()
            .map(|g| ffi::cstring(g))
            .collect::<Result<Vec<_>, _>>()?;
        self.blocking(move |client, timeout| {
            let answers = ffi::list_group_offsets(client, timeout, &names)?;
            Ok(group_offsets(&groups, answers))
        })
        .await
    }

    fn options(&self) -> AdminOptions {
        let timeout = Some(self.timeout);
        AdminOptions::new()
            .request_timeout(timeout)
            .operation_timeout(timeout)
    }

    /// Awaits a safe `AdminClient` operation, for at most the timeout.
    async fn run<T>(
        &self,
        operation: impl Future<Output = KafkaResult<T>>,
    ) -> Result<T, AdminError> {
        let result = tokio::time::timeout(self.timeout + POLL_MARGIN, operation).await;
        result
            .map_err(|_| AdminError::Unreachable)?
            .map_err(|e| AdminError::from_kafka(&e))
    }

    /// Runs blocking librdkafka work off the async runtime.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Admin, Duration) -> Result<T, AdminError> + Send + 'static,
    ) -> Result<T, AdminError> {
        let (client, timeout) = (Arc::clone(&self.client), self.timeout);
        tokio::task::spawn_blocking(move || work(&client, timeout))
            .await
            .map_err(|e| AdminError::Client(format!("the admin task failed: {e}")))?
    }
}

/// The outcome of a one-item safe admin call: Ok(true) done, Ok(false) refused with `benign`.
fn first_result<T>(
    results: Vec<Result<T, (String, Code)>>,
    benign: Code,
) -> Result<bool, AdminError> {
    match results.into_iter().next() {
        Some(Ok(_)) => Ok(true),
        Some(Err((_, code))) if code == benign => Ok(false),
        Some(Err((_, code))) => Err(AdminError::from_code(code, "", false)),
        None => Err(AdminError::Client(
            "the cluster answered with no result".into(),
        )),
    }
}

impl fmt::Debug for KafkaAdmin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaAdmin")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// The first error of a call's per-item errors, classified; Ok when every item succeeded.
fn first_error(errors: impl IntoIterator<Item = Option<NativeError>>) -> Result<(), AdminError> {
    match errors.into_iter().flatten().next() {
        Some(error) => Err(AdminError::from_native(&error)),
        None => Ok(()),
    }
}

/// `(topic, partition, committed offset)` of one group.
pub type Committed = Vec<(String, i32, i64)>;

/// The committed offsets of one consumer group.
#[derive(Debug)]
pub struct GroupOffsets {
    pub group: String,
    pub offsets: Result<Committed, AdminError>,
}

/// One entry per group asked, in the order asked: its committed offsets (partitions without one,
/// or that failed, left out), its own error, or `Unreachable` when no answer named it.
fn group_offsets(groups: &[String], answers: Vec<GroupAnswer>) -> Vec<GroupOffsets> {
    let mut answers: BTreeMap<String, Result<Committed, AdminError>> = answers
        .into_iter()
        .map(|answer| {
            let offsets = match answer.partitions {
                Ok(partitions) => Ok(partitions
                    .into_iter()
                    .filter(|p| p.offset >= 0 && p.error == Code::NoError)
                    .map(|p| (p.topic, p.partition, p.offset))
                    .collect()),
                Err(error) => Err(AdminError::from_native(&error)),
            };
            (answer.group, offsets)
        })
        .collect();
    groups
        .iter()
        .map(|group| GroupOffsets {
            group: group.clone(),
            offsets: answers
                .remove(group)
                .unwrap_or(Err(AdminError::Unreachable)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::ffi::PartitionOffset;
    use super::*;

    fn native(code: Code, message: &str, retriable: bool) -> NativeError {
        NativeError {
            code,
            message: message.to_owned(),
            retriable,
        }
    }

    #[test]
    fn errors_are_classified_by_code() {
        for code in NOT_AUTHORIZED {
            // Even when librdkafka calls it retriable: retrying will not authorize the portal.
            let error = AdminError::from_code(*code, "denied", true);
            assert!(matches!(error, AdminError::NotAuthorized), "{code:?}");
        }
        for code in TRANSIENT {
            let error = AdminError::from_code(*code, "later", false);
            assert!(error.is_transient(), "{code:?}");
        }
        let retriable = AdminError::from_code(Code::InvalidConfig, "busy", true);
        assert!(retriable.is_transient());
        let refused = AdminError::from_code(Code::InvalidConfig, "bad retention.ms", false);
        assert!(matches!(&refused, AdminError::Refused(m) if m == "bad retention.ms"));
        assert!(!refused.is_transient());
        // Without a message, the code's own text is what the operator sees.
        let bare = AdminError::from_code(Code::InvalidPartitions, "", false);
        assert!(
            matches!(&bare, AdminError::Refused(m) if *m == Code::InvalidPartitions.to_string())
        );
    }

    #[test]
    fn call_errors_map_onto_admin_errors() {
        let client = AdminError::from(CallError::Client("invalid ACL: x".into()));
        assert!(matches!(&client, AdminError::Client(m) if m == "invalid ACL: x"));
        assert!(!client.is_transient());
        assert!(AdminError::from(CallError::NoAnswer).is_transient());
        let failed = CallError::Failed(native(Code::ClusterAuthorizationFailed, "no", false));
        assert!(matches!(
            AdminError::from(failed),
            AdminError::NotAuthorized
        ));
        let failed = CallError::Failed(native(Code::InvalidRequest, "", true));
        assert!(AdminError::from(failed).is_transient());
    }

    #[test]
    fn the_first_item_error_fails_the_call() {
        assert!(first_error(Vec::new()).is_ok());
        assert!(first_error([None, None]).is_ok());
        let errors = [
            None,
            Some(native(Code::InvalidConfig, "first", false)),
            Some(native(Code::TopicAuthorizationFailed, "second", false)),
        ];
        let error = first_error(errors).expect_err("an item failed");
        assert!(
            matches!(&error, AdminError::Refused(m) if m == "first"),
            "{error:?}"
        );
    }

    #[test]
    fn a_benign_refusal_is_not_an_error() {
        type Results = Vec<Result<String, (String, Code)>>;
        let done: Results = vec![Ok("t".into())];
        assert!(matches!(
            first_result(done, Code::TopicAlreadyExists),
            Ok(true)
        ));
        let exists: Results = vec![Err(("t".into(), Code::TopicAlreadyExists))];
        assert!(matches!(
            first_result(exists, Code::TopicAlreadyExists),
            Ok(false)
        ));
        let other: Results = vec![Err(("t".into(), Code::PolicyViolation))];
        let error = first_result(other, Code::TopicAlreadyExists).expect_err("refused");
        assert!(matches!(error, AdminError::Refused(_)), "{error:?}");
        let none: Results = Vec::new();
        let error = first_result(none, Code::TopicAlreadyExists).expect_err("no result");
        assert!(matches!(error, AdminError::Client(_)), "{error:?}");
    }

    #[test]
    fn committed_offsets_keep_the_order_asked_and_only_real_offsets() {
        let partition = |topic: &str, partition, offset, error| PartitionOffset {
            topic: topic.to_owned(),
            partition,
            offset,
            error,
        };
        let answers = vec![
            GroupAnswer {
                group: "b".into(),
                partitions: Err(native(Code::GroupAuthorizationFailed, "no", false)),
            },
            GroupAnswer {
                group: "a".into(),
                partitions: Ok(vec![
                    partition("orders", 0, 42, Code::NoError),
                    // No committed offset (-1001, librdkafka's INVALID).
                    partition("orders", 1, -1001, Code::NoError),
                    partition("orders", 2, 7, Code::UnknownTopicOrPartition),
                    partition("payments", 0, 0, Code::NoError),
                ]),
            },
        ];
        let asked = ["a", "b", "c"].map(String::from);
        let offsets = group_offsets(&asked, answers);
        let groups: Vec<&str> = offsets.iter().map(|g| g.group.as_str()).collect();
        assert_eq!(groups, ["a", "b", "c"]);
        assert_eq!(
            offsets[0].offsets.as_ref().expect("answered"),
            &vec![("orders".to_owned(), 0, 42), ("payments".to_owned(), 0, 0)]
        );
        assert!(matches!(offsets[1].offsets, Err(AdminError::NotAuthorized)));
        // A group no answer named timed out.
        assert!(matches!(offsets[2].offsets, Err(AdminError::Unreachable)));
    }
}
