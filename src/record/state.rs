//! state.json: the run's parameters, what it has learnt, and how it stands. Written after every
//! change (atomically: a temporary file renamed over it), read by `--resume` and `verify
//! --run-dir`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{Facts, RestoreOptions};

/// How a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Under way, or killed without a chance to say more (SIGKILL, a power cut).
    Running,
    Interrupted,
    Failed,
    Refused,
    Completed,
}

impl RunStatus {
    /// The status a run ends with, from how the restore ended.
    pub fn of(outcome: &Result<()>) -> RunStatus {
        match outcome {
            Ok(()) => RunStatus::Completed,
            Err(Error::Interrupted { .. }) => RunStatus::Interrupted,
            Err(Error::Refused(_)) => RunStatus::Refused,
            Err(_) => RunStatus::Failed,
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Failed => "failed",
            RunStatus::Refused => "refused",
            RunStatus::Completed => "completed",
        }
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.word())
    }
}

/// state.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    pub tool_version: String,
    pub status: RunStatus,
    #[serde(default)]
    pub error: Option<String>,
    pub options: RestoreOptions,
    pub facts: Facts,
    /// The SHA-256 of events.jsonl's last line when the run ended: the anchor for the change
    /// ticket (`audit --expect`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_hash: Option<String>,
}

/// Reads the state of the run in `dir` from its text (`None`: there is no state.json).
pub fn load(dir: &Path, file: &Path, text: Option<String>) -> Result<RunState> {
    let Some(text) = text else {
        return Err(Error::usage(format!(
            "{} has no {}: it is not the run directory of an earlier `run`",
            dir.display(),
            super::STATE_FILE
        )));
    };
    // Deserializing checks every value that can reach a command (`crate::names`): a state file
    // edited by hand to hold `--all` among the StatefulSets is refused here, before anything runs.
    serde_json::from_str(&text).map_err(|e| {
        Error::refused(format!(
            "{} does not hold a valid state of this tool ({e}); it was edited or damaged, and nothing was run",
            file.display()
        ))
    })
}

/// The state as state.json holds it: secrets out of every string, pretty, one newline. It is
/// written whole (a new temporary renamed over the old file: a reader never sees half a file).
pub fn serialize(file: &Path, state: &RunState) -> Result<Vec<u8>> {
    let serialize =
        |e: serde_json::Error| Error::io("cannot serialize", file, std::io::Error::other(e));
    let mut value = serde_json::to_value(state).map_err(serialize)?;
    super::redact::redact_json(&mut value);
    let mut text = serde_json::to_string_pretty(&value).map_err(serialize)?;
    text.push('\n');
    Ok(text.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(run: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/runs")
            .join(run)
    }

    #[test]
    fn states_of_release_0_1_0_are_read_and_written_back_alike() {
        for (run, status) in [
            ("v0.1.0-complete", RunStatus::Completed),
            ("v0.1.0-interrupted-messaging", RunStatus::Interrupted),
        ] {
            let dir = fixture(run);
            let read = |file: &Path| std::fs::read_to_string(file).ok();
            let state = load(&dir, &dir.join("state.json"), read(&dir.join("state.json"))).unwrap();
            assert_eq!(state.status, status);
            let written = tempfile::tempdir().unwrap();
            let file = written.path().join("state.json");
            std::fs::write(&file, serialize(&file, &state).unwrap()).unwrap();
            let again = load(written.path(), &file, read(&file)).unwrap();
            assert_eq!(again, state);
            let original: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(dir.join("state.json")).unwrap())
                    .unwrap();
            let rewritten: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
            assert!(
                contains(&rewritten, &original),
                "{run}: every field of the old state is written back unchanged:\n{rewritten:#}"
            );
        }
    }

    /// Every field of `old` is in `new` with the same value (new fields may be added).
    fn contains(new: &serde_json::Value, old: &serde_json::Value) -> bool {
        match (new, old) {
            (serde_json::Value::Object(new), serde_json::Value::Object(old)) => old
                .iter()
                .all(|(key, value)| new.get(key).is_some_and(|n| contains(n, value))),
            _ => new == old,
        }
    }

    #[test]
    fn statuses_are_the_words_of_release_0_1_0() {
        for status in [
            RunStatus::Running,
            RunStatus::Interrupted,
            RunStatus::Failed,
            RunStatus::Refused,
            RunStatus::Completed,
        ] {
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                serde_json::json!(status.word())
            );
        }
    }
}
