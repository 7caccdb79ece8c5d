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
pub mod redact;
pub mod state;
pub mod transcript;

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
pub use events::{Event, EventLog, EventRecord, Reached, RunIdentity};
pub use state::{RunState, RunStatus};
pub use transcript::TranscriptEntry;

pub const STATE_FILE: &str = "state.json";
pub const TRANSCRIPT_FILE: &str = "transcript.log";
pub const EVENTS_FILE: &str = "events.jsonl";

/// A run directory, by its path.
#[derive(Debug, Clone)]
pub struct RunDir {
    path: PathBuf,
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
        let occupied = std::fs::read_dir(path)
            .map(|mut entries| entries.next().is_some())
            .unwrap_or(false);
        if occupied {
            return Err(Error::usage(format!(
                "{} is not empty and holds no run of this tool; give --run-dir a new or empty folder",
                path.display()
            )));
        }
        create_private_dir(path)?;
        Ok(RunDir {
            path: path.to_path_buf(),
        })
    }

    /// The directory of an earlier run (for `--resume`, `verify --run-dir`, `audit`).
    pub fn existing(path: &Path) -> RunDir {
        RunDir {
            path: path.to_path_buf(),
        }
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
        state::load(&self.path, &self.path.join(STATE_FILE))
    }

    pub fn save_state(&self, state: &RunState) -> Result<()> {
        state::save(&self.path.join(STATE_FILE), state)
    }

    /// A resume trusts state.json only as far as events.jsonl, hash-chained, backs it: the chain
    /// must hold, the parameters must be those the events recorded, and a confirmed deletion list
    /// must be the one the gate showed. Anything else is a refusal (exit 3), before anything runs.
    pub fn check_state_against_events(&self, state: &RunState) -> Result<()> {
        let Some(text) = self.read_events()? else {
            return Ok(());
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
        Ok(())
    }

    /// The text of events.jsonl (within the limits of a log), `None` when there is none.
    pub fn read_events(&self) -> Result<Option<String>> {
        let path = self.events_path();
        if !path.exists() {
            return Ok(None);
        }
        read_log_text(&path, MAX_LOG_LINE, MAX_LOG_SIZE).map(Some)
    }

    /// The absolute path an artefact has in the run directory (as `kubectl apply -f` is given it).
    pub fn artifact_path(&self, name: &str) -> PathBuf {
        let dir = std::path::absolute(&self.path).unwrap_or_else(|_| self.path.clone());
        dir.join(name)
    }

    /// Keeps a long output whole in `outputs/` (`--keep-output`); its path.
    pub fn keep_output(&self, text: &str) -> Result<PathBuf> {
        let dir = self.path.join("outputs");
        create_private_dir(&dir)?;
        let count = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
        let name = format!("outputs/{:04}.txt", count + 1);
        self.write_artifact(&name, text)
    }

    pub fn write_artifact(&self, name: &str, contents: &str) -> Result<PathBuf> {
        use std::os::unix::fs::OpenOptionsExt;
        let path = self.artifact_path(name);
        OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .and_then(|mut file| file.write_all(contents.as_bytes()))
            .map_err(|e| Error::io("cannot write", &path, e))?;
        Ok(path)
    }
}

/// The longest line a log of this tool may have (long outputs are summarised, not written).
pub const MAX_LOG_LINE: usize = 1 << 20;

/// The largest log read (a restore's transcript is a few megabytes).
pub const MAX_LOG_SIZE: u64 = 256 << 20;

/// Reads a log line by line within limits: a line longer than `max_line`, a file larger than
/// `max_size`, a NUL byte or text that is not UTF-8 is refused before it fills memory, naming
/// the line.
pub fn read_log_text(path: &Path, max_line: usize, max_size: u64) -> Result<String> {
    use std::io::{BufRead, Read};
    let file = File::open(path).map_err(|e| Error::io("cannot read", path, e))?;
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

/// The run directory and its files are the operator's alone (SPEC section 5, rule 10).
fn create_private_dir(path: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(|e| Error::io("cannot create the run directory", path, e))
}

/// Opens a file of the run directory for appending, created 0600.
fn open_private(path: &Path) -> Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io("cannot open", path, e))
}

/// The exclusive lock of a run directory: held while a run writes into it, released when the
/// process ends (however it ends). The file names the holder, for the one refused.
pub struct RunLock {
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

pub const LOCK_FILE: &str = "lock";

impl RunDir {
    /// Takes the run directory's lock, or refuses (exit 3) naming the run that holds it.
    pub fn lock(&self) -> Result<RunLock> {
        use std::io::{Read, Seek};
        let path = self.path.join(LOCK_FILE);
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(|e| Error::io("cannot open", &path, e))?;
        let mut holder = String::new();
        let _ = file.read_to_string(&mut holder);
        let holder = holder.trim().to_string();
        if let Err(error) = file.try_lock() {
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
                std::fs::TryLockError::Error(e) => Error::io("cannot lock", &path, e),
            });
        }
        let me = format!("pid {} on host {}", std::process::id(), host_name());
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| writeln!(file, "{me}"))
            .map_err(|e| Error::io("cannot write", &path, e))?;
        Ok(RunLock {
            file,
            taken_over: (!holder.is_empty()).then_some(holder),
        })
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
        let transcript = open_private(&dir.path.join(TRANSCRIPT_FILE))?;
        let events = EventLog::open(&dir.events_path())?;
        Ok(RunRecord {
            dir,
            transcript,
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
        self.events.append_at(first, held.since)?;
        for (time, event) in held.events {
            self.events.append_at(event, time)?;
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
        self.transcript
            .write_all(redact::redact(text).as_bytes())
            .map_err(|e| Error::io("cannot write", self.dir.path.join(TRANSCRIPT_FILE), e))
    }

    pub fn event(&mut self, event: Event) -> Result<()> {
        if let Some(held) = &mut self.held {
            held.events.push((jiff::Timestamp::now(), event));
            return Ok(());
        }
        self.events.append(event)
    }

    /// The SHA-256 of events.jsonl's last line so far.
    pub fn last_hash(&self) -> String {
        self.events.last_hash().to_string()
    }

    pub fn save_state(&self, state: &RunState) -> Result<()> {
        self.dir.save_state(state)
    }
}
