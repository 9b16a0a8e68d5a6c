//! Deriving health from what the cluster answered: messages per second over the rate window,
//! messages written since the previous cycle, retained messages, consumer lag and time behind,
//! silence, each topic's and group's status (`app::health::eval`), and what an open alert should
//! become. Everything here is computed from its arguments and the previous cycles' readings; no
//! I/O.

use super::read::{RawCluster, RawPartition, RawTopic};
use super::store::{AlertChange, CatalogTopic};
use crate::kafka::admin::Committed;
use app::domain::EnvironmentName;
use app::health::eval::{self, Thresholds, TopicFacts};
use app::health::{
    EnvSnapshot, GroupPartitionSample, GroupSample, Health, PartitionSample, Status, TopicSample,
};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

/// Recent `(time, latest offset per partition)` of one topic.
type OffsetWindow = VecDeque<(DateTime<Utc>, Vec<i64>)>;

/// A group's previous lag, when it was seen, and since when it grows.
#[derive(Debug, Clone, Copy)]
struct LagTrack {
    lag: i64,
    at: DateTime<Utc>,
    growing_since: Option<DateTime<Utc>>,
}

/// What derivation keeps from one cycle to the next.
#[derive(Default)]
pub(super) struct Readings {
    /// Per topic: recent `(time, latest offset per partition)`, for rates over the window.
    windows: HashMap<String, OffsetWindow>,
    totals: HashMap<String, i64>,
    /// Messages written since the previous cycle, per topic.
    pub deltas: HashMap<String, i64>,
    pub last_message: HashMap<String, DateTime<Utc>>,
    /// Per group: previous lag and its time, and since when it grows.
    groups: HashMap<String, LagTrack>,
}

/// What the collector knows besides the cluster's answer.
pub(super) struct Known<'a> {
    pub environment: &'a EnvironmentName,
    /// Messages per second are measured over this window.
    pub window: chrono::Duration,
    pub thresholds: &'a Thresholds,
    /// Catalog topics of this environment: their owners and expected intervals.
    pub catalog: &'a HashMap<String, CatalogTopic>,
    /// Expected intervals learned from the history, in seconds.
    pub learned: &'a HashMap<String, i64>,
    /// `(group or prefix, is a prefix, team)` of the groups granted to applications.
    pub granted: &'a [(String, bool, String)],
    /// Silence is measured from here at the earliest: messages may have arrived while no
    /// collector was watching, so a restart must not make every quiet topic look silent.
    pub started_at: DateTime<Utc>,
}

/// One topic's offsets as recorded this cycle.
#[derive(Debug, Clone, PartialEq)]
struct Recorded {
    latest: Vec<i64>,
    /// Offsets went back or the partition count changed: the window started again.
    reset: bool,
    /// Messages per second of each partition over the window.
    rates: Vec<f64>,
}

impl Readings {
    /// The snapshot of one cycle read at `now`; remembers what the next cycle needs.
    pub(super) fn derive(
        &mut self,
        now: DateTime<Utc>,
        raw: RawCluster,
        committed: &HashMap<String, Committed>,
        known: &Known<'_>,
    ) -> EnvSnapshot {
        let seen: BTreeSet<&str> = raw.topics.iter().map(|t| t.name.as_str()).collect();
        self.windows.retain(|k, _| seen.contains(k.as_str()));
        self.totals.retain(|k, _| seen.contains(k.as_str()));
        self.deltas.clear();
        let mut topics = BTreeMap::new();
        let mut latest_of: HashMap<(&str, i32), i64> = HashMap::new();
        for topic in &raw.topics {
            let sample = self.topic(now, topic, known);
            for p in &sample.partitions {
                latest_of.insert((topic.name.as_str(), p.partition), p.latest);
            }
            topics.insert(topic.name.clone(), sample);
        }

        let live: BTreeSet<&str> = raw.groups.iter().map(|(id, _, _)| id.as_str()).collect();
        self.groups.retain(|k, _| live.contains(k.as_str()));
        let mut groups = BTreeMap::new();
        for (id, state, members) in &raw.groups {
            let partitions = group_partitions(committed.get(id), &latest_of);
            let group_topics = topics_of(&partitions);
            let lag: i64 = partitions.iter().map(|p| p.lag).sum();
            let seconds_behind = group_seconds_behind(&partitions, &group_topics, &topics, now);
            let previous = self.groups.get(id).copied();
            let growing_since = eval::growing_since(
                previous.map(|p| (p.lag, p.at)),
                previous.and_then(|p| p.growing_since),
                lag,
            );
            self.groups.insert(
                id.clone(),
                LagTrack {
                    lag,
                    at: now,
                    growing_since,
                },
            );
            let health =
                eval::evaluate_group(now, lag, seconds_behind, growing_since, known.thresholds);
            let owner = group_owner(known.granted, known.catalog, id, &group_topics);
            groups.insert(
                id.clone(),
                GroupSample {
                    id: id.clone(),
                    state: state.clone(),
                    members: *members,
                    topics: group_topics,
                    partitions,
                    lag,
                    seconds_behind,
                    growing_since,
                    owner,
                    health,
                },
            );
        }
        EnvSnapshot {
            environment: known.environment.clone(),
            collected_at: now,
            cycle_ms: 0,
            brokers: raw.brokers,
            topics,
            groups,
            error: None,
        }
    }

    /// One topic's sample; records its offsets, what was written since the previous cycle, and
    /// when a message last arrived.
    fn topic(&mut self, now: DateTime<Utc>, topic: &RawTopic, known: &Known<'_>) -> TopicSample {
        let ring = self.windows.entry(topic.name.clone()).or_default();
        let Recorded {
            latest,
            reset,
            rates,
        } = record_offsets(ring, now, &topic.partitions, known.window);
        let total: i64 = latest.iter().sum();
        let before = self.totals.insert(topic.name.clone(), total);
        let delta = written_since(before, total, reset);
        if delta > 0 {
            self.last_message.insert(topic.name.clone(), now);
        }
        self.deltas.insert(topic.name.clone(), delta);
        let partitions = partition_samples(&topic.partitions, &rates, &latest);
        let under_replicated = partitions.iter().filter(|p| p.under_replicated()).count();
        let offline = partitions.iter().filter(|p| p.leader.is_none()).count();
        let catalog = known.catalog.get(&topic.name);
        let expected = eval::expected_interval(
            catalog.and_then(|c| c.expected_seconds),
            known.learned.get(&topic.name).copied(),
            known.thresholds,
        );
        let last_message_at = self.last_message.get(&topic.name).copied();
        let health = eval::evaluate_topic(
            now,
            &TopicFacts {
                partitions: partitions.len(),
                under_replicated,
                offline,
                last_message_at: last_message_at.map(|t| t.max(known.started_at)),
                expected,
            },
            known.thresholds,
        );
        TopicSample {
            name: topic.name.clone(),
            rate: rates.iter().sum(),
            latest_total: total,
            retained: partitions
                .iter()
                .map(|p| (p.latest - p.earliest).max(0))
                .sum(),
            under_replicated,
            offline,
            last_message_at,
            expected,
            owner: catalog.map(|c| c.owner.clone()),
            health,
            partitions,
        }
    }
}

/// The latest offset of each partition: its answer, else (a partition that did not answer) its
/// offset in `before` when the topic kept its partition count, else 0.
fn latest_offsets(partitions: &[RawPartition], before: Option<&[i64]>) -> Vec<i64> {
    let before = before.filter(|before| before.len() == partitions.len());
    partitions
        .iter()
        .enumerate()
        .map(|(i, p)| {
            p.latest
                .or_else(|| before.and_then(|b| b.get(i).copied()))
                .unwrap_or(0)
        })
        .collect()
}

/// Whether offsets went back or the partition count changed since `before` (a topic deleted and
/// created again, say): rates and written messages must not be measured across that.
fn offsets_reset(before: &[i64], latest: &[i64]) -> bool {
    before.len() != latest.len() || before.iter().zip(latest).any(|(b, l)| l < b)
}

/// Adds this cycle's offsets to the topic's window (emptied first on a reset), drops readings
/// the window no longer needs (keeping the newest one at least `window` old as its start), and
/// measures each partition's rate between the window's first and last readings.
fn record_offsets(
    ring: &mut OffsetWindow,
    now: DateTime<Utc>,
    partitions: &[RawPartition],
    window: chrono::Duration,
) -> Recorded {
    let before = ring.back().map(|(_, before)| before.as_slice());
    let latest = latest_offsets(partitions, before);
    let reset = before.is_some_and(|before| offsets_reset(before, &latest));
    if reset {
        ring.clear();
    }
    ring.push_back((now, latest.clone()));
    while ring.len() > 2 && ring.get(1).is_some_and(|(t, _)| now - *t >= window) {
        ring.pop_front();
    }
    let rates: Vec<f64> = match (ring.front(), ring.back()) {
        (Some((t0, first)), Some((t1, last))) if t1 > t0 => {
            let seconds = (*t1 - *t0).num_milliseconds() as f64 / 1000.0;
            first
                .iter()
                .zip(last)
                .map(|(a, b)| (b - a).max(0) as f64 / seconds)
                .collect()
        }
        _ => vec![0.0; latest.len()],
    };
    Recorded {
        latest,
        reset,
        rates,
    }
}

/// Messages written since the previous cycle: the growth of the total, none the first time a
/// topic is seen or after a reset.
fn written_since(before: Option<i64>, total: i64, reset: bool) -> i64 {
    match before {
        Some(before) if !reset && total > before => total - before,
        _ => 0,
    }
}

/// Each partition as sampled: its leader (`None` when offline), replicas, earliest offset (never
/// above the latest), latest offset and rate.
fn partition_samples(
    partitions: &[RawPartition],
    rates: &[f64],
    latest: &[i64],
) -> Vec<PartitionSample> {
    partitions
        .iter()
        .zip(rates)
        .zip(latest)
        .map(|((p, rate), latest)| PartitionSample {
            partition: p.id,
            leader: (p.leader >= 0).then_some(p.leader),
            replicas: p.replicas.clone(),
            isr: p.isr.clone(),
            earliest: p.earliest.unwrap_or(0).min(*latest),
            latest: *latest,
            rate: *rate,
        })
        .collect()
}

/// A group's position in each partition it committed to whose latest offset was read this cycle,
/// with its lag (never negative), sorted by topic and partition.
fn group_partitions(
    committed: Option<&Committed>,
    latest_of: &HashMap<(&str, i32), i64>,
) -> Vec<GroupPartitionSample> {
    let mut partitions: Vec<GroupPartitionSample> = committed
        .map(|offsets| {
            offsets
                .iter()
                .filter_map(|(topic, partition, offset)| {
                    let latest = *latest_of.get(&(topic.as_str(), *partition))?;
                    Some(GroupPartitionSample {
                        topic: topic.clone(),
                        partition: *partition,
                        committed: *offset,
                        latest,
                        lag: (latest - offset).max(0),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    partitions.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
    partitions
}

/// The topics a group reads, sorted, once each.
fn topics_of(partitions: &[GroupPartitionSample]) -> Vec<String> {
    partitions
        .iter()
        .map(|p| p.topic.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// How far behind a group is: its furthest behind topic, each topic's lag measured against the
/// rate messages arrive at there (or the time since its last message when none arrive).
fn group_seconds_behind(
    partitions: &[GroupPartitionSample],
    group_topics: &[String],
    topics: &BTreeMap<String, TopicSample>,
    now: DateTime<Utc>,
) -> f64 {
    group_topics
        .iter()
        .map(|t| {
            let topic_lag = partitions
                .iter()
                .filter(|p| &p.topic == t)
                .map(|p| p.lag)
                .sum();
            let sample = topics.get(t);
            eval::seconds_behind(
                topic_lag,
                sample.map_or(0.0, |s: &TopicSample| s.rate),
                sample.and_then(|s| s.last_message_at),
                now,
            )
        })
        .fold(0.0_f64, f64::max)
}

/// The team that owns a group: the team of the application the group was granted to, else
/// the owner of the first catalog topic it reads.
fn group_owner(
    granted: &[(String, bool, String)],
    catalog: &HashMap<String, CatalogTopic>,
    group: &str,
    topics: &[String],
) -> Option<String> {
    granted
        .iter()
        .find(|(name, prefix, _)| {
            if *prefix {
                group.starts_with(name.as_str())
            } else {
                group == name
            }
        })
        .map(|(_, _, team)| team.clone())
        .or_else(|| {
            topics
                .iter()
                .find_map(|t| catalog.get(t).map(|c| c.owner.clone()))
        })
}

/// What to do about one subject, given its open alert (id and status) and its health now.
pub fn alert_change(open: Option<(i64, Status)>, health: &Health) -> Option<AlertChange> {
    match (open, health.status) {
        (None, Status::Ok) => None,
        (None, status) => Some(AlertChange::Open {
            status,
            reason: health.reason.clone(),
        }),
        (Some((id, _)), Status::Ok) => Some(AlertChange::Recover {
            id,
            reason: health.reason.clone(),
        }),
        (Some((id, before)), status) if status > before => Some(AlertChange::Escalate {
            id,
            status,
            reason: health.reason.clone(),
        }),
        (Some((id, before)), status) if status < before => Some(AlertChange::Ease {
            id,
            status,
            reason: health.reason.clone(),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::health::IntervalSource;

    fn health(status: Status) -> Health {
        Health {
            status,
            reason: "why".into(),
        }
    }

    #[test]
    fn alerts_open_escalate_ease_and_recover_once() {
        assert_eq!(alert_change(None, &health(Status::Ok)), None);
        assert!(matches!(
            alert_change(None, &health(Status::Warning)),
            Some(AlertChange::Open {
                status: Status::Warning,
                ..
            })
        ));
        assert_eq!(
            alert_change(Some((1, Status::Warning)), &health(Status::Warning)),
            None
        );
        assert!(matches!(
            alert_change(Some((1, Status::Warning)), &health(Status::Critical)),
            Some(AlertChange::Escalate { id: 1, .. })
        ));
        assert!(matches!(
            alert_change(Some((1, Status::Critical)), &health(Status::Warning)),
            Some(AlertChange::Ease { id: 1, .. })
        ));
        assert!(matches!(
            alert_change(Some((1, Status::Critical)), &health(Status::Ok)),
            Some(AlertChange::Recover { id: 1, .. })
        ));
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + seconds, 0).expect("a valid time")
    }

    fn partition(id: i32, latest: Option<i64>) -> RawPartition {
        RawPartition {
            id,
            leader: 1,
            replicas: vec![1, 2],
            isr: vec![1, 2],
            earliest: Some(0),
            latest,
        }
    }

    fn answered(offsets: &[i64]) -> Vec<RawPartition> {
        (0..)
            .zip(offsets)
            .map(|(id, offset)| partition(id, Some(*offset)))
            .collect()
    }

    fn thresholds() -> Thresholds {
        Thresholds {
            default_silence_seconds: 600,
            silence_critical_factor: 3.0,
            lag_warning_seconds: 60.0,
            lag_critical_seconds: 600.0,
            lag_growing_warning_seconds: 300,
            lag_growing_critical_seconds: 900,
        }
    }

    #[test]
    fn a_partition_that_did_not_answer_keeps_its_previous_offset() {
        let partitions = vec![partition(0, Some(10)), partition(1, None)];
        assert_eq!(latest_offsets(&partitions, Some(&[5, 7])), [10, 7]);
        assert_eq!(latest_offsets(&partitions, None), [10, 0]);
        // The partition count changed: the previous offsets belong to other partitions.
        assert_eq!(latest_offsets(&partitions, Some(&[5, 7, 9])), [10, 0]);
    }

    #[test]
    fn offsets_going_back_or_partitions_changing_reset_the_window() {
        assert!(!offsets_reset(&[5, 7], &[5, 9]));
        assert!(offsets_reset(&[5, 7], &[6, 6]));
        assert!(offsets_reset(&[5, 7], &[5, 7, 0]));
        assert!(offsets_reset(&[5, 7], &[5]));
    }

    #[test]
    fn rates_are_measured_over_the_window() {
        let window = chrono::Duration::seconds(60);
        let mut ring = OffsetWindow::new();
        let first = record_offsets(&mut ring, at(0), &answered(&[0, 0]), window);
        assert_eq!(first.rates, [0.0, 0.0], "one reading measures nothing");
        assert!(!first.reset);
        let second = record_offsets(&mut ring, at(10), &answered(&[100, 50]), window);
        assert_eq!(second.rates, [10.0, 5.0]);
        let third = record_offsets(&mut ring, at(20), &answered(&[200, 50]), window);
        assert_eq!(
            third.rates,
            [10.0, 2.5],
            "from the first reading, still in the window"
        );
        // At 90 s, the readings at 0 s and 10 s are dropped: the one at 20 s starts the window.
        let fourth = record_offsets(&mut ring, at(90), &answered(&[900, 120]), window);
        assert_eq!(ring.len(), 2);
        assert_eq!(fourth.rates, [10.0, 1.0]);
    }

    #[test]
    fn a_reset_starts_the_window_again() {
        let window = chrono::Duration::seconds(60);
        let mut ring = OffsetWindow::new();
        record_offsets(&mut ring, at(0), &answered(&[100, 100]), window);
        let recreated = record_offsets(&mut ring, at(10), &answered(&[3, 0]), window);
        assert!(recreated.reset);
        assert_eq!(recreated.rates, [0.0, 0.0]);
        assert_eq!(ring.len(), 1);
        let after = record_offsets(&mut ring, at(20), &answered(&[23, 10]), window);
        assert!(!after.reset);
        assert_eq!(after.rates, [2.0, 1.0]);
    }

    #[test]
    fn only_growth_since_the_previous_cycle_counts_as_written() {
        assert_eq!(
            written_since(None, 10, false),
            0,
            "the first sight of a topic"
        );
        assert_eq!(written_since(Some(10), 15, false), 5);
        assert_eq!(written_since(Some(10), 10, false), 0);
        assert_eq!(written_since(Some(10), 15, true), 0, "across a reset");
        assert_eq!(written_since(Some(10), 4, false), 0);
    }

    #[test]
    fn partitions_without_a_leader_are_offline_and_earliest_never_exceeds_latest() {
        let raw = vec![
            RawPartition {
                leader: -1,
                earliest: Some(50),
                ..partition(0, None)
            },
            RawPartition {
                isr: vec![1],
                earliest: None,
                ..partition(1, Some(8))
            },
        ];
        let samples = partition_samples(&raw, &[0.0, 1.5], &[40, 8]);
        assert_eq!(samples[0].leader, None);
        assert_eq!((samples[0].earliest, samples[0].latest), (40, 40));
        assert_eq!(samples[1].leader, Some(1));
        assert_eq!((samples[1].earliest, samples[1].rate), (0, 1.5));
        assert!(samples[1].under_replicated());
    }

    #[test]
    fn group_lag_covers_partitions_read_this_cycle_and_is_never_negative() {
        let latest_of = HashMap::from([(("orders", 0), 100), (("orders", 1), 10), (("a", 0), 5)]);
        let committed: Committed = vec![
            ("orders".into(), 1, 12),
            ("orders".into(), 0, 60),
            ("gone".into(), 0, 3),
            ("a".into(), 0, 5),
        ];
        let partitions = group_partitions(Some(&committed), &latest_of);
        let seen: Vec<(&str, i32, i64)> = partitions
            .iter()
            .map(|p| (p.topic.as_str(), p.partition, p.lag))
            .collect();
        assert_eq!(seen, [("a", 0, 0), ("orders", 0, 40), ("orders", 1, 0)]);
        assert_eq!(topics_of(&partitions), ["a", "orders"]);
        assert!(group_partitions(None, &latest_of).is_empty());
    }

    #[test]
    fn a_group_is_as_far_behind_as_its_furthest_topic() {
        let topic = |name: &str, rate: f64, last: Option<DateTime<Utc>>| TopicSample {
            name: name.into(),
            partitions: Vec::new(),
            rate,
            latest_total: 0,
            retained: 0,
            under_replicated: 0,
            offline: 0,
            last_message_at: last,
            expected: eval::expected_interval(None, None, &thresholds()),
            owner: None,
            health: health(Status::Ok),
        };
        let topics = BTreeMap::from([
            ("busy".to_owned(), topic("busy", 10.0, Some(at(0)))),
            ("quiet".to_owned(), topic("quiet", 0.0, Some(at(0)))),
        ]);
        let lagging = |topic: &str, lag| GroupPartitionSample {
            topic: topic.into(),
            partition: 0,
            committed: 0,
            latest: lag,
            lag,
        };
        let now = at(30);
        let busy = [lagging("busy", 100)];
        let names = ["busy".to_owned()];
        assert_eq!(group_seconds_behind(&busy, &names, &topics, now), 10.0);
        // Nothing arrives on the quiet topic: behind by the time since its last message.
        let both = [lagging("busy", 100), lagging("quiet", 1)];
        let names = ["busy".to_owned(), "quiet".to_owned()];
        assert_eq!(group_seconds_behind(&both, &names, &topics, now), 30.0);
        let caught_up = [lagging("busy", 0)];
        assert_eq!(group_seconds_behind(&caught_up, &names, &topics, now), 0.0);
    }

    #[test]
    fn a_group_is_owned_by_its_grant_else_by_the_owner_of_a_topic_it_reads() {
        let granted = vec![
            ("billing-".to_owned(), true, "billing".to_owned()),
            ("audit".to_owned(), false, "compliance".to_owned()),
        ];
        let catalog = HashMap::from([(
            "orders".to_owned(),
            CatalogTopic {
                owner: "shop".into(),
                expected_seconds: None,
            },
        )]);
        let reads = ["other".to_owned(), "orders".to_owned()];
        let owner = |group| group_owner(&granted, &catalog, group, &reads);
        assert_eq!(owner("billing-invoices").as_deref(), Some("billing"));
        assert_eq!(owner("audit").as_deref(), Some("compliance"));
        // Exact grants match only their own name.
        assert_eq!(owner("audit-2").as_deref(), Some("shop"));
        assert_eq!(
            group_owner(&granted, &catalog, "x", &["other".into()]),
            None
        );
    }

    #[test]
    fn two_cycles_give_rates_writes_lag_and_owners() {
        let thresholds = thresholds();
        let catalog = HashMap::from([(
            "orders".to_owned(),
            CatalogTopic {
                owner: "shop".into(),
                expected_seconds: Some(120),
            },
        )]);
        let learned = HashMap::from([("clicks".to_owned(), 900)]);
        let sandbox = EnvironmentName::parse("sandbox").expect("a valid environment name");
        let known = Known {
            environment: &sandbox,
            window: chrono::Duration::seconds(60),
            thresholds: &thresholds,
            catalog: &catalog,
            learned: &learned,
            granted: &[],
            started_at: at(0),
        };
        let cluster = |read_at, orders: &[i64], clicks: &[i64]| RawCluster {
            read_at,
            brokers: 3,
            topics: vec![
                RawTopic {
                    name: "clicks".into(),
                    partitions: answered(clicks),
                },
                RawTopic {
                    name: "orders".into(),
                    partitions: answered(orders),
                },
            ],
            groups: vec![("shipping".into(), "Stable".into(), 2)],
        };
        let committed = HashMap::from([(
            "shipping".to_owned(),
            vec![("orders".to_owned(), 0, 40), ("orders".to_owned(), 1, 20)],
        )]);
        let mut readings = Readings::default();

        let first = readings.derive(at(10), cluster(at(10), &[40, 20], &[7]), &committed, &known);
        assert_eq!(first.environment, "sandbox");
        assert_eq!((first.collected_at, first.brokers), (at(10), 3));
        let orders = &first.topics["orders"];
        assert_eq!(
            (orders.rate, orders.latest_total, orders.retained),
            (0.0, 60, 60)
        );
        assert_eq!(orders.last_message_at, None, "nothing seen written yet");
        assert_eq!(orders.owner.as_deref(), Some("shop"));
        assert_eq!(orders.expected.source, IntervalSource::Owner);
        assert_eq!(
            first.topics["clicks"].expected.source,
            IntervalSource::Learned
        );
        assert_eq!(readings.deltas["orders"], 0);
        let shipping = &first.groups["shipping"];
        assert_eq!((shipping.lag, shipping.seconds_behind), (0, 0.0));
        assert_eq!(shipping.owner.as_deref(), Some("shop"));
        assert_eq!(shipping.topics, ["orders"]);
        assert_eq!((shipping.state.as_str(), shipping.members), ("Stable", 2));

        let second = readings.derive(
            at(20),
            cluster(at(20), &[140, 70], &[7]),
            &committed,
            &known,
        );
        let orders = &second.topics["orders"];
        assert_eq!(orders.rate, 15.0);
        assert_eq!(orders.latest_total, 210);
        assert_eq!(orders.last_message_at, Some(at(20)));
        assert_eq!(orders.health.status, Status::Ok);
        assert_eq!(readings.deltas["orders"], 150);
        assert_eq!(readings.deltas["clicks"], 0);
        let shipping = &second.groups["shipping"];
        assert_eq!(shipping.lag, 150);
        assert_eq!(shipping.seconds_behind, 10.0);
        assert_eq!(shipping.growing_since, Some(at(10)));

        // Topics and groups gone from the cluster are forgotten.
        let empty = RawCluster {
            read_at: at(30),
            brokers: 3,
            topics: Vec::new(),
            groups: Vec::new(),
        };
        let third = readings.derive(at(30), empty, &HashMap::new(), &known);
        assert!(third.topics.is_empty() && third.groups.is_empty());
        assert!(readings.windows.is_empty() && readings.totals.is_empty());
        assert!(readings.groups.is_empty() && readings.deltas.is_empty());
        assert_eq!(readings.last_message.get("orders"), Some(&at(20)));
    }
}
