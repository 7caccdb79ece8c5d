//! The only place processes are spawned. A `Cmd` becomes a duct expression in `expression`;
//! stdin is closed, stdout and stderr are captured separately (parsers need them apart) and also
//! merged in arrival order (the transcript shows them as they came), and every child has a time
//! limit after which it is killed.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::cmd::Cmd;
use super::interrupt::Interrupt;
use super::output::{Output, RunOutput};
use super::tool::Tool;
use crate::error::{Error, Result};
use crate::units::format_duration;

pub struct Runner {
    programs: BTreeMap<Tool, PathBuf>,
    command_timeout: Duration,
    interrupt: Interrupt,
    /// The most a command may print (stdout and stderr together) before it is stopped.
    max_output: usize,
}

/// `--max-output`'s default: 64 MiB.
pub const DEFAULT_MAX_OUTPUT: u64 = 64 * 1024 * 1024;

enum Chunk {
    Out(Vec<u8>),
    Err(Vec<u8>),
}

impl Runner {
    /// Finds every program up front (`which`, or the ARTHUR_RESTORE_* variables), so that a
    /// missing one is reported before anything runs.
    pub fn locate(command_timeout: Duration, interrupt: Interrupt) -> Result<Runner> {
        Runner::locating(&Tool::ALL, command_timeout, interrupt)
    }

    /// Finds only the programs a command will run (`audit` needs ssh-keygen alone).
    pub fn locating(
        tools: &[Tool],
        command_timeout: Duration,
        interrupt: Interrupt,
    ) -> Result<Runner> {
        let mut programs = BTreeMap::new();
        for tool in tools {
            programs.insert(*tool, tool.locate()?);
        }
        Ok(Runner {
            programs,
            command_timeout,
            interrupt,
            max_output: DEFAULT_MAX_OUTPUT as usize,
        })
    }

    /// Sets the most a command may print (`--max-output`).
    pub fn with_max_output(mut self, bytes: u64) -> Runner {
        self.max_output = usize::try_from(bytes).unwrap_or(usize::MAX);
        self
    }

    pub fn program(&self, tool: Tool) -> &PathBuf {
        &self.programs[&tool]
    }

    /// Finds one more program, now that it is needed (ssh-keygen for `--sign-key`).
    pub fn add_tool(&mut self, tool: Tool) -> Result<()> {
        if let std::collections::btree_map::Entry::Vacant(slot) = self.programs.entry(tool) {
            slot.insert(tool.locate()?);
        }
        Ok(())
    }

    /// The flag this runner stops at; waits and prompts check the same one.
    pub fn interrupt(&self) -> &Interrupt {
        &self.interrupt
    }

    /// Starts the command: the one place a `Cmd` becomes a process. stdin is closed; stdout and
    /// stderr come back through pipes, as chunks in the order they arrive.
    fn start(&self, cmd: &Cmd) -> Result<(duct::Handle, mpsc::Receiver<Chunk>)> {
        if cmd.placeholder {
            return Err(Error::StepFailed(format!(
                "`{cmd}` holds a placeholder and is only to be shown; it was not run (a defect of arthur-restore: please report it)"
            )));
        }
        let (out_read, out_write) = std::io::pipe().map_err(|e| spawn_error(cmd, e))?;
        let (err_read, err_write) = std::io::pipe().map_err(|e| spawn_error(cmd, e))?;
        let expression = duct::cmd(self.program(cmd.tool), &cmd.args).before_spawn(die_with_parent);
        let expression = match &cmd.stdin {
            Some(path) => expression.stdin_path(path),
            None => expression.stdin_null(),
        };
        let handle = expression
            .stdout_file(out_write)
            .stderr_file(err_write)
            .unchecked()
            .start()
            .map_err(|e| spawn_error(cmd, e))?;
        let (sender, receiver) = mpsc::channel::<Chunk>();
        pump(out_read, sender.clone(), Chunk::Out);
        pump(err_read, sender, Chunk::Err);
        Ok((handle, receiver))
    }

    /// Runs a command to its end, or kills it at the time limit or on an interruption.
    pub fn run(&mut self, cmd: &Cmd) -> Result<RunOutput> {
        let started = Instant::now();
        let (handle, receiver) = self.start(cmd)?;
        let deadline = started + self.command_timeout;
        let mut captured = Captured::default();
        // Both streams closed: the child has ended or is ending; only its status is awaited.
        let mut closed = false;
        let status = loop {
            // Read as it comes, so that a command printing without end is stopped at the limit
            // instead of filling memory.
            while let Ok(chunk) = receiver.try_recv() {
                captured.push(chunk);
            }
            if captured.len() > self.max_output {
                kill_group(&handle);
                return Err(Error::CommandFailed {
                    command: cmd.to_string(),
                    reason: format!(
                        "it printed more than {} (--max-output); the process was stopped. Narrow what it lists, or raise --max-output",
                        format_size(self.max_output as u64)
                    ),
                });
            }
            match handle.try_wait() {
                Ok(Some(output)) => break output.status,
                Ok(None) => {}
                Err(e) => return Err(spawn_error(cmd, e)),
            }
            if self.interrupt.is_set() {
                kill_group(&handle);
                return Err(Error::interrupted());
            }
            if Instant::now() >= deadline {
                kill_group(&handle);
                return Err(Error::CommandFailed {
                    command: cmd.to_string(),
                    reason: format!(
                        "no answer within {} (--command-timeout); the process was killed. Check that the cluster or AWS endpoint answers, or raise --command-timeout",
                        format_duration(self.command_timeout)
                    ),
                });
            }
            // Woken by output as it comes (not a fixed sleep): a quick command costs no more
            // than it takes.
            if closed {
                std::thread::sleep(Duration::from_millis(1));
            } else {
                match receiver.recv_timeout(Duration::from_millis(5)) {
                    Ok(chunk) => captured.push(chunk),
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => closed = true,
                }
            }
        };
        // A signal to the tool may have ended the child before the loop above saw the flag. Its
        // exit status is then the signal's, not an answer.
        self.interrupt.check()?;
        // A process the child left in its group can keep a pipe open after the child has gone:
        // it is ended with the group, and what it printed is read for a moment at most.
        if !closed {
            signal_group(&handle);
        }
        let drain_until = Instant::now() + Duration::from_secs(2);
        while let Ok(chunk) =
            receiver.recv_timeout(drain_until.saturating_duration_since(Instant::now()))
        {
            captured.push(chunk);
        }
        let code = status.code().unwrap_or_else(|| {
            use std::os::unix::process::ExitStatusExt;
            128 + status.signal().unwrap_or(0)
        });
        Ok(captured.into_output(code, started.elapsed()))
    }

    /// Starts a long-running command (the port-forward) and waits for `ready_text` in its
    /// output. The returned child is killed when dropped.
    pub fn start_background(
        &mut self,
        cmd: &Cmd,
        ready_text: &str,
        limit: Duration,
    ) -> Result<BackgroundChild> {
        let (handle, receiver) = self.start(cmd)?;
        let mut child = BackgroundChild {
            handle: Some(handle),
            seen: String::new(),
        };
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Chunk::Out(bytes)) | Ok(Chunk::Err(bytes)) =
                receiver.recv_timeout(Duration::from_millis(20))
            {
                child.seen.push_str(&String::from_utf8_lossy(&bytes));
                if child.seen.contains(ready_text) {
                    return Ok(child);
                }
            }
            let exited = child
                .handle
                .as_ref()
                .and_then(|h| h.try_wait().ok().flatten())
                .is_some();
            if exited {
                // Let the last words arrive.
                while let Ok(Chunk::Out(bytes)) | Ok(Chunk::Err(bytes)) =
                    receiver.recv_timeout(Duration::from_millis(100))
                {
                    child.seen.push_str(&String::from_utf8_lossy(&bytes));
                }
                let said = child.seen.trim().to_string();
                let hint = if said.contains("address already in use")
                    || said.contains("unable to listen")
                {
                    " The local port is taken: choose another with --local-port."
                } else {
                    ""
                };
                return Err(Error::CommandFailed {
                    command: cmd.to_string(),
                    reason: format!("it ended before forwarding: {said}.{hint}"),
                });
            }
            self.interrupt.check()?;
            if Instant::now() >= deadline {
                return Err(Error::CommandFailed {
                    command: cmd.to_string(),
                    reason: format!(
                        "it did not say `{ready_text}` within {}; it was stopped",
                        format_duration(limit)
                    ),
                });
            }
        }
    }
}

/// Children never outlive the tool, however it ends (SIGKILL included): the kernel kills a
/// child whose parent has died (Linux's parent-death signal). A port-forward left running would
/// otherwise hold the local port, and a command the operator believes stopped would go on.
/// Each child also leads a process group of its own (rule 14), so that a time limit, an
/// interruption or the end of a port-forward ends everything it started (`kill_group`).
fn die_with_parent(command: &mut std::process::Command) -> std::io::Result<()> {
    use std::os::unix::process::CommandExt;
    command.process_group(0);
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs in the child between fork and exec and calls only
    // async-signal-safe functions (prctl, getppid, _exit); it allocates nothing.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent died between fork and prctl: the signal will never come.
            if libc::getppid() != parent {
                libc::_exit(137);
            }
            Ok(())
        });
    }
    Ok(())
}

/// Ends a child and every process of its group (what it forked: a shell script's `sleep`, a
/// grandchild holding stdout open), then reaps the child.
fn kill_group(handle: &duct::Handle) {
    signal_group(handle);
    let _ = handle.kill();
}

/// SIGKILL to the process group each child of the handle leads.
fn signal_group(handle: &duct::Handle) {
    for pid in handle.pids() {
        if let Ok(pid) = libc::pid_t::try_from(pid) {
            // SAFETY: kill(2) with a negative pid signals a process group; no memory effects.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
    }
}

/// What a command printed, kept once: stdout and stderr apart, and the order in which their
/// pieces came (for the transcript), not a second copy.
#[derive(Default)]
struct Captured {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    /// (from stderr, end offset in its stream) for each piece, in arrival order.
    order: Vec<(bool, usize)>,
}

impl Captured {
    fn push(&mut self, chunk: Chunk) {
        match chunk {
            Chunk::Out(bytes) => {
                self.stdout.extend_from_slice(&bytes);
                self.order.push((false, self.stdout.len()));
            }
            Chunk::Err(bytes) => {
                self.stderr.extend_from_slice(&bytes);
                self.order.push((true, self.stderr.len()));
            }
        }
    }

    fn len(&self) -> usize {
        self.stdout.len() + self.stderr.len()
    }

    fn into_output(self, status: i32, duration: Duration) -> RunOutput {
        let text = |bytes: Vec<u8>| {
            String::from_utf8(bytes)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
        };
        RunOutput {
            output: Output {
                stdout: text(self.stdout),
                stderr: text(self.stderr),
                status,
            },
            order: self.order,
            duration,
        }
    }
}

/// `64MiB`, `1.5KiB`: a size as `--max-output` takes it.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (unit, size) in UNITS {
        if bytes >= size {
            return if bytes.is_multiple_of(size) {
                format!("{}{unit}", bytes / size)
            } else {
                format!("{:.1}{unit}", bytes as f64 / size as f64)
            };
        }
    }
    format!("{bytes}B")
}

fn spawn_error(cmd: &Cmd, error: std::io::Error) -> Error {
    Error::CommandFailed {
        command: cmd.to_string(),
        reason: format!("could not be started: {error}"),
    }
}

fn pump(mut pipe: std::io::PipeReader, sender: mpsc::Sender<Chunk>, wrap: fn(Vec<u8>) -> Chunk) {
    std::thread::spawn(move || {
        let mut buffer = [0u8; 8192];
        loop {
            match pipe.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if sender.send(wrap(buffer[..n].to_vec())).is_err() {
                        break;
                    }
                }
            }
        }
    });
}

/// A child left running; killed (and reaped) when stopped or dropped, on every path.
pub struct BackgroundChild {
    handle: Option<duct::Handle>,
    /// What it printed until it was ready.
    pub seen: String,
}

impl BackgroundChild {
    pub fn stop(mut self) -> Result<()> {
        self.kill();
        Ok(())
    }

    fn kill(&mut self) {
        if let Some(handle) = self.handle.take() {
            kill_group(&handle);
        }
    }
}

impl Drop for BackgroundChild {
    fn drop(&mut self) {
        self.kill();
    }
}
