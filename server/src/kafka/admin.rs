//! The Kafka administration the portal performs: topics, ACLs and SCRAM credentials.
//!
//! Topics go through rdkafka's safe `AdminClient`. ACLs, SCRAM credentials and incremental config
//! changes exist only in librdkafka's C API: they are wrapped here, once. Every librdkafka object
//! is owned by an RAII guard ([`Owned`]), every call gets its own result queue, and that queue is
//! polled on a blocking thread for at most the operation timeout. Passwords never reach a log or
//! an error message.
//!
//! Writes are acknowledged once the KRaft controller commits them; brokers apply them a moment
//! later, so a read right after a write (`describe_acls`, `scram_users`, `describe_topic`, or a
//! client using a new ACL or credential) may briefly still see the old state.
#![expect(
    unsafe_code,
    reason = "the raw librdkafka calls below; each block states why it is sound"
)]

use rdkafka::ClientConfig;
use rdkafka::admin::{
    AdminClient, AdminOptions, NewPartitions, NewTopic, ResourceSpecifier, TopicReplication,
};
use rdkafka::bindings as rd;
use rdkafka::client::DefaultClientContext;
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode as Code};
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;
use std::ffi::{CStr, CString, c_char, c_int};
use std::fmt;
use std::future::Future;
use std::ptr::{self, NonNull};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// PBKDF2 iterations for new SCRAM-SHA-512 credentials (Kafka accepts 4096 to 16384).
// Kafka's own tools default to 4096 (its minimum for SCRAM-SHA-512). librdkafka derives the
// salted password with one HMAC per iteration: 8192 cost about 43 ms per password here.
const SCRAM_ITERATIONS: i32 = 4096;
const SHA_512: rd::rd_kafka_ScramMechanism_t =
    rd::rd_kafka_ScramMechanism_t::RD_KAFKA_SCRAM_MECHANISM_SHA_512;
/// Extra wait beyond the request timeout, so librdkafka reports its own timeout first.
const POLL_MARGIN: Duration = Duration::from_secs(2);
const NO_ERROR: rd::rd_kafka_resp_err_t = rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR;
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

/// One ACL: `permission principal operation` on a resource, from `host` (`*` for any).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AclBinding {
    pub resource_type: ResourceType,
    pub resource_name: String,
    pub pattern: PatternType,
    /// `User:name`.
    pub principal: String,
    pub host: String,
    pub operation: AclOperation,
    pub permission: AclPermission,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceType {
    Topic,
    Group,
    /// The cluster itself; its resource name is `kafka-cluster`.
    Cluster,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PatternType {
    Literal,
    Prefixed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AclOperation {
    All,
    Read,
    Write,
    Create,
    Delete,
    Alter,
    Describe,
    ClusterAction,
    DescribeConfigs,
    AlterConfigs,
    IdempotentWrite,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AclPermission {
    Allow,
    Deny,
}

/// Selects ACLs; `None` means "any". Any host matches. A `None` pattern is ANY (not MATCH): it
/// selects literal and prefixed bindings by their exact name, never by prefix matching.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AclFilter {
    pub resource_type: Option<ResourceType>,
    pub resource_name: Option<String>,
    pub pattern: Option<PatternType>,
    pub principal: Option<String>,
    pub operation: Option<AclOperation>,
    pub permission: Option<AclPermission>,
}

impl From<&AclBinding> for AclFilter {
    fn from(acl: &AclBinding) -> Self {
        Self {
            resource_type: Some(acl.resource_type),
            resource_name: Some(acl.resource_name.clone()),
            pattern: Some(acl.pattern),
            principal: Some(acl.principal.clone()),
            operation: Some(acl.operation),
            permission: Some(acl.permission),
        }
    }
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

    fn from_kafka(error: &KafkaError) -> Self {
        match error.rdkafka_error_code() {
            Some(code) => Self::from_code(code, "", false),
            None => Self::Client(error.to_string()),
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
        let name = cstring(name)?;
        let configs = (configs.iter())
            .map(|(k, v)| Ok((cstring(k)?, cstring(v)?)))
            .collect::<Result<Vec<_>, AdminError>>()?;
        self.blocking(move |client, timeout| {
            // SAFETY: `name` is NUL-terminated and copied; the new resource is ours.
            let resource = unsafe {
                let topic = rd::rd_kafka_ResourceType_t::RD_KAFKA_RESOURCE_TOPIC;
                let resource = rd::rd_kafka_ConfigResource_new(topic, name.as_ptr());
                Owned::new(resource, rd::rd_kafka_ConfigResource_destroy)?
            };
            for (key, value) in &configs {
                let set = rd::rd_kafka_AlterConfigOpType_t::RD_KAFKA_ALTER_CONFIG_OP_TYPE_SET;
                // SAFETY: the resource is live; key and value are NUL-terminated and copied. An
                // error returned is ours: its guard frees it after it is read.
                let error = unsafe {
                    let error = rd::rd_kafka_ConfigResource_add_incremental_config(
                        resource.as_ptr(),
                        key.as_ptr(),
                        set,
                        value.as_ptr(),
                    );
                    Owned::new(error, rd::rd_kafka_error_destroy)
                };
                if let Ok(error) = error {
                    // SAFETY: a live error object.
                    let error = unsafe { error_of(error.as_ptr()) };
                    return Err(
                        error.map_or_else(|| AdminError::Client("bad config".into()), |e| e.1)
                    );
                }
            }
            let mut resources = [resource.as_ptr()];
            call(
                client,
                timeout,
                rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_INCREMENTALALTERCONFIGS,
                // SAFETY: one live resource (copied by librdkafka); handle, options, queue live.
                |rk, options, queue| unsafe {
                    let (array, len) = (resources.as_mut_ptr(), resources.len());
                    rd::rd_kafka_IncrementalAlterConfigs(rk, array, len, options, queue);
                },
                rd::rd_kafka_event_IncrementalAlterConfigs_result,
                rd::rd_kafka_IncrementalAlterConfigs_result_resources,
                |resources| {
                    for &resource in resources {
                        // SAFETY: a resource result alive with its event; the string is copied.
                        let (code, message) = unsafe {
                            let message = rd::rd_kafka_ConfigResource_error_string(resource);
                            (rd::rd_kafka_ConfigResource_error(resource), string(message))
                        };
                        if code != NO_ERROR {
                            return Err(AdminError::from_code(code.into(), &message, false));
                        }
                    }
                    Ok(())
                },
            )
        })
        .await
    }

    /// Creates the bindings; creating an existing one again is not an error.
    pub async fn create_acls(&self, acls: &[AclBinding]) -> Result<(), AdminError> {
        if acls.is_empty() {
            return Ok(());
        }
        let specs = (acls.iter())
            .map(|acl| AclSpec::new(&AclFilter::from(acl), Some(&acl.host)))
            .collect::<Result<Vec<_>, _>>()?;
        self.blocking(move |client, timeout| {
            let bindings = (specs.iter())
                .map(|spec| spec.to_native(false))
                .collect::<Result<Vec<_>, _>>()?;
            let mut pointers: Vec<_> = bindings.iter().map(Owned::as_ptr).collect();
            call(
                client,
                timeout,
                rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_CREATEACLS,
                // SAFETY: live bindings owned by `bindings` (copied by librdkafka); handle,
                // options and queue are live.
                |rk, options, queue| unsafe {
                    let (array, len) = (pointers.as_mut_ptr(), pointers.len());
                    rd::rd_kafka_CreateAcls(rk, array, len, options, queue);
                },
                rd::rd_kafka_event_CreateAcls_result,
                rd::rd_kafka_CreateAcls_result_acls,
                |results| {
                    for &result in results {
                        // SAFETY: a result alive with its event, and so is its error.
                        if let Some((_, e)) =
                            unsafe { error_of(rd::rd_kafka_acl_result_error(result)) }
                        {
                            return Err(e);
                        }
                    }
                    Ok(())
                },
            )
        })
        .await
    }

    /// The bindings matching the filter, sorted. Bindings this module cannot represent (other
    /// resource types such as transactional ids) are left out.
    pub async fn describe_acls(&self, filter: &AclFilter) -> Result<Vec<AclBinding>, AdminError> {
        let spec = AclSpec::new(filter, None)?;
        self.blocking(move |client, timeout| {
            let native = spec.to_native(true)?;
            call(
                client,
                timeout,
                rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBEACLS,
                // SAFETY: a live filter (copied by librdkafka); handle, options, queue are live.
                |rk, options, queue| unsafe {
                    rd::rd_kafka_DescribeAcls(rk, native.as_ptr(), options, queue);
                },
                rd::rd_kafka_event_DescribeAcls_result,
                rd::rd_kafka_DescribeAcls_result_acls,
                |acls| {
                    // SAFETY: each binding is alive with its event.
                    let mut acls: Vec<_> = acls
                        .iter()
                        .filter_map(|&acl| unsafe { binding_from_native(acl) })
                        .collect();
                    acls.sort();
                    Ok(acls)
                },
            )
        })
        .await
    }

    /// Deletes every binding matching each filter; returns how many bindings were deleted.
    pub async fn delete_acls(&self, filters: &[AclFilter]) -> Result<usize, AdminError> {
        if filters.is_empty() {
            return Ok(0);
        }
        let specs = (filters.iter())
            .map(|filter| AclSpec::new(filter, None))
            .collect::<Result<Vec<_>, _>>()?;
        self.blocking(move |client, timeout| {
            let filters = (specs.iter())
                .map(|spec| spec.to_native(true))
                .collect::<Result<Vec<_>, _>>()?;
            let mut pointers: Vec<_> = filters.iter().map(Owned::as_ptr).collect();
            call(
                client,
                timeout,
                rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DELETEACLS,
                // SAFETY: live filters owned by `filters` (copied by librdkafka); handle,
                // options and queue are live.
                |rk, options, queue| unsafe {
                    let (array, len) = (pointers.as_mut_ptr(), pointers.len());
                    rd::rd_kafka_DeleteAcls(rk, array, len, options, queue);
                },
                rd::rd_kafka_event_DeleteAcls_result,
                rd::rd_kafka_DeleteAcls_result_responses,
                |responses| {
                    let mut deleted = 0;
                    for &response in responses {
                        // SAFETY: a response alive with its event, and so is its error; only
                        // the count of matching bindings is read.
                        unsafe {
                            let error = rd::rd_kafka_DeleteAcls_result_response_error(response);
                            if let Some((_, error)) = error_of(error) {
                                return Err(error);
                            }
                            let mut count = 0;
                            rd::rd_kafka_DeleteAcls_result_response_matching_acls(
                                response, &mut count,
                            );
                            deleted += count;
                        }
                    }
                    Ok(deleted)
                },
            )
        })
        .await
    }

    /// Creates or replaces the user's SCRAM-SHA-512 credential. librdkafka draws a random salt
    /// and computes the salted password; the password itself never leaves the client.
    pub async fn upsert_scram_credential(
        &self,
        user: &str,
        password: &SecretString,
    ) -> Result<(), AdminError> {
        if password.expose_secret().is_empty() {
            return Err(AdminError::Client(
                "a SCRAM password cannot be empty".into(),
            ));
        }
        let password = password.clone();
        self.alter_scram(user, move |user| {
            let bytes = password.expose_secret().as_bytes();
            // SAFETY: `user` is NUL-terminated; the password bytes are valid for their length;
            // both are copied. A NULL salt of size 0 makes librdkafka draw a random 64-byte salt.
            unsafe {
                rd::rd_kafka_UserScramCredentialUpsertion_new(
                    user,
                    SHA_512,
                    SCRAM_ITERATIONS,
                    bytes.as_ptr(),
                    bytes.len(),
                    ptr::null(),
                    0,
                )
            }
        })
        .await
    }

    /// Removes the user's SCRAM-SHA-512 credential; Ok if there is none.
    pub async fn delete_scram_credential(&self, user: &str) -> Result<(), AdminError> {
        // SAFETY: `user` is NUL-terminated and copied.
        self.alter_scram(user, |user| unsafe {
            rd::rd_kafka_UserScramCredentialDeletion_new(user, SHA_512)
        })
        .await
    }

    /// Which of these users have a SCRAM-SHA-512 credential (sorted).
    pub async fn scram_users(&self, users: &[&str]) -> Result<Vec<String>, AdminError> {
        if users.is_empty() {
            return Ok(Vec::new()); // librdkafka would describe every user.
        }
        let users = users
            .iter()
            .map(|u| cstring(u))
            .collect::<Result<Vec<_>, _>>()?;
        self.blocking(move |client, timeout| {
            let mut pointers: Vec<*const c_char> = users.iter().map(|u| u.as_ptr()).collect();
            call(
                client,
                timeout,
                rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBEUSERSCRAMCREDENTIALS,
                // SAFETY: NUL-terminated names owned by `users` (copied by librdkafka); handle,
                // options and queue are live.
                |rk, options, queue| unsafe {
                    let (array, len) = (pointers.as_mut_ptr(), pointers.len());
                    rd::rd_kafka_DescribeUserScramCredentials(rk, array, len, options, queue);
                },
                rd::rd_kafka_event_DescribeUserScramCredentials_result,
                rd::rd_kafka_DescribeUserScramCredentials_result_descriptions,
                |descriptions| {
                    let found = descriptions.iter();
                    // SAFETY: each description is alive with its event.
                    let found = found.map(|&user| unsafe { scram_user(user) });
                    let mut found = found
                        .filter_map(Result::transpose)
                        .collect::<Result<Vec<_>, _>>()?;
                    found.sort();
                    Ok(found)
                },
            )
        })
        .await
    }

    /// One AlterUserScramCredentials call with the alteration `make` builds for the user.
    async fn alter_scram(
        &self,
        user: &str,
        make: impl FnOnce(*const c_char) -> *mut rd::rd_kafka_UserScramCredentialAlteration_t
        + Send
        + 'static,
    ) -> Result<(), AdminError> {
        if user.is_empty() {
            return Err(AdminError::Client(
                "a SCRAM user name cannot be empty".into(),
            ));
        }
        let user = cstring(user)?;
        self.blocking(move |client, timeout| {
            let destroy = rd::rd_kafka_UserScramCredentialAlteration_destroy;
            // SAFETY: `make` returns a fresh alteration, ours to destroy, or null.
            let alteration = unsafe { Owned::new(make(user.as_ptr()), destroy)? };
            let mut alterations = [alteration.as_ptr()];
            call(
                client,
                timeout,
                rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_ALTERUSERSCRAMCREDENTIALS,
                // SAFETY: one live alteration (copied by librdkafka); handle, options, queue live.
                |rk, options, queue| unsafe {
                    let (array, len) = (alterations.as_mut_ptr(), alterations.len());
                    rd::rd_kafka_AlterUserScramCredentials(rk, array, len, options, queue);
                },
                rd::rd_kafka_event_AlterUserScramCredentials_result,
                rd::rd_kafka_AlterUserScramCredentials_result_responses,
                |responses| {
                    for &response in responses {
                        // SAFETY: a response alive with its event, and so is its error.
                        let error = unsafe {
                            error_of(
                                rd::rd_kafka_AlterUserScramCredentials_result_response_error(
                                    response,
                                ),
                            )
                        };
                        match error {
                            // Deleting a credential that does not exist.
                            Some((Code::ResourceNotFound, _)) | None => {}
                            Some((_, error)) => return Err(error),
                        }
                    }
                    Ok(())
                },
            )
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
            .map(|g| cstring(g))
            .collect::<Result<Vec<_>, _>>()?;
        self.blocking(move |client, timeout| list_group_offsets(client, timeout, &groups, &names))
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

impl fmt::Display for AclBinding {
    /// `ALLOW User:x READ on topic orders (literal)`, plus `from host h` unless any host.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (permission, operation) = (words(self.permission), words(self.operation));
        let (resource, pattern) = (words(self.resource_type), words(self.pattern));
        let (principal, name) = (&self.principal, &self.resource_name);
        let (permission, operation) = (permission.to_uppercase(), operation.to_uppercase());
        write!(
            f,
            "{permission} {principal} {operation} on {resource} {name} ({pattern})"
        )?;
        if self.host != "*" {
            write!(f, " from host {}", self.host)?;
        }
        Ok(())
    }
}

/// `ClusterAction` -> `cluster_action`.
fn words(value: impl fmt::Debug) -> String {
    let mut words = String::new();
    for (i, c) in format!("{value:?}").chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            words.push('_');
        }
        words.push(c.to_ascii_lowercase());
    }
    words
}

// ---------------------------------------------------------------------------------------------
// The raw librdkafka layer.

type Event = rd::rd_kafka_event_t;

/// A librdkafka object we own, freed exactly once by its destructor on drop.
struct Owned<T>(NonNull<T>, unsafe extern "C" fn(*mut T));

impl<T> Owned<T> {
    /// # Safety
    /// `ptr` is null or a live object owned by the caller and freed by `destroy`.
    unsafe fn new(ptr: *mut T, destroy: unsafe extern "C" fn(*mut T)) -> Result<Self, AdminError> {
        NonNull::new(ptr)
            .map(|ptr| Self(ptr, destroy))
            .ok_or_else(|| AdminError::Client("librdkafka returned no object".into()))
    }

    fn as_ptr(&self) -> *mut T {
        self.0.as_ptr()
    }
}

impl<T> Drop for Owned<T> {
    fn drop(&mut self) {
        // SAFETY: by construction we own the object and nobody else frees it.
        unsafe { (self.1)(self.0.as_ptr()) }
    }
}

/// Runs one admin request on its own queue, blocking until its result event arrives (or the
/// timeout passes), and hands the event's result items to `read` while the event is alive.
/// `submit` makes the C call with the client handle, the options and the queue; `result` and
/// `items` are the librdkafka accessors of this operation's result type and item array.
fn call<T, R>(
    client: &Admin,
    timeout: Duration,
    operation: rd::rd_kafka_admin_op_t,
    submit: impl FnOnce(
        *mut rd::rd_kafka_t,
        *const rd::rd_kafka_AdminOptions_t,
        *mut rd::rd_kafka_queue_t,
    ),
    result: unsafe extern "C" fn(*mut Event) -> *const Event,
    items: unsafe extern "C" fn(*const Event, *mut usize) -> *mut *const T,
    read: impl FnOnce(&[*const T]) -> Result<R, AdminError>,
) -> Result<R, AdminError> {
    let rk = client.inner().native_ptr();
    // SAFETY: `rk` is the live handle owned by `client`, borrowed for this whole function; the
    // new queue and options are ours.
    let (queue, options) = unsafe {
        let options = rd::rd_kafka_AdminOptions_new(rk, operation);
        let queue = Owned::new(rd::rd_kafka_queue_new(rk), rd::rd_kafka_queue_destroy)?;
        (
            queue,
            Owned::new(options, rd::rd_kafka_AdminOptions_destroy)?,
        )
    };
    let mut errstr: [c_char; 256] = [0; 256];
    // SAFETY: live options; `errstr` is writable for its length and stays NUL-terminated.
    unsafe {
        let (buffer, len) = (errstr.as_mut_ptr(), errstr.len());
        let ms = millis(timeout);
        if rd::rd_kafka_AdminOptions_set_request_timeout(options.as_ptr(), ms, buffer, len)
            != NO_ERROR
        {
            return Err(AdminError::Client(format!(
                "request timeout: {}",
                string(buffer)
            )));
        }
    }
    submit(rk, options.as_ptr(), queue.as_ptr());
    // SAFETY: the queue is live; an event it returns is ours to destroy. If we stop waiting, the
    // queue guard drops our reference and librdkafka discards the late result.
    let event = unsafe {
        let event = rd::rd_kafka_queue_poll(queue.as_ptr(), millis(timeout + POLL_MARGIN));
        Owned::new(event, rd::rd_kafka_event_destroy).map_err(|_| AdminError::Unreachable)?
    };
    // SAFETY: the event is live until the end of this function; its error string is copied, and
    // the result accessor returns null for an event of another type. The item array and its
    // `count` elements live as long as the event, which outlives `read`.
    unsafe {
        let code = rd::rd_kafka_event_error(event.as_ptr());
        if code != NO_ERROR {
            let message = string(rd::rd_kafka_event_error_string(event.as_ptr()));
            return Err(AdminError::from_code(code.into(), &message, false));
        }
        let result = result(event.as_ptr());
        if result.is_null() {
            return Err(AdminError::Client(
                "librdkafka answered with another event".into(),
            ));
        }
        let mut count = 0;
        let array = items(result, &mut count);
        if array.is_null() || count == 0 {
            return read(&[]);
        }
        read(std::slice::from_raw_parts(array, count))
    }
}

/// `(topic, partition, committed offset)` of one group.
pub type Committed = Vec<(String, i32, i64)>;

/// Lists offsets for every partition of `list`, answered in place: each element's offset holds the
/// timestamp to look up (or the END / BEGINNING sentinels) and, after the call, the offset found,
/// with a per-partition error where that partition failed. Unlike rdkafka's `offsets_for_times`,
/// one partition between leaders does not hide the answers of all the others. Returns the first
/// error librdkafka reported, if any.
pub fn list_offsets_in_place(
    consumer: &rdkafka::consumer::BaseConsumer,
    list: &mut rdkafka::TopicPartitionList,
    timeout: Duration,
) -> Option<Code> {
    use rdkafka::consumer::Consumer;
    // SAFETY: the client handle is live for the call and the list is ours (borrowed mutably);
    // librdkafka writes offsets and errors into the list's elements and keeps no reference.
    let code = unsafe {
        rd::rd_kafka_offsets_for_times(consumer.client().native_ptr(), list.ptr(), millis(timeout))
    };
    (code != NO_ERROR).then(|| code.into())
}

/// The committed offsets of one consumer group.
#[derive(Debug)]
pub struct GroupOffsets {
    pub group: String,
    pub offsets: Result<Committed, AdminError>,
}

/// Sends one ListConsumerGroupOffsets per group on a shared queue, then reads every answer.
fn list_group_offsets(
    client: &Admin,
    timeout: Duration,
    groups: &[String],
    names: &[CString],
) -> Result<Vec<GroupOffsets>, AdminError> {
    let rk = client.inner().native_ptr();
    let operation = rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS;
    // SAFETY: `rk` is the live handle owned by `client`, borrowed for this whole function; the
    // new queue and options are ours and freed by their guards.
    let (queue, options) = unsafe {
        let options = rd::rd_kafka_AdminOptions_new(rk, operation);
        let queue = Owned::new(rd::rd_kafka_queue_new(rk), rd::rd_kafka_queue_destroy)?;
        (
            queue,
            Owned::new(options, rd::rd_kafka_AdminOptions_destroy)?,
        )
    };
    let mut errstr: [c_char; 256] = [0; 256];
    // SAFETY: live options; `errstr` is writable for its length and stays NUL-terminated.
    unsafe {
        let (buffer, len) = (errstr.as_mut_ptr(), errstr.len());
        if rd::rd_kafka_AdminOptions_set_request_timeout(
            options.as_ptr(),
            millis(timeout),
            buffer,
            len,
        ) != NO_ERROR
        {
            return Err(AdminError::Client(format!(
                "request timeout: {}",
                string(buffer)
            )));
        }
    }
    for name in names {
        // SAFETY: the group name is NUL-terminated and copied; a null partition list asks for
        // every partition. The request object is copied by the call and freed by its guard; the
        // options and queue are live.
        unsafe {
            let request = Owned::new(
                rd::rd_kafka_ListConsumerGroupOffsets_new(name.as_ptr(), ptr::null()),
                rd::rd_kafka_ListConsumerGroupOffsets_destroy,
            )?;
            let mut requests = [request.as_ptr()];
            rd::rd_kafka_ListConsumerGroupOffsets(
                rk,
                requests.as_mut_ptr(),
                1,
                options.as_ptr(),
                queue.as_ptr(),
            );
        }
    }
    let deadline = Instant::now() + timeout + POLL_MARGIN;
    let mut answers: BTreeMap<String, Result<Committed, AdminError>> = BTreeMap::new();
    for _ in 0..names.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        // SAFETY: the queue is live; an event it returns is ours to destroy. Late results are
        // discarded by librdkafka when the queue guard drops our reference.
        let event = unsafe {
            let event = rd::rd_kafka_queue_poll(queue.as_ptr(), millis(left));
            match Owned::new(event, rd::rd_kafka_event_destroy) {
                Ok(event) => event,
                Err(_) => break,
            }
        };
        // SAFETY: the event is live until the end of this iteration; strings are copied, the
        // result accessor returns null for another event type, and the group results, their
        // partition lists and elements live as long as the event.
        unsafe {
            let code = rd::rd_kafka_event_error(event.as_ptr());
            if code != NO_ERROR {
                continue;
            }
            let result = rd::rd_kafka_event_ListConsumerGroupOffsets_result(event.as_ptr());
            if result.is_null() {
                continue;
            }
            let mut count = 0;
            let array = rd::rd_kafka_ListConsumerGroupOffsets_result_groups(result, &mut count);
            if array.is_null() {
                continue;
            }
            for &group in std::slice::from_raw_parts(array, count) {
                let name = string(rd::rd_kafka_group_result_name(group));
                if let Some((_, error)) = error_of(rd::rd_kafka_group_result_error(group)) {
                    answers.insert(name, Err(error));
                    continue;
                }
                let list = rd::rd_kafka_group_result_partitions(group);
                let mut offsets = Vec::new();
                if !list.is_null() && (*list).cnt > 0 && !(*list).elems.is_null() {
                    let count = usize::try_from((*list).cnt).unwrap_or(0);
                    for element in std::slice::from_raw_parts((*list).elems, count) {
                        if element.offset >= 0 && element.err == NO_ERROR {
                            offsets.push((
                                string(element.topic),
                                element.partition,
                                element.offset,
                            ));
                        }
                    }
                }
                answers.insert(name, Ok(offsets));
            }
        }
    }
    Ok(groups
        .iter()
        .map(|group| GroupOffsets {
            group: group.clone(),
            offsets: answers
                .remove(group)
                .unwrap_or(Err(AdminError::Unreachable)),
        })
        .collect())
}

/// The code and mapped error of a librdkafka error object, None when there is no error.
///
/// # Safety
/// `error` is null or a live error object.
unsafe fn error_of(error: *const rd::rd_kafka_error_t) -> Option<(Code, AdminError)> {
    if error.is_null() {
        return None;
    }
    // SAFETY: a live error object, per the contract; its string is copied.
    let (code, message, retriable) = unsafe {
        let message = string(rd::rd_kafka_error_string(error));
        (
            rd::rd_kafka_error_code(error),
            message,
            rd::rd_kafka_error_is_retriable(error) != 0,
        )
    };
    let code = Code::from(code);
    (code != Code::NoError).then(|| (code, AdminError::from_code(code, &message, retriable)))
}

/// The user of a SCRAM credentials description, if it has a SCRAM-SHA-512 credential.
///
/// # Safety
/// `description` is a live UserScramCredentialsDescription.
unsafe fn scram_user(
    description: *const rd::rd_kafka_UserScramCredentialsDescription_t,
) -> Result<Option<String>, AdminError> {
    use rd::rd_kafka_UserScramCredentialsDescription_error as error;
    use rd::rd_kafka_UserScramCredentialsDescription_scramcredentialinfo as info;
    use rd::rd_kafka_UserScramCredentialsDescription_scramcredentialinfo_count as info_count;
    use rd::rd_kafka_UserScramCredentialsDescription_user as user;
    // SAFETY: a live description, per the contract: its error, its infos (indexed below their
    // count) and its user name (copied) live as long as it does.
    unsafe {
        match error_of(error(description)) {
            Some((Code::ResourceNotFound, _)) => return Ok(None),
            Some((_, error)) => return Err(error),
            None => {}
        }
        let mut infos = (0..info_count(description)).map(|i| info(description, i));
        let sha512 =
            infos.any(|i| !i.is_null() && rd::rd_kafka_ScramCredentialInfo_mechanism(i) == SHA_512);
        Ok(sha512.then(|| string(user(description))))
    }
}

/// Copies a C string (empty for null; invalid UTF-8 replaced).
///
/// # Safety
/// `text` is null or a live NUL-terminated string.
unsafe fn string(text: *const c_char) -> String {
    if text.is_null() {
        return String::new();
    }
    // SAFETY: a live NUL-terminated string, per the contract.
    unsafe { CStr::from_ptr(text) }
        .to_string_lossy()
        .into_owned()
}

fn cstring(text: &str) -> Result<CString, AdminError> {
    CString::new(text).map_err(|_| AdminError::Client("a name contains a NUL character".into()))
}

fn millis(duration: Duration) -> c_int {
    c_int::try_from(duration.as_millis()).unwrap_or(c_int::MAX)
}

/// Maps a public enum to its librdkafka counterpart and back, variant by variant.
macro_rules! native_enum {
    ($rust:ident, $native:ident, $any:ident, { $($variant:ident = $c:ident,)* }) => {
        impl $rust {
            fn to_native(value: Option<Self>) -> rd::$native {
                match value {
                    None => rd::$native::$any,
                    $(Some(Self::$variant) => rd::$native::$c,)*
                }
            }

            fn from_native(value: rd::$native) -> Option<Self> {
                match value {
                    $(rd::$native::$c => Some(Self::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

native_enum!(ResourceType, rd_kafka_ResourceType_t, RD_KAFKA_RESOURCE_ANY, {
    Topic = RD_KAFKA_RESOURCE_TOPIC,
    Group = RD_KAFKA_RESOURCE_GROUP,
    Cluster = RD_KAFKA_RESOURCE_BROKER, // librdkafka's BROKER (4) is the ACL resource CLUSTER.
});
native_enum!(PatternType, rd_kafka_ResourcePatternType_t, RD_KAFKA_RESOURCE_PATTERN_ANY, {
    Literal = RD_KAFKA_RESOURCE_PATTERN_LITERAL,
    Prefixed = RD_KAFKA_RESOURCE_PATTERN_PREFIXED,
});
native_enum!(AclOperation, rd_kafka_AclOperation_t, RD_KAFKA_ACL_OPERATION_ANY, {
    All = RD_KAFKA_ACL_OPERATION_ALL,
    Read = RD_KAFKA_ACL_OPERATION_READ,
    Write = RD_KAFKA_ACL_OPERATION_WRITE,
    Create = RD_KAFKA_ACL_OPERATION_CREATE,
    Delete = RD_KAFKA_ACL_OPERATION_DELETE,
    Alter = RD_KAFKA_ACL_OPERATION_ALTER,
    Describe = RD_KAFKA_ACL_OPERATION_DESCRIBE,
    ClusterAction = RD_KAFKA_ACL_OPERATION_CLUSTER_ACTION,
    DescribeConfigs = RD_KAFKA_ACL_OPERATION_DESCRIBE_CONFIGS,
    AlterConfigs = RD_KAFKA_ACL_OPERATION_ALTER_CONFIGS,
    IdempotentWrite = RD_KAFKA_ACL_OPERATION_IDEMPOTENT_WRITE,
});
native_enum!(AclPermission, rd_kafka_AclPermissionType_t, RD_KAFKA_ACL_PERMISSION_TYPE_ANY, {
    Allow = RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW,
    Deny = RD_KAFKA_ACL_PERMISSION_TYPE_DENY,
});

/// A binding or filter in C terms, strings ready: Send, unlike the native object.
struct AclSpec {
    resource_type: rd::rd_kafka_ResourceType_t,
    name: Option<CString>,
    pattern: rd::rd_kafka_ResourcePatternType_t,
    principal: Option<CString>,
    host: Option<CString>,
    operation: rd::rd_kafka_AclOperation_t,
    permission: rd::rd_kafka_AclPermissionType_t,
}

impl AclSpec {
    fn new(filter: &AclFilter, host: Option<&str>) -> Result<Self, AdminError> {
        let text = |s: Option<&str>| s.map(cstring).transpose();
        Ok(Self {
            resource_type: ResourceType::to_native(filter.resource_type),
            name: text(filter.resource_name.as_deref())?,
            pattern: PatternType::to_native(filter.pattern),
            principal: text(filter.principal.as_deref())?,
            host: text(host)?,
            operation: AclOperation::to_native(filter.operation),
            permission: AclPermission::to_native(filter.permission),
        })
    }

    /// A native AclBinding (`filter == false`) or AclBindingFilter.
    fn to_native(&self, filter: bool) -> Result<Owned<rd::rd_kafka_AclBinding_t>, AdminError> {
        let text = |s: &Option<CString>| s.as_ref().map_or(ptr::null(), |s| s.as_ptr());
        let new = if filter {
            rd::rd_kafka_AclBindingFilter_new
        } else {
            rd::rd_kafka_AclBinding_new
        };
        let mut errstr: [c_char; 256] = [0; 256];
        // SAFETY: the strings are NUL-terminated (or null, meaning any, in a filter) and copied;
        // `errstr` is writable for its length and stays NUL-terminated. A binding is ours.
        unsafe {
            let binding = new(
                self.resource_type,
                text(&self.name),
                self.pattern,
                text(&self.principal),
                text(&self.host),
                self.operation,
                self.permission,
                errstr.as_mut_ptr(),
                errstr.len(),
            );
            Owned::new(binding, rd::rd_kafka_AclBinding_destroy).map_err(|_| {
                AdminError::Client(format!("invalid ACL: {}", string(errstr.as_ptr())))
            })
        }
    }
}

/// Reads a binding from librdkafka; None for kinds this module does not represent.
///
/// # Safety
/// `acl` is a live binding. (librdkafka turns unknown enum values from brokers into UNKNOWN, so
/// the enums read here are always valid variants.)
unsafe fn binding_from_native(acl: *const rd::rd_kafka_AclBinding_t) -> Option<AclBinding> {
    // SAFETY: a live binding, per the contract; its strings are copied.
    unsafe {
        Some(AclBinding {
            resource_type: ResourceType::from_native(rd::rd_kafka_AclBinding_restype(acl))?,
            resource_name: string(rd::rd_kafka_AclBinding_name(acl)),
            pattern: PatternType::from_native(rd::rd_kafka_AclBinding_resource_pattern_type(acl))?,
            principal: string(rd::rd_kafka_AclBinding_principal(acl)),
            host: string(rd::rd_kafka_AclBinding_host(acl)),
            operation: AclOperation::from_native(rd::rd_kafka_AclBinding_operation(acl))?,
            permission: AclPermission::from_native(rd::rd_kafka_AclBinding_permission_type(acl))?,
        })
    }
}
