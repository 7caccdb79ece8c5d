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

    pub fn is_finished(&self) -> bool {
        self.status == "Completed"
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

pub fn job_outcome(json: &str) -> ParseResult<JobOutcome> {
    let value: Value = serde_json::from_str(json).map_err(ParseError::json)?;
    if value.get("kind").and_then(Value::as_str) != Some("Job") {
        return Err(ParseError::new("expected a Job object"));
    }
    let status = value.get("status").cloned().unwrap_or(Value::Null);
    let conditions = status
        .get("conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let holds = |kind: &str| {
        conditions.iter().find(|c| {
            c.get("type").and_then(Value::as_str) == Some(kind)
                && c.get("status").and_then(Value::as_str) == Some("True")
        })
    };
    if holds("Complete").is_some() {
        return Ok(JobOutcome::Complete);
    }
    if let Some(failed) = holds("Failed") {
        let reason = failed
            .get("reason")
            .and_then(Value::as_str)
            .unwrap_or("Failed")
            .to_string();
        return Ok(JobOutcome::Failed { reason });
    }
    let active = status.get("active").and_then(Value::as_u64).unwrap_or(0);
    Ok(JobOutcome::Running { active })
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
