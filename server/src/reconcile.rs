//! Detects drift between the database and each cluster. A pass reads the desired topics and ACLs
//! (catalog topics and live grants) and the actual ones (one DescribeAcls for everything, one
//! metadata request), re-applies what is missing, reports what the portal does not know (unless
//! an admin adopted it), and removes what an admin asked to remove. Passes run on a schedule, when
//! an admin asks (NOTIFY reconcile), and expire grants past their date.

use app::domain::EnvironmentName;
pub mod store;

pub use store::{Finding, RunStats};

use crate::apply::store::TopicWanted;
use crate::apply::{ApplySettings, Clusters, grant_bindings, topic_spec};
use crate::background::{Next, Task};
use crate::kafka::admin::{
    AclBinding, AclFilter, AclOperation, AclPermission, AdminError, KafkaAdmin, PatternType,
    ResourceType,
};
use anyhow::Context;
use app::drift::FindingKind;
use serde_json::{Value, json};
use sqlx::PgPool;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// The identity of an ACL in findings and adoptions.
pub fn acl_key(acl: &AclBinding) -> String {
    let word = |d: &dyn std::fmt::Debug| format!("{d:?}").to_lowercase();
    format!(
        "acl:{}:{}:{}:{}:{}:{}:{}",
        word(&acl.resource_type),
        word(&acl.pattern),
        acl.resource_name,
        acl.principal,
        acl.host,
        word(&acl.operation),
        word(&acl.permission)
    )
}

pub fn topic_key(name: &str) -> String {
    format!("topic:{name}")
}

fn acl_json(acl: &AclBinding) -> Value {
    json!({
        "resource_type": format!("{:?}", acl.resource_type),
        "resource_name": acl.resource_name,
        "pattern": format!("{:?}", acl.pattern),
        "principal": acl.principal,
        "host": acl.host,
        "operation": format!("{:?}", acl.operation),
        "permission": format!("{:?}", acl.permission),
    })
}

fn acl_from_json(value: &Value) -> Option<AclBinding> {
    let text = |k: &str| value.get(k).and_then(Value::as_str);
    let resource_type = match text("resource_type")? {
        "Topic" => ResourceType::Topic,
        "Group" => ResourceType::Group,
        "Cluster" => ResourceType::Cluster,
        _ => return None,
    };
    let pattern = match text("pattern")? {
        "Literal" => PatternType::Literal,
        "Prefixed" => PatternType::Prefixed,
        _ => return None,
    };
    use AclOperation as O;
    let operation = [
        O::All,
        O::Read,
        O::Write,
        O::Create,
        O::Delete,
        O::Alter,
        O::Describe,
        O::ClusterAction,
        O::DescribeConfigs,
        O::AlterConfigs,
        O::IdempotentWrite,
    ]
    .into_iter()
    .find(|o| format!("{o:?}") == text("operation").unwrap_or_default())?;
    let permission = match text("permission")? {
        "Allow" => AclPermission::Allow,
        "Deny" => AclPermission::Deny,
        _ => return None,
    };
    Some(AclBinding {
        resource_type,
        resource_name: text("resource_name")?.to_owned(),
        pattern,
        principal: text("principal")?.to_owned(),
        host: text("host")?.to_owned(),
        operation,
        permission,
    })
}

fn describe_acl(acl: &AclBinding) -> String {
    format!(
        "{:?} {} {:?} on {:?} {} ({:?}), from host {}",
        acl.permission,
        acl.principal,
        acl.operation,
        acl.resource_type,
        acl.resource_name,
        acl.pattern,
        acl.host
    )
}

/// What a pass compares, already read from both sides.
pub struct Compared {
    pub missing_acls: Vec<AclBinding>,
    pub unknown_acls: Vec<AclBinding>,
    pub missing_topics: Vec<String>,
    pub unknown_topics: Vec<String>,
}

/// The pure comparison: desired against actual, adopted resources excluded from "unknown".
pub fn compare(
    desired_acls: &BTreeSet<AclBinding>,
    actual_acls: &BTreeSet<AclBinding>,
    desired_topics: &BTreeSet<String>,
    actual_topics: &BTreeSet<String>,
    adopted: &std::collections::HashSet<String>,
) -> Compared {
    Compared {
        missing_acls: desired_acls.difference(actual_acls).cloned().collect(),
        unknown_acls: actual_acls
            .difference(desired_acls)
            .filter(|a| !adopted.contains(&acl_key(a)))
            .cloned()
            .collect(),
        missing_topics: desired_topics.difference(actual_topics).cloned().collect(),
        unknown_topics: actual_topics
            .difference(desired_topics)
            .filter(|t| !adopted.contains(&topic_key(t)))
            .cloned()
            .collect(),
    }
}

#[derive(Clone)]
pub struct Reconciler {
    db: PgPool,
    clusters: Clusters,
    settings: ApplySettings,
}

impl Reconciler {
    pub fn new(db: PgPool, clusters: Clusters, settings: ApplySettings) -> Self {
        Self {
            db,
            clusters,
            settings,
        }
    }

    /// One pass over every environment; errors of one environment do not stop the others.
    pub async fn run_all(&self) -> Vec<(EnvironmentName, anyhow::Result<RunStats>)> {
        if let Err(error) = store::expire_grants(&self.db).await {
            tracing::warn!(error = error.chain(), "expiring grants failed");
        }
        let mut results = Vec::new();
        for environment in self.clusters.names() {
            let result = self.run_once(environment).await;
            if let Err(error) = &result {
                tracing::warn!(
                    %environment,
                    error = format!("{error:#}"),
                    "drift check failed"
                );
            }
            results.push((environment.clone(), result));
        }
        results
    }

    /// One pass over one environment.
    pub async fn run_once(&self, environment: &EnvironmentName) -> anyhow::Result<RunStats> {
        let admin = self
            .clusters
            .get(environment)
            .with_context(|| format!("environment {environment} is not configured"))?;
        let started_at = chrono::Utc::now();
        let started = Instant::now();
        match self.pass(environment, admin).await {
            Ok((mut stats, findings)) => {
                stats.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                store::record_run(&self.db, environment, started_at, &findings, &stats, None)
                    .await
                    .context("recording the drift check")?;
                tracing::info!(
                    %environment,
                    acls = stats.acls_seen,
                    topics = stats.topics_seen,
                    restored = stats.restored.len(),
                    unknown = findings.len(),
                    elapsed_ms = stats.elapsed_ms,
                    "drift check done"
                );
                Ok(stats)
            }
            Err(error) => {
                let shown = match error.downcast_ref::<AdminError>() {
                    Some(admin_error) => admin_error.to_string(),
                    None => "the check could not finish; see the server log".to_owned(),
                };
                let stats = RunStats::default();
                let _ =
                    store::record_run(&self.db, environment, started_at, &[], &stats, Some(&shown))
                        .await;
                Err(error)
            }
        }
    }

    async fn pass(
        &self,
        environment: &EnvironmentName,
        admin: &KafkaAdmin,
    ) -> anyhow::Result<(RunStats, Vec<Finding>)> {
        let mut stats = RunStats::default();
        // Removals first, so what an admin removed is not reported again.
        for (id, key, resource) in store::removals_requested(&self.db, environment).await? {
            if let Some(name) = key.strip_prefix("topic:") {
                admin.delete_topic(name).await?;
            } else if let Some(acl) = acl_from_json(&resource) {
                admin.delete_acls(&[AclFilter::from(&acl)]).await?;
            }
            store::mark_removed(&self.db, id).await?;
            stats.removed += 1;
        }

        let desired_acls: BTreeSet<AclBinding> =
            crate::apply::store::desired_grants(&self.db, environment)
                .await
                .context("loading live grants")?
                .iter()
                .flat_map(grant_bindings)
                .collect();
        let wanted_topics: BTreeMap<String, TopicWanted> =
            crate::apply::store::desired_topics(&self.db, environment)
                .await
                .context("loading catalog topics")?
                .into_iter()
                .map(|t| (t.name.clone(), t))
                .collect();
        let desired_topics: BTreeSet<String> = wanted_topics.keys().cloned().collect();
        let adopted = store::adopted_keys(&self.db, environment).await?;

        let actual_acls: BTreeSet<AclBinding> = admin
            .describe_acls(&AclFilter::default())
            .await?
            .into_iter()
            .collect();
        let actual_topics: BTreeSet<String> = admin.list_topics().await?.into_iter().collect();
        stats.acls_seen = actual_acls.len();
        stats.topics_seen = actual_topics.len();

        let compared = compare(
            &desired_acls,
            &actual_acls,
            &desired_topics,
            &actual_topics,
            &adopted,
        );
        if !compared.missing_topics.is_empty() {
            let brokers = admin.broker_count().await?;
            for name in &compared.missing_topics {
                if let Some(topic) = wanted_topics.get(name) {
                    admin
                        .create_topic(&topic_spec(topic, &self.settings, brokers))
                        .await?;
                    stats.restored.push(topic_key(name));
                }
            }
        }
        for chunk in compared.missing_acls.chunks(500) {
            admin.create_acls(chunk).await?;
            stats.restored.extend(chunk.iter().map(acl_key));
        }
        let findings = compared
            .unknown_acls
            .iter()
            .map(|acl| Finding {
                kind: FindingKind::UnknownAcl,
                key: acl_key(acl),
                resource: acl_json(acl),
                description: describe_acl(acl),
            })
            .chain(compared.unknown_topics.iter().map(|name| Finding {
                kind: FindingKind::UnknownTopic,
                key: topic_key(name),
                resource: json!({ "name": name }),
                description: format!("Topic {name}, not in the catalog for this environment"),
            }))
            .collect();
        Ok((stats, findings))
    }
}

/// The reconciler, supervised: a pass over every cluster on the schedule
/// (`apply.reconcile_interval_seconds`, 0 for only when asked) or when an admin asks
/// (`NOTIFY reconcile`).
pub struct ReconcileTask {
    pub reconciler: Reconciler,
    pub wake: Arc<Notify>,
}

impl Task for ReconcileTask {
    fn name(&self) -> String {
        "reconciler".into()
    }

    async fn step(&mut self) -> anyhow::Result<Next> {
        self.reconciler.run_all().await;
        Ok(Next::After(
            match self.reconciler.settings.reconcile_interval_seconds {
                0 => Duration::from_secs(365 * 24 * 3600),
                s => Duration::from_secs(s),
            },
        ))
    }

    fn wake(&self) -> Option<Arc<Notify>> {
        Some(self.wake.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn acl(principal: &str, op: AclOperation) -> AclBinding {
        AclBinding {
            resource_type: ResourceType::Topic,
            resource_name: "orders".into(),
            pattern: PatternType::Literal,
            principal: format!("User:{principal}"),
            host: "*".into(),
            operation: op,
            permission: AclPermission::Allow,
        }
    }

    #[test]
    fn missing_and_unknown_are_told_apart_and_adopted_ones_are_quiet() {
        let desired: BTreeSet<_> = [
            acl("a", AclOperation::Read),
            acl("a", AclOperation::Describe),
        ]
        .into();
        let actual: BTreeSet<_> = [
            acl("a", AclOperation::Read),
            acl("x", AclOperation::Write),
            acl("y", AclOperation::Write),
        ]
        .into();
        let topics_wanted: BTreeSet<String> = ["orders".to_owned(), "payments".to_owned()].into();
        let topics_there: BTreeSet<String> = ["orders".to_owned(), "legacy".to_owned()].into();
        let adopted: HashSet<String> = [acl_key(&acl("y", AclOperation::Write))].into();
        let c = compare(&desired, &actual, &topics_wanted, &topics_there, &adopted);
        assert_eq!(c.missing_acls, vec![acl("a", AclOperation::Describe)]);
        assert_eq!(c.unknown_acls, vec![acl("x", AclOperation::Write)]);
        assert_eq!(c.missing_topics, vec!["payments".to_owned()]);
        assert_eq!(c.unknown_topics, vec!["legacy".to_owned()]);
    }

    #[test]
    fn acls_survive_their_json_form() {
        let mut a = acl("team.app.sandbox", AclOperation::IdempotentWrite);
        a.pattern = PatternType::Prefixed;
        a.resource_type = ResourceType::Group;
        assert_eq!(acl_from_json(&acl_json(&a)), Some(a.clone()));
        assert!(
            acl_key(&a)
                .starts_with("acl:group:prefixed:orders:User:team.app.sandbox:*:idempotentwrite")
        );
    }
}
