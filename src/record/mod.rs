//! The run directory and everything written into it (SPEC section 4): `transcript.log`,
//! `events.jsonl`, `state.json` and the artefacts. Each file has one owner here; `run`,
//! `--resume`, `verify --run-dir` and `audit` read and write run directories only through this
//! module.
//!
//! | file             | owner                      | written                                   |
//! |------------------|----------------------------|-------------------------------------------|
//! | transcript.log   | `RunRecord::transcript`    | appended as the run goes                  |
//! | events.jsonl     | `events::EventLog`         | appended, hash-chained                    |
//! | state.json       | `state::save`              | replaced atomically after every change    |
//! | artefacts        | `RunDir::write_artifact`   | once (the ClickHouse restore Job's YAML)  |

pub mod events;
pub mod private;
pub mod redact;
pub mod state;
pub mod transcript;

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
pub use events::{Digesting, Event, EventLog, EventRecord, Reached, RunIdentity, TranscriptMark};
pub use state::{RunState, RunStatus};
pub use transcript::TranscriptEntry;

pub const STATE_FILE: &str = "state.json";
pub const TRANSCRIPT_FILE: &str = "transcript.log";
pub const EVENTS_FILE: &str = "events.jsonl";
/// The folder new run directories go in when `--run-dir` is not given.
pub const DEFAULT_PARENT: &str = "arthur-restore-runs";

/// A run directory, by its path; open (checked, rule 12) when a run writes into it.
#[derive(Debug, Clone)]
pub struct RunDir {
    path: PathBuf,
    folder: Option<std::sync::Arc<private::Folder>>,
}

impl RunDir {
    /// The directory of a new run: created when missing. One that holds a run is refused (it is
    /// continued with `--resume`), and so is one that holds anything else: a run's files never
    /// mix with others.
    pub fn create(path: &Path) -> Result<RunDir> {
        if path.join(STATE_FILE).exists() {
            return Err(Error::usage(format!(
                "{} already holds a run; continue it with `arthur-restore run --resume {}`, or choose another --run-dir",
                path.display(),
                path.display()
            )));
        }
        let not_empty = || {
            Error::usage(format!(
                "{} is not empty and holds no run of this tool; give --run-dir a new or empty folder",
                path.display()
            ))
        };
        let occupied = |dir: &Path| {
            std::fs::read_dir(dir)
                .map(|mut entries| entries.next().is_some())
                .unwrap_or(false)
        };
        // Before the folder is checked (and made 0700, were it someone's), and again once it is
        // open.
        if occupied(path) {
            return Err(not_empty());
        }
        let folder = private::Folder::run_dir(path, true)?;
        if occupied(folder.path()) {
            return Err(not_empty());
        }
        Ok(RunDir {
            path: path.to_path_buf(),
            folder: Some(std::sync::Arc::new(folder)),
        })
    }

    /// The directory of an earlier run, to read (`verify --run-dir`, `audit`).
    pub fn existing(path: &Path) -> RunDir {
        RunDir {
            path: path.to_path_buf(),
            folder: None,
        }
    }

    /// The directory of an earlier run, to continue it (`--resume`): checked as a new one is.
    pub fn reopen(path: &Path) -> Result<RunDir> {
        let folder = private::Folder::run_dir(path, false)?;
        Ok(RunDir {
            path: path.to_path_buf(),
            folder: Some(std::sync::Arc::new(folder)),
        })
    }

    /// The open folder of a run being written.
    fn folder(&self) -> Result<&private::Folder> {
        self.folder.as_deref().ok_or_else(|| {
            Error::StepFailed(format!(
                "{} was opened to be read, not written",
                self.path.display()
            ))
        })
    }

    /// A file of the run directory, to read; `None` when it does not exist. Opened through the
    /// open folder when there is one (never through a symlink).
    fn open(&self, name: &str) -> Result<Option<File>> {
        let path = self.path.join(name);
        match &self.folder {
            Some(folder) => folder.read(name),
            None => match File::open(&path) {
                Ok(file) => Ok(Some(file)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(Error::io("cannot read", &path, e)),
            },
        }
    }

    /// A file of the run directory as text, `None` when it does not exist.
    fn read_text(&self, name: &str) -> Result<Option<String>> {
        use std::io::Read;
        let path = self.path.join(name);
        let Some(mut file) = self.open(name)? else {
            return Ok(None);
        };
        let mut text = String::new();
        file.read_to_string(&mut text)
            .map_err(|e| Error::io("cannot read", &path, e))?;
        Ok(Some(text))
    }

    /// The folder a transcript file lies in, read as a run directory.
    pub fn of_transcript(transcript: &Path) -> Option<RunDir> {
        transcript.parent().map(RunDir::existing)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn events_path(&self) -> PathBuf {
        self.path.join(EVENTS_FILE)
    }

    pub fn load_state(&self) -> Result<RunState> {
        let file = self.path.join(STATE_FILE);
        state::load(&self.path, &file, self.read_text(STATE_FILE)?)
    }

    pub fn save_state(&self, state: &RunState) -> Result<()> {
        let bytes = state::serialize(&self.path.join(STATE_FILE), state)?;
        self.folder()?.write_whole(STATE_FILE, &bytes).map(|_| ())
    }

    /// A resume trusts state.json only as far as events.jsonl, hash-chained, backs it: the chain
    /// must hold, the parameters must be those the events recorded, and a confirmed deletion list
    /// must be the one the gate showed. Anything else is a refusal (exit 3), before anything runs.
    pub fn check_state_against_events(&self, state: &RunState) -> Result<crate::model::Facts> {
        let Some(text) = self.read_events()? else {
            return state_without_events(self, state);
        };
        let edited = |what: String| {
            Error::refused(format!(
                "{what}: the run directory {} was edited, and a resume cannot trust it; nothing was run. Start a new run",
                self.path.display()
            ))
        };
        if let Err(line) = events::verify_chain(&text) {
            // A last line cut short by a kill breaks the chain only until the log is opened
            // again, which names it (a `truncated-line` event).
            let lines: Vec<&str> = text.lines().collect();
            let last = lines
                .iter()
                .rposition(|l| !l.trim().is_empty())
                .map(|i| i + 1);
            let cut_short = Some(line) == last
                && text
                    .lines()
                    .nth(line - 1)
                    .is_some_and(|l| serde_json::from_str::<serde_json::Value>(l).is_err());
            if !cut_short {
                return Err(edited(format!(
                    "events.jsonl's hash chain breaks at line {line}"
                )));
            }
        }
        let records: Vec<EventRecord> = events::read(&text)
            .into_iter()
            .filter_map(|r| r.ok().map(|(_, record)| record))
            .collect();
        let recorded = events::recorded_options(&records);
        if !recorded.is_empty() && !recorded.contains(&state.options) {
            return Err(edited(
                "state.json's parameters are not those events.jsonl recorded".into(),
            ));
        }
        if let Some(deletions) = &state.facts.messaging_deletions
            && !events::gate_showed(&records, deletions)
        {
            return Err(edited(
                "state.json's list of objects to delete is not the one the deletion gate showed and the operator confirmed".into(),
            ));
        }
        match events::recorded_facts(&records) {
            Some((before, last)) => {
                if state.facts == *last || before == Some(&state.facts) {
                    // The events' newest facts: state.json may lag one save behind them.
                    return Ok(last.clone());
                }
                let differing = differing_facts(&state.facts, last);
                Err(edited(format!(
                    "state.json's facts are not those events.jsonl recorded: {} differ{}",
                    differing.join(", "),
                    if differing.len() == 1 { "s" } else { "" }
                )))
            }
            // A run of release 0.1.0 recorded no facts: its state is all there is.
            None if records
                .iter()
                .any(|r| matches!(&r.event, Event::RunStarted(id) if id.commit.is_none())) =>
            {
                Ok(state.facts.clone())
            }
            None => state_without_events(self, state),
        }
    }

    /// The text of events.jsonl (within the limits of a log), `None` when there is none.
    pub fn read_events(&self) -> Result<Option<String>> {
        match self.open(EVENTS_FILE)? {
            Some(file) => read_log(file, &self.events_path(), MAX_LOG_LINE, MAX_LOG_SIZE).map(Some),
            None => Ok(None),
        }
    }

    /// The absolute path an artefact has in the run directory (as `kubectl apply -f` is given it).
    pub fn artifact_path(&self, name: &str) -> PathBuf {
        if let Some(folder) = &self.folder {
            return folder.path().join(name);
        }
        let dir = std::path::absolute(&self.path).unwrap_or_else(|_| self.path.clone());
        dir.join(name)
    }

    /// Keeps a long output whole in `outputs/` (`--keep-output`); its path.
    pub fn keep_output(&self, text: &str) -> Result<PathBuf> {
        let outputs = self.folder()?.folder("outputs")?;
        let count = std::fs::read_dir(outputs.path())
            .map(|d| d.count())
            .unwrap_or(0);
        outputs.write_whole(&format!("{:04}.txt", count + 1), text.as_bytes())
    }

    pub fn write_artifact(&self, name: &str, contents: &str) -> Result<PathBuf> {
        self.folder()?.write_whole(name, contents.as_bytes())
    }

    /// The folder of the approval requests and their signatures (`run --approvers`).
    pub const APPROVALS: &'static str = "approvals";

    /// The path of a file of `approvals/`.
    pub fn approval_path(&self, name: &str) -> PathBuf {
        self.artifact_path(Self::APPROVALS).join(name)
    }

    /// Writes an approval request (replacing an earlier one of the gate).
    pub fn write_approval(&self, name: &str, text: &str) -> Result<PathBuf> {
        self.folder()?
            .folder(Self::APPROVALS)?
            .write_whole(name, text.as_bytes())
    }

    /// A file of `approvals/` (a request, or a signature put there by any means); `None` when
    /// there is none. Never through a symlink.
    pub fn read_approval(&self, name: &str) -> Result<Option<Vec<u8>>> {
        use std::io::Read;
        let file = match &self.folder {
            Some(folder) => match folder.folder(Self::APPROVALS)?.read(name)? {
                Some(file) => file,
                None => return Ok(None),
            },
            None => match std::fs::File::open(self.approval_path(name)) {
                Ok(file) => file,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(Error::io("cannot read", self.approval_path(name), e)),
            },
        };
        let mut bytes = Vec::new();
        file.take(1 << 20)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io("cannot read", self.approval_path(name), e))?;
        Ok(Some(bytes))
    }

    /// The artefact holds exactly what was written and checked: called right before a command
    /// reads it (`kubectl apply -f`); anything else is a refusal.
    pub fn check_artifact(&self, name: &str, contents: &str) -> Result<()> {
        if self.folder()?.holds(name, contents.as_bytes())? {
            return Ok(());
        }
        Err(Error::refused(format!(
            "{} is not the file this run wrote and checked (it was changed or replaced since); it is not applied. Look at who changed it, then resume",
            self.artifact_path(name).display()
        )))
    }
}

/// A state with no facts on record (a run killed before its first event was written) may say
/// only that nothing was done yet; anything more is a refusal naming what it claims.
fn state_without_events(dir: &RunDir, state: &RunState) -> Result<crate::model::Facts> {
    let blank = crate::model::Facts {
        started_at: state.facts.started_at.clone(),
        cluster_uid: state.facts.cluster_uid.clone(),
        kube_context: state.facts.kube_context.clone(),
        ..crate::model::Facts::default()
    };
    if state.facts == blank {
        return Ok(state.facts.clone());
    }
    Err(Error::refused(format!(
        "state.json says the run did more than events.jsonl records ({} set, but no event records any fact): the run directory {} was edited, and a resume cannot trust it; nothing was run. Start a new run",
        differing_facts(&state.facts, &blank).join(", "),
        dir.path.display()
    )))
}

/// The fields of two facts that differ, by their names in state.json.
fn differing_facts(a: &crate::model::Facts, b: &crate::model::Facts) -> Vec<String> {
    let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) =
        (serde_json::to_value(a), serde_json::to_value(b))
    else {
        return vec!["facts".into()];
    };
    a.iter()
        .filter(|(key, value)| b.get(*key) != Some(*value))
        .map(|(key, _)| format!("facts.{key}"))
        .collect()
}

/// The longest line a log of this tool may have (long outputs are summarised, not written).
pub const MAX_LOG_LINE: usize = 1 << 20;

/// The largest log read (a restore's transcript is a few megabytes).
pub const MAX_LOG_SIZE: u64 = 256 << 20;

/// Reads a log line by line within limits: a line longer than `max_line`, a file larger than
/// `max_size`, a NUL byte or text that is not UTF-8 is refused before it fills memory, naming
/// the line.
pub fn read_log_text(path: &Path, max_line: usize, max_size: u64) -> Result<String> {
    let file = File::open(path).map_err(|e| Error::io("cannot read", path, e))?;
    read_log(file, path, max_line, max_size)
}

fn read_log(file: File, path: &Path, max_line: usize, max_size: u64) -> Result<String> {
    use std::io::{BufRead, Read};
    let mut reader = std::io::BufReader::new(file).take(max_size + 1);
    let mut text = String::new();
    let mut line = Vec::new();
    let refuse = |why: String| {
        Error::StepFailed(format!("{} cannot be read as a log: {why}", path.display()))
    };
    for number in 1.. {
        line.clear();
        let read = (&mut reader)
            .take(max_line as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(|e| Error::io("cannot read", path, e))?;
        if read == 0 {
            break;
        }
        if line.len() > max_line {
            return Err(refuse(format!(
                "line {number} is longer than {} bytes",
                max_line
            )));
        }
        if line.contains(&0) {
            return Err(refuse(format!(
                "line {number} holds a NUL byte: it is not text"
            )));
        }
        let piece = std::str::from_utf8(&line)
            .map_err(|_| refuse(format!("line {number} is not UTF-8 text")))?;
        text.push_str(piece);
        if text.len() as u64 > max_size {
            return Err(refuse(format!("it is larger than {} bytes", max_size)));
        }
    }
    Ok(text)
}

/// The digest of what a file holds (a resumed run's transcript so far), read from its start.
fn digest_file(file: &File, path: &Path) -> Result<Digesting> {
    use std::io::Read;
    let mut digest = Digesting::default();
    let mut reader = file
        .try_clone()
        .map_err(|e| Error::io("cannot read", path, e))?;
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        let read = reader
            .read(&mut chunk)
            .map_err(|e| Error::io("cannot read", path, e))?;
        if read == 0 {
            return Ok(digest);
        }
        digest.update(&chunk[..read]);
    }
}

/// The exclusive lock of a run directory: an `flock` on the directory itself, held while the
/// process lives (rule 14), so that removing or replacing the `lock` file changes nothing. The
/// file only names the holder, for the one refused; it is emptied on every way out of the
/// process that runs Rust's destructors, so a holder named there and not locking died (SIGKILL).
pub struct RunLock {
    /// The run directory, open: the flock is on it.
    _directory: File,
    file: File,
    /// The holder before this one, when it had died without unlocking (pid, host).
    pub taken_over: Option<String>,
}

impl RunLock {
    /// Says the run ended in order: the next run finds no holder to take over from.
    fn release(&mut self) {
        let _ = self.file.set_len(0);
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        self.release();
    }
}

pub const LOCK_FILE: &str = "lock";

impl RunDir {
    /// Takes the run directory's lock, or refuses (exit 3) naming the run that holds it.
    pub fn lock(&self) -> Result<RunLock> {
        use std::io::{Read, Seek};
        let folder = self.folder()?;
        let directory = folder.as_file()?;
        let path = self.path.join(LOCK_FILE);
        let mut file = folder.read_write(LOCK_FILE)?;
        let mut holder = String::new();
        let _ = file.read_to_string(&mut holder);
        let holder = holder.trim().to_string();
        let mut locked = directory.try_lock();
        if matches!(locked, Err(std::fs::TryLockError::WouldBlock)) && holder_has_ended(&holder) {
            locked = lock_within(&directory, DYING_HOLDER_GRACE);
        }
        if let Err(error) = locked {
            return Err(match error {
                std::fs::TryLockError::WouldBlock => Error::refused(format!(
                    "the run directory {} is in use by another arthur-restore ({}); nothing was changed. Wait for it to end, or stop it first",
                    self.path.display(),
                    if holder.is_empty() {
                        "holder unknown"
                    } else {
                        &holder
                    }
                )),
                std::fs::TryLockError::Error(e) => Error::io("cannot lock", &self.path, e),
            });
        }
        let me = holder_line(std::process::id(), &host_name());
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| writeln!(file, "{me}"))
            .map_err(|e| Error::io("cannot write", &path, e))?;
        Ok(RunLock {
            _directory: directory,
            file,
            taken_over: (!holder.is_empty()).then_some(holder),
        })
    }
}

/// How long a run waits for the lock of a holder that has ended: a holder killed (SIGKILL) while
/// it started a command leaves that child holding the directory, between its fork and its exec
/// (where the descriptor closes) or its parent-death signal, for a moment.
const DYING_HOLDER_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// How the lock file names its holder; `holder_has_ended` reads it back.
fn holder_line(pid: u32, host: &str) -> String {
    format!("pid {pid} on host {host}")
}

/// The holder named in the lock file (`holder_line`) was on this host and has ended.
fn holder_has_ended(holder: &str) -> bool {
    let Some((pid, host)) = holder
        .strip_prefix("pid ")
        .and_then(|rest| rest.split_once(" on host "))
    else {
        return false;
    };
    let Ok(pid) = pid.parse::<libc::pid_t>() else {
        return false;
    };
    if pid <= 0 || host != host_name() {
        return false;
    }
    // SAFETY: kill(2) with signal 0 only checks that the process exists; no memory effects.
    let exists = unsafe { libc::kill(pid, 0) } == 0;
    !exists && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

/// Tries the lock until `grace` has passed.
fn lock_within(
    directory: &File,
    grace: std::time::Duration,
) -> std::result::Result<(), std::fs::TryLockError> {
    let deadline = std::time::Instant::now() + grace;
    loop {
        match directory.try_lock() {
            Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

/// Who runs the tool, for the record: the user who called sudo (`alice(sudo:root)`), else the
/// name of the process's user in the password database, else its uid. Not `$USER`, which a
/// service or `env -i` leaves unset and anyone can set.
pub fn who() -> String {
    // SAFETY: getuid(2) cannot fail and touches no memory.
    let uid = unsafe { libc::getuid() };
    let name = user_name(uid).unwrap_or_else(|| format!("uid{uid}"));
    match std::env::var("SUDO_USER") {
        Ok(caller) if !caller.is_empty() && caller != name => format!(
            "{}(sudo:{name})",
            caller.split_whitespace().collect::<Vec<_>>().join("_")
        ),
        _ => name,
    }
}

/// The name of a uid in the password database (/etc/passwd).
fn user_name(uid: u32) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.len() > 2 && fields[2].parse::<u32>().ok() == Some(uid))
            .then(|| fields[0].to_string())
    })
}

/// This machine's name, as the run header and the lock show it.
pub fn host_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// The open files of a run being recorded: the transcript and the event log, under the lock.
pub struct RunRecord {
    dir: RunDir,
    transcript: File,
    /// What transcript.log holds, digested: each event carries its mark.
    written: Digesting,
    events: EventLog,
    lock: RunLock,
    held: Option<Held>,
}

/// What a run recorded before its first event could be written: the identity reads, whose
/// answers that event carries. They read only, so a run killed among them has changed nothing
/// and loses nothing but their answers.
struct Held {
    since: jiff::Timestamp,
    transcript: String,
    events: Vec<(jiff::Timestamp, Event)>,
}

impl RunRecord {
    pub fn open(dir: RunDir, lock: RunLock) -> Result<RunRecord> {
        let path = dir.path.join(TRANSCRIPT_FILE);
        let transcript = dir.folder()?.append(TRANSCRIPT_FILE)?;
        let written = digest_file(&transcript, &path)?;
        let events = EventLog::open(dir.folder()?.append(EVENTS_FILE)?, &dir.events_path())?;
        Ok(RunRecord {
            dir,
            transcript,
            written,
            events,
            lock,
            held: None,
        })
    }

    /// Holds what is recorded from now on, until `release` writes the run's first event and
    /// then all of it, in order, with the times it happened.
    pub fn hold(&mut self) {
        self.held = Some(Held {
            since: jiff::Timestamp::now(),
            transcript: String::new(),
            events: Vec::new(),
        });
    }

    /// Whether the record is held, waiting for the run's first event.
    pub fn holding(&self) -> bool {
        self.held.is_some()
    }

    /// Writes `first` (at the time the hold began), then what was held.
    pub fn release(&mut self, first: Event) -> Result<()> {
        let Some(held) = self.held.take() else {
            return self.event(first);
        };
        let mark = Some(self.written.mark());
        self.events.append_at(first, held.since, mark.clone())?;
        for (time, event) in held.events {
            self.events.append_at(event, time, mark.clone())?;
        }
        self.transcript(&held.transcript)
    }

    /// The holder of the lock before this run, when it had died holding it (SIGKILL).
    pub fn lock_taken_over(&self) -> Option<&str> {
        self.lock.taken_over.as_deref()
    }

    /// The run ended in order (completed, failed, refused or interrupted).
    pub fn release_lock(&mut self) {
        self.lock.release();
    }

    /// A last line of events.jsonl that was cut short (the tool killed while writing it), found
    /// when the log was opened: its line number. The log continues after it, and says so.
    pub fn truncated_event(&self) -> Option<usize> {
        self.events.truncated()
    }

    pub fn dir(&self) -> &RunDir {
        &self.dir
    }

    /// Appends text to transcript.log, without secrets.
    pub fn transcript(&mut self, text: &str) -> Result<()> {
        if let Some(held) = &mut self.held {
            held.transcript.push_str(text);
            return Ok(());
        }
        let clean = transcript::cut_long_lines(&redact::redact(text));
        self.transcript
            .write_all(clean.as_bytes())
            .map_err(|e| Error::io("cannot write", self.dir.path.join(TRANSCRIPT_FILE), e))?;
        self.written.update(clean.as_bytes());
        Ok(())
    }

    pub fn event(&mut self, event: Event) -> Result<()> {
        if let Some(held) = &mut self.held {
            held.events.push((jiff::Timestamp::now(), event));
            return Ok(());
        }
        self.events
            .append_at(event, jiff::Timestamp::now(), Some(self.written.mark()))
    }

    /// The SHA-256 of events.jsonl's last line so far.
    pub fn last_hash(&self) -> String {
        self.events.last_hash().to_string()
    }

    pub fn save_state(&self, state: &RunState) -> Result<()> {
        self.dir.save_state(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_run_dir() -> (tempfile::TempDir, RunDir) {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::create(&dir.path().join("run")).unwrap();
        (dir, run)
    }

    /// The lock is an flock on the directory: removing the lock file while a run holds it
    /// lets no second run in.
    #[test]
    fn the_lock_holds_whatever_happens_to_its_file() {
        let (_dir, run) = new_run_dir();
        let held = run.lock().unwrap();
        std::fs::remove_file(run.path().join(LOCK_FILE)).unwrap();
        let again = RunDir::reopen(run.path()).unwrap();
        let refused = again.lock().err().expect("a second lock is refused");
        assert_eq!(refused.exit_code(), 3, "{refused}");
        drop(held);
        assert!(again.lock().is_ok());
    }

    /// A holder killed while it started a command: the child holds the directory for a moment
    /// (between its fork and its exec). The next run waits for it instead of refusing; a holder
    /// that is alive is refused at once.
    #[test]
    fn a_killed_holders_last_child_is_waited_for() {
        let (_dir, run) = new_run_dir();
        let mut ended = std::process::Command::new("true").spawn().unwrap();
        let pid = ended.id();
        ended.wait().unwrap();
        let lock_file = run.path().join(LOCK_FILE);
        let holder = holder_line(pid, &host_name());
        std::fs::write(&lock_file, format!("{holder}\n")).unwrap();
        let child_copy = File::open(run.path()).unwrap();
        child_copy.lock().unwrap();
        let exec = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            drop(child_copy);
        });
        let taken = run
            .lock()
            .expect("the lock, once the child's copy is closed");
        exec.join().unwrap();
        assert_eq!(taken.taken_over, Some(holder));
        drop(taken);

        let alive = File::open(run.path()).unwrap();
        alive.lock().unwrap();
        let me = holder_line(std::process::id(), &host_name());
        std::fs::write(&lock_file, format!("{me}\n")).unwrap();
        let started = std::time::Instant::now();
        let refused = run.lock().err().expect("a living holder's lock is refused");
        assert_eq!(refused.exit_code(), 3, "{refused}");
        assert!(started.elapsed() < DYING_HOLDER_GRACE, "refused at once");
    }

    /// A run that ended in any orderly way (a refusal included) leaves no holder behind: the
    /// next one claims no takeover. One killed (its name left in the file) is taken over.
    #[test]
    fn a_takeover_is_said_only_when_there_was_one() {
        let (_dir, run) = new_run_dir();
        drop(run.lock().unwrap());
        assert_eq!(run.lock().unwrap().taken_over, None);
        // A holder killed with SIGKILL leaves its name and no flock (the kernel drops it).
        std::fs::write(run.path().join(LOCK_FILE), "pid 4242 on host elsewhere\n").unwrap();
        let taken = run.lock().unwrap();
        assert_eq!(
            taken.taken_over.as_deref(),
            Some("pid 4242 on host elsewhere")
        );
    }
}
