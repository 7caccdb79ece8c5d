//! The only place processes are spawned. A `Cmd` becomes a duct expression in `expression`;
//! stdin is closed, stdout and stderr are captured separately (parsers need them apart) and also
//! merged in arrival order (the transcript shows them as they came), and every child has a time
//! limit after which it is killed.

use std::collections::BTreeMap;
use std::io::Read as _;
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

/// How many commands run side by side at most: the CLIs talk to one API server (or one AWS
/// endpoint), which more at once would stampede for little gain.
pub const SIDE_BY_SIDE: usize = 4;

enum Chunk {
    Out(Vec<u8>),
    Err(Vec<u8>),
    /// A pipe reached its end.
    End,
}

/// A read-only command to run side by side with others, and how its exit is taken.
#[derive(Debug, Clone, Copy)]
pub struct Read<'a> {
    pub cmd: &'a Cmd,
    /// A non-zero exit is a failure that stops the commands after it (`read`), not an answer
    /// the caller interprets (`probe`).
    pub must_succeed: bool,
}

impl<'a> Read<'a> {
    /// A non-zero exit is a failure.
    pub fn required(cmd: &'a Cmd) -> Read<'a> {
        Read {
            cmd,
            must_succeed: true,
        }
    }

    /// Any exit is an answer.
    pub fn answer(cmd: &'a Cmd) -> Read<'a> {
        Read {
            cmd,
            must_succeed: false,
        }
    }
}

/// A command of `run_side_by_side` while it runs.
struct Child {
    index: usize,
    handle: duct::Handle,
    captured: Captured,
    /// Pipes that reached their end (two: the child has ended or is ending).
    closed: u8,
    started: Instant,
    started_at: std::time::SystemTime,
    deadline: Instant,
    /// The child has exited: its status, and until when what it printed last is read.
    exited: Option<(std::process::ExitStatus, Instant)>,
}

enum Look {
    Running,
    Ended(Result<RunOutput>),
}

impl Child {
    fn new(index: usize, handle: duct::Handle, limit: Duration) -> Child {
        let started = Instant::now();
        Child {
            index,
            handle,
            captured: Captured::default(),
            closed: 0,
            started,
            started_at: std::time::SystemTime::now(),
            deadline: started + limit,
            exited: None,
        }
    }

    /// Whether the child has ended, and how: its output, or the error of a limit it passed.
    fn look(&mut self, cmd: &Cmd, max_output: usize) -> Look {
        // Read as it comes, so that a command printing without end is stopped at the limit
        // instead of filling memory.
        if self.captured.len() > max_output {
            kill_group(&self.handle);
            return Look::Ended(Err(Error::CommandFailed {
                command: cmd.to_string(),
                reason: format!(
                    "it printed more than {} (--max-output); the process was stopped. Narrow what it lists, or raise --max-output",
                    format_size(max_output as u64)
                ),
            }));
        }
        if self.exited.is_none() {
            match self.handle.try_wait() {
                Ok(Some(output)) => {
                    // A process the child left in its group can keep a pipe open after the
                    // child has gone: it is ended with the group, and what it printed is read
                    // for a moment at most.
                    if self.closed < 2 {
                        signal_group(&self.handle);
                    }
                    self.exited = Some((output.status, Instant::now() + Duration::from_secs(2)));
                }
                Ok(None) => {}
                Err(e) => return Look::Ended(Err(spawn_error(cmd, e))),
            }
        }
        let Some((status, drain_until)) = self.exited else {
            if Instant::now() >= self.deadline {
                kill_group(&self.handle);
                return Look::Ended(Err(Error::CommandFailed {
                    command: cmd.to_string(),
                    reason: format!(
                        "no answer within {} (--command-timeout); the process was killed. Check that the cluster or AWS endpoint answers, or raise --command-timeout",
                        format_duration(self.deadline - self.started)
                    ),
                }));
            }
            return Look::Running;
        };
        if self.closed < 2 && Instant::now() < drain_until {
            return Look::Running;
        }
        let code = status.code().unwrap_or_else(|| {
            use std::os::unix::process::ExitStatusExt;
            128 + status.signal().unwrap_or(0)
        });
        let captured = std::mem::take(&mut self.captured);
        Look::Ended(Ok(captured.into_output(
            code,
            self.started_at,
            self.started.elapsed(),
        )))
    }
}

/// Hands a piece of output to the child it came from.
fn deliver(running: &mut [Child], index: usize, chunk: Chunk) {
    if let Some(child) = running.iter_mut().find(|c| c.index == index) {
        match chunk {
            Chunk::End => child.closed += 1,
            chunk => child.captured.push(chunk),
        }
    }
}

/// The error of a command not awaited because one before it failed.
fn stopped(cmd: &Cmd, failed: Option<&Cmd>) -> Error {
    Error::CommandFailed {
        command: cmd.to_string(),
        reason: match failed {
            Some(first) => format!("stopped: `{first}`, run side by side before it, failed first"),
            None => "stopped before it answered".to_string(),
        },
    }
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
    /// stderr come back through pipes, as chunks tagged with `index`, in the order they arrive;
    /// each pipe's end is a `Chunk::End`.
    fn start(
        &self,
        cmd: &Cmd,
        index: usize,
        sender: &mpsc::Sender<(usize, Chunk)>,
    ) -> Result<duct::Handle> {
        if cmd.placeholder {
            return Err(Error::StepFailed(format!(
                "`{cmd}` holds a placeholder and is only to be shown; it was not run (a defect of arthur-restore: please report it)"
            )));
        }
        let (out_read, out_write) = std::io::pipe().map_err(|e| spawn_error(cmd, e))?;
        let (err_read, err_write) = std::io::pipe().map_err(|e| spawn_error(cmd, e))?;
        let expression = duct::cmd(self.program(cmd.tool), &cmd.args).before_spawn(die_with_parent);
        let expression = match (&cmd.stdin, &cmd.stdin_bytes) {
            (Some(path), _) => expression.stdin_path(path),
            (None, Some(bytes)) => expression.stdin_bytes(bytes.clone()),
            (None, None) => expression.stdin_null(),
        };
        let handle = expression
            .stdout_file(out_write)
            .stderr_file(err_write)
            .unchecked()
            .start()
            .map_err(|e| spawn_error(cmd, e))?;
        pump(out_read, index, sender.clone(), Chunk::Out);
        pump(err_read, index, sender.clone(), Chunk::Err);
        Ok(handle)
    }

    /// Runs a command to its end or its time limit, even after an interruption (the
    /// notification that the run was interrupted: curl's own `--max-time` bounds it).
    pub fn run_regardless(&mut self, cmd: &Cmd) -> Result<RunOutput> {
        let interrupt = std::mem::replace(&mut self.interrupt, Interrupt::never());
        let result = self.run(cmd);
        self.interrupt = interrupt;
        result
    }

    /// Runs a command to its end, or kills it at the time limit or on an interruption.
    pub fn run(&mut self, cmd: &Cmd) -> Result<RunOutput> {
        self.run_side_by_side(&[Read::answer(cmd)])
            .pop()
            .expect("one result for one command")
    }

    /// Runs read-only commands that need no other's answer side by side, at most
    /// [`SIDE_BY_SIDE`] at a time, each to its end or its time limit; the results are in the
    /// order given (the runbook's). The first failure in that order is the one that counts: a
    /// command that fails (no answer in time, too much output, or a non-zero exit where an
    /// answer is required) stops the ones after it, running or not yet started, while the ones
    /// before it run on (one of them may fail first). An interruption stops them all.
    pub fn run_side_by_side(&mut self, reads: &[Read<'_>]) -> Vec<Result<RunOutput>> {
        let mut results: Vec<Option<Result<RunOutput>>> = reads.iter().map(|_| None).collect();
        let (sender, receiver) = mpsc::channel::<(usize, Chunk)>();
        let mut running: Vec<Child> = Vec::new();
        let mut next = 0;
        // The first command, in the given order, that failed: none after it is awaited.
        let mut failed: Option<usize> = None;
        loop {
            while running.len() < SIDE_BY_SIDE
                && next < reads.len()
                && failed.is_none_or(|f| next < f)
            {
                match self.start(reads[next].cmd, next, &sender) {
                    Ok(handle) => running.push(Child::new(next, handle, self.command_timeout)),
                    Err(error) => {
                        results[next] = Some(Err(error));
                        failed = Some(failed.map_or(next, |f| f.min(next)));
                    }
                }
                next += 1;
            }
            if let Some(first) = failed {
                // Not awaited any more: a command before them failed.
                running.retain(|child| {
                    let awaited = child.index < first;
                    if !awaited {
                        kill_group(&child.handle);
                    }
                    awaited
                });
            }
            if running.is_empty() {
                break;
            }
            // Woken by output as it comes (not a fixed sleep): a quick command costs no more
            // than it takes. A child whose pipes are closed is only awaited: look again soon.
            let nap = if running.iter().any(|c| c.closed == 2) {
                1
            } else {
                5
            };
            if let Ok((index, chunk)) = receiver.recv_timeout(Duration::from_millis(nap)) {
                deliver(&mut running, index, chunk);
            }
            while let Ok((index, chunk)) = receiver.try_recv() {
                deliver(&mut running, index, chunk);
            }
            if self.interrupt.is_set() {
                for child in &running {
                    kill_group(&child.handle);
                    results[child.index] = Some(Err(Error::interrupted()));
                }
                break;
            }
            let mut still = Vec::with_capacity(running.len());
            for mut child in running {
                let read = &reads[child.index];
                match child.look(read.cmd, self.max_output) {
                    Look::Running => still.push(child),
                    Look::Ended(result) => {
                        let fails = match &result {
                            Ok(out) => read.must_succeed && !out.output.success(),
                            Err(_) => true,
                        };
                        if fails {
                            failed = Some(failed.map_or(child.index, |f| f.min(child.index)));
                        }
                        results[child.index] = Some(result);
                    }
                }
            }
            running = still;
        }
        // A signal to the tool may have ended a child before the loop saw the flag: its exit
        // status is then the signal's, not an answer.
        let interrupted = self.interrupt.is_set();
        results
            .into_iter()
            .enumerate()
            .map(|(index, result)| match result {
                Some(Ok(_)) | None if interrupted => Err(Error::interrupted()),
                Some(result) => result,
                None => Err(stopped(reads[index].cmd, failed.map(|f| reads[f].cmd))),
            })
            .collect()
    }

    /// Starts a long-running command (the port-forward) and waits for `ready_text` in its
    /// output. The returned child is killed when dropped.
    pub fn start_background(
        &mut self,
        cmd: &Cmd,
        ready_text: &str,
        limit: Duration,
    ) -> Result<BackgroundChild> {
        let (sender, receiver) = mpsc::channel::<(usize, Chunk)>();
        let handle = self.start(cmd, 0, &sender)?;
        drop(sender);
        let mut child = BackgroundChild {
            handle: Some(handle),
            seen: String::new(),
        };
        let deadline = Instant::now() + limit;
        loop {
            if let Ok((_, Chunk::Out(bytes) | Chunk::Err(bytes))) =
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
                while let Ok((_, chunk)) = receiver.recv_timeout(Duration::from_millis(100)) {
                    if let Chunk::Out(bytes) | Chunk::Err(bytes) = chunk {
                        child.seen.push_str(&String::from_utf8_lossy(&bytes));
                    }
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
/// pieces came (for the transcript), not a second copy. The pieces are kept as they came and
/// joined once at the end, at their exact size: a long listing is copied once, not at every
/// doubling of a growing buffer (which, with musl's allocator, also touched new pages each time).
#[derive(Default)]
struct Captured {
    stdout: Stream,
    stderr: Stream,
    /// (from stderr, end offset in its stream) for each piece, in arrival order.
    order: Vec<(bool, usize)>,
}

/// One stream's pieces, in order, and their length together.
#[derive(Default)]
struct Stream {
    pieces: Vec<Vec<u8>>,
    len: usize,
}

impl Stream {
    fn push(&mut self, bytes: Vec<u8>) -> usize {
        self.len += bytes.len();
        self.pieces.push(bytes);
        self.len
    }

    fn into_text(self) -> String {
        let bytes = match self.pieces.len() {
            0 => Vec::new(),
            1 => self.pieces.into_iter().next().unwrap_or_default(),
            _ => {
                let mut whole = Vec::with_capacity(self.len);
                for piece in self.pieces {
                    whole.extend_from_slice(&piece);
                }
                whole
            }
        };
        String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }
}

impl Captured {
    fn push(&mut self, chunk: Chunk) {
        match chunk {
            Chunk::Out(bytes) => {
                let end = self.stdout.push(bytes);
                self.order.push((false, end));
            }
            Chunk::Err(bytes) => {
                let end = self.stderr.push(bytes);
                self.order.push((true, end));
            }
            Chunk::End => {}
        }
    }

    fn len(&self) -> usize {
        self.stdout.len + self.stderr.len
    }

    fn into_output(
        self,
        status: i32,
        started: std::time::SystemTime,
        duration: Duration,
    ) -> RunOutput {
        RunOutput {
            output: Output {
                stdout: self.stdout.into_text(),
                stderr: self.stderr.into_text(),
                status,
            },
            order: self.order,
            started,
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

fn pump(
    mut pipe: std::io::PipeReader,
    index: usize,
    sender: mpsc::Sender<(usize, Chunk)>,
    wrap: fn(Vec<u8>) -> Chunk,
) {
    std::thread::spawn(move || {
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            match pipe.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if sender.send((index, wrap(buffer[..n].to_vec()))).is_err() {
                        return;
                    }
                }
            }
        }
        let _ = sender.send((index, Chunk::End));
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
