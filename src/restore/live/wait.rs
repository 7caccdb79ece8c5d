//! Waits of the live run: one read-only probe polled until its check says ready, fails, or time
//! runs out. The first and the final poll are shown in the transcript; every poll goes to
//! events.jsonl (SPEC section 4).

use std::time::{Duration, Instant};

use super::LiveExecutor;
use crate::error::{Error, Result};
use crate::record::Event;
use crate::restore::executor::{Poll, Wait, WaitEnd};
use crate::restore::operator::LiveLine;
use crate::units::format_duration;

/// What time running out means for a wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnTimeout {
    /// An error: the run stops (`--timeout`).
    Fail,
    /// An answer: the step decides (a grace period).
    Return,
}

/// The state of one wait as it goes.
struct Progress {
    what: String,
    /// The probe's `$ ` form, for the error of a wait that runs out of time.
    probe: String,
    started: Instant,
    polls: u64,
    line: Box<dyn LiveLine>,
}

impl Progress {
    fn new(what: String, probe: String, line: Box<dyn LiveLine>) -> Progress {
        Progress {
            what,
            probe,
            started: Instant::now(),
            polls: 0,
            line,
        }
    }

    /// Elapsed whole seconds, at least one, as the transcript shows them.
    fn elapsed(&self) -> String {
        format_duration(Duration::from_secs(self.started.elapsed().as_secs().max(1)))
    }

    fn done(&self) {
        self.line.clear();
    }
}

fn indented(pending: &[String]) -> String {
    pending
        .iter()
        .map(|p| format!("  {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl LiveExecutor {
    pub(super) fn poll(&mut self, wait: Wait<'_>, on_timeout: OnTimeout) -> Result<WaitEnd> {
        let Wait {
            what,
            probe,
            timeout,
            mut check,
        } = wait;
        let mut progress = Progress::new(what.clone(), probe.to_string(), self.screen.live_line());
        self.event(Event::WaitStarted {
            what,
            probe: probe.argv(),
            timeout_ms: super::millis(timeout),
        })?;
        loop {
            self.runner.interrupt().check()?;
            let out = match self.runner.run(&probe) {
                Ok(out) => out,
                Err(error) => {
                    // A poll that never answered is shown, so that the transcript says why.
                    progress.done();
                    self.write(&format!("$ {probe}\n"))?;
                    self.event(Event::CommandStarted {
                        argv: probe.argv(),
                        effect: probe.effect,
                    })?;
                    let reason = error.to_string();
                    self.write(&crate::record::transcript::command_killed(&reason))?;
                    self.event(Event::CommandKilled {
                        argv: probe.argv(),
                        reason,
                        duration_ms: 0,
                    })?;
                    return Err(error);
                }
            };
            progress.polls += 1;
            let answer = check(&out.output);
            let first = progress.polls == 1;
            let finished = !matches!(answer, Ok(Poll::NotYet { .. }));
            let expired = progress.started.elapsed() + self.timing.poll_interval > timeout;
            if first || finished || expired {
                // The live line goes before the last poll is printed, or its redraw would
                // overwrite the poll's lines (with -v, where the transcript is on the terminal).
                if !first {
                    progress.done();
                }
                self.show(&probe, &out)?;
            } else {
                self.record_command(&probe, &out, false)?;
            }
            match answer {
                Err(error) => return self.wait_failed(&progress, error),
                Ok(Poll::Ready(text)) => return self.wait_ready(&progress, text),
                Ok(Poll::Stop {
                    progress: line,
                    pending,
                }) => return self.wait_stopped(&progress, line, pending, on_timeout),
                Ok(Poll::NotYet {
                    progress: line,
                    pending,
                }) => {
                    self.event(Event::Poll {
                        what: progress.what.clone(),
                        progress: line.clone(),
                        pending: pending.clone(),
                    })?;
                    if expired {
                        return self.wait_expired(&progress, timeout, line, pending, on_timeout);
                    }
                    self.not_yet(&progress, first, &line, timeout)?;
                }
            }
        }
    }

    fn wait_failed(&mut self, progress: &Progress, error: Error) -> Result<WaitEnd> {
        progress.done();
        self.event(Event::WaitFailed {
            what: progress.what.clone(),
            polls: progress.polls,
            error: error.to_string(),
        })?;
        Err(error)
    }

    fn wait_ready(&mut self, progress: &Progress, text: String) -> Result<WaitEnd> {
        progress.done();
        self.event(Event::WaitEnded {
            what: progress.what.clone(),
            polls: progress.polls,
            result: text.clone(),
        })?;
        if progress.polls > 1 {
            self.comment(&format!(
                "waited {} ({} polls): {text}",
                progress.elapsed(),
                progress.polls
            ))?;
        } else {
            self.comment(&text)?;
        }
        if !self.notify.urls.is_empty() && progress.started.elapsed() >= self.notify.after_wait {
            self.notify(super::notify::Message {
                event: "wait-ended",
                text: format!(
                    "arthur-restore: {} after {} (namespace {}); the run goes on",
                    progress.what,
                    progress.elapsed(),
                    self.namespace
                ),
                status: "running",
                final_hash: None,
            })?;
        }
        Ok(WaitEnd::Ready)
    }

    /// The check says waiting longer cannot help (a PV kept by its reclaim policy).
    fn wait_stopped(
        &mut self,
        progress: &Progress,
        line: String,
        pending: Vec<String>,
        on_timeout: OnTimeout,
    ) -> Result<WaitEnd> {
        let said = format!("stopped waiting: {line}");
        let event = Event::WaitStopped {
            what: progress.what.clone(),
            polls: progress.polls,
            reason: line.clone(),
            pending: pending.clone(),
            said: Some(said.clone()),
        };
        let waited = format!("{} ({line})", progress.elapsed());
        self.give_up(progress, event, waited, said, pending, on_timeout)
    }

    fn wait_expired(
        &mut self,
        progress: &Progress,
        timeout: Duration,
        line: String,
        pending: Vec<String>,
        on_timeout: OnTimeout,
    ) -> Result<WaitEnd> {
        let said = format!("still not done after {}: {line}", format_duration(timeout));
        let event = Event::WaitTimedOut {
            what: progress.what.clone(),
            polls: progress.polls,
            pending: pending.clone(),
            said: Some(said.clone()),
        };
        self.give_up(
            progress,
            event,
            format_duration(timeout),
            said,
            pending,
            on_timeout,
        )
    }

    /// A wait that ends without what it waited for: on record, then a timeout error, or (when
    /// the step can go on) the transcript says so and the step carries on with what is pending.
    fn give_up(
        &mut self,
        progress: &Progress,
        event: Event,
        waited: String,
        said: String,
        pending: Vec<String>,
        on_timeout: OnTimeout,
    ) -> Result<WaitEnd> {
        progress.done();
        self.event(event)?;
        // Said in the transcript whether the run then fails or goes on, as events.jsonl records
        // it: the audit holds the two against each other.
        self.comment(&said)?;
        if on_timeout == OnTimeout::Fail {
            return Err(Error::Timeout {
                what: progress.what.clone(),
                probe: progress.probe.clone(),
                waited,
                still: indented(&pending),
            });
        }
        Ok(WaitEnd::TimedOut { pending })
    }

    /// Not yet: say so on the first poll, show progress, sleep until the next poll.
    fn not_yet(
        &mut self,
        progress: &Progress,
        first: bool,
        line: &str,
        timeout: Duration,
    ) -> Result<()> {
        let interval = self.timing.poll_interval;
        if first {
            // In the transcript; on a terminal the live line says it, and `waited …` ends it.
            let text = format!(
                "waiting for {}: {line} (polling every {}, up to {})",
                progress.what,
                format_duration(interval),
                format_duration(timeout)
            );
            if self.screen.shows_live_line() {
                self.write(&crate::record::transcript::comment(&text))?;
            } else {
                self.comment(&text)?;
            }
        }
        // The live line ticks every second until the next poll: first what changes (the time
        // waited of the limit, when the next poll comes, the last state polled), then what is
        // awaited, which a narrow terminal shortens.
        let next_poll = Instant::now() + interval;
        loop {
            let left = next_poll.saturating_duration_since(Instant::now());
            // The state without the name the subject already gives (a restore's long name).
            let state = match line.split_once(' ') {
                Some((name, rest)) if name.contains(['-', '.']) && progress.what.contains(name) => {
                    rest
                }
                _ => line,
            };
            progress.line.show(
                &format!(
                    "{} of {} · next poll in {}s · {state}",
                    progress.elapsed(),
                    format_duration(timeout),
                    left.as_secs() + u64::from(left.subsec_nanos() > 0)
                ),
                &format!("waiting for {}", progress.what),
            );
            if left.is_zero() {
                return Ok(());
            }
            self.runner
                .interrupt()
                .sleep(left.min(Duration::from_secs(1)))?;
        }
    }
}
