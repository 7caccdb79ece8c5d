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
pub use events::{Event, EventLog, EventRecord, RunIdentity};
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
    /// The directory of a new run: created when missing; refused when it already holds a run.
    pub fn create(path: &Path) -> Result<RunDir> {
        if path.join(STATE_FILE).exists() {
            return Err(Error::usage(format!(
                "{} already holds a run; continue it with `arthur-restore run --resume {}`, or choose another --run-dir",
                path.display(),
                path.display()
            )));
        }
        std::fs::create_dir_all(path)
            .map_err(|e| Error::io("cannot create the run directory", path, e))?;
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

    /// The text of events.jsonl, `None` when there is none.
    pub fn read_events(&self) -> Result<Option<String>> {
        let path = self.events_path();
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("cannot read", path, e)),
        }
    }

    /// The absolute path an artefact has in the run directory (as `kubectl apply -f` is given it).
    pub fn artifact_path(&self, name: &str) -> PathBuf {
        let dir = std::path::absolute(&self.path).unwrap_or_else(|_| self.path.clone());
        dir.join(name)
    }

    pub fn write_artifact(&self, name: &str, contents: &str) -> Result<PathBuf> {
        let path = self.artifact_path(name);
        std::fs::write(&path, contents).map_err(|e| Error::io("cannot write", &path, e))?;
        Ok(path)
    }
}

/// The open files of a run being recorded: the transcript and the event log.
pub struct RunRecord {
    dir: RunDir,
    transcript: File,
    events: EventLog,
}

impl RunRecord {
    pub fn open(dir: RunDir) -> Result<RunRecord> {
        let path = dir.path.join(TRANSCRIPT_FILE);
        let transcript = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| Error::io("cannot open", path, e))?;
        let events = EventLog::open(&dir.events_path())?;
        Ok(RunRecord {
            dir,
            transcript,
            events,
        })
    }

    pub fn dir(&self) -> &RunDir {
        &self.dir
    }

    /// Appends text (already redacted) to transcript.log.
    pub fn transcript(&mut self, text: &str) -> Result<()> {
        self.transcript
            .write_all(text.as_bytes())
            .map_err(|e| Error::io("cannot write", self.dir.path.join(TRANSCRIPT_FILE), e))
    }

    pub fn event(&mut self, event: Event) -> Result<()> {
        self.events.append(event)
    }

    pub fn save_state(&self, state: &RunState) -> Result<()> {
        self.dir.save_state(state)
    }
}
