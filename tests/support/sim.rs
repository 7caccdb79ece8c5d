//! The simulated cluster (`arthur-restore-sim`) as the tests drive it: a world in a temporary
//! folder, the tool run against it, the calls it received, and the reference restore.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use super::{Argv, SESSION_RDS, explain, fixtures, tool};

/// A simulated cluster in a temporary folder: the sim installed as the four CLIs, its world file,
/// and the run directory.
pub struct Sim {
    pub dir: tempfile::TempDir,
}

impl Sim {
    pub fn new() -> Sim {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        for name in ["kubectl", "velero", "aws", "curl"] {
            std::os::unix::fs::symlink(
                crate::support::double("arthur-restore-sim"),
                bin.join(name),
            )
            .unwrap();
        }
        Sim { dir }
    }

    pub fn run_dir(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    /// The environment that makes the sim the four CLIs, first on PATH, acting on this world.
    pub fn env(&self) -> Vec<(&'static str, std::ffi::OsString)> {
        vec![
            (
                "PATH",
                format!("{}:/usr/bin:/bin", self.dir.path().join("bin").display()).into(),
            ),
            ("ARTHUR_SIM_FIXTURES", fixtures().into()),
            (
                "ARTHUR_SIM_STATE",
                self.dir.path().join("world.json").into(),
            ),
        ]
    }

    /// The tool, with the sim as the four CLIs and this world.
    pub fn command(&self) -> std::process::Command {
        let mut command = tool();
        command.envs(self.env()).current_dir(self.dir.path());
        command
    }

    /// Runs the tool against the world, with a fault planned (`N:KIND`) or a blocking fault
    /// cleared.
    pub fn run(&self, args: &[&str], fault: Option<&str>, clear: bool) -> Output {
        let mut command = self.command();
        command.args(args);
        if let Some(fault) = fault {
            command.envs(fault_env(fault));
        }
        if clear {
            command.env("ARTHUR_SIM_CLEAR", "1");
        }
        command.output().expect("the tool runs")
    }

    /// A complete restore: every step, the backups of the newest complete restore point.
    pub fn restore(&self, fault: Option<&str>) -> Output {
        // A short limit only where a command is meant to hang: a loaded machine must not turn
        // a slow answer into a fault.
        let hang = fault.is_some_and(|f| f.ends_with(":hang"));
        let limit = if hang { "1s" } else { "20s" };
        // Waits meet their limit only where something is meant to stay stuck.
        let blocking = fault.is_some_and(|f| f.ends_with(":blocking"));
        let timeout = if blocking { "2s" } else { "20s" };
        let argv = Argv::arthur("run")
            .with(&["--yes", "--command-timeout", limit])
            .fast_with(&self.run_dir(), timeout)
            .pairs(&SESSION_RDS[1..], &[]);
        self.run(&argv.words(), fault, false)
    }

    /// Resumes the run and expects it to complete (exit 0); `context` leads the message.
    pub fn resume_completes(&self, context: &str) {
        let resumed = self.resume(false);
        assert_eq!(
            resumed.status.code(),
            Some(0),
            "{context}{}",
            explain(&resumed)
        );
    }

    /// Expects that no change was asked of the cluster twice.
    pub fn assert_nothing_repeated(&self) {
        let repeated = self.repeated_changes();
        assert!(repeated.is_empty(), "{repeated:?}");
    }

    pub fn resume(&self, clear: bool) -> Output {
        let run_dir = self.run_dir().display().to_string();
        self.run(&["run", "--resume", &run_dir, "--yes"], None, clear)
    }

    pub fn world(&self) -> Value {
        let text = std::fs::read_to_string(self.dir.path().join("world.json")).unwrap_or_default();
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// What a restore leaves behind, for comparing two runs.
    pub fn end_state(&self) -> Value {
        let world = self.world();
        let names = |key: &str, field: Option<&str>| {
            let mut list: Vec<String> = world[key]
                .as_array()
                .into_iter()
                .flatten()
                .map(|v| match field {
                    Some(f) => v[f].as_str().unwrap_or_default().to_string(),
                    None => v.as_str().unwrap_or_default().to_string(),
                })
                .collect();
            list.sort();
            list
        };
        let restores: BTreeMap<String, Vec<String>> = world["restores"]
            .as_array()
            .into_iter()
            .flatten()
            .fold(BTreeMap::new(), |mut map, r| {
                map.entry(r["backup"].as_str().unwrap_or_default().to_string())
                    .or_insert_with(Vec::new)
                    .push(r["phase"].as_str().unwrap_or_default().to_string());
                map
            });
        let keys = |key: &str| -> Vec<String> {
            world[key]
                .as_object()
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default()
        };
        serde_json::json!({
            "statefulsets": names("statefulsets", None),
            "pvcs": names("pvcs", Some("name")),
            "pv_claims": names("pvs", Some("claim")),
            "restores": restores,
            "jobs": keys("jobs"),
            "instances": keys("instances"),
            "recovered": world["recovered"].as_u64().unwrap_or(0) > 0,
        })
    }

    /// Changes made twice to one object, or asked of an object that was already gone: each
    /// is a destructive command repeated although the first took effect.
    pub fn repeated_changes(&self) -> Vec<String> {
        let world = self.world();
        let mut effective: BTreeMap<String, usize> = BTreeMap::new();
        let mut repeated = Vec::new();
        for call in world["calls"].as_array().into_iter().flatten() {
            let Some(object) = call["changed"].as_str() else {
                continue;
            };
            if object == "recover" {
                continue; // the batch recover call is idempotent; see README
            }
            if call["missing"] == true {
                repeated.push(format!("#{} {object} (already gone or present)", call["n"]));
            } else {
                *effective.entry(object.to_string()).or_default() += 1;
            }
        }
        repeated.extend(
            effective
                .into_iter()
                .filter(|(_, count)| *count > 1)
                .map(|(object, count)| format!("{object} changed {count} times")),
        );
        repeated
    }

    pub fn calls(&self) -> usize {
        self.world()["calls"].as_array().map_or(0, Vec::len)
    }
}

/// Writes a matrix's summary line where scripts/test finds it.
pub fn summary(name: &str, line: &str, started: std::time::Instant) {
    let line = format!("{line} (in {}s)", started.elapsed().as_secs());
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-summaries");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join(format!("{name}.txt")), format!("{line}\n"));
    eprintln!("{line}");
}

/// The calls of an uninterrupted restore, once per test binary.
pub fn reference_calls() -> &'static Vec<String> {
    static CALLS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    CALLS.get_or_init(|| {
        let sim = Sim::new();
        let output = sim.restore(None);
        assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
        // The sim's folder is this run's own (the ClickHouse Job's file is in it): `[DIR]`,
        // as the sim spells any run's folder when it looks for the command of a fault.
        let dir = sim.dir.path().display().to_string();
        sim.world()["calls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                c["argv"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|w| w.as_str().unwrap().to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
                    .replace(&dir, "[DIR]")
            })
            .collect()
    })
}

/// The environment of a planned fault `N:KIND`: the N-th command of the reference restore, named
/// by its line and its occurrence, since reads run side by side reach the sim in any order.
pub fn fault_env(fault: &str) -> Vec<(&'static str, String)> {
    let mut env = vec![("ARTHUR_SIM_FAULT", fault.to_string())];
    let calls = reference_calls();
    if let Some(n) = fault
        .split_once(':')
        .and_then(|(n, _)| n.parse::<usize>().ok())
        .filter(|n| (1..=calls.len()).contains(n))
    {
        let line = &calls[n - 1];
        let occurrence = calls[..n].iter().filter(|c| *c == line).count();
        env.push(("ARTHUR_SIM_FAULT_COMMAND", format!("{occurrence} {line}")));
    }
    env
}

/// The number of the call that received the planned fault, in the order calls arrived.
pub fn faulted_call(world: &Value) -> Option<usize> {
    world["calls"]
        .as_array()?
        .iter()
        .find(|c| c["faulted"].as_bool() == Some(true))
        .and_then(|c| c["n"].as_u64())
        .map(|n| n as usize)
}

/// The number (1-based) of the first command of an uninterrupted restore containing `text`.
pub fn command_number(text: &str) -> usize {
    reference_calls()
        .iter()
        .position(|c| c.contains(text))
        .unwrap_or_else(|| panic!("no command contains {text}"))
        + 1
}

pub fn transcript(sim: &Sim) -> String {
    std::fs::read_to_string(sim.run_dir().join("transcript.log")).unwrap_or_default()
}
