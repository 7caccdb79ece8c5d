//! kubectl tables (`get pods|jobs|sts|pvc|pv`) and the Job JSON of the ClickHouse restore.

use serde_json::Value;

use super::table::Table;
use super::{ParseError, ParseResult};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodState {
    pub name: String,
    pub ready: String,
    pub status: String,
}

impl PodState {
    /// Running with every container ready, or finished (`Completed`: a job's pod).
    pub fn is_healthy(&self) -> bool {
        self.status == "Completed" || (self.status == "Running" && all_ready(&self.ready))
    }
}

fn all_ready(ready: &str) -> bool {
    match ready.split_once('/') {
        Some((have, want)) => have == want && !want.is_empty(),
        None => false,
    }
}

pub fn pods(stdout: &str) -> ParseResult<Vec<PodState>> {
    let table = Table::parse(stdout)?;
    if table.headers.is_empty() {
        return Ok(Vec::new());
    }
    let (name, ready, status) = (
        table.require("NAME")?,
        table.require("READY")?,
        table.require("STATUS")?,
    );
    Ok(table
        .rows
        .iter()
        .map(|row| PodState {
            name: row[name].clone(),
            ready: row[ready].clone(),
            status: row[status].clone(),
        })
        .collect())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobState {
    pub name: String,
    pub completions: String,
    /// The STATUS column of servers from 1.30 on; empty before.
    pub status: String,
}

impl JobState {
    pub fn is_complete(&self) -> bool {
        matches!(self.status.as_str(), "Complete" | "SuccessCriteriaMet")
            || (self.status.is_empty()
                && all_ready(self.completions.split(' ').next().unwrap_or("")))
    }

    pub fn is_failed(&self) -> bool {
        matches!(self.status.as_str(), "Failed" | "FailureTarget")
    }
}

pub fn jobs(stdout: &str) -> ParseResult<Vec<JobState>> {
    let table = Table::parse(stdout)?;
    if table.headers.is_empty() {
        return Ok(Vec::new());
    }
    let (name, completions) = (table.require("NAME")?, table.require("COMPLETIONS")?);
    let status = table.column("STATUS");
    Ok(table
        .rows
        .iter()
        .map(|row| JobState {
            name: row[name].clone(),
            completions: row[completions].clone(),
            status: status.map(|i| row[i].clone()).unwrap_or_default(),
        })
        .collect())
}

/// The NAME column of any kubectl table.
pub fn names(stdout: &str) -> ParseResult<Vec<String>> {
    let table = Table::parse(stdout)?;
    Ok(table
        .cells("NAME")?
        .into_iter()
        .map(str::to_string)
        .collect())
}

/// `kubectl get sts`: each StatefulSet's name and READY (`3/3`; empty when the column is not
/// there).
pub fn statefulsets(stdout: &str) -> ParseResult<Vec<(String, String)>> {
    let table = Table::parse(stdout)?;
    if table.headers.is_empty() {
        return Ok(Vec::new());
    }
    let name = table.require("NAME")?;
    let ready = table.column("READY");
    Ok(table
        .rows
        .iter()
        .map(|row| {
            let ready = ready.and_then(|i| row.get(i)).cloned().unwrap_or_default();
            (row[name].clone(), ready)
        })
        .collect())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub name: String,
    pub status: String,
    pub volume: String,
}

pub fn pvcs(stdout: &str) -> ParseResult<Vec<Claim>> {
    let table = Table::parse(stdout)?;
    if table.headers.is_empty() {
        return Ok(Vec::new());
    }
    let (name, status, volume) = (
        table.require("NAME")?,
        table.require("STATUS")?,
        table.require("VOLUME")?,
    );
    Ok(table
        .rows
        .iter()
        .map(|row| Claim {
            name: row[name].clone(),
            status: row[status].clone(),
            volume: row[volume].clone(),
        })
        .collect())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    pub name: String,
    pub status: String,
    /// `namespace/name`, kept by a Released volume after its claim is gone.
    pub claim: String,
    pub reclaim_policy: String,
}

pub fn pvs(stdout: &str) -> ParseResult<Vec<Volume>> {
    let table = Table::parse(stdout)?;
    if table.headers.is_empty() {
        return Ok(Vec::new());
    }
    let name = table.require("NAME")?;
    let status = table.require("STATUS")?;
    let claim = table.require("CLAIM")?;
    let policy = table.require("RECLAIM POLICY")?;
    Ok(table
        .rows
        .iter()
        .map(|row| Volume {
            name: row[name].clone(),
            status: row[status].clone(),
            claim: row[claim].clone(),
            reclaim_policy: row[policy].clone(),
        })
        .collect())
}

/// Where a Job stands, from its conditions (`kubectl get job NAME -o json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    Running { active: u64 },
    Complete,
    Failed { reason: String },
}

/// What a Job says of where it came from: the `BACKUP_NAME` of its containers and its
/// creation time (for the ClickHouse restore Job of a run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobOrigin {
    pub backup_name: Option<String>,
    pub created: Option<String>,
}

pub fn job_origin(json: &str) -> ParseResult<JobOrigin> {
    let value: Value = serde_json::from_str(json).map_err(ParseError::json)?;
    if value.get("kind").and_then(Value::as_str) != Some("Job") {
        return Err(ParseError::new("expected a Job object"));
    }
    let containers = value
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let backup_name = containers
        .iter()
        .flat_map(|c| {
            c.get("env")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .find(|e| e.get("name").and_then(Value::as_str) == Some("BACKUP_NAME"))
        .and_then(|e| e.get("value").and_then(Value::as_str).map(String::from));
    let created = value
        .pointer("/metadata/creationTimestamp")
        .and_then(Value::as_str)
        .map(String::from);
    Ok(JobOrigin {
        backup_name,
        created,
    })
}

pub fn job_outcome(json: &str) -> ParseResult<JobOutcome> {
    #[derive(serde::Deserialize)]
    struct One {
        kind: Option<String>,
        #[serde(default)]
        status: JobStatus,
    }
    let job: One = serde_json::from_str(json).map_err(ParseError::json)?;
    if job.kind.as_deref() != Some("Job") {
        return Err(ParseError::new("expected a Job object"));
    }
    Ok(job.status.outcome())
}

/// kubectl's NotFound on stderr.
pub fn is_not_found(stderr: &str) -> bool {
    stderr.contains("(NotFound)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::sample;

    #[test]
    fn pods_while_restoring() {
        let pods = pods(&sample("kubectl-get-pods-restoring.txt")).unwrap();
        let unhealthy: Vec<&str> = pods
            .iter()
            .filter(|p| !p.is_healthy())
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(
            unhealthy,
            [
                "messaging-0",
                "messaging-1",
                "messaging-2",
                "messaging-cp-zookeeper-1",
                "messaging-cp-zookeeper-2",
                "messaging-schema-registry-7c646d8c7-mxshj"
            ]
        );
        assert!(
            pods.iter()
                .find(|p| p.name == "clickhouse-restore-7xk2p")
                .unwrap()
                .is_healthy()
        );
    }

    #[test]
    fn jobs_old_and_new_servers() {
        let old = jobs(&sample("kubectl-get-jobs.txt")).unwrap();
        assert!(!old.is_empty());
        let new = jobs(&sample("kubectl-get-jobs-k8s130.txt")).unwrap();
        let failed: Vec<&str> = new
            .iter()
            .filter(|j| j.is_failed())
            .map(|j| j.name.as_str())
            .collect();
        assert_eq!(
            failed,
            ["arthurai-model-health-score-connector-deploy-qhvg1"]
        );
        let running = new.iter().find(|j| j.name == "clickhouse-restore").unwrap();
        assert!(!running.is_complete() && !running.is_failed());
    }

    #[test]
    fn claims_and_volumes() {
        let claims = pvcs(&sample("kubectl-get-pvc.txt")).unwrap();
        assert_eq!(
            claims
                .iter()
                .filter(|c| c.name.contains("messaging"))
                .count(),
            10
        );
        let volumes = pvs(&sample("kubectl-get-pv.txt")).unwrap();
        assert_eq!(volumes.len(), 13);
        assert_eq!(volumes[10].status, "Released");
        assert_eq!(volumes[10].claim, "arthur/datadir-0-messaging-0");
        assert_eq!(names(&sample("kubectl-get-sts.txt")).unwrap().len(), 12);
    }

    #[test]
    fn job_conditions() {
        let json = sample("kubectl-get-jobs.json");
        let value: Value = serde_json::from_str(&json).unwrap();
        for item in value["items"].as_array().unwrap() {
            let outcome = job_outcome(&item.to_string()).unwrap();
            let name = item["metadata"]["name"].as_str().unwrap();
            if name == "clickhouse-restore" {
                assert!(
                    matches!(outcome, JobOutcome::Running { .. } | JobOutcome::Complete),
                    "{outcome:?}"
                );
            }
        }
        assert!(is_not_found(&sample("kubectl-get-notfound.stderr.txt")));
    }
}

/// A `-o json` list (always a `List`, even with 0 or 1 items), deserialized into the fields the
/// tool reads: everything else (managedFields, specs, annotations) is skipped as it is read,
/// never built, so that 10,000 pods cost little more than their listing.
#[derive(serde::Deserialize)]
struct List<T> {
    items: Option<Vec<T>>,
}

fn list_of<'a, T: serde::Deserialize<'a>>(json: &'a str) -> ParseResult<Vec<T>> {
    let list: List<T> = serde_json::from_str(json).map_err(ParseError::json)?;
    list.items
        .ok_or_else(|| ParseError::new("expected a List with items"))
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct ObjectMeta {
    name: Option<String>,
    #[serde(rename = "ownerReferences")]
    owners: Vec<OwnerReference>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct OwnerReference {
    kind: Option<String>,
    name: Option<String>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct Condition {
    #[serde(rename = "type")]
    kind: Option<String>,
    status: Option<String>,
    reason: Option<String>,
}

impl Condition {
    fn holds(&self, kind: &str) -> bool {
        self.kind.as_deref() == Some(kind) && self.status.as_deref() == Some("True")
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct Pod {
    metadata: ObjectMeta,
    status: PodStatus,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct PodStatus {
    phase: Option<String>,
    conditions: Vec<Condition>,
    #[serde(rename = "containerStatuses")]
    containers: Vec<ContainerStatus>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct ContainerStatus {
    name: Option<String>,
    state: ContainerState,
    #[serde(rename = "restartCount")]
    restarts: u64,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct ContainerState {
    waiting: Option<Waiting>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct Waiting {
    reason: Option<String>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct Job {
    metadata: ObjectMeta,
    status: JobStatus,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct JobStatus {
    conditions: Vec<Condition>,
    active: u64,
}

impl JobStatus {
    fn outcome(&self) -> JobOutcome {
        if self.conditions.iter().any(|c| c.holds("Complete")) {
            return JobOutcome::Complete;
        }
        if let Some(failed) = self.conditions.iter().find(|c| c.holds("Failed")) {
            return JobOutcome::Failed {
                reason: failed.reason.clone().unwrap_or_else(|| "Failed".into()),
            };
        }
        JobOutcome::Running {
            active: self.active,
        }
    }
}

/// A pod as `kubectl get pods -o json` describes it, reduced to what health needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodHealth {
    pub name: String,
    pub phase: String,
    /// The `Ready` condition is `"True"`.
    pub ready: bool,
    /// Containers waiting, with the reason (`CrashLoopBackOff`) and restart count.
    pub waiting: Vec<(String, String, u64)>,
    /// The owning Job, for pods of jobs.
    pub job: Option<String>,
}

pub fn pods_json(json: &str) -> ParseResult<Vec<PodHealth>> {
    Ok(list_of::<Pod>(json)?
        .into_iter()
        .map(|pod| PodHealth {
            name: pod.metadata.name.unwrap_or_default(),
            phase: pod.status.phase.unwrap_or_default(),
            ready: pod.status.conditions.iter().any(|c| c.holds("Ready")),
            waiting: pod
                .status
                .containers
                .into_iter()
                .filter_map(|c| {
                    let waiting = c.state.waiting?;
                    Some((
                        c.name.unwrap_or_default(),
                        waiting.reason.unwrap_or_else(|| "Waiting".into()),
                        c.restarts,
                    ))
                })
                .collect(),
            job: pod
                .metadata
                .owners
                .into_iter()
                .find(|o| o.kind.as_deref() == Some("Job"))
                .map(|o| o.name.unwrap_or_default()),
        })
        .collect())
}

/// Every Job of `kubectl get jobs -o json` with where it stands.
pub fn jobs_json(json: &str) -> ParseResult<Vec<(String, JobOutcome)>> {
    Ok(list_of::<Job>(json)?
        .into_iter()
        .map(|job| (job.metadata.name.unwrap_or_default(), job.status.outcome()))
        .collect())
}

#[cfg(test)]
mod json_tests {
    use super::*;
    use crate::parse::sample;

    #[test]
    fn pods_from_json() {
        let pods = pods_json(&sample("kubectl-get-pods.json")).unwrap();
        assert_eq!(pods.len(), 3);
        assert!(pods[0].ready);
        assert_eq!(pods[1].phase, "Succeeded");
        assert_eq!(pods[1].job.as_deref(), Some("clickhouse-restore"));
        assert_eq!(pods[2].waiting[0].1, "CrashLoopBackOff");
    }

    #[test]
    fn jobs_from_json() {
        let jobs = jobs_json(&sample("kubectl-get-jobs.json")).unwrap();
        assert!(matches!(jobs[0].1, JobOutcome::Running { active: 1 }));
        assert_eq!(
            jobs[1].1,
            JobOutcome::Failed {
                reason: "BackoffLimitExceeded".into()
            }
        );
        assert_eq!(jobs[2].1, JobOutcome::Complete);
    }
}
