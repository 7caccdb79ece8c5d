//! `run`: the restore, live. A new run gets a run directory; `--resume DIR` continues the run
//! recorded there with its own parameters: options given again must agree, except those of
//! steps not yet begun, which may be corrected (and the correction is recorded).

use std::path::{Path, PathBuf};

use crate::cli::{GlobalArgs, RunArgs, settings};
use crate::error::{Error, Result, exit};
use crate::model::{Facts, RestoreOptions};
use crate::names::{ClickhouseBackupName, RdsIdentifier, S3Uri, SnapshotId, VeleroBackupName};
use crate::process::{Interrupt, Runner};
use crate::record::{RunDir, RunLock, RunRecord, RunState, RunStatus};
use crate::restore::executor::Executor;
use crate::restore::{LiveExecutor, Start, restore};
use crate::runbook::StepId;

/// What a run starts from: its parameters, its directory and what it knows.
struct Begin {
    options: RestoreOptions,
    dir: RunDir,
    lock: RunLock,
    facts: Facts,
    start: Start,
    /// Options corrected on resume, as `--flag old -> new`.
    corrections: Vec<String>,
}

pub fn run(global: &GlobalArgs, args: &RunArgs) -> Result<i32> {
    // What the CLIs create for the run (ssh-keygen's events.jsonl.sig) is the operator's alone.
    // SAFETY: umask(2) cannot fail and touches no memory.
    unsafe {
        libc::umask(0o077);
    }
    let begin = match &args.resume {
        Some(dir) => resume(global, args, dir)?,
        None => start(global, args)?,
    };
    let Begin {
        mut options,
        dir,
        lock,
        mut facts,
        start,
        corrections,
    } = begin;
    let interrupt = Interrupt::on_signals();
    let mut runner = Runner::locate(options.timing.command_timeout, interrupt)
        .map_err(|e| Error::refused(format!("preflight: {e}")))?
        .with_max_output(options.max_output);
    if let Some(key) = &args.sign_key {
        // Found before anything changes: a restore must not end unable to sign its log.
        runner
            .add_tool(crate::process::Tool::SshKeygen)
            .map_err(|e| Error::refused(format!("--sign-key: {e}")))?;
        if !std::path::Path::new(key.as_str()).is_file() {
            return Err(Error::usage(format!(
                "--sign-key {key}: no such file (an ssh private key, e.g. ~/.ssh/id_ed25519)"
            )));
        }
    }
    let run_dir = dir.path().to_path_buf();
    let record = RunRecord::open(dir, lock)?;
    let mut exec = LiveExecutor::new(record, options.clone(), runner, args.yes)
        .keeping_output(args.keep_output)
        .signing_with(args.sign_key.clone())
        .showing(crate::restore::live::screen::Screen::new(
            global.verbosity(),
        ));
    exec.header(start != Start::Run)?;
    if !corrections.is_empty() {
        exec.corrected(&corrections)?;
    }
    exec.checkpoint(&facts)?;
    let outcome = restore(&mut options, &mut exec, &mut facts, start);
    exec.finish(&facts, &outcome)?;
    outcome
        .map(|()| exit::SUCCESS)
        .map_err(|error| error.in_run_dir(&run_dir))
}

fn start(global: &GlobalArgs, args: &RunArgs) -> Result<Begin> {
    let options = settings::restore_options(global, &args.restore)?;
    options.check_rds()?;
    let path = args.run_dir.clone().unwrap_or_else(default_run_dir);
    let dir = RunDir::create(&path)?;
    let lock = dir.lock()?;
    let facts = Facts {
        started_at: Some(jiff::Timestamp::now().to_string()),
        ..Facts::default()
    };
    Ok(Begin {
        options,
        dir,
        lock,
        facts,
        start: Start::Run,
        corrections: Vec::new(),
    })
}

fn resume(global: &GlobalArgs, args: &RunArgs, path: &Path) -> Result<Begin> {
    if !path.join(crate::record::STATE_FILE).exists() {
        return Err(RunDir::existing(path)
            .load_state()
            .err()
            .unwrap_or_else(|| Error::usage(format!("{} holds no run", path.display()))));
    }
    // Checked as a new run directory is (rule 12), and opened once.
    let dir = RunDir::reopen(path)?;
    // The lock first: the state is read only while no other run writes it.
    let lock = dir.lock()?;
    let state = dir.load_state()?;
    // The facts come from the chained events; state.json only has to agree with them.
    let recorded = dir.check_state_against_events(&state)?;
    if state.status == RunStatus::Completed {
        return Err(Error::usage(format!(
            "the run in {} has already completed; start a new run instead of --resume",
            path.display()
        )));
    }
    let RunState { mut options, .. } = state;
    let facts = recorded;
    let corrections = reconcile(global, args, &mut options, &facts)?;
    Ok(Begin {
        options,
        dir,
        lock,
        facts,
        start: Start::Resume {
            corrected: !corrections.is_empty(),
            allow_unknown_cluster: args.allow_unknown_cluster,
        },
        corrections,
    })
}

fn default_run_dir() -> PathBuf {
    let stamp = jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string();
    PathBuf::from(crate::record::DEFAULT_PARENT).join(stamp)
}

/// Puts a corrected value into the options.
type Apply = fn(&mut RestoreOptions, String);

/// An option given again on resume, and what the run recorded.
struct Given {
    flag: &'static str,
    given: Option<String>,
    recorded: Option<String>,
    /// The step whose beginning fixes the value; `None`: never corrected (the cluster, the
    /// account, the namespaces).
    step: Option<StepId>,
    apply: Apply,
}

/// A checked value given or recorded, as text for comparing and showing.
fn text<T: std::fmt::Display>(value: &Option<T>) -> Option<String> {
    value.as_ref().map(ToString::to_string)
}

/// The options of the command line that a run records, beside the recorded values.
fn fixed_options(global: &GlobalArgs, recorded: &RestoreOptions) -> Vec<Given> {
    let connection = &recorded.connection;
    let fixed = |flag, given: Option<String>, recorded: Option<String>| Given {
        flag,
        given,
        recorded,
        step: None,
        apply: |_, _| {},
    };
    vec![
        fixed(
            "--namespace",
            text(&global.namespace),
            Some(recorded.namespace.to_string()),
        ),
        fixed(
            "--context",
            text(&global.context),
            text(&connection.context),
        ),
        fixed(
            "--kubeconfig",
            text(&global.kubeconfig),
            text(&connection.kubeconfig),
        ),
        fixed(
            "--aws-endpoint-url",
            text(&global.aws_endpoint_url),
            text(&connection.aws_endpoint_url),
        ),
        fixed(
            "--aws-profile",
            text(&global.aws_profile),
            text(&connection.aws_profile),
        ),
        fixed(
            "--aws-region",
            text(&global.aws_region),
            text(&connection.aws_region),
        ),
    ]
}

/// The options of steps: corrected on resume while their step has not begun.
fn step_options(args: &RunArgs, recorded: &RestoreOptions) -> Vec<Given> {
    let (point, rds) = (&args.restore.point, &args.restore.rds);
    vec![
        Given {
            flag: "--messaging-backup",
            given: text(&point.messaging_backup),
            recorded: text(&recorded.backups.messaging),
            step: Some(StepId::Messaging),
            apply: |o, v| o.backups.messaging = VeleroBackupName::new(&v).ok(),
        },
        Given {
            flag: "--enrichments-backup",
            given: text(&point.enrichments_backup),
            recorded: text(&recorded.backups.enrichments),
            step: Some(StepId::Enrichments),
            apply: |o, v| o.backups.enrichments = VeleroBackupName::new(&v).ok(),
        },
        Given {
            flag: "--workflows-backup",
            given: text(&point.workflows_backup),
            recorded: text(&recorded.backups.workflows),
            step: Some(StepId::Workflows),
            apply: |o, v| o.backups.workflows = VeleroBackupName::new(&v).ok(),
        },
        Given {
            flag: "--clickhouse-backup",
            given: text(&point.clickhouse_backup),
            recorded: text(&recorded.backups.clickhouse),
            step: Some(StepId::Clickhouse),
            apply: |o, v| o.backups.clickhouse = ClickhouseBackupName::new(&v).ok(),
        },
        Given {
            flag: "--clickhouse-s3-uri",
            given: text(&point.clickhouse_s3_uri),
            recorded: text(&recorded.clickhouse_s3_uri),
            step: Some(StepId::Clickhouse),
            apply: |o, v| o.clickhouse_s3_uri = S3Uri::new(&v).ok(),
        },
        Given {
            flag: "--rds-snapshot",
            given: text(&rds.rds_snapshot),
            recorded: text(&recorded.rds.snapshot),
            step: Some(StepId::Rds),
            apply: |o, v| o.rds.snapshot = SnapshotId::new(&v).ok(),
        },
        Given {
            flag: "--rds-instance",
            given: text(&rds.rds_instance),
            recorded: text(&recorded.rds.instance),
            step: Some(StepId::Rds),
            apply: |o, v| o.rds.instance = RdsIdentifier::new(&v).ok(),
        },
        Given {
            flag: "--rds-like",
            given: text(&rds.rds_like),
            recorded: text(&recorded.rds.like),
            step: Some(StepId::Rds),
            apply: |o, v| {
                let like = RdsIdentifier::new(&v).ok();
                if o.rds.source == o.rds.like {
                    o.rds.source = like.clone();
                }
                o.rds.like = like;
            },
        },
    ]
}

/// `--resume` takes every parameter from state.json. An option given again must agree, except
/// one whose step has not begun: it is corrected (the RDS instance also names the database the
/// `platform` step checks, so it is fixed once either has begun). Disagreements are a usage error.
fn reconcile(
    global: &GlobalArgs,
    args: &RunArgs,
    options: &mut RestoreOptions,
    facts: &Facts,
) -> Result<Vec<String>> {
    let begun = |step: StepId| {
        facts.started_steps.contains(&step)
            || facts.completed_steps.contains(&step)
            || (step == StepId::Rds && facts.started_steps.contains(&StepId::Platform))
    };
    let mut disagreements: Vec<String> = Vec::new();
    let mut corrections: Vec<String> = Vec::new();
    let mut applies = Vec::new();
    let mut given = fixed_options(global, options);
    given.extend(step_options(args, options));
    for option in given {
        let Some(given) = option.given else {
            continue;
        };
        if option.recorded.as_deref() == Some(given.as_str()) {
            continue;
        }
        let was = option.recorded.unwrap_or_else(|| "(none)".into());
        match option.step {
            Some(step) if !begun(step) => {
                corrections.push(format!("{} {was} -> {given}", option.flag));
                applies.push((option.apply, given));
            }
            Some(step) => disagreements.push(format!(
                "{} {given} (the run has {was}, and its `{step}` step has begun)",
                option.flag
            )),
            None => disagreements.push(format!("{} {given} (the run has {was})", option.flag)),
        }
    }
    disagreements.extend(step_disagreements(global, args, options));
    if !disagreements.is_empty() {
        return Err(Error::usage(format!(
            "--resume takes the run's parameters from state.json, and these disagree: {}. Leave them out (only the options of steps not yet begun may be corrected)",
            disagreements.join("; ")
        )));
    }
    for (apply, value) in applies {
        apply(options, value);
    }
    options.check_rds()?;
    Ok(corrections)
}

/// The step selection and the Velero namespace, which a resume never changes.
fn step_disagreements(
    global: &GlobalArgs,
    args: &RunArgs,
    recorded: &RestoreOptions,
) -> Vec<String> {
    let mut disagreements = Vec::new();
    let steps = &args.restore.steps;
    if (!steps.only.is_empty() || !steps.skip.is_empty() || steps.from.is_some())
        && settings::select_steps(steps).ok().as_ref() != Some(&recorded.steps)
    {
        disagreements.push("--only/--skip/--from select other steps than the run's".into());
    }
    if global.velero_namespace != recorded.velero_namespace
        && global.velero_namespace.as_str() != "velero"
    {
        disagreements.push(format!(
            "--velero-namespace {} (the run has {})",
            global.velero_namespace, recorded.velero_namespace
        ));
    }
    disagreements
}
