//! `run`: the live executor. Commands really run (through `Runner`); the transcript is printed
//! and written to RUN_DIR/transcript.log; every event goes to RUN_DIR/events.jsonl, hash-chained;
//! what has been learnt goes to RUN_DIR/state.json after every change, so that `--resume`
//! continues without repeating destructive work.

use std::fs::{File, OpenOptions};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::app::{Start, VERSION, restore};
use crate::cli::{Cli, RunArgs};
use crate::cmd::Cmd;
use crate::error::{Error, Result, exit};
use crate::executor::{Background, Confirmation, Executor, Output, Poll, Wait, WaitEnd};
use crate::facts::Facts;
use crate::names::format_duration;
use crate::options::RestoreOptions;
use crate::redact::redact;
use crate::runner::{BackgroundChild, RunOutput, Runner};
use crate::transcript::{self, Entry};

pub const STATE_FILE: &str = "state.json";
pub const TRANSCRIPT_FILE: &str = "transcript.log";
pub const EVENTS_FILE: &str = "events.jsonl";

/// state.json: the run's parameters and what it has learnt.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunState {
    pub tool_version: String,
    /// `running`, `interrupted`, `failed`, `refused` or `completed`.
    pub status: String,
    #[serde(default)]
    pub error: Option<String>,
    pub options: RestoreOptions,
    pub facts: Facts,
}

pub fn run_command(cli: &Cli, args: &RunArgs) -> Result<i32> {
    let (mut options, run_dir, mut facts, resuming) = match &args.resume {
        Some(dir) => {
            let state = load_state(dir)?;
            let given = RestoreOptions::new(&cli.global, &args.restore);
            check_resume_agrees(cli, args, given.ok().as_ref(), &state.options)?;
            if state.status == "completed" {
                return Err(Error::usage(format!(
                    "the run in {} has already completed; start a new run instead of --resume",
                    dir.display()
                )));
            }
            (state.options, dir.clone(), state.facts, true)
        }
        None => {
            let options = RestoreOptions::new(&cli.global, &args.restore)?;
            options.check_rds()?;
            let run_dir = args.run_dir.clone().unwrap_or_else(default_run_dir);
            prepare_run_dir(&run_dir)?;
            let facts = Facts {
                started_at: Some(jiff::Timestamp::now().to_string()),
                ..Facts::default()
            };
            (options, run_dir, facts, false)
        }
    };

    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = interrupted.clone();
    // A second Ctrl-C while the handler is installed does nothing more: the first one already
    // asked every wait and child to stop.
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst));

    let runner = Runner::locate(options.timing.command_timeout, interrupted.clone())
        .map_err(|e| Error::refused(format!("preflight: {e}")))?;
    let mut exec = LiveExecutor::open(&run_dir, options.clone(), runner, args.yes)?;
    exec.header(resuming)?;
    exec.checkpoint(&facts)?;

    let start = if resuming { Start::Resume } else { Start::Run };
    let outcome = restore(&mut options, &mut exec, &mut facts, start);
    let outcome = match outcome {
        Err(_) if interrupted.load(Ordering::SeqCst) => Err(Error::Interrupted {
            run_dir: run_dir.clone(),
        }),
        other => other,
    };
    let status = match &outcome {
        Ok(()) => "completed",
        Err(Error::Interrupted { .. }) => "interrupted",
        Err(Error::Refused(_)) => "refused",
        Err(_) => "failed",
    };
    exec.finish(&facts, status, outcome.as_ref().err())?;
    outcome.map(|()| exit::SUCCESS)
}

fn default_run_dir() -> PathBuf {
    let stamp = jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string();
    PathBuf::from("arthur-restore-runs").join(stamp)
}

fn prepare_run_dir(dir: &Path) -> Result<()> {
    if dir.join(STATE_FILE).exists() {
        return Err(Error::usage(format!(
            "{} already holds a run; continue it with `arthur-restore run --resume {}`, or choose another --run-dir",
            dir.display(),
            dir.display()
        )));
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create the run directory", dir, e))
}

pub fn load_state(dir: &Path) -> Result<RunState> {
    let path = dir.join(STATE_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::usage(format!(
                "{} has no {STATE_FILE}: --resume takes the run directory of an earlier `run`",
                dir.display()
            ))
        } else {
            Error::io("cannot read", &path, e)
        }
    })?;
    serde_json::from_str(&text).map_err(|e| {
        Error::usage(format!(
            "{} is not a state file of this tool: {e}",
            path.display()
        ))
    })
}

/// `--resume` takes every parameter from state.json; an option given again must agree.
fn check_resume_agrees(
    cli: &Cli,
    args: &RunArgs,
    given: Option<&RestoreOptions>,
    recorded: &RestoreOptions,
) -> Result<()> {
    let mut disagreements: Vec<String> = Vec::new();
    let mut check = |flag: &str, given: Option<String>, recorded: String| {
        if let Some(given) = given
            && given != recorded
        {
            disagreements.push(format!("{flag} {given} (the run has {recorded})"));
        }
    };
    let opt = |value: &Option<String>| value.clone().unwrap_or_else(|| "(none)".into());
    let (point, rds) = (&args.restore.point, &args.restore.rds);
    let pairs: [(&str, &Option<String>, String); 9] = [
        (
            "--namespace",
            &cli.global.namespace,
            recorded.namespace.clone(),
        ),
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
    for (flag, given, recorded) in pairs {
        check(flag, given.clone(), recorded);
    }
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

pub struct LiveExecutor {
    run_dir: PathBuf,
    options: RestoreOptions,
    runner: Runner,
    yes: bool,
    transcript: File,
    events: File,
    last_hash: String,
    sequence: u64,
    interactive: bool,
}

impl LiveExecutor {
    fn open(
        run_dir: &Path,
        options: RestoreOptions,
        runner: Runner,
        yes: bool,
    ) -> Result<LiveExecutor> {
        let append = |name: &str| {
            let path = run_dir.join(name);
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| Error::io("cannot open", path, e))
        };
        let transcript = append(TRANSCRIPT_FILE)?;
        let events_path = run_dir.join(EVENTS_FILE);
        let (last_hash, sequence) = last_event(&events_path)?;
        let events = append(EVENTS_FILE)?;
        Ok(LiveExecutor {
            run_dir: run_dir.to_path_buf(),
            options,
            runner,
            yes,
            transcript,
            events,
            last_hash,
            sequence,
            interactive: std::io::stdin().is_terminal() && std::io::stderr().is_terminal(),
        })
    }

    fn write(&mut self, text: &str) -> Result<()> {
        let text = redact(text);
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(text.as_bytes());
        let _ = stdout.flush();
        self.transcript
            .write_all(text.as_bytes())
            .map_err(|e| Error::io("cannot write", self.run_dir.join(TRANSCRIPT_FILE), e))
    }

    /// Appends one event to events.jsonl, chained to the one before by its SHA-256.
    fn event(&mut self, kind: &str, mut fields: serde_json::Value) -> Result<()> {
        self.sequence += 1;
        let object = fields.as_object_mut().expect("events are objects");
        object.insert("seq".into(), json!(self.sequence));
        object.insert("time".into(), json!(jiff::Timestamp::now().to_string()));
        object.insert("event".into(), json!(kind));
        object.insert("prev".into(), json!(self.last_hash));
        let line = redact(&serde_json::to_string(&fields).unwrap_or_default());
        self.last_hash = hex(&Sha256::digest(line.as_bytes()));
        writeln!(self.events, "{line}")
            .map_err(|e| Error::io("cannot write", self.run_dir.join(EVENTS_FILE), e))
    }

    fn header(&mut self, resuming: bool) -> Result<()> {
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| "unknown".into());
        let host = std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "unknown".into());
        let now = jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let verb = if resuming {
            "run resumed"
        } else {
            "run started"
        };
        let mut text = format!(
            "arthur-restore {VERSION} {verb} {now} namespace={} velero-namespace={}\nuser={user} host={host} run-dir={}\nsteps: {}",
            self.options.namespace,
            self.options.velero_namespace,
            self.run_dir.display(),
            self.options
                .steps
                .iter()
                .map(|s| s.id())
                .collect::<Vec<_>>()
                .join(" ")
        );
        let programs: Vec<String> = crate::tool::Tool::ALL
            .iter()
            .map(|tool| format!("{}={}", tool.name(), self.runner.program(*tool).display()))
            .collect();
        text.push_str(&format!("\nprograms: {}", programs.join(" ")));
        self.write(&transcript::comment(&text))?;
        self.event(
            if resuming { "run-resumed" } else { "run-started" },
            json!({"version": VERSION, "user": user, "host": host, "run_dir": self.run_dir, "options": self.options, "programs": programs}),
        )
    }

    fn finish(&mut self, facts: &Facts, status: &str, error: Option<&Error>) -> Result<()> {
        let text = match (status, error) {
            ("completed", _) => "run completed: every step passed".to_string(),
            ("interrupted", _) => format!(
                "run interrupted; state saved. Continue with: arthur-restore run --resume {}",
                self.run_dir.display()
            ),
            (_, Some(error)) => format!(
                "run {status}: {error}\nstate saved in {}; after fixing the cause, continue with: arthur-restore run --resume {}",
                self.run_dir.display(),
                self.run_dir.display()
            ),
            _ => format!("run {status}"),
        };
        self.write(&transcript::comment(&text))?;
        if matches!(status, "failed" | "refused") {
            eprintln!(
                "arthur-restore: state saved in {}; after fixing the cause, continue with `arthur-restore run --resume {}` (completed steps are not repeated)",
                self.run_dir.display(),
                self.run_dir.display()
            );
        }
        self.event(
            "run-ended",
            json!({"status": status, "error": error.map(|e| e.to_string()), "exit": error.map(Error::exit_code).unwrap_or(0)}),
        )?;
        self.save_state(facts, status, error.map(|e| e.to_string()))
    }

    fn save_state(&self, facts: &Facts, status: &str, error: Option<String>) -> Result<()> {
        let state = RunState {
            tool_version: VERSION.into(),
            status: status.into(),
            error,
            options: self.options.clone(),
            facts: facts.clone(),
        };
        let path = self.run_dir.join(STATE_FILE);
        let temporary = self.run_dir.join("state.json.tmp");
        let text = serde_json::to_string_pretty(&state).unwrap_or_default();
        std::fs::write(&temporary, text + "\n")
            .and_then(|()| std::fs::rename(&temporary, &path))
            .map_err(|e| Error::io("cannot write", path, e))
    }

    fn interrupted(&self) -> Result<()> {
        if self.runner.interrupted() {
            Err(Error::Interrupted {
                run_dir: self.run_dir.clone(),
            })
        } else {
            Ok(())
        }
    }

    /// Runs a command, shows it in the transcript and records the event.
    fn execute(&mut self, cmd: &Cmd) -> Result<Output> {
        self.interrupted()?;
        let result = self.runner.run(cmd);
        self.interrupted()?;
        let out = result?;
        self.show(cmd, &out)?;
        Ok(out.output)
    }

    fn show(&mut self, cmd: &Cmd, out: &RunOutput) -> Result<()> {
        self.write(&Entry::ran(cmd, &out.combined, out.output.status).render())?;
        self.record_command(cmd, out)
    }

    fn record_command(&mut self, cmd: &Cmd, out: &RunOutput) -> Result<()> {
        self.event(
            "command",
            json!({
                "argv": cmd.argv(),
                "effect": cmd.effect,
                "exit": out.output.status,
                "duration_ms": out.duration.as_millis() as u64,
                "stdout_bytes": out.output.stdout.len(),
                "stderr_bytes": out.output.stderr.len(),
            }),
        )
    }

    fn poll(&mut self, wait: Wait<'_>, timeout_is_error: bool) -> Result<WaitEnd> {
        let Wait {
            what,
            probe,
            timeout,
            mut check,
        } = wait;
        let started = Instant::now();
        let progress = indicatif::ProgressBar::new_spinner();
        if !std::io::stderr().is_terminal() {
            progress.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        self.event(
            "wait-started",
            json!({"what": what, "probe": probe.argv(), "timeout_ms": timeout.as_millis() as u64}),
        )?;
        let mut polls = 0u64;
        loop {
            self.interrupted()?;
            let out = self.runner.run(&probe);
            self.interrupted()?;
            let out = out?;
            polls += 1;
            let answer = check(&out.output);
            let first = polls == 1;
            let finished = !matches!(answer, Ok(Poll::NotYet { .. }));
            let expired = started.elapsed() + self.options.timing.poll_interval > timeout;
            // The first and the final poll are shown; the others only go to events.jsonl.
            if first || finished || expired {
                self.show(&probe, &out)?;
            } else {
                self.record_command(&probe, &out)?;
            }
            let elapsed = format_duration(Duration::from_secs(started.elapsed().as_secs().max(1)));
            match answer {
                Err(error) => {
                    progress.finish_and_clear();
                    self.event(
                        "wait-failed",
                        json!({"what": what, "polls": polls, "error": error.to_string()}),
                    )?;
                    return Err(error);
                }
                Ok(Poll::Ready(text)) => {
                    progress.finish_and_clear();
                    self.event(
                        "wait-ended",
                        json!({"what": what, "polls": polls, "result": text}),
                    )?;
                    if !first {
                        self.write(&transcript::comment(&format!(
                            "waited {elapsed} ({polls} polls): {text}"
                        )))?;
                    } else {
                        self.write(&transcript::comment(&text))?;
                    }
                    return Ok(WaitEnd::Ready);
                }
                Ok(Poll::Stop {
                    progress: line,
                    pending,
                }) => {
                    progress.finish_and_clear();
                    self.event(
                        "wait-stopped",
                        json!({"what": what, "polls": polls, "reason": line, "pending": pending}),
                    )?;
                    if timeout_is_error {
                        let still = pending
                            .iter()
                            .map(|p| format!("  {p}"))
                            .collect::<Vec<_>>()
                            .join("\n");
                        return Err(Error::Timeout {
                            what,
                            waited: format!("{elapsed} ({line})"),
                            still,
                        });
                    }
                    self.write(&transcript::comment(&format!("stopped waiting: {line}")))?;
                    return Ok(WaitEnd::TimedOut { pending });
                }
                Ok(Poll::NotYet {
                    progress: line,
                    pending,
                }) => {
                    self.event(
                        "poll",
                        json!({"what": what, "progress": line, "pending": pending}),
                    )?;
                    if expired {
                        progress.finish_and_clear();
                        self.event(
                            "wait-timed-out",
                            json!({"what": what, "polls": polls, "pending": pending}),
                        )?;
                        let still = pending
                            .iter()
                            .map(|p| format!("  {p}"))
                            .collect::<Vec<_>>()
                            .join("\n");
                        if timeout_is_error {
                            return Err(Error::Timeout {
                                what,
                                waited: format_duration(timeout),
                                still,
                            });
                        }
                        self.write(&transcript::comment(&format!(
                            "still not done after {}: {line}",
                            format_duration(timeout)
                        )))?;
                        return Ok(WaitEnd::TimedOut { pending });
                    }
                    if first {
                        self.write(&transcript::comment(&format!(
                            "waiting for {what}: {line} (polling every {}, up to {})",
                            format_duration(self.options.timing.poll_interval),
                            format_duration(timeout)
                        )))?;
                    }
                    progress.set_message(format!("waiting for {what}: {line} ({elapsed})"));
                    progress.tick();
                    self.sleep(self.options.timing.poll_interval)?;
                }
            }
        }
    }

    /// Reads one line from the terminal on a helper thread, so that Ctrl-C at the prompt stops
    /// the run at once (saving state) instead of waiting for Enter.
    fn read_answer(&self) -> Result<String> {
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let read = std::io::stdin().read_line(&mut line).map(|_| line);
            let _ = sender.send(read);
        });
        loop {
            if self.runner.interrupted() {
                eprintln!();
            }
            self.interrupted()?;
            match receiver.recv_timeout(Duration::from_millis(50)) {
                Ok(answer) => {
                    return answer.map_err(|e| {
                        Error::io("cannot read the answer from", "standard input", e)
                    });
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(Error::refused(
                        "the terminal closed before the question was answered",
                    ));
                }
            }
        }
    }

    /// Sleeps in small slices so that Ctrl-C is answered at once.
    fn sleep(&self, duration: Duration) -> Result<()> {
        let until = Instant::now() + duration;
        while Instant::now() < until {
            self.interrupted()?;
            std::thread::sleep(
                Duration::from_millis(20).min(until.saturating_duration_since(Instant::now())),
            );
        }
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The hash and number of the last event already in the file (a resumed run continues the chain).
fn last_event(path: &Path) -> Result<(String, u64)> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(("0".repeat(64), 0)),
        Err(e) => return Err(Error::io("cannot read", path, e)),
    };
    let Some(last) = text.lines().rfind(|l| !l.trim().is_empty()) else {
        return Ok(("0".repeat(64), 0));
    };
    let sequence = serde_json::from_str::<serde_json::Value>(last)
        .ok()
        .and_then(|v| v.get("seq").and_then(|s| s.as_u64()))
        .unwrap_or(0);
    Ok((hex(&Sha256::digest(last.as_bytes())), sequence))
}

/// Checks the hash chain of an events.jsonl; the number of the first broken line, if any.
pub fn verify_chain(text: &str) -> std::result::Result<usize, usize> {
    let mut previous = "0".repeat(64);
    let mut count = 0;
    for (index, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let value: serde_json::Value = serde_json::from_str(line).map_err(|_| index + 1)?;
        if value.get("prev").and_then(|p| p.as_str()) != Some(previous.as_str()) {
            return Err(index + 1);
        }
        previous = hex(&Sha256::digest(line.as_bytes()));
        count += 1;
    }
    Ok(count)
}

struct LiveBackground(BackgroundChild);

impl Background for LiveBackground {
    fn stop(self: Box<Self>) -> Result<()> {
        self.0.stop()
    }
}

impl Executor for LiveExecutor {
    fn section(&mut self, title: &str) -> Result<()> {
        self.interrupted()?;
        self.write(&format!("## {title}\n"))?;
        self.event("section", json!({"title": title}))
    }

    fn note(&mut self, text: &str) -> Result<()> {
        self.write(&transcript::comment(text))?;
        self.event("note", json!({"text": text}))
    }

    fn read(&mut self, cmd: &Cmd) -> Result<Option<Output>> {
        let out = self.execute(cmd)?;
        if !out.success() {
            return Err(Error::command_failed(cmd, &out));
        }
        Ok(Some(out))
    }

    fn probe(&mut self, cmd: &Cmd) -> Result<Option<Output>> {
        self.execute(cmd).map(Some)
    }

    fn change(&mut self, cmd: &Cmd) -> Result<Option<Output>> {
        self.execute(cmd).map(Some)
    }

    fn wait(&mut self, wait: Wait<'_>) -> Result<WaitEnd> {
        self.poll(wait, true)
    }

    fn wait_or_time_out(&mut self, wait: Wait<'_>) -> Result<WaitEnd> {
        self.poll(wait, false)
    }

    fn confirm(&mut self, confirmation: &Confirmation) -> Result<()> {
        let mut text = confirmation.details.join("\n");
        text.push_str(&format!("\n{}", confirmation.question));
        self.write(&transcript::comment(&text))?;
        let answer = if self.yes {
            "yes (--yes)".to_string()
        } else if self.interactive {
            for detail in &confirmation.details {
                eprintln!("{detail}");
            }
            eprint!("{} [y/N] ", confirmation.question);
            let line = self.read_answer()?;
            let line = line.trim().to_ascii_lowercase();
            if line == "y" || line == "yes" {
                "yes (at the prompt)".to_string()
            } else {
                self.write(&transcript::comment(&format!(
                    "gate {}: answered no",
                    confirmation.gate
                )))?;
                self.event("gate", json!({"gate": confirmation.gate, "answer": "no"}))?;
                return Err(Error::refused(format!(
                    "the answer to \"{}\" was no; nothing was done after it",
                    confirmation.question
                )));
            }
        } else {
            self.write(&transcript::comment(&format!(
                "gate {}: nobody to answer",
                confirmation.gate
            )))?;
            self.event(
                "gate",
                json!({"gate": confirmation.gate, "answer": "none (no terminal, no --yes)"}),
            )?;
            return Err(Error::refused(format!(
                "\"{}\" needs an answer, and there is no terminal to ask on; run in a terminal, or pass --yes to answer it (non-interactive use). Continue with `arthur-restore run --resume {} --yes`",
                confirmation.question,
                self.run_dir.display()
            )));
        };
        self.write(&transcript::comment(&format!(
            "gate {}: {answer}",
            confirmation.gate
        )))?;
        self.event(
            "gate",
            json!({"gate": confirmation.gate, "answer": answer, "details": confirmation.details}),
        )
    }

    fn save_artifact(&mut self, name: &str, contents: &str) -> Result<PathBuf> {
        let path = self.artifact_path(name);
        std::fs::write(&path, contents).map_err(|e| Error::io("cannot write", &path, e))?;
        self.event("artifact", json!({"path": path, "bytes": contents.len()}))?;
        Ok(path)
    }

    fn artifact_path(&self, name: &str) -> PathBuf {
        let dir = std::path::absolute(&self.run_dir).unwrap_or_else(|_| self.run_dir.clone());
        dir.join(name)
    }

    fn start_background(
        &mut self,
        cmd: &Cmd,
        ready_text: &str,
        limit: Duration,
    ) -> Result<Option<Box<dyn Background>>> {
        self.interrupted()?;
        let started = Instant::now();
        let child = self.runner.start_background(cmd, ready_text, limit);
        let seen = match &child {
            Ok(child) => child.seen.clone(),
            Err(error) => error.to_string(),
        };
        self.write(&format!("$ {cmd}\n"))?;
        if child.is_ok() {
            self.write(&seen)?;
            if !seen.ends_with('\n') {
                self.write("\n")?;
            }
        }
        self.event("background-started", json!({"argv": cmd.argv(), "ok": child.is_ok(), "duration_ms": started.elapsed().as_millis() as u64}))?;
        let child = child?;
        self.write(&transcript::comment("running in the background (the runbook's \"one terminal\"); stopped after the call below"))?;
        Ok(Some(Box::new(LiveBackground(child))))
    }

    fn is_live(&self) -> bool {
        true
    }

    fn checkpoint(&mut self, facts: &Facts) -> Result<()> {
        self.save_state(facts, "running", None)
    }

    fn record_options(&mut self, options: &RestoreOptions) -> Result<()> {
        self.options = options.clone();
        self.event(
            "options-resolved",
            json!({"backups": options.backups, "rds_snapshot": options.rds.snapshot}),
        )
    }
}
