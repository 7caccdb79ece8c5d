//! What a run measured, read from its chained events (SPEC section 8, metrics): the time to
//! restore from the run's first start to its end (resumptions and the pauses between them
//! included), the time of each step, the time spent waiting for people at the gates, and how
//! old the restored data was when the run began (the achieved RPO). `run --textfile` writes them
//! in the node_exporter textfile format; the ending says them in words.

use std::fmt::Write as _;

use jiff::Timestamp;

use crate::record::{Event, EventRecord, RunStatus};
use crate::restore_point::{clickhouse_name_time, snapshot_name_time, velero_name_time};
use crate::runbook::StepId;
use crate::textfile::{label, metric};
use crate::units::format_duration;

#[derive(Debug, Clone, PartialEq)]
pub struct Measures {
    pub success: bool,
    /// From the run's first start to now, in seconds.
    pub duration: f64,
    pub ended: Timestamp,
    /// Each step begun, with the time spent in it over every invocation.
    pub steps: Vec<(StepId, f64)>,
    /// Time at the gates, from the question to its answer, and waiting for approvals.
    pub people_wait: f64,
    /// The oldest of the restored backups' times.
    pub restore_point: Option<Timestamp>,
    /// How old that was when the run began.
    pub restore_point_age: Option<f64>,
    pub namespace: String,
    pub cluster: String,
}

fn at(record: &EventRecord) -> Option<Timestamp> {
    record.time.parse().ok()
}

fn seconds(from: Timestamp, to: Timestamp) -> f64 {
    to.duration_since(from).as_secs_f64().max(0.0)
}

impl Measures {
    /// The measures of a run from its events, as it ends now with `status`.
    pub fn of(records: &[EventRecord], status: RunStatus, now: Timestamp) -> Measures {
        let mut measures = Measures {
            success: status == RunStatus::Completed,
            duration: 0.0,
            ended: now,
            steps: Vec::new(),
            people_wait: 0.0,
            restore_point: None,
            restore_point_age: None,
            namespace: String::new(),
            cluster: "unknown".into(),
        };
        let began = records.iter().find_map(|r| match &r.event {
            Event::RunStarted(_) => at(r),
            _ => None,
        });
        let mut backups = Vec::new();
        // The step being performed, and since when.
        let mut current: Option<(StepId, Timestamp)> = None;
        // An approval asked for and not yet given, since when.
        let mut asked: Option<Timestamp> = None;
        let mut previous: Option<Timestamp> = None;
        for record in records {
            let time = at(record);
            match &record.event {
                Event::RunStarted(identity) | Event::RunResumed(identity) => {
                    measures.close_step(&mut current, previous);
                    measures.namespace = identity.options.namespace.to_string();
                    if let Some(uid) = identity
                        .reached
                        .as_ref()
                        .and_then(|r| r.cluster_uid.clone())
                    {
                        measures.cluster = uid;
                    }
                    backups = restored_names(
                        &identity.options.backups,
                        identity.options.rds.snapshot.as_ref(),
                    );
                }
                Event::OptionsResolved {
                    backups: chosen,
                    rds_snapshot,
                } => backups = restored_names(chosen, rds_snapshot.as_ref()),
                Event::Section { title } => {
                    measures.close_step(&mut current, time);
                    current = StepId::ALL
                        .into_iter()
                        .find(|step| step.title() == title)
                        .zip(time);
                }
                Event::Gate { .. } => {
                    if let (Some(asked), Some(answered)) = (previous, time) {
                        measures.people_wait += seconds(asked, answered);
                    }
                }
                Event::ApprovalRequested { .. } => asked = time,
                Event::Approved { .. } => {
                    if let (Some(from), Some(to)) = (asked.take(), time) {
                        measures.people_wait += seconds(from, to);
                    }
                }
                Event::RunEnded { .. } => {
                    measures.close_step(&mut current, time);
                    // Ended while waiting for an approval: that time was the approvers'.
                    if let (Some(from), Some(to)) = (asked.take(), time) {
                        measures.people_wait += seconds(from, to);
                    }
                }
                _ => {}
            }
            previous = time.or(previous);
        }
        measures.close_step(&mut current, Some(now));
        measures.duration = began.map_or(0.0, |began| seconds(began, now));
        measures.restore_point = backups.iter().filter_map(|name| name_time(name)).min();
        measures.restore_point_age = measures
            .restore_point
            .zip(began)
            .map(|(point, began)| seconds(point, began));
        measures
    }

    fn close_step(&mut self, current: &mut Option<(StepId, Timestamp)>, end: Option<Timestamp>) {
        let (Some((step, from)), Some(end)) = (current.take(), end) else {
            return;
        };
        let spent = seconds(from, end);
        match self.steps.iter_mut().find(|(s, _)| *s == step) {
            Some((_, total)) => *total += spent,
            None => self.steps.push((step, spent)),
        }
    }

    /// The metrics in the node_exporter textfile format, each labelled with the namespace and
    /// the cluster (its kube-system namespace UID).
    pub fn textfile(&self) -> String {
        let labels = format!(
            "namespace=\"{}\",cluster=\"{}\"",
            label(&self.namespace),
            label(&self.cluster)
        );
        let mut out = String::new();
        let mut gauge = |name: &str, help: &str, value: f64| {
            metric(&mut out, name, help);
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        };
        gauge(
            "arthur_restore_run_success",
            "1 when the run completed every step, else 0.",
            f64::from(u8::from(self.success)),
        );
        gauge(
            "arthur_restore_run_duration_seconds",
            "Time from the run's first start to its end, resumptions included: the time to restore.",
            self.duration,
        );
        gauge(
            "arthur_restore_run_end_timestamp_seconds",
            "When the run ended (Unix time).",
            self.ended.as_second() as f64,
        );
        gauge(
            "arthur_restore_people_wait_seconds",
            "Time spent waiting for people at the gates.",
            self.people_wait,
        );
        if let Some(age) = self.restore_point_age {
            gauge(
                "arthur_restore_restore_point_age_seconds",
                "How old the restored data was when the run began: the achieved RPO.",
                age,
            );
        }
        metric(
            &mut out,
            "arthur_restore_step_duration_seconds",
            "Time spent in each step begun, over every invocation of the run.",
        );
        for (step, spent) in &self.steps {
            let _ = writeln!(
                out,
                "arthur_restore_step_duration_seconds{{{labels},step=\"{}\"}} {spent}",
                step.id()
            );
        }
        out
    }

    /// The ending's line: the time to restore, of which waiting for people, and the data's age.
    pub fn in_words(&self) -> String {
        let time = |s: f64| format_duration(std::time::Duration::from_secs(s.round() as u64));
        let mut text = format!(
            "time to restore: {} from the run's first start, of it waiting for people: {}",
            time(self.duration),
            time(self.people_wait)
        );
        if let (Some(point), Some(age)) = (self.restore_point, self.restore_point_age) {
            let _ = write!(
                text,
                "\nthe restored data is from {point}, age when the run began: {}",
                time(age)
            );
        }
        text
    }
}

/// The names of what a run restores whose names carry their time.
fn restored_names(
    backups: &crate::model::BackupNames,
    snapshot: Option<&crate::names::SnapshotId>,
) -> Vec<String> {
    [
        backups.messaging.as_ref().map(ToString::to_string),
        backups.enrichments.as_ref().map(ToString::to_string),
        backups.workflows.as_ref().map(ToString::to_string),
        backups.clickhouse.as_ref().map(ToString::to_string),
        snapshot.map(ToString::to_string),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn name_time(name: &str) -> Option<Timestamp> {
    velero_name_time(name)
        .or_else(|| clickhouse_name_time(name))
        .or_else(|| snapshot_name_time(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_say_their_time() {
        assert_eq!(
            name_time("arthur-backup-2023-05-11t15.22.37-04.00-messaging").map(|t| t.to_string()),
            Some("2023-05-11T19:22:37Z".into())
        );
        assert_eq!(
            name_time("arthur-clickhouse-backup-2023-05-11-00-00-07").map(|t| t.to_string()),
            Some("2023-05-11T00:00:07Z".into())
        );
        assert_eq!(
            name_time("arthur-backup-2023-05-11t15-21-50-04-00").map(|t| t.to_string()),
            Some("2023-05-11T19:21:50Z".into())
        );
    }
}
