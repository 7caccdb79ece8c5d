//! Restore points: the five backups one backup operation made (SPEC section 2). Pure functions
//! over what discovery read; no process is spawned here.
//!
//! The rules, as documented in the README:
//! - **A Velero run**: the messaging, enrichments and workflows backups whose start times lie
//!   within `VELERO_RUN_WINDOW` (30 minutes) of the run's first backup, one of each component. A
//!   backup's time is the one in its name (`…2023-05-11t15.22.37-04.00-messaging`, offset
//!   honoured), else its `status.startTimestamp`. The spread is the last start minus the first.
//! - **Coincides**: the RDS snapshot (time from its name, `…t15-21-50-04-00`, else its
//!   `SnapshotCreateTime`) nearest to the run's first backup
//!   within `RDS_LIMIT` (60 minutes): Arthur's backup operation snapshots the database with the
//!   Velero backups. The ClickHouse backup (time from its name, which the pod writes in UTC)
//!   nearest to it within `CLICKHOUSE_LIMIT` (24 hours): ClickHouse is backed up by its own daily
//!   CronJob (`clickhouse-backup-cronjob`, `0 0 * * *`), so the nearest daily backup is the one
//!   that belongs with the run. The gaps are shown, so that an operator sees how far apart they are.
//! - **Complete**: all three Velero backups present and `Completed`, none expired; the ClickHouse
//!   backup present on every node that holds any backup; the RDS snapshot present and
//!   `available` (when snapshots were looked up).

use std::collections::{BTreeSet, HashMap};
use std::sync::LazyLock;

use jiff::{SignedDuration, Timestamp};
use regex::Regex;
use serde::Serialize;

use crate::parse::clickhouse::ClickhouseBackup;
use crate::parse::rds::DbSnapshot;
use crate::parse::velero::VeleroBackup;
use crate::runbook::VeleroComponent;

pub const VELERO_RUN_WINDOW: SignedDuration = SignedDuration::from_mins(30);
pub const RDS_LIMIT: SignedDuration = SignedDuration::from_mins(60);
pub const CLICKHOUSE_LIMIT: SignedDuration = SignedDuration::from_hours(24);

static VELERO_NAME_TIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"([0-9]{4}-[0-9]{2}-[0-9]{2})t([0-9]{2})\.([0-9]{2})\.([0-9]{2})([+-][0-9]{2})\.([0-9]{2})-(messaging|enrichments|workflows)$")
        .expect("valid")
});
static SNAPSHOT_NAME_TIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"([0-9]{4}-[0-9]{2}-[0-9]{2})t([0-9]{2})-([0-9]{2})-([0-9]{2})-([0-9]{2})-([0-9]{2})$",
    )
    .expect("valid")
});
static CLICKHOUSE_NAME_TIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"([0-9]{4}-[0-9]{2}-[0-9]{2})-([0-9]{2})-([0-9]{2})-([0-9]{2})$").expect("valid")
});

pub fn component_of(name: &str) -> Option<VeleroComponent> {
    VeleroComponent::ALL
        .into_iter()
        .find(|c| name.ends_with(&format!("-{}", c.word())))
}

/// `arthur-backup-2023-05-11t15.22.37-04.00-messaging` → 2023-05-11T19:22:37Z.
pub fn velero_name_time(name: &str) -> Option<Timestamp> {
    let c = VELERO_NAME_TIME.captures(name)?;
    format!("{}T{}:{}:{}{}:{}", &c[1], &c[2], &c[3], &c[4], &c[5], &c[6])
        .parse()
        .ok()
}

/// `arthur-backup-2023-05-11t15-21-50-04-00` → 2023-05-11T19:21:50Z. Snapshot identifiers cannot
/// hold `.` or `+`, so Arthur writes the offset with `-`: it is read as a negative offset (or
/// UTC for `-00-00`).
/// A Velero backup's time: the one in its name, else its `status.startTimestamp`.
pub fn velero_time(backup: &VeleroBackup) -> Option<Timestamp> {
    velero_name_time(&backup.name)
        .or_else(|| backup.started.as_deref().and_then(|s| s.parse().ok()))
}

pub fn snapshot_name_time(name: &str) -> Option<Timestamp> {
    let c = SNAPSHOT_NAME_TIME.captures(name)?;
    format!(
        "{}T{}:{}:{}-{}:{}",
        &c[1], &c[2], &c[3], &c[4], &c[5], &c[6]
    )
    .parse()
    .ok()
}

/// A snapshot's time: the backup operation's, from its name, else `SnapshotCreateTime`.
pub fn snapshot_time(snapshot: &DbSnapshot) -> Option<Timestamp> {
    snapshot_name_time(&snapshot.id)
        .or_else(|| snapshot.created.as_deref().and_then(|c| c.parse().ok()))
}

/// `arthur-clickhouse-backup-2023-05-11-00-00-07` → 2023-05-11T00:00:07Z.
pub fn clickhouse_name_time(name: &str) -> Option<Timestamp> {
    let c = CLICKHOUSE_NAME_TIME.captures(name)?;
    format!("{}T{}:{}:{}Z", &c[1], &c[2], &c[3], &c[4])
        .parse()
        .ok()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatedBackup {
    pub name: String,
    pub time: Timestamp,
    pub phase: String,
    pub expiration: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Coinciding {
    pub name: String,
    pub time: Timestamp,
    /// Seconds from the Velero run's first backup (negative: before it).
    pub gap_seconds: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestorePoint {
    /// The Velero run's first backup.
    pub time: Timestamp,
    pub spread_seconds: i64,
    pub messaging: Option<DatedBackup>,
    pub enrichments: Option<DatedBackup>,
    pub workflows: Option<DatedBackup>,
    pub clickhouse: Option<Coinciding>,
    pub rds_snapshot: Option<Coinciding>,
    pub complete: bool,
    pub reasons: Vec<Reason>,
}

/// Why a restore point is incomplete. Shown (and serialized) as a sentence; `backups --check`
/// makes metric labels of the parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    NoVeleroBackup(VeleroComponent),
    /// The backup's phase, when not `Completed`.
    VeleroPhase(VeleroComponent, String),
    VeleroExpired(VeleroComponent),
    NoClickhouseBackup,
    /// The nodes that hold some backup but not this one.
    ClickhouseMissingOn(Vec<String>),
    NoRdsSnapshot,
    /// The snapshot's status, when not `available`.
    RdsSnapshotStatus(String),
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::NoVeleroBackup(c) => write!(f, "no {} backup in this run", c.word()),
            Reason::VeleroPhase(c, phase) => write!(f, "{} backup is {phase}", c.word()),
            Reason::VeleroExpired(c) => write!(f, "{} backup has expired", c.word()),
            Reason::NoClickhouseBackup => f.write_str("no ClickHouse backup within 24h"),
            Reason::ClickhouseMissingOn(nodes) => {
                write!(f, "ClickHouse backup missing on {}", nodes.join(", "))
            }
            Reason::NoRdsSnapshot => f.write_str("no RDS snapshot within 60m"),
            Reason::RdsSnapshotStatus(status) => write!(f, "RDS snapshot is {status}"),
        }
    }
}

impl Serialize for Reason {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The reasons as one line, `; ` between them.
pub fn joined(reasons: &[Reason]) -> String {
    reasons
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl RestorePoint {
    pub fn velero(&self, component: VeleroComponent) -> Option<&DatedBackup> {
        match component {
            VeleroComponent::Messaging => self.messaging.as_ref(),
            VeleroComponent::Enrichments => self.enrichments.as_ref(),
            VeleroComponent::Workflows => self.workflows.as_ref(),
        }
    }

    fn slot(&mut self, component: VeleroComponent) -> &mut Option<DatedBackup> {
        match component {
            VeleroComponent::Messaging => &mut self.messaging,
            VeleroComponent::Enrichments => &mut self.enrichments,
            VeleroComponent::Workflows => &mut self.workflows,
        }
    }
}

/// What discovery read.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    pub velero: Vec<VeleroBackup>,
    pub clickhouse: Vec<ClickhouseBackup>,
    /// `None` when no RDS source was given (snapshots not looked up).
    pub snapshots: Option<Vec<DbSnapshot>>,
}

/// Velero backups that are not part of any restore point, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unplaced {
    pub name: String,
    pub reason: String,
}

/// Groups the inventory into restore points, newest first.
pub fn restore_points(inventory: &Inventory, now: Timestamp) -> (Vec<RestorePoint>, Vec<Unplaced>) {
    let mut unplaced = Vec::new();
    let mut dated: Vec<(VeleroComponent, DatedBackup)> = Vec::new();
    for backup in &inventory.velero {
        let Some(component) = component_of(&backup.name) else {
            unplaced.push(Unplaced {
                name: backup.name.clone(),
                reason: "not a messaging, enrichments or workflows backup".into(),
            });
            continue;
        };
        let Some(time) = velero_time(backup) else {
            unplaced.push(Unplaced {
                name: backup.name.clone(),
                reason: "no time in its name and not started".into(),
            });
            continue;
        };
        dated.push((
            component,
            DatedBackup {
                name: backup.name.clone(),
                time,
                phase: backup.phase.clone(),
                expiration: backup.expiration.as_deref().and_then(|e| e.parse().ok()),
            },
        ));
    }
    dated.sort_by(|a, b| {
        a.1.time
            .cmp(&b.1.time)
            .then_with(|| a.1.name.cmp(&b.1.name))
    });

    let mut points: Vec<RestorePoint> = Vec::new();
    for (component, backup) in dated {
        let joins = points.last().is_some_and(|point| {
            backup.time.duration_since(point.time) <= VELERO_RUN_WINDOW
                && point.velero(component).is_none()
        });
        if !joins {
            points.push(RestorePoint {
                time: backup.time,
                spread_seconds: 0,
                messaging: None,
                enrichments: None,
                workflows: None,
                clickhouse: None,
                rds_snapshot: None,
                complete: false,
                reasons: Vec::new(),
            });
        }
        let point = points.last_mut().expect("a point exists");
        point.spread_seconds = backup.time.duration_since(point.time).as_secs();
        *point.slot(component) = Some(backup);
    }

    let lookups = Lookups::new(inventory);
    for point in &mut points {
        point.clickhouse = lookups.clickhouse.nearest(point.time, CLICKHOUSE_LIMIT);
        if let Some(snapshots) = &lookups.snapshots {
            point.rds_snapshot = snapshots.nearest(point.time, RDS_LIMIT);
        }
        point.reasons = reasons(point, &lookups, now);
        point.complete = point.reasons.is_empty();
    }
    points.reverse();
    (points, unplaced)
}

/// What every restore point looks up, built once (sorting and indexing), so that grouping stays
/// near linear in the number of backups: each point finds its ClickHouse backup and RDS snapshot
/// by binary search, and the nodes holding a backup and a snapshot's status by key.
struct Lookups<'a> {
    clickhouse: Timeline<'a>,
    snapshots: Option<Timeline<'a>>,
    /// The usable (not broken) copies of each ClickHouse backup, by node.
    holding: HashMap<&'a str, BTreeSet<&'a str>>,
    every_node: BTreeSet<&'a str>,
    /// Each snapshot's status (the first listed, for an identifier listed twice).
    status: HashMap<&'a str, &'a str>,
}

impl<'a> Lookups<'a> {
    fn new(inventory: &'a Inventory) -> Lookups<'a> {
        let mut holding: HashMap<&str, BTreeSet<&str>> = HashMap::new();
        for backup in inventory.clickhouse.iter().filter(|b| !b.broken) {
            holding
                .entry(backup.name.as_str())
                .or_default()
                .insert(backup.node.as_str());
        }
        let mut status = HashMap::new();
        for snapshot in inventory.snapshots.iter().flatten() {
            status
                .entry(snapshot.id.as_str())
                .or_insert(snapshot.status.as_str());
        }
        Lookups {
            clickhouse: Timeline::new(
                inventory
                    .clickhouse
                    .iter()
                    .filter_map(|b| clickhouse_name_time(&b.name).map(|t| (t, b.name.as_str()))),
            ),
            snapshots: inventory.snapshots.as_ref().map(|snapshots| {
                Timeline::new(
                    snapshots
                        .iter()
                        .filter_map(|s| snapshot_time(s).map(|t| (t, s.id.as_str()))),
                )
            }),
            holding,
            every_node: inventory
                .clickhouse
                .iter()
                .map(|b| b.node.as_str())
                .collect(),
            status,
        }
    }
}

/// Named times, sorted once by time then name (each name once).
struct Timeline<'a>(Vec<(Timestamp, &'a str)>);

impl<'a> Timeline<'a> {
    fn new(entries: impl Iterator<Item = (Timestamp, &'a str)>) -> Timeline<'a> {
        let mut entries: Vec<(Timestamp, &str)> = entries.collect();
        entries.sort_unstable();
        entries.dedup();
        Timeline(entries)
    }

    /// The entry nearest to `time` within `limit`; of two as near, the name first in order.
    /// Only the entries at the nearest time at or after `time`, and at the nearest time before
    /// it, can be nearest: both are found by binary search.
    fn nearest(&self, time: Timestamp, limit: SignedDuration) -> Option<Coinciding> {
        let entries = &self.0;
        let at = entries.partition_point(|(t, _)| *t < time);
        let mut candidates: Vec<(Timestamp, &str)> = Vec::new();
        if let Some((after, _)) = entries.get(at) {
            candidates.extend(entries[at..].iter().take_while(|(t, _)| t == after));
        }
        if at > 0 {
            let before = entries[at - 1].0;
            candidates.extend(entries[..at].iter().rev().take_while(|(t, _)| *t == before));
        }
        candidates
            .into_iter()
            .map(|(t, name)| (name, t, t.duration_since(time)))
            .filter(|(_, _, gap)| gap.abs() <= limit)
            .min_by_key(|(name, _, gap)| (gap.abs(), *name))
            .map(|(name, t, gap)| Coinciding {
                name: name.to_string(),
                time: t,
                gap_seconds: gap.as_secs(),
            })
    }
}

fn reasons(point: &RestorePoint, lookups: &Lookups<'_>, now: Timestamp) -> Vec<Reason> {
    let mut reasons = Vec::new();
    for component in VeleroComponent::ALL {
        match point.velero(component) {
            None => reasons.push(Reason::NoVeleroBackup(component)),
            Some(b) if b.phase != "Completed" => {
                reasons.push(Reason::VeleroPhase(component, b.phase.clone()))
            }
            Some(b) if b.expiration.is_some_and(|e| e <= now) => {
                reasons.push(Reason::VeleroExpired(component))
            }
            Some(_) => {}
        }
    }
    match &point.clickhouse {
        None => reasons.push(Reason::NoClickhouseBackup),
        Some(c) => {
            let none = BTreeSet::new();
            let holding = lookups.holding.get(c.name.as_str()).unwrap_or(&none);
            let missing: Vec<String> = lookups
                .every_node
                .difference(holding)
                .map(|n| n.to_string())
                .collect();
            if !missing.is_empty() {
                reasons.push(Reason::ClickhouseMissingOn(missing));
            }
        }
    }
    if lookups.snapshots.is_some() {
        match &point.rds_snapshot {
            None => reasons.push(Reason::NoRdsSnapshot),
            Some(s) => {
                let status = lookups.status.get(s.name.as_str()).copied().unwrap_or("");
                if status != "available" {
                    reasons.push(Reason::RdsSnapshotStatus(status.into()));
                }
            }
        }
    }
    reasons
}

/// The newest complete restore point at or before `at` (or the newest complete one).
pub fn choose(points: &[RestorePoint], at: Option<Timestamp>) -> Option<&RestorePoint> {
    points
        .iter()
        .find(|p| p.complete && at.is_none_or(|at| p.time <= at))
}

/// The index of the restore point a Velero backup belongs to.
pub fn index_of(points: &[RestorePoint], name: &str) -> Option<usize> {
    points.iter().position(|p| {
        VeleroComponent::ALL
            .iter()
            .any(|c| p.velero(*c).is_some_and(|b| b.name == name))
    })
}

/// The listed Velero backup of a component whose name is nearest to a name not listed (a typo),
/// if one is near enough to be what was meant.
pub fn nearest_name<'a>(
    points: &'a [RestorePoint],
    component: VeleroComponent,
    name: &str,
) -> Option<&'a str> {
    points
        .iter()
        .filter_map(|p| p.velero(component).map(|b| b.name.as_str()))
        .map(|listed| (strsim::levenshtein(listed, name), listed))
        .filter(|(distance, _)| *distance <= 3.max(name.len() / 8))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, listed)| listed)
}

/// `+4h37m`, `-44s`: how far a backup is from the Velero run.
pub fn gap(seconds: i64) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.unsigned_abs();
    match s {
        0..60 => format!("{sign}{s}s"),
        60..3600 => format!("{sign}{}m{}s", s / 60, s % 60),
        _ => format!("{sign}{}h{}m", s / 3600, (s % 3600) / 60),
    }
}

pub fn describe(point: &RestorePoint) -> String {
    let name = |b: Option<&DatedBackup>| b.map(|b| b.name.clone()).unwrap_or_else(|| "-".into());
    let mut text = format!(
        "restore point {} (Velero backups spread over {}):\n  messaging    {}\n  enrichments  {}\n  workflows    {}",
        point.time,
        gap(point.spread_seconds).trim_start_matches('+'),
        name(point.messaging.as_ref()),
        name(point.enrichments.as_ref()),
        name(point.workflows.as_ref()),
    );
    if let Some(c) = &point.clickhouse {
        text.push_str(&format!(
            "\n  clickhouse   {} ({})",
            c.name,
            gap(c.gap_seconds)
        ));
    }
    if let Some(s) = &point.rds_snapshot {
        text.push_str(&format!(
            "\n  rds snapshot {} ({})",
            s.name,
            gap(s.gap_seconds)
        ));
    }
    text
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn times_from_names_honour_offsets() {
        assert_eq!(
            velero_name_time("arthur-backup-2023-05-11t15.22.37-04.00-messaging")
                .unwrap()
                .to_string(),
            "2023-05-11T19:22:37Z"
        );
        assert_eq!(
            velero_name_time("arthur-backup-2023-05-12t01.00.00+05.30-workflows")
                .unwrap()
                .to_string(),
            "2023-05-11T19:30:00Z"
        );
        assert_eq!(
            clickhouse_name_time("arthur-clickhouse-backup-2023-05-11-00-00-07")
                .unwrap()
                .to_string(),
            "2023-05-11T00:00:07Z"
        );
        assert_eq!(velero_name_time("nightly-messaging"), None);
        assert_eq!(
            snapshot_name_time("arthur-backup-2023-05-11t15-21-50-04-00")
                .unwrap()
                .to_string(),
            "2023-05-11T19:21:50Z"
        );
        assert_eq!(
            snapshot_name_time("rds:arthur-prod-db-2023-05-11-03-05"),
            None
        );
    }

    /// A small inventory for the tables below: one backup operation at 2023-05-11T19:22:37Z
    /// (15:22:37-04:00), two ClickHouse nodes, one snapshot; each row changes one thing.
    pub(crate) mod sample {
        use super::super::*;
        use crate::parse::clickhouse::ClickhouseBackup;
        use crate::parse::rds::DbSnapshot;
        use crate::parse::velero::VeleroBackup;

        pub const MESSAGING: &str = "arthur-backup-2023-05-11t15.22.37-04.00-messaging";
        pub const ENRICHMENTS: &str = "arthur-backup-2023-05-11t15.25.24-04.00-enrichments";
        pub const WORKFLOWS: &str = "arthur-backup-2023-05-11t15.23.25-04.00-workflows";
        pub const CLICKHOUSE: &str = "arthur-clickhouse-backup-2023-05-11-00-00-07";
        pub const SNAPSHOT: &str = "arthur-backup-2023-05-11t15-21-50-04-00";

        pub fn velero(name: &str, phase: &str) -> VeleroBackup {
            VeleroBackup {
                name: name.into(),
                phase: phase.into(),
                started: None,
                expiration: Some("2023-06-10T19:22:37Z".into()),
                storage_location: None,
            }
        }

        pub fn clickhouse(node: u8, name: &str) -> ClickhouseBackup {
            ClickhouseBackup {
                node: format!("chi-olap-installation-arthur-0-{node}"),
                name: name.into(),
                location: "remote".into(),
                broken: false,
            }
        }

        pub fn snapshot(id: &str, status: &str) -> DbSnapshot {
            DbSnapshot {
                id: id.into(),
                instance: "arthur-prod-db".into(),
                status: status.into(),
                created: None,
            }
        }

        pub fn tidy() -> Inventory {
            Inventory {
                velero: vec![
                    velero(MESSAGING, "Completed"),
                    velero(ENRICHMENTS, "Completed"),
                    velero(WORKFLOWS, "Completed"),
                ],
                clickhouse: vec![clickhouse(0, CLICKHOUSE), clickhouse(1, CLICKHOUSE)],
                snapshots: Some(vec![snapshot(SNAPSHOT, "available")]),
            }
        }

        pub fn now() -> Timestamp {
            "2023-05-14T14:05:00Z".parse().unwrap()
        }
    }

    /// Each row: a change to the tidy inventory, and the reasons the point is incomplete.
    #[test]
    fn what_makes_a_restore_point_incomplete() {
        use sample::*;
        type Change = fn(&mut Inventory);
        let rows: &[(&str, Change, &[&str])] = &[
            ("tidy", |_| {}, &[]),
            (
                "no workflows backup",
                |i| i.velero.retain(|b| b.name != WORKFLOWS),
                &["no workflows backup in this run"],
            ),
            (
                "a backup partially failed",
                |i| i.velero[1].phase = "PartiallyFailed".into(),
                &["enrichments backup is PartiallyFailed"],
            ),
            (
                "a backup expired",
                |i| i.velero[0].expiration = Some("2023-05-12T00:00:00Z".into()),
                &["messaging backup has expired"],
            ),
            (
                "ClickHouse missing on a node",
                |i| {
                    i.clickhouse.push(clickhouse(
                        2,
                        "arthur-clickhouse-backup-2023-05-10-00-00-07",
                    ))
                },
                &["ClickHouse backup missing on chi-olap-installation-arthur-0-2"],
            ),
            (
                "no ClickHouse backup within a day",
                |i| i.clickhouse.clear(),
                &["no ClickHouse backup within 24h"],
            ),
            (
                "the snapshot is still being made",
                |i| i.snapshots = Some(vec![snapshot(SNAPSHOT, "creating")]),
                &["RDS snapshot is creating"],
            ),
            (
                "the snapshot is hours away",
                |i| {
                    i.snapshots = Some(vec![snapshot(
                        "arthur-backup-2023-05-11t10-21-50-04-00",
                        "available",
                    )])
                },
                &["no RDS snapshot within 60m"],
            ),
            ("snapshots not looked up", |i| i.snapshots = None, &[]),
        ];
        for (what, change, reasons) in rows {
            let mut inventory = tidy();
            change(&mut inventory);
            let (points, _) = restore_points(&inventory, now());
            assert_eq!(points.len(), 1, "{what}");
            let said: Vec<String> = points[0].reasons.iter().map(ToString::to_string).collect();
            assert_eq!(said, *reasons, "{what}");
            assert_eq!(points[0].complete, reasons.is_empty(), "{what}");
        }
    }

    /// Each row: `--at`, and the restore point chosen among an older complete point, a newer
    /// incomplete one and the newest complete one.
    #[test]
    fn the_newest_complete_point_at_or_before_is_chosen() {
        let point = |time: &str, complete: bool| RestorePoint {
            time: time.parse().unwrap(),
            spread_seconds: 0,
            messaging: None,
            enrichments: None,
            workflows: None,
            clickhouse: None,
            rds_snapshot: None,
            complete,
            reasons: Vec::new(),
        };
        let points = [
            point("2023-05-13T19:00:00Z", true),
            point("2023-05-12T19:00:00Z", false),
            point("2023-05-11T19:00:00Z", true),
        ];
        let rows: &[(Option<&str>, Option<&str>)] = &[
            (None, Some("2023-05-13T19:00:00Z")),
            (Some("2023-05-13T19:00:00Z"), Some("2023-05-13T19:00:00Z")),
            (Some("2023-05-13T18:59:59Z"), Some("2023-05-11T19:00:00Z")),
            (Some("2023-05-11T18:00:00Z"), None),
        ];
        for (at, chosen) in rows {
            let at = at.map(|a| a.parse().unwrap());
            let found = choose(&points, at).map(|p| p.time.to_string());
            assert_eq!(found.as_deref(), *chosen, "--at {at:?}");
        }
    }

    /// Hundreds of runs, named in three UTC offsets and listed in a shuffled order: every run is
    /// grouped with exactly its own three backups, and the points come out newest first.
    #[test]
    fn hundreds_of_generated_runs_group_correctly() {
        use crate::parse::clickhouse::ClickhouseBackup;
        use crate::parse::velero::VeleroBackup;

        let runs = 400;
        let start: Timestamp = "2022-01-01T00:00:00Z".parse().unwrap();
        let offsets: [(i64, i64); 3] = [(-4, 0), (0, 0), (5, 30)];
        let mut velero = Vec::new();
        let mut clickhouse = Vec::new();
        for run in 0..runs {
            // Runs 7h apart, so that runs land on both sides of midnight in every offset.
            let time = start + SignedDuration::from_hours(7 * run);
            let (hours, minutes) = offsets[(run % 3) as usize];
            let offset = jiff::tz::Offset::from_seconds(
                (hours * 3600 + hours.signum() * minutes * 60) as i32,
            )
            .unwrap();
            for (component, seconds) in [("messaging", 0), ("workflows", 48), ("enrichments", 167)]
            {
                let t = time + SignedDuration::from_secs(seconds);
                let local = offset.to_datetime(t);
                let sign = if hours < 0 { '-' } else { '+' };
                let name = format!(
                    "arthur-backup-{}{sign}{:02}.{:02}-{component}",
                    local.strftime("%Y-%m-%dt%H.%M.%S"),
                    hours.abs(),
                    minutes
                );
                velero.push(VeleroBackup {
                    name,
                    phase: "Completed".into(),
                    started: None,
                    expiration: Some((t + SignedDuration::from_hours(24 * 365 * 10)).to_string()),
                    storage_location: None,
                });
            }
            for node in 0..3 {
                clickhouse.push(ClickhouseBackup {
                    node: format!("chi-olap-installation-arthur-0-{node}"),
                    name: format!(
                        "arthur-clickhouse-backup-{}",
                        time.strftime("%Y-%m-%d-%H-%M-%S")
                    ),
                    location: "remote".into(),
                    broken: false,
                });
            }
        }
        // A fixed shuffle: listing order must not matter.
        let mut shuffled = Vec::new();
        let mut index = 0usize;
        for _ in 0..velero.len() {
            index = (index + 7919) % velero.len();
            while shuffled.iter().any(|(i, _)| *i == index) {
                index = (index + 1) % velero.len();
            }
            shuffled.push((index, velero[index].clone()));
        }
        let inventory = Inventory {
            velero: shuffled.into_iter().map(|(_, b)| b).collect(),
            clickhouse,
            snapshots: None,
        };
        let (points, unplaced) = restore_points(&inventory, start);
        assert!(unplaced.is_empty());
        assert_eq!(points.len(), runs as usize);
        for (i, point) in points.iter().enumerate() {
            assert!(point.complete, "{point:?}");
            assert_eq!(point.spread_seconds, 167);
            assert_eq!(point.clickhouse.as_ref().unwrap().gap_seconds, 0);
            let expected = start + SignedDuration::from_hours(7 * (runs - 1 - i as i64));
            assert_eq!(point.time, expected);
        }
    }

    /// The grouping before it was made linear (each point scanning every ClickHouse backup,
    /// snapshot and node listing), kept here as the reference the linear one must agree with.
    mod quadratic {
        use super::super::*;
        use std::collections::BTreeMap;

        fn nearest<'a>(
            time: Timestamp,
            limit: SignedDuration,
            candidates: impl Iterator<Item = (&'a str, Timestamp)>,
        ) -> Option<Coinciding> {
            candidates
                .map(|(name, t)| (name, t, t.duration_since(time)))
                .filter(|(_, _, gap)| gap.abs() <= limit)
                .min_by_key(|(name, _, gap)| (gap.abs(), name.to_string()))
                .map(|(name, t, gap)| Coinciding {
                    name: name.to_string(),
                    time: t,
                    gap_seconds: gap.as_secs(),
                })
        }

        /// The points of the linear grouping with ClickHouse, RDS and reasons found again the
        /// old way.
        pub fn regroup(
            points: &[RestorePoint],
            inventory: &Inventory,
            now: Timestamp,
        ) -> Vec<RestorePoint> {
            let clickhouse_times: BTreeMap<String, Timestamp> = inventory
                .clickhouse
                .iter()
                .filter_map(|b| clickhouse_name_time(&b.name).map(|t| (b.name.clone(), t)))
                .collect();
            let every_node = crate::parse::clickhouse::all_nodes(&inventory.clickhouse);
            points
                .iter()
                .map(|point| {
                    let mut point = point.clone();
                    point.clickhouse = nearest(
                        point.time,
                        CLICKHOUSE_LIMIT,
                        clickhouse_times.iter().map(|(n, t)| (n.as_str(), *t)),
                    );
                    point.rds_snapshot = inventory.snapshots.as_ref().and_then(|snapshots| {
                        nearest(
                            point.time,
                            RDS_LIMIT,
                            snapshots
                                .iter()
                                .filter_map(|s| snapshot_time(s).map(|t| (s.id.as_str(), t))),
                        )
                    });
                    let mut reasons: Vec<Reason> = point
                        .reasons
                        .iter()
                        .filter(|r| {
                            matches!(
                                r,
                                Reason::NoVeleroBackup(_)
                                    | Reason::VeleroPhase(..)
                                    | Reason::VeleroExpired(_)
                            )
                        })
                        .cloned()
                        .collect();
                    match &point.clickhouse {
                        None => reasons.push(Reason::NoClickhouseBackup),
                        Some(c) => {
                            let holding = crate::parse::clickhouse::nodes_holding(
                                &inventory.clickhouse,
                                &c.name,
                            );
                            let missing: Vec<&String> = every_node.difference(&holding).collect();
                            if !missing.is_empty() {
                                reasons.push(Reason::ClickhouseMissingOn(
                                    missing.into_iter().cloned().collect(),
                                ));
                            }
                        }
                    }
                    if let Some(snapshots) = &inventory.snapshots {
                        match &point.rds_snapshot {
                            None => reasons.push(Reason::NoRdsSnapshot),
                            Some(s) => {
                                let status = snapshots
                                    .iter()
                                    .find(|x| x.id == s.name)
                                    .map(|x| x.status.as_str())
                                    .unwrap_or("");
                                if status != "available" {
                                    reasons.push(Reason::RdsSnapshotStatus(status.into()));
                                }
                            }
                        }
                    }
                    let _ = now;
                    point.complete = reasons.is_empty();
                    point.reasons = reasons;
                    point
                })
                .collect()
        }
    }

    /// Generated inventories with ties (a backup as far before a run as another after it, two
    /// names at one time), broken copies, missing nodes, snapshots in every status: the linear
    /// grouping finds what the quadratic one found, point for point.
    #[test]
    fn the_linear_grouping_agrees_with_the_quadratic_one() {
        use crate::parse::clickhouse::ClickhouseBackup;
        use crate::parse::rds::DbSnapshot;
        use crate::parse::velero::VeleroBackup;

        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |below: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % below
        };
        let start: Timestamp = "2023-01-01T00:00:00Z".parse().unwrap();
        let mut compared = 0;
        for _ in 0..200 {
            let runs = 1 + next(12) as i64;
            let mut velero = Vec::new();
            let mut clickhouse = Vec::new();
            let mut snapshots = Vec::new();
            for run in 0..runs {
                let time = start + SignedDuration::from_mins(run * (30 + next(600) as i64));
                for (component, seconds) in
                    [("messaging", 0), ("workflows", 48), ("enrichments", 167)]
                {
                    if next(10) == 0 {
                        continue;
                    }
                    let t = time + SignedDuration::from_secs(seconds);
                    velero.push(VeleroBackup {
                        name: format!(
                            "arthur-backup-{}+00.00-{component}",
                            t.strftime("%Y-%m-%dt%H.%M.%S")
                        ),
                        phase: ["Completed", "Completed", "PartiallyFailed"][next(3) as usize]
                            .into(),
                        started: None,
                        expiration: Some(
                            (t + SignedDuration::from_hours(next(48_000) as i64)).to_string(),
                        ),
                        storage_location: None,
                    });
                }
                // ClickHouse backups at whole minutes around the run: equal gaps on both sides
                // happen.
                for _ in 0..next(3) {
                    let t = time + SignedDuration::from_mins(next(1_500) as i64 - 750);
                    let name = format!(
                        "arthur-clickhouse-backup-{}",
                        t.strftime("%Y-%m-%d-%H-%M-%S")
                    );
                    for node in 0..3 {
                        if next(8) == 0 {
                            continue;
                        }
                        clickhouse.push(ClickhouseBackup {
                            node: format!("chi-olap-installation-arthur-0-{node}"),
                            name: name.clone(),
                            location: "remote".into(),
                            broken: next(10) == 0,
                        });
                    }
                }
                for _ in 0..next(3) {
                    let t = time + SignedDuration::from_mins(next(120) as i64 - 60);
                    let id = if next(2) == 0 {
                        format!("arthur-backup-{}-00-00", t.strftime("%Y-%m-%dt%H-%M-%S"))
                    } else {
                        format!("rds:arthur-prod-{}", next(1_000))
                    };
                    // Two snapshots taken at one time, now and then: the order of names decides.
                    if next(3) == 0 {
                        snapshots.push(DbSnapshot {
                            id: format!("rds:arthur-twin-{}", next(1_000)),
                            instance: "arthur-prod".into(),
                            status: "available".into(),
                            created: Some(t.to_string()),
                        });
                    }
                    snapshots.push(DbSnapshot {
                        id,
                        instance: "arthur-prod".into(),
                        status: ["available", "available", "creating"][next(3) as usize].into(),
                        created: Some(t.to_string()),
                    });
                }
            }
            let inventory = Inventory {
                velero,
                clickhouse,
                snapshots: (next(4) != 0).then_some(snapshots),
            };
            let now = start + SignedDuration::from_hours(24_000);
            let (points, _) = restore_points(&inventory, now);
            assert_eq!(
                points,
                quadratic::regroup(&points, &inventory, now),
                "{inventory:?}"
            );
            compared += points.len();
        }
        assert!(compared > 500, "{compared} points compared");
    }
}
