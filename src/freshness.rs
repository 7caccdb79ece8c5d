//! The freshness of the restore points (`backups --check`) and its metrics (`--textfile`): checked every day, for cron and
//! Prometheus, so that nobody discovers on the night of a restore that the backups do not fit
//! together. Pure functions over what discovery read and the points grouped from it.

use std::fmt::Write as _;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::restore_point::{
    self, Inventory, Reason, RestorePoint, clickhouse_name_time, component_of, snapshot_time,
    velero_time,
};
use crate::runbook::VeleroComponent;
use crate::textfile::{label, metric};

/// How the restore points stand against `--max-age`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The newest complete restore point is younger than the limit.
    Ok,
    /// The newest complete restore point is older than the limit.
    Stale,
    /// No restore point is complete.
    None,
}

/// What `--check` says, in text and JSON.
#[derive(Debug, Clone, Serialize)]
pub struct Freshness {
    pub status: Status,
    pub newest_complete: Option<Timestamp>,
    pub age_seconds: Option<i64>,
    pub max_age_seconds: i64,
    /// The incomplete points newer than the newest complete one (all of them when none is
    /// complete), newest first, each with why.
    pub newer_incomplete: Vec<Incomplete>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Incomplete {
    pub time: Timestamp,
    pub reasons: Vec<Reason>,
}

pub fn assess(points: &[RestorePoint], now: Timestamp, max_age: SignedDuration) -> Freshness {
    let newest = restore_point::choose(points, None);
    let newer_incomplete = points
        .iter()
        .take_while(|p| newest.is_none_or(|n| p.time > n.time))
        .filter(|p| !p.complete)
        .map(|p| Incomplete {
            time: p.time,
            reasons: p.reasons.clone(),
        })
        .collect();
    let age = newest.map(|p| now.duration_since(p.time));
    Freshness {
        status: match age {
            None => Status::None,
            Some(age) if age > max_age => Status::Stale,
            Some(_) => Status::Ok,
        },
        newest_complete: newest.map(|p| p.time),
        age_seconds: age.map(|a| a.as_secs()),
        max_age_seconds: max_age.as_secs(),
        newer_incomplete,
    }
}

impl Freshness {
    /// The exit status for cron: 0 fresh, 4 stale or none complete.
    pub fn exit_code(&self) -> i32 {
        match self.status {
            Status::Ok => crate::error::exit::SUCCESS,
            Status::Stale | Status::None => crate::error::exit::UNHEALTHY,
        }
    }

    /// One line saying how things stand, then why newer points are incomplete.
    pub fn render(&self) -> String {
        let limit = crate::units::format_duration(std::time::Duration::from_secs(
            self.max_age_seconds.unsigned_abs(),
        ));
        let mut text = match (self.status, self.newest_complete, self.age_seconds) {
            (Status::Ok, Some(time), Some(age)) => format!(
                "ok: the newest complete restore point, {time}, is {} old (--max-age {limit})\n",
                age_text(age)
            ),
            (Status::Stale, Some(time), Some(age)) => format!(
                "stale: the newest complete restore point, {time}, is {} old, older than --max-age {limit}\n",
                age_text(age)
            ),
            _ => "none: no restore point is complete\n".to_string(),
        };
        if !self.newer_incomplete.is_empty() {
            text.push_str(match self.status {
                Status::None => "why each is incomplete, newest first:\n",
                _ => "newer restore points, incomplete:\n",
            });
            for point in &self.newer_incomplete {
                let _ = writeln!(
                    text,
                    "  {}: {}",
                    point.time,
                    restore_point::joined(&point.reasons)
                );
            }
        }
        text
    }
}

/// `18h42m`, `3d2h`: an age as an operator reads it.
fn age_text(seconds: i64) -> String {
    let s = seconds.unsigned_abs();
    let sign = if seconds < 0 { "-" } else { "" };
    match s {
        0..60 => format!("{sign}{s}s"),
        60..3600 => format!("{sign}{}m", s / 60),
        3600..86400 => format!("{sign}{}h{}m", s / 3600, (s % 3600) / 60),
        _ => format!("{sign}{}d{}h", s / 86400, (s % 86400) / 3600),
    }
}

/// The store and kind of a reason a restore point is incomplete, as metric labels.
pub fn reason_labels(reason: &Reason) -> Vec<(&'static str, String)> {
    let (store, kind) = match reason {
        Reason::NoVeleroBackup(c) => (c.word(), "missing".into()),
        Reason::VeleroPhase(c, phase) => (c.word(), snake(phase)),
        Reason::VeleroExpired(c) => (c.word(), "expired".into()),
        Reason::NoClickhouseBackup => ("clickhouse", "missing".into()),
        Reason::ClickhouseMissingOn(nodes) => {
            return vec![
                ("store", "clickhouse".into()),
                ("reason", "missing_on_node".into()),
                ("node", nodes.join(", ")),
            ];
        }
        Reason::NoRdsSnapshot => ("rds", "missing".into()),
        Reason::RdsSnapshotStatus(status) => ("rds", snake(status)),
    };
    vec![("store", store.into()), ("reason", kind)]
}

/// `PartiallyFailed` -> `partially_failed`; anything else but letters and digits -> `_`.
fn snake(text: &str) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let trimmed = out.trim_matches('_');
    if trimmed.is_empty() {
        "other".into()
    } else {
        trimmed.into()
    }
}

/// The newest backup of each store, whether or not its restore point is complete.
fn newest_by_store(inventory: &Inventory) -> Vec<(&'static str, Option<Timestamp>)> {
    let mut newest: Vec<(&'static str, Option<Timestamp>)> = Vec::new();
    for component in VeleroComponent::ALL {
        let time = inventory
            .velero
            .iter()
            .filter(|b| component_of(&b.name) == Some(component))
            .filter_map(velero_time)
            .max();
        newest.push((component.word(), time));
    }
    newest.push((
        "clickhouse",
        inventory
            .clickhouse
            .iter()
            .filter_map(|b| clickhouse_name_time(&b.name))
            .max(),
    ));
    if let Some(snapshots) = &inventory.snapshots {
        newest.push(("rds", snapshots.iter().filter_map(snapshot_time).max()));
    }
    newest
}

/// The metrics in the node_exporter textfile format (the Prometheus text exposition format).
pub fn textfile(
    freshness: &Freshness,
    points: &[RestorePoint],
    inventory: &Inventory,
    now: Timestamp,
) -> String {
    let mut out = String::new();
    metric(
        &mut out,
        "arthur_restore_newest_complete_point_age_seconds",
        "Age of the newest complete restore point (absent when none is complete).",
    );
    if let Some(age) = freshness.age_seconds {
        let _ = writeln!(
            out,
            "arthur_restore_newest_complete_point_age_seconds {age}"
        );
    }
    metric(
        &mut out,
        "arthur_restore_check_ok",
        "1 when the newest complete restore point is younger than --max-age, else 0.",
    );
    let _ = writeln!(
        out,
        "arthur_restore_check_ok {}",
        u8::from(freshness.status == Status::Ok)
    );
    metric(
        &mut out,
        "arthur_restore_max_age_seconds",
        "The --max-age the check was made with.",
    );
    let _ = writeln!(
        out,
        "arthur_restore_max_age_seconds {}",
        freshness.max_age_seconds
    );
    metric(
        &mut out,
        "arthur_restore_points",
        "Restore points found, complete or not.",
    );
    let complete = points.iter().filter(|p| p.complete).count();
    let _ = writeln!(out, "arthur_restore_points{{complete=\"true\"}} {complete}");
    let _ = writeln!(
        out,
        "arthur_restore_points{{complete=\"false\"}} {}",
        points.len() - complete
    );
    metric(
        &mut out,
        "arthur_restore_newest_backup_age_seconds",
        "Age of the newest backup of each store, whether or not its restore point is complete (absent for a store with none).",
    );
    for (store, time) in newest_by_store(inventory) {
        if let Some(time) = time {
            let _ = writeln!(
                out,
                "arthur_restore_newest_backup_age_seconds{{store=\"{store}\"}} {}",
                now.duration_since(time).as_secs()
            );
        }
    }
    metric(
        &mut out,
        "arthur_restore_incomplete_points",
        "Incomplete restore points, by store and reason.",
    );
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    for point in points.iter().filter(|p| !p.complete) {
        for reason in &point.reasons {
            let labels: Vec<String> = reason_labels(reason)
                .into_iter()
                .map(|(key, value)| format!("{key}=\"{}\"", label(&value)))
                .collect();
            *counts.entry(labels.join(",")).or_default() += 1;
        }
    }
    for (labels, count) in counts {
        let _ = writeln!(out, "arthur_restore_incomplete_points{{{labels}}} {count}");
    }
    metric(
        &mut out,
        "arthur_restore_last_check_timestamp_seconds",
        "When the check was made (Unix time).",
    );
    let _ = writeln!(
        out,
        "arthur_restore_last_check_timestamp_seconds {}",
        now.as_second()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_become_labels() {
        use crate::runbook::VeleroComponent::{Enrichments, Messaging, Workflows};
        let cases: [(Reason, &[(&str, &str)]); 6] = [
            (
                Reason::NoVeleroBackup(Workflows),
                &[("store", "workflows"), ("reason", "missing")],
            ),
            (
                Reason::VeleroPhase(Messaging, "PartiallyFailed".into()),
                &[("store", "messaging"), ("reason", "partially_failed")],
            ),
            (
                Reason::VeleroExpired(Enrichments),
                &[("store", "enrichments"), ("reason", "expired")],
            ),
            (
                Reason::ClickhouseMissingOn(vec!["chi-olap-installation-arthur-0-2".into()]),
                &[
                    ("store", "clickhouse"),
                    ("reason", "missing_on_node"),
                    ("node", "chi-olap-installation-arthur-0-2"),
                ],
            ),
            (
                Reason::RdsSnapshotStatus("creating".into()),
                &[("store", "rds"), ("reason", "creating")],
            ),
            (
                Reason::NoRdsSnapshot,
                &[("store", "rds"), ("reason", "missing")],
            ),
        ];
        for (reason, expected) in cases {
            let labels = reason_labels(&reason);
            let got: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
            assert_eq!(got, expected, "{reason}");
        }
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
