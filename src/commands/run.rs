//! `run`: the restore, live. A new run gets a run directory; `--resume DIR` continues the run
//! recorded there with its own parameters (options given again must agree).

use std::path::{Path, PathBuf};

use crate::cli::{GlobalArgs, RunArgs, settings};
use crate::error::{Error, Result, exit};
use crate::model::{Facts, RestoreOptions};
use crate::process::{Interrupt, Runner};
use crate::record::{RunDir, RunRecord, RunState, RunStatus};
use crate::restore::executor::Executor;
use crate::restore::{LiveExecutor, Start, restore};

/// What a run starts from: its parameters, its directory and what it knows.
struct Begin {
    options: RestoreOptions,
    dir: RunDir,
    facts: Facts,
    resuming: bool,
}

pub fn run(global: &GlobalArgs, args: &RunArgs) -> Result<i32> {
    let begin = match &args.resume {
        Some(dir) => resume(global, args, dir)?,
        None => start(global, args)?,
    };
    let Begin {
        mut options,
        dir,
        mut facts,
        resuming,
    } = begin;
    let interrupt = Interrupt::on_signals();
    let runner = Runner::locate(options.timing.command_timeout, interrupt)
        .map_err(|e| Error::refused(format!("preflight: {e}")))?;
    let run_dir = dir.path().to_path_buf();
    let record = RunRecord::open(dir)?;
    let mut exec = LiveExecutor::new(record, options.clone(), runner, args.yes);
    exec.header(resuming)?;
    exec.checkpoint(&facts)?;
    let start = if resuming { Start::Resume } else { Start::Run };
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
    let facts = Facts {
        started_at: Some(jiff::Timestamp::now().to_string()),
        ..Facts::default()
    };
    Ok(Begin {
        options,
        dir,
        facts,
        resuming: false,
    })
}

fn resume(global: &GlobalArgs, args: &RunArgs, path: &Path) -> Result<Begin> {
    let dir = RunDir::existing(path);
    let state = dir.load_state()?;
    let given = settings::restore_options(global, &args.restore);
    check_resume_agrees(global, args, given.ok().as_ref(), &state.options)?;
    if state.status == RunStatus::Completed {
        return Err(Error::usage(format!(
            "the run in {} has already completed; start a new run instead of --resume",
            path.display()
        )));
    }
    let RunState { options, facts, .. } = state;
    Ok(Begin {
        options,
        dir,
        facts,
        resuming: true,
    })
}

fn default_run_dir() -> PathBuf {
    let stamp = jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string();
    PathBuf::from("arthur-restore-runs").join(stamp)
}

/// `--resume` takes every parameter from state.json; an option given again must agree.
fn check_resume_agrees(
    global: &GlobalArgs,
    args: &RunArgs,
    given: Option<&RestoreOptions>,
    recorded: &RestoreOptions,
) -> Result<()> {
    let opt = |value: &Option<String>| value.clone().unwrap_or_else(|| "(none)".into());
    let (point, rds) = (&args.restore.point, &args.restore.rds);
    let pairs: [(&str, &Option<String>, String); 9] = [
        ("--namespace", &global.namespace, recorded.namespace.clone()),
        (
            "--messaging-backup",
            &point.messaging_backup,
            opt(&recorded.backups.messaging),
        ),
        (
            "--enrichments-backup",
            &point.enrichments_backup,
            opt(&recorded.backups.enrichments),
        ),
        (
            "--workflows-backup",
            &point.workflows_backup,
            opt(&recorded.backups.workflows),
        ),
        (
            "--clickhouse-backup",
            &point.clickhouse_backup,
            opt(&recorded.backups.clickhouse),
        ),
        (
            "--clickhouse-s3-uri",
            &point.clickhouse_s3_uri,
            opt(&recorded.clickhouse_s3_uri),
        ),
        (
            "--rds-snapshot",
            &rds.rds_snapshot,
            opt(&recorded.rds.snapshot),
        ),
        (
            "--rds-instance",
            &rds.rds_instance,
            opt(&recorded.rds.instance),
        ),
        ("--rds-like", &rds.rds_like, opt(&recorded.rds.like)),
    ];
    let mut disagreements: Vec<String> = pairs
        .into_iter()
        .filter_map(|(flag, given, recorded)| match given {
            Some(given) if *given != recorded => {
                Some(format!("{flag} {given} (the run has {recorded})"))
            }
            _ => None,
        })
        .collect();
    if let Some(given) = given {
        let steps = &args.restore.steps;
        if (!steps.only.is_empty() || !steps.skip.is_empty() || steps.from.is_some())
            && given.steps != recorded.steps
        {
            disagreements.push("--only/--skip/--from select other steps than the run's".into());
        }
        if given.velero_namespace != recorded.velero_namespace && given.velero_namespace != "velero"
        {
            disagreements.push(format!(
                "--velero-namespace {} (the run has {})",
                given.velero_namespace, recorded.velero_namespace
            ));
        }
    }
    if disagreements.is_empty() {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "--resume takes the run's parameters from state.json, and these disagree: {}. Leave them out",
            disagreements.join("; ")
        )))
    }
}
