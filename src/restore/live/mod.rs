//! The live executor of `run`: commands really run (through the `Runner`); the transcript is
//! printed and written to the run directory, every event goes to events.jsonl, and what has been
//! learnt goes to state.json after every change, so that `--resume` continues without repeating
//! destructive work. The waits are in `wait.rs`, the gates in `gate.rs`.

mod approval;
mod gate;
mod notify;
mod wait;

pub use notify::Notify;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::ahead::{Ahead, leftover_note};
use super::executor::{
    ApprovalRequest, Background, Confirmation, Executor, GateOutcome, Wait, WaitEnd,
};
use super::operator::{Operator, Tone};
use crate::error::{Error, Result};
use crate::measures::Measures;
use crate::model::{Facts, RestoreOptions, Timing};
use crate::names::CliPath;
use crate::process::{BackgroundChild, Cmd, Output, Read, RunOutput, Runner, Tool, command_failed};
use crate::record::transcript;
use crate::record::{Event, Reached, RunIdentity, RunRecord, RunState, RunStatus};
use crate::runbook::StepId;

use crate::version::{COMMIT, VERSION};

pub struct LiveExecutor {
    record: RunRecord,
    /// How often waits poll (the rest of the options are the caller's, passed where the state
    /// is saved: there is one copy of them).
    timing: Timing,
    runner: Runner,
    yes: bool,
    interactive: bool,
    /// `--keep-output`: long outputs are kept whole in the run directory.
    keep_output: bool,
    /// `--sign-key`: the key that signs events.jsonl at the end.
    sign_key: Option<CliPath>,
    /// The run's first event, written once the identity reads have answered.
    pending_start: Option<PendingStart>,
    /// The person at the terminal: what they are shown and asked (the transcript is written
    /// whole whatever it shows).
    screen: Box<dyn Operator>,
    /// When this invocation began, and each section it entered, for the ending's times.
    started: Instant,
    sections: Vec<(String, Instant)>,
    /// Warnings said during the run, said again at the end.
    warnings: Vec<String>,
    /// Answers of reads run ahead, side by side, not yet taken (recorded when taken).
    ahead: Ahead,
    /// `--textfile`: where the run's metrics go at its end.
    textfile: Option<PathBuf>,
    /// `--notify`: who is told, and when.
    notify: Notify,
    /// The run's namespace and cluster, for the notifications.
    namespace: String,
    cluster: Option<String>,
}

/// Whether the operator's screen showed how the run ended (then the error is not said again),
/// and else what to do, for the error's message.
pub enum Ended {
    Shown,
    NotShown { advice: Option<String> },
}

/// The first event of a run or a resumption, waiting for what the identity reads learn.
struct PendingStart {
    identity: RunIdentity,
    resuming: bool,
}

impl LiveExecutor {
    pub fn new(
        record: RunRecord,
        timing: Timing,
        runner: Runner,
        yes: bool,
        screen: Box<dyn Operator>,
    ) -> LiveExecutor {
        LiveExecutor {
            record,
            timing,
            runner,
            yes,
            interactive: screen.can_ask(),
            keep_output: false,
            sign_key: None,
            pending_start: None,
            screen,
            started: Instant::now(),
            sections: Vec::new(),
            warnings: Vec::new(),
            ahead: Ahead::default(),
            textfile: None,
            notify: Notify::default(),
            namespace: String::new(),
            cluster: None,
        }
    }

    /// Signs events.jsonl at the end of the run (`--sign-key`).
    pub fn signing_with(mut self, key: Option<CliPath>) -> LiveExecutor {
        self.sign_key = key;
        self
    }

    /// `ssh-keygen -Y sign` over events.jsonl. Its `$ ` line and `command-started` event come
    /// first, so that the signed log holds them; nothing is appended after the signature.
    fn sign_events(&mut self) -> Result<()> {
        let Some(key) = self.sign_key.clone() else {
            return Ok(());
        };
        let cmd = crate::runbook::signing::sign_events(&key, &self.record.dir().events_path());
        self.runner.add_tool(Tool::SshKeygen)?;
        // The signature of an earlier invocation's log (a resumed run) is replaced: ssh-keygen
        // would ask before writing over it.
        let mut earlier = self.record.dir().events_path().into_os_string();
        earlier.push(".sig");
        let _ = std::fs::remove_file(earlier);
        self.write(&format!("$ {cmd}\n"))?;
        self.event(Event::CommandStarted {
            argv: cmd.argv(),
            effect: cmd.effect,
        })?;
        // Signed however the run ended: an interrupted run's record is signed too.
        let out = self.runner.run_regardless(&cmd)?;
        self.write(&transcript::command_output(
            &out.combined(),
            out.output.status,
        ))?;
        if !out.output.success() {
            return Err(command_failed(&cmd, &out.output));
        }
        self.comment(transcript::SIGNED_NOTE)
    }

    /// Tells these URLs how the run goes (`--notify`).
    pub fn notifying(mut self, notify: Notify) -> LiveExecutor {
        self.notify = notify;
        self
    }

    /// Writes the run's metrics to this file at its end (`--textfile`).
    pub fn writing_metrics(mut self, textfile: Option<PathBuf>) -> LiveExecutor {
        self.textfile = textfile;
        self
    }

    /// What the run measured, from its events so far, as it ends now.
    fn measures(&self, status: RunStatus) -> Option<Measures> {
        let text = self.record.dir().read_events().ok().flatten()?;
        let records: Vec<_> = crate::record::events::read(&text)
            .into_iter()
            .flatten()
            .map(|(_, record)| record)
            .collect();
        Some(Measures::of(&records, status, jiff::Timestamp::now()))
    }

    /// Keeps long outputs whole in the run directory (`--keep-output`).
    pub fn keeping_output(mut self, keep: bool) -> LiveExecutor {
        self.keep_output = keep;
        self
    }

    /// Appends text to transcript.log, without secrets, and prints it when the screen shows the
    /// transcript.
    fn write(&mut self, text: &str) -> Result<()> {
        self.screen.transcript(text);
        self.record.transcript(text)
    }

    /// A `# ` note: in the transcript, and on the screen as a note (warnings kept for the end).
    fn comment(&mut self, text: &str) -> Result<()> {
        self.screen.note(text);
        self.warnings.extend(
            text.lines()
                .filter(|l| transcript::is_warning(l))
                .map(|l| l.trim().to_string()),
        );
        self.write(&transcript::comment(text))
    }

    fn event(&mut self, event: Event) -> Result<()> {
        self.record.event(event)
    }

    /// The header of a run or a resumption: version, parameters, who and where, which programs.
    /// The record is held from here until the identity reads have answered (`identified`), so
    /// that the run's first event names the cluster, the AWS account and the CLI versions.
    pub fn header(&mut self, options: &RestoreOptions, resuming: bool) -> Result<()> {
        let user = crate::record::who();
        let host = crate::record::host_name();
        let now = jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let verb = if resuming {
            "run resumed"
        } else {
            "run started"
        };
        let run_dir = self.record.dir().path().to_path_buf();
        let steps: Vec<&str> = options.steps.iter().map(|s| s.id()).collect();
        let programs: Vec<String> = Tool::ALL
            .iter()
            .map(|tool| format!("{}={}", tool.name(), self.runner.program(*tool).display()))
            .collect();
        let text = format!(
            "arthur-restore {VERSION} {verb} {now} namespace={} velero-namespace={}\nuser={user} host={host} commit={COMMIT} run-dir={}\nsteps: {}\nprograms: {}",
            options.namespace,
            options.velero_namespace,
            run_dir.display(),
            steps.join(" "),
            programs.join(" ")
        );
        self.namespace = options.namespace.to_string();
        self.record.hold();
        self.write(&transcript::comment(&text))?;
        self.screen.note(&format!(
            "arthur-restore {VERSION} {verb}: namespace {}, run directory {}",
            options.namespace,
            self.record.dir().path().display()
        ));
        self.note_record_repairs()?;
        self.pending_start = Some(PendingStart {
            identity: RunIdentity {
                version: VERSION.into(),
                commit: Some(COMMIT.into()),
                user,
                host,
                run_dir,
                options: options.clone(),
                programs,
                reached: None,
            },
            resuming,
        });
        Ok(())
    }

    /// Writes the run's first event (what the identity reads learnt, when they answered), then
    /// what was held for it.
    fn write_start(&mut self, reached: Option<Reached>) -> Result<()> {
        let Some(PendingStart {
            mut identity,
            resuming,
        }) = self.pending_start.take()
        else {
            return Ok(());
        };
        identity.reached = reached;
        self.record.release(if resuming {
            Event::RunResumed(identity)
        } else {
            Event::RunStarted(identity)
        })
    }

    /// Options corrected on resume (SPEC section 3: only those of steps not yet begun).
    pub fn corrected(&mut self, corrections: &[String]) -> Result<()> {
        self.comment(&format!(
            "options corrected on resume (their steps had not begun): {}",
            corrections.join("; ")
        ))?;
        self.event(Event::OptionsCorrected {
            corrections: corrections.to_vec(),
        })
    }

    /// Says what was found when the run directory was opened: a lock left by a run that died
    /// holding it, a last event cut short.
    fn note_record_repairs(&mut self) -> Result<()> {
        if let Some(holder) = self.record.lock_taken_over().map(String::from) {
            self.comment(&format!(
                "the run directory's lock was left by {holder}, which no longer runs (killed); taken over"
            ))?;
        }
        if let Some(line) = self.record.truncated_event() {
            self.comment(&format!(
                "events.jsonl line {line} was cut short (the tool was killed while writing it); it is kept as it is, and a truncated-line event names it"
            ))?;
        }
        Ok(())
    }

    /// The closing lines, the last event and the final state. A failure or refusal says
    /// whether anything was changed, and the one command that goes on.
    pub fn finish(
        &mut self,
        options: &RestoreOptions,
        facts: &Facts,
        outcome: &Result<()>,
    ) -> Result<Ended> {
        // Ended before the identity reads answered (interrupted, or a read refused): the first
        // event is written without what they would have learnt.
        self.write_start(None)?;
        self.settle()?;
        let status = RunStatus::of(outcome);
        let error = outcome.as_ref().err();
        let run_dir = self.record.dir().path().display().to_string();
        let go_on = if facts.nothing_changed() {
            format!(
                "nothing was changed. After fixing the cause, continue with `arthur-restore run --resume {run_dir}` (an option of a step not yet begun may be corrected on it, e.g. `--messaging-backup NAME`), or start a new run"
            )
        } else {
            format!(
                "state saved in {run_dir}; after fixing the cause, continue with `arthur-restore run --resume {run_dir}` (completed steps are not repeated)"
            )
        };
        let text = match (status, error) {
            (RunStatus::Completed, _) => "run completed: every step passed".to_string(),
            (RunStatus::Interrupted, _) => format!(
                "run interrupted; state saved. Continue with: arthur-restore run --resume {run_dir}"
            ),
            (_, Some(error)) => format!("run {status}: {error}\n{go_on}"),
            (_, None) => format!("run {status}"),
        };
        let measures = self.measures(status);
        let mut times = self.times();
        if let Some(measures) = &measures {
            times.push_str(&format!("\n{}", measures.in_words()));
        }
        self.write(&transcript::comment(&format!("{text}\n{times}")))?;
        // The ending says the cause once, then what to do once, then the run directory.
        let (verdict, advice) = match (status, error) {
            (RunStatus::Completed, _) => (text.clone(), None),
            (RunStatus::Interrupted, _) => (
                "run interrupted; state saved".to_string(),
                Some(format!(
                    "continue with `arthur-restore run --resume {run_dir}`"
                )),
            ),
            (_, Some(error)) => (format!("run {status}: {error}"), Some(go_on)),
            (_, None) => (format!("run {status}"), Some(go_on)),
        };
        // The facts the final state holds, recorded before the last event.
        self.event(Event::FactsSaved {
            facts: facts.clone(),
        })?;
        self.event(Event::RunEnded {
            status,
            error: error.map(ToString::to_string),
            exit: error.map(Error::exit_code).unwrap_or(0),
        })?;
        let metrics = self.write_metrics(measures.as_ref());
        let signed = self.sign_events();
        let anchor = self.record.last_hash();
        self.write(&transcript::final_hash_line(&anchor))?;
        let (summary, closing) = self.ending(status, &times, &anchor);
        let shown = self
            .screen
            .ending(status, &summary, &verdict, advice.as_deref(), &closing);
        self.save_state_anchored(
            options,
            facts,
            status,
            error.map(ToString::to_string),
            Some(anchor.clone()),
        )?;
        self.notify_the_end(notify::Message {
            event: "ended",
            text: format!(
                "arthur-restore: {verdict} (namespace {}); final hash {anchor}",
                self.namespace
            ),
            status: status.word(),
            final_hash: Some(&anchor),
        });
        self.record.release_lock();
        metrics?;
        signed.map_err(|e| {
            Error::StepFailed(format!(
                "the run ended, but events.jsonl could not be signed: {e}"
            ))
        })?;
        Ok(if shown {
            Ended::Shown
        } else {
            Ended::NotShown { advice }
        })
    }

    /// `--textfile`: the metrics, written atomically (checked writable before the run began).
    fn write_metrics(&self, measures: Option<&Measures>) -> Result<()> {
        let (Some(path), Some(measures)) = (&self.textfile, measures) else {
            return Ok(());
        };
        crate::textfile::write(path, &measures.textfile()).map_err(|e| {
            Error::StepFailed(format!(
                "the run ended, but its metrics could not be written: {e}"
            ))
        })
    }

    /// How long each section of this invocation took, and the whole: a small table.
    fn times(&self) -> String {
        let now = Instant::now();
        let mut lines = vec![format!(
            "elapsed {} in total:",
            elapsed(now.duration_since(self.started))
        )];
        for (index, (title, began)) in self.sections.iter().enumerate() {
            let ended = self.sections.get(index + 1).map_or(now, |(_, next)| *next);
            lines.push(format!(
                "  {:>7}  {title}",
                elapsed(ended.duration_since(*began))
            ));
        }
        lines.join("\n")
    }

    /// What the operator reads last after how the run ended: the times, the warnings again,
    /// where the record is, its anchor, and what to run next.
    fn ending(&self, status: RunStatus, times: &str, anchor: &str) -> (String, String) {
        let run_dir = self.record.dir().path().display().to_string();
        let mut summary = format!("{times}\n");
        if !self.warnings.is_empty() {
            summary.push_str("warnings (said above):\n");
            for warning in &self.warnings {
                summary.push_str(&format!("  {warning}\n"));
            }
        }
        let mut text = format!(
            "run directory: {run_dir}\nevents.jsonl final hash (paste it into the change ticket): {anchor}\n"
        );
        if status == RunStatus::Completed {
            text.push_str(&format!(
                "next:\n  arthur-restore verify --run-dir {run_dir}\n  arthur-restore audit --expect {anchor} {run_dir}/transcript.log\n"
            ));
        }
        (summary, text)
    }

    /// Saves the state after the event that records its facts (a resume believes the events).
    fn save_state(
        &mut self,
        options: &RestoreOptions,
        facts: &Facts,
        status: RunStatus,
        error: Option<String>,
    ) -> Result<()> {
        self.event(Event::FactsSaved {
            facts: facts.clone(),
        })?;
        self.save_state_anchored(options, facts, status, error, None)
    }

    fn save_state_anchored(
        &self,
        options: &RestoreOptions,
        facts: &Facts,
        status: RunStatus,
        error: Option<String>,
        final_hash: Option<String>,
    ) -> Result<()> {
        self.record.save_state(&RunState {
            tool_version: VERSION.into(),
            status,
            error,
            options: options.clone(),
            facts: facts.clone(),
            final_hash,
        })
    }

    /// Runs a command, shows it in the transcript and records the event.
    /// The `$ ` line and the `command-started` event are written before the command starts:
    /// a command killed with the tool (or by a time limit) is on record, its effect unknown.
    fn execute(&mut self, cmd: &Cmd) -> Result<Output> {
        self.runner.interrupt().check()?;
        self.announce(cmd)?;
        let started = Instant::now();
        let ahead = self.ahead.take(cmd);
        let ran_ahead = ahead.is_some();
        let out = self.run_or_record_kill(cmd, started, ahead)?;
        self.show_answer(cmd, &out, ran_ahead)?;
        Ok(out.output)
    }

    /// A command's `$ ` line, on the screen too, and its `command-started` event.
    fn announce(&mut self, cmd: &Cmd) -> Result<()> {
        let line = cmd.to_string();
        self.write(&format!("$ {line}\n"))?;
        self.screen.command_started(&line);
        self.event(Event::CommandStarted {
            argv: cmd.argv(),
            effect: cmd.effect,
        })
    }

    /// A command's answer: in the transcript, on the screen, and its event.
    fn show_answer(&mut self, cmd: &Cmd, out: &RunOutput, ran_ahead: bool) -> Result<()> {
        let shown = self.output_text(out)?;
        self.write(&shown)?;
        self.screen
            .command_answered(&out.output.stdout, &out.output.stderr, out.output.status);
        self.record_command(cmd, out, ran_ahead)
    }

    /// Records the reads run ahead whose answers were not taken (a check before them refused,
    /// or the section ended first): every command that ran is on record, after a note.
    fn settle(&mut self) -> Result<()> {
        for (cmd, answer) in self.ahead.leftovers() {
            self.comment(&leftover_note(&cmd, &answer))?;
            if let Ok(out) = answer {
                self.announce(&cmd)?;
                self.show_answer(&cmd, &out, true)?;
            }
        }
        Ok(())
    }

    /// What the transcript shows of an output: all of it, or for a long one its head and a
    /// summary (and, with --keep-output, the whole in `outputs/`).
    fn output_text(&mut self, out: &RunOutput) -> Result<String> {
        let kept = if self.keep_output && out.len() > transcript::FULL_OUTPUT_LIMIT {
            Some(self.record.dir().keep_output(&out.combined())?)
        } else {
            None
        };
        Ok(transcript::of_output(
            out,
            kept.as_ref().map(|p| p.display().to_string()).as_deref(),
        ))
    }

    /// Runs the command; when it ends without an answer (time limit, interruption), says so in
    /// the transcript and events.jsonl before passing the error on.
    fn run_or_record_kill(
        &mut self,
        cmd: &Cmd,
        started: Instant,
        ahead: Option<Result<RunOutput>>,
    ) -> Result<RunOutput> {
        let result = ahead.unwrap_or_else(|| self.runner.run(cmd));
        if let Err(error) = &result {
            let reason = match error {
                Error::Interrupted { .. } => {
                    "interrupted (Ctrl-C or SIGTERM); it was stopped".to_string()
                }
                other => other.to_string(),
            };
            self.write(&transcript::command_killed(&reason))?;
            let said = format!("ended without an answer: {reason}");
            self.screen
                .command_ended(&self.screen.tone(Tone::Warning, &said));
            self.event(Event::CommandKilled {
                argv: cmd.argv(),
                reason,
                duration_ms: millis(started.elapsed()),
            })?;
        }
        result
    }

    fn show(&mut self, cmd: &Cmd, out: &RunOutput) -> Result<()> {
        let shown = self.output_text(out)?;
        self.write(&format!("$ {cmd}\n{shown}"))?;
        self.record_command(cmd, out, false)
    }

    /// The command's event; a read run ahead keeps the time it really started (its events are
    /// written when its answer is taken, in runbook order).
    fn record_command(&mut self, cmd: &Cmd, out: &RunOutput, ran_ahead: bool) -> Result<()> {
        self.event(Event::Command {
            argv: cmd.argv(),
            effect: cmd.effect,
            exit: out.output.status,
            duration_ms: millis(out.duration),
            stdout_bytes: out.output.stdout.len(),
            stderr_bytes: out.output.stderr.len(),
            started: ran_ahead.then(|| crate::record::events::timestamp(out.started)),
        })
    }
}

/// A duration for the operator: whole seconds, as Go writes them (`3m12s`), `<1s` under one.
fn elapsed(duration: Duration) -> String {
    if duration.as_secs() == 0 {
        return "<1s".into();
    }
    crate::units::format_duration(Duration::from_secs(duration.as_secs()))
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

struct LiveBackground(BackgroundChild);

impl Background for LiveBackground {
    fn stop(self: Box<Self>) -> Result<()> {
        self.0.stop()
    }
}

impl Executor for LiveExecutor {
    fn section(&mut self, title: &str) -> Result<()> {
        self.settle()?;
        self.runner.interrupt().check()?;
        self.sections.push((title.to_string(), Instant::now()));
        self.screen.section(title);
        self.write(&format!("## {title}\n"))?;
        self.event(Event::Section {
            title: title.into(),
        })
    }

    fn note(&mut self, text: &str) -> Result<()> {
        self.comment(text)?;
        self.event(Event::Note { text: text.into() })
    }

    fn read(&mut self, cmd: &Cmd) -> Result<Option<Output>> {
        let out = self.execute(cmd)?;
        if !out.success() {
            return Err(command_failed(cmd, &out));
        }
        Ok(Some(out))
    }

    fn probe(&mut self, cmd: &Cmd) -> Result<Option<Output>> {
        self.execute(cmd).map(Some)
    }

    /// The reads about to run side by side are on record first (`reads-ahead`), so that a run
    /// killed while they run says what it had started.
    fn read_ahead(&mut self, reads: &[Read<'_>]) -> Result<()> {
        self.runner.interrupt().check()?;
        self.event(Event::ReadsAhead {
            argvs: reads.iter().map(|read| read.cmd.argv()).collect(),
        })?;
        self.ahead.run(&mut self.runner, reads);
        Ok(())
    }

    fn change(&mut self, cmd: &Cmd) -> Result<Option<Output>> {
        self.execute(cmd).map(Some)
    }

    fn wait(&mut self, wait: Wait<'_>) -> Result<WaitEnd> {
        self.poll(wait, wait::OnTimeout::Fail)
    }

    fn wait_or_time_out(&mut self, wait: Wait<'_>) -> Result<WaitEnd> {
        self.poll(wait, wait::OnTimeout::Return)
    }

    fn approve(&mut self, request: &ApprovalRequest) -> Result<()> {
        self.wait_for_approval(request)
    }

    fn confirm(&mut self, confirmation: &Confirmation) -> Result<GateOutcome> {
        self.notify_person_needed(&confirmation.question)?;
        self.ask(confirmation)
    }

    fn save_artifact(&mut self, name: &str, contents: &str) -> Result<PathBuf> {
        let path = self.record.dir().write_artifact(name, contents)?;
        self.event(Event::Artifact {
            path: path.clone(),
            bytes: contents.len(),
        })?;
        Ok(path)
    }

    fn artifact_path(&self, name: &str) -> PathBuf {
        self.record.dir().artifact_path(name)
    }

    fn check_artifact(&mut self, name: &str, contents: &str) -> Result<()> {
        self.record.dir().check_artifact(name, contents)
    }

    fn start_background(
        &mut self,
        cmd: &Cmd,
        ready_text: &str,
        limit: Duration,
    ) -> Result<Option<Box<dyn Background>>> {
        self.runner.interrupt().check()?;
        let started = Instant::now();
        let child = self.runner.start_background(cmd, ready_text, limit);
        let line = cmd.to_string();
        self.write(&format!("$ {line}\n"))?;
        self.screen.command_started(&line);
        self.screen.command_ended(match &child {
            Ok(_) => "running in the background",
            Err(_) => "did not start",
        });
        if let Ok(child) = &child {
            let seen = transcript::escape_controls(&child.seen).into_owned();
            self.write(&seen)?;
            if !seen.ends_with('\n') {
                self.write("\n")?;
            }
        }
        self.event(Event::BackgroundStarted {
            argv: cmd.argv(),
            ok: child.is_ok(),
            duration_ms: millis(started.elapsed()),
        })?;
        let child = child?;
        self.comment("running in the background (the runbook's \"one terminal\"); stopped after the call below")?;
        Ok(Some(Box::new(LiveBackground(child))))
    }

    fn identified(&mut self, reached: Reached) -> Result<()> {
        self.cluster.clone_from(&reached.cluster_uid);
        let context = reached.kube_context.clone();
        self.write_start(Some(reached))?;
        let text = format!(
            "arthur-restore: a restore began in namespace {} (kube context {context}, cluster {}); run directory {}",
            self.namespace,
            self.cluster.as_deref().unwrap_or("unknown"),
            self.record.dir().path().display()
        );
        self.notify(notify::Message {
            event: "started",
            text,
            status: "running",
            final_hash: None,
        })
    }

    fn checkpoint(&mut self, options: &RestoreOptions, facts: &Facts) -> Result<()> {
        self.save_state(options, facts, RunStatus::Running, None)
    }

    fn complete_step(
        &mut self,
        step: StepId,
        options: &RestoreOptions,
        facts: &mut Facts,
    ) -> Result<()> {
        facts.completed_steps.push(step);
        self.checkpoint(options, facts)?;
        let text = format!("step {step} completed");
        self.screen.step_done(&text);
        self.write(&transcript::comment(&text))?;
        self.event(Event::Note { text })
    }

    fn record_options(&mut self, options: &RestoreOptions) -> Result<()> {
        self.event(Event::OptionsResolved {
            backups: options.backups.clone(),
            rds_snapshot: options.rds.snapshot.clone(),
        })
    }
}
