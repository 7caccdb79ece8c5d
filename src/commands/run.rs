//! `run`: the restore, live. A new run gets a run directory; `--resume DIR` continues the run
//! recorded there with its own parameters: options given again must agree, except those of
//! steps not yet begun, which may be corrected (and the correction is recorded).

use std::path::{Path, PathBuf};

use crate::cli::{GlobalArgs, RunArgs, settings};
use crate::error::{Error, Result, exit};
use crate::model::{Facts, RestoreOptions};
use crate::process::{Interrupt, Runner};
use crate::record::{RunDir, RunLock, RunRecord, RunState, RunStatus};
use crate::restore::executor::Executor;
use crate::restore::live::Ended;
use crate::restore::{LiveExecutor, Start, restore};

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
    if global.output == crate::cli::OutputFormat::Json {
        return Err(Error::usage(
            "-o json is for plan, backups, verify, audit and steps; a run's record is its transcript and events.jsonl. For the run as JSON afterwards: `arthur-restore -o json audit RUN_DIR`",
        ));
    }
    let notify = checked_before_anything(args)?;
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
    if let Some(approvers) = &options.approvers {
        if args.sign_key.is_none() {
            return Err(Error::usage(format!(
                "this run needs approvals (--approvers {approvers}): give the operator's own key with --sign-key, so that it cannot approve the run"
            )));
        }
        if args
            .approvers
            .as_ref()
            .is_some_and(|given| given != approvers)
        {
            return Err(Error::usage(format!(
                "--approvers disagrees with the run directory, whose approvers are {approvers}"
            )));
        }
    }
    let interrupt = Interrupt::on_signals();
    let mut runner = Runner::locate(options.timing.command_timeout, interrupt)?
        .with_max_output(options.max_output);
    if options.approvers.is_some() {
        runner
            .add_tool(crate::process::Tool::SshKeygen)
            .map_err(|e| Error::refused(format!("--approvers: {e}")))?;
    }
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
    let screen = Box::new(crate::terminal::Screen::new(global.verbosity()));
    let mut exec = LiveExecutor::new(record, options.timing, runner, args.yes, screen)
        .keeping_output(args.keep_output)
        .signing_with(args.sign_key.clone())
        .writing_metrics(args.textfile.clone())
        .notifying(notify);
    exec.header(&options, start != Start::Run)?;
    if !corrections.is_empty() {
        exec.corrected(&corrections)?;
    }
    exec.checkpoint(&options, &facts)?;
    let outcome = restore(&mut options, &mut exec, &mut facts, start);
    let ended = exec.finish(&options, &facts, &outcome)?;
    outcome.map(|()| exit::SUCCESS).map_err(|error| {
        let error = error.in_run_dir(&run_dir);
        match ended {
            // The screen said the cause, what to do and where the record is: once.
            Ended::Shown => Error::Told {
                code: error.exit_code(),
            },
            Ended::NotShown {
                advice: Some(advice),
            } if !error.is_interrupted() => Error::Advised {
                error: Box::new(error),
                advice,
            },
            Ended::NotShown { .. } => error,
        }
    })
}

/// `--approvers FILE`: an allowed-signers file as `ssh-keygen -Y verify` reads it, with a key.
fn check_approvers(path: &crate::names::CliPath) -> Result<()> {
    let bad = |why: String| Error::usage(format!("--approvers {path}: {why}"));
    let text = std::fs::read_to_string(path.as_str()).map_err(|e| {
        bad(format!(
            "cannot be read ({e}); give an ssh allowed-signers file"
        ))
    })?;
    let mut keys = 0;
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let typed = fields.iter().position(|f| {
            f.starts_with("ssh-") || f.starts_with("ecdsa-sha2-") || f.starts_with("sk-")
        });
        match typed {
            Some(at) if at >= 1 && fields.len() > at + 1 => keys += 1,
            _ => {
                return Err(bad(format!(
                    "line {} is not an allowed signer (PRINCIPALS [OPTIONS] KEYTYPE KEY, as ssh-keygen -Y verify reads it)",
                    number + 1
                )));
            }
        }
    }
    if keys == 0 {
        return Err(bad("names no approver (no allowed signer in it)".into()));
    }
    Ok(())
}

/// What this invocation asks for beyond the restore, checked before anything is created or
/// run: the metrics' file, and the webhooks (refused without being quoted).
fn checked_before_anything(args: &RunArgs) -> Result<crate::restore::live::Notify> {
    if let Some(path) = &args.textfile {
        crate::textfile::check_writable(path).map_err(|why| {
            Error::usage(format!(
                "--textfile {}: cannot be written ({why}); name a file in a folder this user may write (node_exporter's textfile directory)",
                path.display()
            ))
        })?;
    }
    Ok(crate::restore::live::Notify {
        urls: args
            .notify
            .iter()
            .filter(|url| !url.is_empty())
            .map(|url| {
                crate::names::WebhookUrl::new(url)
                    .map_err(|why| Error::usage(format!("--notify: {why}")))
            })
            .collect::<Result<_>>()?,
        after_wait: args.notify_after,
    })
}

fn start(global: &GlobalArgs, args: &RunArgs) -> Result<Begin> {
    let mut options = settings::restore_options(global, &args.restore)?;
    options.check_rds()?;
    if let Some(approvers) = &args.approvers {
        check_approvers(approvers)?;
        options.approvers = Some(approvers.clone());
    }
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
    let (given, fixed) = settings::given_on_resume(global, args, &options);
    let corrections = crate::model::resume::reconcile(given, fixed, &mut options, &facts)?;
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
