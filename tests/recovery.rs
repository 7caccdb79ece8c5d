//! Recovery against the simulated cluster (`arthur-restore-sim`): a complete restore interrupted
//! at every command, then resumed; every command failing in every way, then resumed once the
//! fault is cleared. Each matrix writes its summary line to target/test-summaries, which
//! scripts/test prints.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::support::{Argv, explain, fixtures, stdout, tool};

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
            std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_arthur-restore-sim"), bin.join(name))
                .unwrap();
        }
        Sim { dir }
    }

    pub fn run_dir(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    /// Runs the tool against the world, with a fault planned (`N:KIND`) or a blocking fault
    /// cleared.
    pub fn run(&self, args: &[&str], fault: Option<&str>, clear: bool) -> Output {
        let path = format!("{}:/usr/bin:/bin", self.dir.path().join("bin").display());
        let mut command = tool();
        command
            .env("PATH", path)
            .env("ARTHUR_SIM_FIXTURES", fixtures())
            .env("ARTHUR_SIM_STATE", self.dir.path().join("world.json"))
            .current_dir(self.dir.path())
            .args(args);
        if let Some(fault) = fault {
            command.env("ARTHUR_SIM_FAULT", fault);
        }
        if clear {
            command.env("ARTHUR_SIM_CLEAR", "1");
        }
        command.output().expect("the tool runs")
    }

    /// A complete restore: every step, the backups of the newest complete restore point.
    pub fn restore(&self, fault: Option<&str>) -> Output {
        let argv = Argv::arthur("run")
            .with(&["--yes", "--command-timeout", "2s"])
            .fast(&self.run_dir())
            .with(&[
                "--rds-instance",
                "arthur-restored-db",
                "--rds-like",
                "arthur-prod-db",
            ]);
        self.run(&argv.words(), fault, false)
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
pub fn summary(name: &str, line: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-summaries");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join(format!("{name}.txt")), format!("{line}\n"));
    eprintln!("{line}");
}

fn audit_conforms(transcript: &Path) -> Result<(), String> {
    let output = tool().arg("audit").arg(transcript).output().unwrap();
    if output.status.code() == Some(0) {
        Ok(())
    } else {
        Err(stdout(&output))
    }
}

/// The reference: an uninterrupted restore, its number of commands and its end state.
fn reference() -> (usize, Value) {
    let sim = Sim::new();
    let output = sim.restore(None);
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    assert!(
        sim.repeated_changes().is_empty(),
        "{:?}",
        sim.repeated_changes()
    );
    (sim.calls(), sim.end_state())
}

/// One crash: interrupt with `signal` while command `n` runs (after it took effect), let the
/// world move on, resume. `Err` says what went wrong.
fn crash_at(n: usize, signal: &str, expected: &Value) -> Result<(), String> {
    let sim = Sim::new();
    let first = sim.restore(Some(&format!("{n}:{signal}")));
    let code = first.status.code();
    let want = if signal == "kill" { None } else { Some(130) };
    if code != want {
        return Err(format!(
            "the interrupted run exited {code:?}\n{}",
            explain(&first)
        ));
    }
    let resumed = sim.resume(false);
    if resumed.status.code() != Some(0) {
        return Err(format!(
            "the resume exited {:?}\n{}",
            resumed.status.code(),
            explain(&resumed)
        ));
    }
    let end = sim.end_state();
    if &end != expected {
        return Err(format!("end state {end:#}\nexpected {expected:#}"));
    }
    let repeated = sim.repeated_changes();
    if !repeated.is_empty() {
        return Err(format!("repeated: {repeated:?}"));
    }
    audit_conforms(&sim.run_dir().join("transcript.log"))
}

#[test]
fn a_restore_interrupted_at_any_command_resumes_to_the_same_end() {
    let (commands, expected) = reference();
    let cases: Vec<(usize, &str)> = ["interrupt", "terminate", "kill"]
        .into_iter()
        .flat_map(|signal| (1..=commands).map(move |n| (n, signal)))
        .collect();
    let failures = std::sync::Mutex::new(Vec::new());
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some((n, signal)) = cases.get(i) else {
                        break;
                    };
                    if let Err(why) = crash_at(*n, signal, &expected) {
                        failures
                            .lock()
                            .unwrap()
                            .push(format!("command {n}, {signal}: {why}"));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    summary(
        "crash-points",
        &format!(
            "crash-point matrix: {} cases ({commands} commands x SIGINT, SIGTERM, SIGKILL), {} failed",
            cases.len(),
            failures.len()
        ),
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
