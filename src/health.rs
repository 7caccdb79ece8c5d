//! Platform health at a glance, for `verify`: pods, jobs, the KOTS app, the ClickHouse restore
//! job and (with --run-dir) the Velero restores of a run, judged from what the listings say. A
//! job still running is "not yet", told apart from a failure; the pods of completed jobs are not
//! problems. Pure: `commands::verify` reads the listings, this module only judges them.

use std::time::Duration;

use serde::Serialize;

use crate::names::ObjectName;
use crate::parse::kube::{JobOutcome, PodHealth};
use crate::parse::{kots, velero};
use crate::runbook::{Commands, fixed};
use crate::units::format_duration;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// Wrong now, and waiting will not fix it without someone acting.
    Problem,
    /// Still on its way (a job running, a pod starting).
    NotYet,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthFinding {
    pub severity: Severity,
    pub what: String,
    /// The command to look closer.
    pub look: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Health {
    pub pods: usize,
    pub jobs: usize,
    pub app: Option<String>,
    pub clickhouse_restore: Option<String>,
    pub restores: Vec<(String, String)>,
    pub findings: Vec<HealthFinding>,
}

impl Health {
    pub fn problems(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Problem)
            .count()
    }

    pub fn not_yet(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::NotYet)
            .count()
    }

    pub fn healthy(&self) -> bool {
        self.findings.is_empty()
    }
}

const BROKEN_WAITING: &[&str] = &[
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "CreateContainerConfigError",
    "CreateContainerError",
    "InvalidImageName",
    "RunContainerError",
];

/// Judges what the listings say.
pub fn assess(
    commands: &Commands,
    pods: &[PodHealth],
    jobs: &[(String, JobOutcome)],
    apps: &[kots::KotsApp],
    restores: &[velero::VeleroRestore],
) -> Health {
    let job_outcome = |name: &str| jobs.iter().find(|(n, _)| n == name).map(|(_, o)| o);
    let mut findings: Vec<HealthFinding> = pods
        .iter()
        .filter_map(|pod| assess_pod(commands, pod, pod.job.as_deref().and_then(job_outcome)))
        .collect();
    findings.extend(
        jobs.iter()
            .filter_map(|(name, outcome)| assess_job(commands, name, outcome)),
    );
    let app = apps
        .iter()
        .find(|a| a.slug == fixed::KOTS_APP_SLUG)
        .or(apps.first());
    findings.extend(assess_app(commands, app));
    findings.extend(restores.iter().filter_map(|r| assess_restore(commands, r)));
    Health {
        pods: pods.len(),
        jobs: jobs.len(),
        app: app.map(|a| {
            format!(
                "{} {}",
                a.slug,
                if a.status.is_empty() {
                    "(no status)"
                } else {
                    &a.status
                }
            )
        }),
        clickhouse_restore: job_outcome(fixed::CLICKHOUSE_JOB).map(|o| match o {
            JobOutcome::Complete => "complete".to_string(),
            JobOutcome::Failed { reason } => format!("failed ({reason})"),
            JobOutcome::Running { .. } => "running".to_string(),
        }),
        restores: restores
            .iter()
            .map(|r| (r.name.clone(), r.phase.clone()))
            .collect(),
        findings,
    }
}

/// A pod: fine when Running and ready or Succeeded; the pods of a finished job are the job's
/// business; a container in a crash loop is a problem, one still starting is not yet.
fn assess_pod(
    commands: &Commands,
    pod: &PodHealth,
    job: Option<&JobOutcome>,
) -> Option<HealthFinding> {
    let pod_name = ObjectName::or_placeholder(&pod.name);
    let describe = commands.describe_pod(&pod_name).to_string();
    if pod.phase == "Succeeded" {
        return None;
    }
    if let Some(job_name) = &pod.job {
        match job {
            // An earlier attempt of a job that then completed, or the pod of a failed job
            // (the job itself is reported): not a problem of its own.
            Some(JobOutcome::Complete | JobOutcome::Failed { .. }) => return None,
            _ if pod.phase == "Failed" => {
                return Some(HealthFinding {
                    severity: Severity::NotYet,
                    what: format!(
                        "pod {} of job {job_name} failed; the job is retrying",
                        pod.name
                    ),
                    look: commands.pod_logs(&pod_name).to_string(),
                });
            }
            _ => {}
        }
    }
    if pod.phase == "Running" && pod.ready {
        return None;
    }
    let broken = pod
        .waiting
        .iter()
        .find(|(_, reason, _)| BROKEN_WAITING.contains(&reason.as_str()));
    Some(if let Some((container, reason, restarts)) = broken {
        HealthFinding {
            severity: Severity::Problem,
            what: format!(
                "pod {}: container {container} is {reason} ({restarts} restarts)",
                pod.name
            ),
            look: format!(
                "{describe}; {}",
                commands.previous_container_logs(&pod_name, &ObjectName::or_placeholder(container))
            ),
        }
    } else if matches!(pod.phase.as_str(), "Failed" | "Unknown") {
        HealthFinding {
            severity: Severity::Problem,
            what: format!("pod {} is {}", pod.name, pod.phase),
            look: describe,
        }
    } else {
        let detail = pod
            .waiting
            .first()
            .map(|(c, r, _)| format!(", container {c} {r}"))
            .unwrap_or_default();
        HealthFinding {
            severity: Severity::NotYet,
            what: format!(
                "pod {} is {} and not ready yet{detail}",
                pod.name, pod.phase
            ),
            look: describe,
        }
    })
}

fn assess_job(commands: &Commands, name: &str, outcome: &JobOutcome) -> Option<HealthFinding> {
    match outcome {
        JobOutcome::Complete => None,
        JobOutcome::Failed { reason } => Some(HealthFinding {
            severity: Severity::Problem,
            what: format!("job {name} failed ({reason})"),
            look: commands
                .job_logs(&ObjectName::or_placeholder(name))
                .to_string(),
        }),
        JobOutcome::Running { .. } => Some(HealthFinding {
            severity: Severity::NotYet,
            what: format!("job {name} is still running"),
            look: commands
                .get_job(&ObjectName::or_placeholder(name))
                .to_string(),
        }),
    }
}

/// The KOTS app: `ready` is fine; `updating` or no status yet is not yet; anything else (or no
/// app at all) is a problem.
fn assess_app(commands: &Commands, app: Option<&kots::KotsApp>) -> Option<HealthFinding> {
    let look = commands.kots_get_apps().to_string();
    let Some(app) = app else {
        return Some(HealthFinding {
            severity: Severity::Problem,
            what: format!(
                "no KOTS app is installed in namespace {}",
                commands.namespace
            ),
            look,
        });
    };
    if app.status == "ready" {
        return None;
    }
    let status = if app.status.is_empty() {
        "reporting no status"
    } else {
        app.status.as_str()
    };
    Some(HealthFinding {
        severity: if matches!(app.status.as_str(), "updating" | "") {
            Severity::NotYet
        } else {
            Severity::Problem
        },
        what: format!("KOTS app {} is {status}", app.slug),
        look,
    })
}

fn assess_restore(commands: &Commands, restore: &velero::VeleroRestore) -> Option<HealthFinding> {
    match velero::restore_outcome(&restore.phase) {
        velero::RestoreOutcome::Completed => None,
        velero::RestoreOutcome::Running => Some(HealthFinding {
            severity: Severity::NotYet,
            what: format!("Velero restore {} is {}", restore.name, restore.phase),
            look: commands
                .velero_restore_describe(&ObjectName::or_placeholder(&restore.name))
                .to_string(),
        }),
        velero::RestoreOutcome::Failed => Some(HealthFinding {
            severity: Severity::Problem,
            what: format!(
                "Velero restore {} ended {} ({} errors)",
                restore.name, restore.phase, restore.errors
            ),
            look: commands
                .velero_restore_logs(&ObjectName::or_placeholder(&restore.name))
                .to_string(),
        }),
    }
}

pub fn render(health: &Health, waited: Option<Duration>) -> String {
    let mut text = String::new();
    let count = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    let mut facts = vec![count(health.pods, "pod"), count(health.jobs, "job")];
    if let Some(app) = &health.app {
        facts.push(format!("app {app}"));
    }
    if let Some(job) = &health.clickhouse_restore {
        facts.push(format!("clickhouse-restore {job}"));
    }
    if !health.restores.is_empty() {
        facts.push(count(health.restores.len(), "Velero restore"));
    }
    if health.healthy() {
        text.push_str(&format!("verify: healthy ({})\n", facts.join(", ")));
        return text;
    }
    let mut summary = Vec::new();
    if health.problems() > 0 {
        summary.push(format!(
            "{} problem{}",
            health.problems(),
            if health.problems() == 1 { "" } else { "s" }
        ));
    }
    if health.not_yet() > 0 {
        summary.push(format!("{} not yet ready", health.not_yet()));
    }
    text.push_str(&format!(
        "verify: {} ({})\n",
        summary.join(", "),
        facts.join(", ")
    ));
    for finding in &health.findings {
        let label = match finding.severity {
            Severity::Problem => "problem",
            Severity::NotYet => "not yet",
        };
        text.push_str(&format!(
            "{label}: {}\n    look: {}\n",
            finding.what, finding.look
        ));
    }
    if health.problems() == 0 {
        text.push_str(&match waited {
            Some(limit) => format!(
                "still not ready after waiting up to {}\n",
                format_duration(limit)
            ),
            None => "nothing has failed; `verify --wait` waits for what is still on its way\n"
                .to_string(),
        });
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runbook::commands::Connection;

    fn commands() -> Commands {
        Commands {
            namespace: crate::names::Namespace::new("arthur").unwrap(),
            velero_namespace: crate::names::Namespace::new("velero").unwrap(),
            clickhouse_pod: fixed::object(fixed::DEFAULT_CLICKHOUSE_POD),
            connection: Connection {
                context: Some(crate::names::KubeContext::new("prod").unwrap()),
                ..Connection::default()
            },
        }
    }

    fn pod(name: &str, phase: &str, ready: bool) -> PodHealth {
        PodHealth {
            name: name.into(),
            phase: phase.into(),
            ready,
            waiting: Vec::new(),
            job: None,
        }
    }

    fn app(status: &str) -> kots::KotsApp {
        kots::KotsApp {
            slug: "arthur".into(),
            status: status.into(),
            version: "3.4.0".into(),
        }
    }

    fn restore(phase: &str) -> velero::VeleroRestore {
        velero::VeleroRestore {
            name: "r".into(),
            backup: "b".into(),
            phase: phase.into(),
            errors: 2,
            warnings: 0,
            created: None,
        }
    }

    /// Each row: one object beside an otherwise healthy platform, and what is found (severity
    /// and a word of the finding; `None` when it is healthy).
    type Case = (
        &'static str,
        Vec<PodHealth>,
        Vec<(String, JobOutcome)>,
        Vec<kots::KotsApp>,
        Vec<velero::VeleroRestore>,
        Option<(Severity, &'static str)>,
    );

    fn pod_cases() -> Vec<Case> {
        let crash = PodHealth {
            waiting: vec![("api".into(), "CrashLoopBackOff".into(), 7)],
            ..pod("api-0", "Running", false)
        };
        let of_job = |job: &str, phase: &str| PodHealth {
            job: Some(job.into()),
            ..pod("job-pod", phase, false)
        };
        let done = |name: &str| (name.to_string(), JobOutcome::Complete);
        vec![
            (
                "healthy",
                vec![pod("api-0", "Running", true)],
                vec![],
                vec![app("ready")],
                vec![],
                None,
            ),
            (
                "succeeded pod",
                vec![pod("x", "Succeeded", false)],
                vec![],
                vec![app("ready")],
                vec![],
                None,
            ),
            (
                "crash loop",
                vec![crash],
                vec![],
                vec![app("ready")],
                vec![],
                Some((Severity::Problem, "CrashLoopBackOff")),
            ),
            (
                "pod starting",
                vec![pod("api-0", "Pending", false)],
                vec![],
                vec![app("ready")],
                vec![],
                Some((Severity::NotYet, "not ready yet")),
            ),
            (
                "pod failed",
                vec![pod("api-0", "Failed", false)],
                vec![],
                vec![app("ready")],
                vec![],
                Some((Severity::Problem, "is Failed")),
            ),
            (
                "failed pod of a completed job",
                vec![of_job("m", "Failed")],
                vec![done("m")],
                vec![app("ready")],
                vec![],
                None,
            ),
            (
                "failed pod of a retrying job",
                vec![of_job("m", "Failed")],
                vec![("m".into(), JobOutcome::Running { active: 1 })],
                vec![app("ready")],
                vec![],
                Some((Severity::NotYet, "retrying")),
            ),
        ]
    }

    fn other_cases() -> Vec<Case> {
        vec![
            (
                "job failed",
                vec![],
                vec![(
                    "m".into(),
                    JobOutcome::Failed {
                        reason: "BackoffLimitExceeded".into(),
                    },
                )],
                vec![app("ready")],
                vec![],
                Some((Severity::Problem, "BackoffLimitExceeded")),
            ),
            (
                "app updating",
                vec![],
                vec![],
                vec![app("updating")],
                vec![],
                Some((Severity::NotYet, "updating")),
            ),
            (
                "app degraded",
                vec![],
                vec![],
                vec![app("degraded")],
                vec![],
                Some((Severity::Problem, "degraded")),
            ),
            (
                "no app",
                vec![],
                vec![],
                vec![],
                vec![],
                Some((Severity::Problem, "no KOTS app")),
            ),
            (
                "restore in progress",
                vec![],
                vec![],
                vec![app("ready")],
                vec![restore("InProgress")],
                Some((Severity::NotYet, "InProgress")),
            ),
            (
                "restore partially failed",
                vec![],
                vec![],
                vec![app("ready")],
                vec![restore("PartiallyFailed")],
                Some((Severity::Problem, "PartiallyFailed (2 errors)")),
            ),
            (
                "restore completed",
                vec![],
                vec![],
                vec![app("ready")],
                vec![restore("Completed")],
                None,
            ),
        ]
    }

    #[test]
    fn each_kind_of_object_is_judged() {
        let rows = pod_cases().into_iter().chain(other_cases());
        for (what, pods, jobs, apps, restores, expected) in rows {
            let health = assess(&commands(), &pods, &jobs, &apps, &restores);
            match expected {
                None => assert!(health.healthy(), "{what}: {:?}", health.findings),
                Some((severity, word)) => {
                    // The first finding is the object's own (a running job adds its own).
                    let finding = health.findings.first().expect(what);
                    assert_eq!(finding.severity, severity, "{what}");
                    assert!(finding.what.contains(word), "{what}: {}", finding.what);
                    assert!(
                        finding.look.contains("--context prod")
                            || finding.look.contains("--kubecontext prod"),
                        "{what}: the command to look closer reaches the same cluster: {}",
                        finding.look
                    );
                }
            }
        }
    }
}
