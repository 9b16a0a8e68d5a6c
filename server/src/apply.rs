//! Applies approved requests to Kafka. The approval wrote its steps (`apply_step`) in the same
//! transaction; workers here claim one step at a time (`FOR UPDATE SKIP LOCKED`, held for the
//! length of the Kafka call), run it, and settle it in that transaction. A worker that dies
//! releases its step with its connection, and every step is idempotent, so a step that ran
//! against the cluster but was not recorded simply runs again.

use app::domain::EnvironmentName;
pub mod store;

use crate::background::{Next, Task};
use crate::config::Settings;
use crate::kafka::admin::{
    AclBinding, AclFilter, AclOperation, AclPermission, AdminError, KafkaAdmin, PatternType,
    ResourceType, TopicSpec,
};
use anyhow::Context;
use app::apply::store::GrantAcl;
use app::credentials::{CredentialVault, generate_password, seal_context};
use app::domain::{GrantRole, StepKind};
use serde::Deserialize;
use sqlx::{PgConnection, PgPool};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
use store::{ClaimedStep, TopicWanted};
use tokio::sync::Notify;

#[derive(Debug, Clone, Deserialize)]
pub struct ApplySettings {
    pub enabled: bool,
    pub workers: usize,
    pub poll_interval_ms: u64,
    pub max_attempts: i32,
    pub operation_timeout_ms: u64,
    pub reconcile_interval_seconds: u64,
    pub replication_factor: i32,
    pub min_insync_replicas: i32,
}

/// One admin client per configured environment.
#[derive(Clone)]
pub struct Clusters {
    admins: Arc<BTreeMap<EnvironmentName, KafkaAdmin>>,
}

impl Clusters {
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let timeout = Duration::from_millis(settings.apply.operation_timeout_ms);
        let mut admins = BTreeMap::new();
        for (name, env) in settings.environments() {
            let admin = KafkaAdmin::new(&crate::kafka::client_config(env), timeout)
                .with_context(|| format!("creating the Kafka admin client for {name}"))?;
            admins.insert(name.clone(), admin);
        }
        Ok(Self {
            admins: Arc::new(admins),
        })
    }

    pub fn get(&self, environment: &EnvironmentName) -> Option<&KafkaAdmin> {
        self.admins.get(environment)
    }

    pub fn names(&self) -> impl Iterator<Item = &EnvironmentName> {
        self.admins.keys()
    }
}

/// The ACLs a grant needs. Literal unless the approval named a group prefix. Kafka 3 and later
/// let an idempotent producer write with WRITE on the topic alone, so no cluster-wide
/// IDEMPOTENT_WRITE is granted.
pub fn grant_bindings(grant: &GrantAcl) -> Vec<AclBinding> {
    let principal = format!("User:{}", grant.principal);
    let allow = |resource_type, resource_name: &str, pattern, operation| AclBinding {
        resource_type,
        resource_name: resource_name.to_owned(),
        pattern,
        principal: principal.clone(),
        host: "*".to_owned(),
        operation,
        permission: AclPermission::Allow,
    };
    let topic = |op| allow(ResourceType::Topic, &grant.topic, PatternType::Literal, op);
    match grant.role {
        GrantRole::Producer => vec![topic(AclOperation::Write), topic(AclOperation::Describe)],
        GrantRole::Consumer => {
            let mut acls = vec![topic(AclOperation::Read), topic(AclOperation::Describe)];
            if let Some(group) = &grant.consumer_group {
                let pattern = if grant.consumer_group_is_prefix {
                    PatternType::Prefixed
                } else {
                    PatternType::Literal
                };
                acls.push(allow(
                    ResourceType::Group,
                    group,
                    pattern,
                    AclOperation::Read,
                ));
            }
            acls
        }
    }
}

/// The topic as the cluster should have it: replication capped to the brokers present.
pub fn topic_spec(topic: &TopicWanted, settings: &ApplySettings, brokers: usize) -> TopicSpec {
    let brokers = i32::try_from(brokers.max(1)).unwrap_or(i32::MAX);
    let replication_factor = settings.replication_factor.clamp(1, brokers);
    let min_insync = settings.min_insync_replicas.clamp(1, replication_factor);
    TopicSpec {
        name: topic.name.clone(),
        partitions: topic.partitions,
        replication_factor,
        configs: vec![
            ("retention.ms".into(), topic.retention_ms.to_string()),
            (
                "cleanup.policy".into(),
                topic.cleanup_policy.kafka_value().into(),
            ),
            ("min.insync.replicas".into(), min_insync.to_string()),
        ],
    }
}

/// Why a step did not complete; the message is shown to people.
#[derive(Debug)]
struct StepError {
    transient: bool,
    message: String,
}

impl From<AdminError> for StepError {
    fn from(error: AdminError) -> Self {
        Self {
            transient: error.is_transient(),
            message: error.to_string(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Idle,
    Applied,
    /// Not done; tried again later (or failed for good).
    NotApplied,
}

#[derive(Clone)]
pub struct ApplyWorker {
    db: PgPool,
    clusters: Clusters,
    vault: CredentialVault,
    settings: ApplySettings,
}

impl ApplyWorker {
    pub fn new(
        db: PgPool,
        clusters: Clusters,
        vault: CredentialVault,
        settings: ApplySettings,
    ) -> Self {
        Self {
            db,
            clusters,
            vault,
            settings,
        }
    }

    /// Claims and runs at most one due step.
    pub async fn try_once(&self) -> anyhow::Result<Outcome> {
        let mut tx = self.db.begin().await.context("starting a transaction")?;
        let Some(step) = store::claim(&mut tx).await.context("claiming a step")? else {
            return Ok(Outcome::Idle);
        };
        let result = self.execute(&mut tx, &step).await?;
        let outcome = match result {
            Ok(()) => {
                store::step_done(&mut tx, &step)
                    .await
                    .context("settling a step")?;
                tracing::info!(step.id = %step.id, step.kind = step.kind.as_str(), environment = %step.environment, "step applied");
                Outcome::Applied
            }
            Err(error) => {
                let status = store::step_failed(
                    &mut tx,
                    &step,
                    error.transient,
                    &error.message,
                    self.settings.max_attempts,
                )
                .await
                .context("recording a failed step")?;
                tracing::warn!(
                    step.id = %step.id,
                    step.kind = step.kind.as_str(),
                    environment = %step.environment,
                    status = status.as_str(),
                    error = error.message,
                    "step not applied"
                );
                Outcome::NotApplied
            }
        };
        tx.commit().await.context("committing a step")?;
        Ok(outcome)
    }

    /// Runs one step against its cluster. The outer error is the database's; the inner one is
    /// the step's own outcome.
    async fn execute(
        &self,
        conn: &mut PgConnection,
        step: &ClaimedStep,
    ) -> anyhow::Result<Result<(), StepError>> {
        let refuse = |message: String| {
            Ok(Err(StepError {
                transient: false,
                message,
            }))
        };
        let kind = step.kind;
        let Some(admin) = self.clusters.get(&step.environment) else {
            return refuse(format!(
                "environment {} is not configured on this server",
                step.environment
            ));
        };
        let result = match kind {
            StepKind::CreateTopic | StepKind::SetTopicConfigs => {
                let Some(topic) = step.topic_id else {
                    return refuse("the step names no topic".into());
                };
                let wanted = store::topic_wanted(conn, topic)
                    .await
                    .context("loading the topic")?;
                if kind == StepKind::CreateTopic {
                    self.create_topic(admin, &wanted).await
                } else {
                    set_topic_configs(admin, &wanted).await
                }
            }
            StepKind::CreateCredentials | StepKind::RotateCredentials => {
                let Some(application) = step.application_id else {
                    return refuse("the step names no application".into());
                };
                let (principal, has_credential) =
                    store::principal_of(conn, application, &step.environment)
                        .await
                        .context("loading the principal")?;
                if kind == StepKind::CreateCredentials && has_credential {
                    return Ok(Ok(()));
                }
                if kind == StepKind::RotateCredentials
                    && store::principal_without_grants(conn, application, &step.environment)
                        .await
                        .context("locking the principal")?
                        .is_some()
                {
                    // Revoked since the rotation was asked for: no credential to give.
                    return Ok(Ok(()));
                }
                let password = generate_password();
                if let Err(error) = admin.upsert_scram_credential(&principal, &password).await {
                    return Ok(Err(error.into()));
                }
                let sealed = self
                    .vault
                    .seal(&password, &seal_context(application, &step.environment));
                store::store_credential(conn, application, &step.environment, &sealed)
                    .await
                    .context("keeping the new password for its team")?;
                Ok(())
            }
            StepKind::DeleteCredentials => {
                let Some(application) = step.application_id else {
                    return refuse("the step names no application".into());
                };
                let Some(principal) =
                    store::principal_without_grants(conn, application, &step.environment)
                        .await
                        .context("locking the principal")?
                else {
                    // Granted again since the revocation: the credential is needed.
                    return Ok(Ok(()));
                };
                if let Err(error) = admin.delete_scram_credential(&principal).await {
                    return Ok(Err(error.into()));
                }
                store::forget_credential(conn, application, &step.environment)
                    .await
                    .context("forgetting the deleted credential")?;
                Ok(())
            }
            StepKind::CreateAcls => {
                let Some(grant) = step.grant_id else {
                    return refuse("the step names no grant".into());
                };
                let grant = store::grant_acl(conn, grant)
                    .await
                    .context("loading the grant")?;
                admin
                    .create_acls(&grant_bindings(&grant))
                    .await
                    .map_err(StepError::from)
            }
            StepKind::DeleteAcls => {
                let Some(grant) = step.grant_id else {
                    return refuse("the step names no grant".into());
                };
                let grant = store::grant_acl(conn, grant)
                    .await
                    .context("loading the grant")?;
                // Bindings another live grant of the same principal also needs stay.
                let keep: BTreeSet<AclBinding> = store::other_live_grants(conn, &grant)
                    .await
                    .context("loading the principal's other grants")?
                    .iter()
                    .flat_map(grant_bindings)
                    .collect();
                let filters: Vec<AclFilter> = grant_bindings(&grant)
                    .iter()
                    .filter(|b| !keep.contains(*b))
                    .map(AclFilter::from)
                    .collect();
                if filters.is_empty() {
                    Ok(())
                } else {
                    admin
                        .delete_acls(&filters)
                        .await
                        .map(|_| ())
                        .map_err(StepError::from)
                }
            }
        };
        Ok(result)
    }

    async fn create_topic(
        &self,
        admin: &KafkaAdmin,
        wanted: &TopicWanted,
    ) -> Result<(), StepError> {
        let brokers = admin.broker_count().await?;
        admin
            .create_topic(&topic_spec(wanted, &self.settings, brokers))
            .await?;
        Ok(())
    }
}

async fn set_topic_configs(admin: &KafkaAdmin, wanted: &TopicWanted) -> Result<(), StepError> {
    admin
        .set_topic_configs(
            &wanted.name,
            &[
                ("retention.ms".into(), wanted.retention_ms.to_string()),
                (
                    "cleanup.policy".into(),
                    wanted.cleanup_policy.kafka_value().into(),
                ),
            ],
        )
        .await?;
    // A topic created a moment ago may not be in the broker's metadata yet.
    let mut current = admin.describe_topic(&wanted.name, &[]).await?;
    for _ in 0..10 {
        if current.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        current = admin.describe_topic(&wanted.name, &[]).await?;
    }
    let wanted_partitions = usize::try_from(wanted.partitions).unwrap_or(1);
    match current {
        Some(state) if state.partitions < wanted_partitions => {
            admin
                .add_partitions(&wanted.name, wanted_partitions)
                .await?;
            Ok(())
        }
        Some(_) => Ok(()),
        None => Err(StepError {
            transient: true,
            message: "the topic is not visible on the cluster yet".into(),
        }),
    }
}

/// Starts `count` apply workers and the relay of `NOTIFY apply_step` that wakes them.
pub fn supervise_workers(
    supervisor: &mut crate::background::Supervisor,
    worker: &ApplyWorker,
    count: usize,
) -> anyhow::Result<()> {
    let wake = Arc::new(Notify::new());
    let (db, relay_wake) = (worker.db.clone(), wake.clone());
    supervisor.spawn(move || {
        Ok(crate::background::Relay::new(
            db.clone(),
            "apply_step",
            relay_wake.clone(),
        ))
    })?;
    for number in 1..=count {
        let (worker, wake) = (worker.clone(), wake.clone());
        supervisor.spawn(move || {
            Ok(ApplyTask {
                worker: worker.clone(),
                number,
                wake: wake.clone(),
            })
        })?;
    }
    Ok(())
}

/// One of the server's apply workers, supervised: woken by `NOTIFY apply_step` (see
/// [`crate::background::Relay`]) or the polling interval.
pub struct ApplyTask {
    pub worker: ApplyWorker,
    pub number: usize,
    pub wake: Arc<Notify>,
}

impl Task for ApplyTask {
    fn name(&self) -> String {
        format!("apply-worker-{}", self.number)
    }

    async fn step(&mut self) -> anyhow::Result<Next> {
        Ok(match self.worker.try_once().await? {
            Outcome::Idle => {
                Next::After(Duration::from_millis(self.worker.settings.poll_interval_ms))
            }
            Outcome::Applied | Outcome::NotApplied => Next::Now,
        })
    }

    fn after_error(&self) -> Duration {
        Duration::from_millis(self.worker.settings.poll_interval_ms)
    }

    fn wake(&self) -> Option<Arc<Notify>> {
        Some(self.wake.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::domain::{CleanupPolicy, GrantId};
    use uuid::Uuid;

    fn grant(role: GrantRole, group: Option<&str>, prefix: bool) -> GrantAcl {
        GrantAcl {
            grant_id: GrantId::from(Uuid::nil()),
            environment: EnvironmentName::parse("sandbox").expect("a valid environment name"),
            principal: "team.app.sandbox".into(),
            role,
            topic: "orders".into(),
            consumer_group: group.map(str::to_owned),
            consumer_group_is_prefix: prefix,
        }
    }

    #[test]
    fn producers_get_write_and_describe_on_the_topic_only() {
        let acls = grant_bindings(&grant(GrantRole::Producer, None, false));
        let ops: Vec<_> = acls.iter().map(|a| a.operation).collect();
        assert_eq!(ops, vec![AclOperation::Write, AclOperation::Describe]);
        assert!(acls.iter().all(|a| a.resource_type == ResourceType::Topic
            && a.pattern == PatternType::Literal
            && a.principal == "User:team.app.sandbox"
            && a.permission == AclPermission::Allow));
    }

    #[test]
    fn consumers_get_read_on_the_topic_and_their_group() {
        let literal = grant_bindings(&grant(GrantRole::Consumer, Some("billing"), false));
        assert_eq!(literal.len(), 3);
        assert_eq!(literal[2].resource_type, ResourceType::Group);
        assert_eq!(literal[2].pattern, PatternType::Literal);
        assert_eq!(literal[2].operation, AclOperation::Read);
        let prefixed = grant_bindings(&grant(GrantRole::Consumer, Some("billing-"), true));
        assert_eq!(prefixed[2].pattern, PatternType::Prefixed);
        assert!(!literal.iter().any(|a| a.operation == AclOperation::Write));
    }

    #[test]
    fn replication_is_capped_to_the_brokers_present() {
        let settings = ApplySettings {
            enabled: true,
            workers: 1,
            poll_interval_ms: 1000,
            max_attempts: 5,
            operation_timeout_ms: 1000,
            reconcile_interval_seconds: 0,
            replication_factor: 3,
            min_insync_replicas: 2,
        };
        let topic = TopicWanted {
            name: "orders".into(),
            partitions: 6,
            retention_ms: 86_400_000,
            cleanup_policy: CleanupPolicy::CompactDelete,
        };
        let one = topic_spec(&topic, &settings, 1);
        assert_eq!(one.replication_factor, 1);
        assert!(
            one.configs
                .contains(&("min.insync.replicas".into(), "1".into()))
        );
        assert!(
            one.configs
                .contains(&("cleanup.policy".into(), "compact,delete".into()))
        );
        let five = topic_spec(&topic, &settings, 5);
        assert_eq!(five.replication_factor, 3);
        assert!(
            five.configs
                .contains(&("min.insync.replicas".into(), "2".into()))
        );
    }
}
