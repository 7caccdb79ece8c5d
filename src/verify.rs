//! `verify`: platform health at a glance. Pods, jobs, the KOTS app, the ClickHouse restore job
//! and (with --run-dir) the Velero restores of a run. A job still running is "not yet", told
//! apart from a failure; the pods of completed jobs are not problems.

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::json;

use crate::cli::{Cli, OutputFormat, VerifyArgs};
use crate::error::{Error, Result, exit};
use crate::executor::Executor;
use crate::names::format_duration;
use crate::options::{connection, require_namespace};
use crate::parse::kube::{self, JobOutcome, PodHealth};
use crate::parse::{kots, velero};
use crate::plan::PlanExecutor;
use crate::runbook::{Commands, fixed};
use crate::runner::Runner;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// Wrong now, and waiting will not fix it without someone acting.
    Problem,
    /// Still on its way (a job running, a pod starting).
    NotYet,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
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
    pub findings: Vec<Finding>,
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
    let ns = &commands.namespace;
    let mut findings = Vec::new();
    let job_outcome = |name: &str| jobs.iter().find(|(n, _)| n == name).map(|(_, o)| o);
    for pod in pods {
        let describe = commands.describe_pod(&pod.name).to_string();
        if pod.phase == "Succeeded" {
            continue;
        }
        if let Some(job) = &pod.job {
            match job_outcome(job) {
                // An earlier attempt of a job that then completed, or the pod of a failed job
                // (the job itself is reported): not a problem of its own.
                Some(JobOutcome::Complete) | Some(JobOutcome::Failed { .. }) => continue,
                _ if pod.phase == "Failed" => {
                    findings.push(Finding {
                        severity: Severity::NotYet,
                        what: format!("pod {} of job {job} failed; the job is retrying", pod.name),
                        look: format!("kubectl logs {} -n {ns}", pod.name),
                    });
                    continue;
                }
                _ => {}
            }
        }
        if pod.phase == "Running" && pod.ready {
            continue;
        }
        let broken: Vec<&(String, String, u64)> = pod
            .waiting
            .iter()
            .filter(|(_, reason, _)| BROKEN_WAITING.contains(&reason.as_str()))
            .collect();
        if let Some((container, reason, restarts)) = broken.first() {
            findings.push(Finding {
                severity: Severity::Problem,
                what: format!(
                    "pod {}: container {container} is {reason} ({restarts} restarts)",
                    pod.name
                ),
                look: format!(
                    "{describe}; kubectl logs {} -n {ns} -c {container} --previous",
                    pod.name
                ),
            });
        } else if matches!(pod.phase.as_str(), "Failed" | "Unknown") {
            findings.push(Finding {
                severity: Severity::Problem,
                what: format!("pod {} is {}", pod.name, pod.phase),
                look: describe,
            });
        } else {
            let detail = pod
                .waiting
                .first()
                .map(|(c, r, _)| format!(", container {c} {r}"))
                .unwrap_or_default();
            findings.push(Finding {
                severity: Severity::NotYet,
                what: format!(
                    "pod {} is {} and not ready yet{detail}",
                    pod.name, pod.phase
                ),
                look: describe,
            });
        }
    }
    for (name, outcome) in jobs {
        match outcome {
            JobOutcome::Complete => {}
            JobOutcome::Failed { reason } => findings.push(Finding {
                severity: Severity::Problem,
                what: format!("job {name} failed ({reason})"),
                look: commands.job_logs(name).to_string(),
            }),
            JobOutcome::Running { .. } => findings.push(Finding {
                severity: Severity::NotYet,
                what: format!("job {name} is still running"),
                look: format!("kubectl get job {name} -n {ns}"),
            }),
        }
    }
    let app = apps
        .iter()
        .find(|a| a.slug == fixed::KOTS_APP_SLUG)
        .or(apps.first());
    match app {
        Some(app) if app.status == "ready" => {}
        Some(app) => {
            let status = if app.status.is_empty() {
                "reporting no status"
            } else {
                app.status.as_str()
            };
            findings.push(Finding {
                severity: if matches!(app.status.as_str(), "updating" | "") {
                    Severity::NotYet
                } else {
                    Severity::Problem
                },
                what: format!("KOTS app {} is {status}", app.slug),
                look: commands.kots_get_apps().to_string(),
            });
        }
        None => findings.push(Finding {
            severity: Severity::Problem,
            what: format!("no KOTS app is installed in namespace {ns}"),
            look: commands.kots_get_apps().to_string(),
        }),
    }
    for restore in restores {
        let logs = commands.velero_restore_logs(&restore.name).to_string();
        match velero::restore_outcome(&restore.phase) {
            velero::RestoreOutcome::Completed => {}
            velero::RestoreOutcome::Running => findings.push(Finding {
                severity: Severity::NotYet,
                what: format!("Velero restore {} is {}", restore.name, restore.phase),
                look: commands.velero_restore_describe(&restore.name).to_string(),
            }),
            velero::RestoreOutcome::Failed => findings.push(Finding {
                severity: Severity::Problem,
                what: format!(
                    "Velero restore {} ended {} ({} errors)",
                    restore.name, restore.phase, restore.errors
                ),
                look: logs,
            }),
        }
    }
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

/// Reads the listings once and judges them.
fn check(exec: &mut PlanExecutor, commands: &Commands, restore_names: &[String]) -> Result<Health> {
    let read = |exec: &mut PlanExecutor, cmd: &crate::cmd::Cmd| -> Result<String> {
        Ok(exec.read(cmd)?.map(|o| o.stdout).unwrap_or_default())
    };
    let cmd = commands.get_pods_json();
    let pods = kube::pods_json(&read(exec, &cmd)?).map_err(|e| e.for_command(&cmd))?;
    let cmd = commands.get_jobs_json();
    let jobs = kube::jobs_json(&read(exec, &cmd)?).map_err(|e| e.for_command(&cmd))?;
    let cmd = commands.kots_get_apps();
    let apps = kots::apps(&read(exec, &cmd)?).map_err(|e| e.for_command(&cmd))?;
    let mut restores = Vec::new();
    for name in restore_names {
        let cmd = commands.velero_restore_json(name);
        let found = velero::restores(&read(exec, &cmd)?).map_err(|e| e.for_command(&cmd))?;
        restores.extend(found.into_iter().filter(|r| &r.name == name));
    }
    Ok(assess(commands, &pods, &jobs, &apps, &restores))
}

pub fn command(cli: &Cli, args: &VerifyArgs) -> Result<i32> {
    let mut velero_namespace = cli.global.velero_namespace.clone();
    let mut restore_names: Vec<String> = Vec::new();
    let mut recorded_namespace = None;
    if let Some(dir) = &args.run_dir {
        let state = crate::live::load_state(dir)?;
        restore_names = state.facts.restores.values().cloned().collect();
        velero_namespace = state.options.velero_namespace;
        recorded_namespace = Some(state.options.namespace);
    }
    // The run directory knows its namespace; -n, when given, must agree with it.
    let namespace = match (&cli.global.namespace, recorded_namespace) {
        (Some(given), Some(recorded)) if *given != recorded => {
            return Err(Error::usage(format!(
                "-n {given} disagrees with the run directory, whose namespace is {recorded}"
            )));
        }
        (_, Some(recorded)) => recorded,
        (_, None) => require_namespace(&cli.global)?,
    };
    let commands = Commands {
        namespace,
        velero_namespace,
        clickhouse_pod: fixed::DEFAULT_CLICKHOUSE_POD.into(),
        connection: connection(&cli.global),
    };
    let interrupted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = interrupted.clone();
    let _ = ctrlc::set_handler(move || flag.store(true, std::sync::atomic::Ordering::SeqCst));
    let runner = Runner::locate(args.timing.command_timeout, interrupted.clone())?;
    let mut exec = PlanExecutor::reading(args.timing.poll_interval, runner);
    let started = Instant::now();
    let mut health = check(&mut exec, &commands, &restore_names)?;
    while args.wait
        && health.problems() == 0
        && health.not_yet() > 0
        && started.elapsed() < args.timing.timeout
    {
        if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            eprint!(
                "\rverify: waiting for {} not yet ready ({} elapsed) ",
                health.not_yet(),
                format_duration(Duration::from_secs(started.elapsed().as_secs().max(1)))
            );
        }
        let until = Instant::now() + args.timing.poll_interval;
        while Instant::now() < until {
            if interrupted.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(Error::StepFailed("verify interrupted".into()));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        health = check(&mut exec, &commands, &restore_names)?;
    }
    match cli.global.output {
        OutputFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "healthy": health.healthy(),
                "problems": health.problems(),
                "not_yet": health.not_yet(),
                "health": health,
            }))
            .unwrap_or_default()
        ),
        OutputFormat::Text => print!(
            "{}",
            render(&health, args.wait.then_some(args.timing.timeout))
        ),
    }
    Ok(if health.healthy() {
        exit::SUCCESS
    } else {
        exit::UNHEALTHY
    })
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
