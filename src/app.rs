//! What each command does, given the parsed command line.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use clap::CommandFactory;
use serde_json::json;

use crate::cli::{Cli, Command, CompletionShell, OutputFormat, PlanArgs};
use crate::error::{Error, Result, exit};
use crate::executor::Executor;
use crate::facts::Facts;
use crate::options::RestoreOptions;
use crate::plan::PlanExecutor;
use crate::runbook::{self, StepId};
use crate::runner::Runner;
use crate::steps::{self, Context};
use crate::transcript::{self, Entry};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Runs the command and returns the exit status.
pub fn run(cli: Cli) -> Result<i32> {
    match &cli.command {
        Command::Plan(args) => plan(&cli, args),
        Command::Run(args) => crate::live::run_command(&cli, args),
        Command::Steps => steps_command(cli.global.output),
        Command::Completions { shell } => completions(*shell),
        Command::Backups(args) => crate::backups::command(&cli, args),
        Command::Verify(args) => crate::verify::command(&cli, args),
        Command::Audit(args) => {
            let report = crate::audit::audit(&args.transcript)?;
            match cli.global.output {
                OutputFormat::Text => print(&crate::audit::render(&report))?,
                OutputFormat::Json => print(&format!(
                    "{}\n",
                    serde_json::to_string_pretty(&report).unwrap_or_default()
                ))?,
            }
            Ok(if report.conforms {
                exit::SUCCESS
            } else {
                exit::UNHEALTHY
            })
        }
    }
}

fn print(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| Error::io("cannot write to", "standard output", e))
}

fn plan(cli: &Cli, args: &PlanArgs) -> Result<i32> {
    let mut options = RestoreOptions::new(&cli.global, &args.restore)?;
    if args.offline {
        options.require_explicit()?;
    }
    options.check_rds()?;
    let mut exec = if args.offline {
        PlanExecutor::offline(options.timing.poll_interval)
    } else {
        let interrupted = Arc::new(AtomicBool::new(false));
        let runner = Runner::locate(options.timing.command_timeout, interrupted)
            .map_err(|e| Error::refused(e.to_string()))?;
        PlanExecutor::reading(options.timing.poll_interval, runner)
    };
    let mode = if args.offline {
        "offline: nothing was run"
    } else {
        "read-only commands were run; nothing was changed"
    };
    exec.push(Entry::Header {
        text: format!(
            "arthur-restore {VERSION} plan ({mode}) namespace={} velero-namespace={}\nsteps: {}",
            options.namespace,
            options.velero_namespace,
            options
                .steps
                .iter()
                .map(|s| s.id())
                .collect::<Vec<_>>()
                .join(" ")
        ),
    });
    let mut facts = Facts::default();
    let outcome = restore(
        &mut options,
        &mut exec,
        &mut facts,
        Start::Plan {
            offline: args.offline,
        },
    );
    if let Err(error) = &outcome {
        exec.push(Entry::Note {
            text: format!("plan stopped: {error}"),
        });
    }
    match cli.global.output {
        OutputFormat::Text => print(&transcript::render_all(&exec.entries))?,
        OutputFormat::Json => print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&plan_json(&exec.entries, args.offline))
                .unwrap_or_default()
        ))?,
    }
    outcome.map(|()| exit::SUCCESS)
}

/// How a restore begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    Plan { offline: bool },
    Run,
    Resume,
}

/// The whole sequence of a plan or a run: identity, the choice of backups (not on resume, whose
/// names are fixed, nor offline), the preflight, then every selected step.
pub fn restore(
    options: &mut RestoreOptions,
    exec: &mut dyn Executor,
    facts: &mut Facts,
    start: Start,
) -> Result<()> {
    {
        let mut cx = Context {
            options,
            commands: options.commands(),
            exec: &mut *exec,
            facts: &mut *facts,
            resuming: start == Start::Resume,
        };
        steps::identify(&mut cx)?;
    }
    if matches!(start, Start::Run | Start::Plan { offline: false }) {
        crate::discovery::resolve(options, exec, true)?;
    }
    perform_all(options, exec, facts, start == Start::Resume)
}

/// Preflight, then every selected step, in order.
fn perform_all(
    options: &RestoreOptions,
    exec: &mut dyn Executor,
    facts: &mut Facts,
    resuming: bool,
) -> Result<()> {
    let mut cx = Context {
        options,
        commands: options.commands(),
        exec,
        facts,
        resuming,
    };
    steps::preflight(&mut cx)?;
    for step in &options.steps {
        if cx.facts.is_complete(*step) {
            cx.exec.section(step.title())?;
            cx.note_completed(*step)?;
            continue;
        }
        steps::perform(*step, &mut cx)?;
        if cx.exec.is_live() {
            cx.facts.completed_steps.push(*step);
            cx.exec.checkpoint(cx.facts)?;
            cx.exec.note(&format!("step {step} completed"))?;
        }
    }
    Ok(())
}

/// The plan as JSON: its sections, each with its commands (argv arrays) and notes.
fn plan_json(entries: &[Entry], offline: bool) -> serde_json::Value {
    let mut header = String::new();
    let mut sections: Vec<serde_json::Value> = Vec::new();
    for entry in entries {
        match entry {
            Entry::Header { text } => header = text.clone(),
            Entry::Section { step, title } => sections.push(json!({
                "step": step, "title": title, "entries": []
            })),
            other => {
                if let Some(section) = sections.last_mut() {
                    section["entries"]
                        .as_array_mut()
                        .expect("entries is an array")
                        .push(serde_json::to_value(other).unwrap_or_default());
                }
            }
        }
    }
    json!({
        "tool": "arthur-restore",
        "version": VERSION,
        "offline": offline,
        "header": header,
        "sections": sections,
    })
}

fn steps_command(output: OutputFormat) -> Result<i32> {
    let commands = runbook::template_commands();
    match output {
        OutputFormat::Text => {
            let mut text = String::from(
                "The runbook \"Restoring the Arthur Platform\", step by step (ids for --only, --skip, --from):\n",
            );
            for step in StepId::ALL {
                text.push_str(&format!(
                    "\n{:<12} {}\n             {}\n",
                    step.id(),
                    step.title(),
                    step.summary()
                ));
                for documented in runbook::documented(step, &commands) {
                    let need = match documented.need {
                        runbook::Need::Required => "",
                        runbook::Need::OneOf(_) => "   (either of the two listings)",
                        runbook::Need::Optional => "   (optional)",
                    };
                    text.push_str(&format!(
                        "             $ {}{need}\n",
                        documented.cmd.argv().join(" ")
                    ));
                }
            }
            print(&text)?;
        }
        OutputFormat::Json => {
            let steps: Vec<serde_json::Value> = StepId::ALL
                .into_iter()
                .map(|step| {
                    json!({
                        "id": step.id(),
                        "title": step.title(),
                        "summary": step.summary(),
                        "commands": runbook::documented(step, &commands)
                            .iter()
                            .map(|d| json!({"argv": d.cmd.argv(), "effect": d.cmd.effect, "need": d.need}))
                            .collect::<Vec<_>>(),
                    })
                })
                .collect();
            print(&format!(
                "{}\n",
                serde_json::to_string_pretty(&steps).unwrap_or_default()
            ))?;
        }
    }
    Ok(exit::SUCCESS)
}

fn completions(shell: CompletionShell) -> Result<i32> {
    let shell = match shell {
        CompletionShell::Bash => clap_complete::Shell::Bash,
        CompletionShell::Zsh => clap_complete::Shell::Zsh,
        CompletionShell::Fish => clap_complete::Shell::Fish,
    };
    let mut command = Cli::command();
    clap_complete::generate(
        shell,
        &mut command,
        "arthur-restore",
        &mut std::io::stdout(),
    );
    Ok(exit::SUCCESS)
}
