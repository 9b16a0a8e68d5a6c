//! Reading one cluster for a cycle: one metadata request, the earliest and latest offsets of every
//! partition in batched ListOffsets requests, and the consumer groups. What the cluster answered
//! is kept raw here; `derive` makes figures and health of it.

use crate::kafka::admin::list_offsets_in_place;
use anyhow::Context;
use chrono::{DateTime, Utc};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The raw answer of the cluster to one cycle.
pub(super) struct RawCluster {
    /// When the latest offsets were read: rates are measured between these instants, not when
    /// the cycle ends (committed offsets of many groups take a while longer).
    pub read_at: DateTime<Utc>,
    pub brokers: usize,
    pub topics: Vec<RawTopic>,
    pub groups: Vec<(String, String, usize)>,
}

pub(super) struct RawTopic {
    pub name: String,
    pub partitions: Vec<RawPartition>,
}

pub(super) struct RawPartition {
    pub id: i32,
    pub leader: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    /// `None` when the partition did not answer this cycle.
    pub earliest: Option<i64>,
    pub latest: Option<i64>,
}

/// Partitions per ListOffsets call: one partition that cannot be answered (a topic being deleted,
/// a leader moving) can fail its whole call, so calls are kept moderate and failed ones split.
const OFFSETS_PER_REQUEST: usize = 2000;

/// Offsets at `sentinel` (END or BEGINNING) for `partitions`, into `out`. A call that failed is
/// split in two and each half asked again (only the unanswered partitions), until `deadline`;
/// what is still unanswered then is left out.
fn list_offsets(
    consumer: &BaseConsumer,
    partitions: &[(String, i32)],
    sentinel: Offset,
    timeout: Duration,
    deadline: Instant,
    out: &mut HashMap<(String, i32), i64>,
) {
    if partitions.is_empty() {
        return;
    }
    let mut request = TopicPartitionList::with_capacity(partitions.len());
    for (topic, partition) in partitions {
        request.add_partition(topic, *partition);
    }
    if request.set_all_offsets(sentinel).is_err() {
        return;
    }
    let left = deadline.saturating_duration_since(Instant::now());
    let failed = list_offsets_in_place(consumer, &mut request, left.min(timeout));
    for e in request.elements() {
        if let (Offset::Offset(n), Ok(())) = (e.offset(), e.error()) {
            out.insert((e.topic().to_owned(), e.partition()), n);
        }
    }
    if let Some(code) = failed {
        let missing: Vec<(String, i32)> = partitions
            .iter()
            .filter(|k| !out.contains_key(*k))
            .cloned()
            .collect();
        tracing::debug!(%code, missing = missing.len(), "ListOffsets failed for some partitions");
        if missing.len() > 1 && Instant::now() < deadline {
            let (a, b) = missing.split_at(missing.len() / 2);
            list_offsets(consumer, a, sentinel, timeout, deadline, out);
            list_offsets(consumer, b, sentinel, timeout, deadline, out);
        }
    }
}

/// Reads metadata, offsets and groups in three kinds of batched requests.
pub(super) fn read_cluster(
    consumer: &BaseConsumer,
    timeout: Duration,
) -> anyhow::Result<RawCluster> {
    // Drain events (errors, logs) that queue up on a client that is never assigned partitions.
    let _ = consumer.poll(Duration::ZERO);
    let metadata = consumer
        .fetch_metadata(None, timeout)
        .context("fetching metadata")?;
    let mut topics: Vec<RawTopic> = metadata
        .topics()
        .iter()
        .filter(|t| !t.name().starts_with("__") && t.error().is_none())
        .map(|t| {
            let mut partitions: Vec<RawPartition> = t
                .partitions()
                .iter()
                .map(|p| RawPartition {
                    id: p.id(),
                    leader: p.leader(),
                    replicas: p.replicas().to_vec(),
                    isr: p.isr().to_vec(),
                    earliest: None,
                    latest: None,
                })
                .collect();
            partitions.sort_by_key(|p| p.id);
            RawTopic {
                name: t.name().to_owned(),
                partitions,
            }
        })
        .collect();
    topics.sort_by(|a, b| a.name.cmp(&b.name));
    // Partitions that fail (a leader moving, a topic being deleted) get no answer here; `derive`
    // carries their previous offsets forward.
    let asked: Vec<(String, i32)> = topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .filter(|p| p.leader >= 0)
                .map(|p| (t.name.clone(), p.id))
        })
        .collect();
    let mut latest_of: HashMap<(String, i32), i64> = HashMap::new();
    let mut earliest_of: HashMap<(String, i32), i64> = HashMap::new();
    let started = Instant::now();
    for chunk in asked.chunks(OFFSETS_PER_REQUEST) {
        list_offsets(
            consumer,
            chunk,
            Offset::End,
            timeout,
            started + timeout,
            &mut latest_of,
        );
    }
    // The middle of the latest-offset requests: rates are measured between these instants.
    let read_at = Utc::now()
        - chrono::Duration::from_std(started.elapsed() / 2)
            .unwrap_or_else(|_| chrono::Duration::zero());
    let started = Instant::now();
    for chunk in asked.chunks(OFFSETS_PER_REQUEST) {
        list_offsets(
            consumer,
            chunk,
            Offset::Beginning,
            timeout,
            started + timeout,
            &mut earliest_of,
        );
    }
    if !asked.is_empty() && latest_of.is_empty() {
        anyhow::bail!("no partition answered ListOffsets");
    }
    for topic in &mut topics {
        for p in &mut topic.partitions {
            let key = (topic.name.clone(), p.id);
            p.latest = latest_of.get(&key).copied();
            p.earliest = earliest_of.get(&key).copied();
        }
    }
    let groups = consumer
        .fetch_group_list(None, timeout)
        .context("listing consumer groups")?
        .groups()
        .iter()
        .filter(|g| g.protocol_type().is_empty() || g.protocol_type() == "consumer")
        .map(|g| (g.name().to_owned(), g.state().to_owned(), g.members().len()))
        .collect();
    Ok(RawCluster {
        read_at,
        brokers: metadata.brokers().len(),
        topics,
        groups,
    })
}
