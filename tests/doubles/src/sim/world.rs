//! The simulated world and its clock: what exists, kept in a JSON file under a lock, and the
//! answer a command gets.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub(crate) const UID: &str = "5b2c6a0e-8f3d-4c1b-9a7e-2d4f6b8c0e13";

pub(crate) const NS: &str = "arthur";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Pvc {
    pub(crate) name: String,
    pub(crate) volume: String,
    pub(crate) terminating: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Pv {
    pub(crate) name: String,
    pub(crate) claim: String,
    pub(crate) policy: String,
    pub(crate) status: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Restore {
    pub(crate) name: String,
    pub(crate) backup: String,
    pub(crate) phase: String,
    pub(crate) polls_left: u32,
    pub(crate) created: String,
    pub(crate) stuck: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Job {
    pub(crate) backup_name: String,
    pub(crate) polls_left: u32,
    pub(crate) created: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Instance {
    pub(crate) snapshot: String,
    pub(crate) status: String,
    pub(crate) polls_left: u32,
    pub(crate) created: String,
}

/// One command received.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Call {
    pub(crate) n: u64,
    pub(crate) argv: Vec<String>,
    /// The object a change was made to (`sts/messaging`, `restore-of/BACKUP`), if any.
    pub(crate) changed: Option<String>,
    /// A change asked of an object that was not there (a delete of something gone).
    pub(crate) missing: bool,
    /// The process that answered (to check that none outlives the tool).
    #[serde(default)]
    pub(crate) pid: u32,
    /// This call received the planned fault.
    #[serde(default)]
    pub(crate) faulted: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct World {
    pub(crate) statefulsets: Vec<String>,
    pub(crate) pvcs: Vec<Pvc>,
    pub(crate) pvs: Vec<Pv>,
    pub(crate) restores: Vec<Restore>,
    pub(crate) jobs: BTreeMap<String, Job>,
    pub(crate) instances: BTreeMap<String, Instance>,
    pub(crate) recovered: u32,
    pub(crate) calls: Vec<Call>,
    pub(crate) restore_sequence: u64,
    /// The secrets planted in outputs (`ARTHUR_SIM_SECRETS`), for the test to look for.
    #[serde(default)]
    pub(crate) planted: Vec<String>,
}

pub(crate) fn messaging_claims() -> Vec<String> {
    let mut claims: Vec<String> = (0..3).map(|i| format!("datadir-0-messaging-{i}")).collect();
    claims.extend((0..3).map(|i| format!("datadir-messaging-cp-zookeeper-{i}")));
    claims
}

impl World {
    pub(crate) fn new() -> World {
        let mut world = World {
            statefulsets: [
                "cache-master",
                "chi-olap-installation-arthur-0-0",
                "database-primary",
            ]
            .map(String::from)
            .to_vec(),
            pvcs: Vec::new(),
            pvs: Vec::new(),
            restores: Vec::new(),
            jobs: BTreeMap::new(),
            instances: BTreeMap::new(),
            recovered: 0,
            calls: Vec::new(),
            restore_sequence: 0,
            planted: Vec::new(),
        };
        world.add_claim(
            "data-volume-template-chi-olap-installation-arthur-0-0-0",
            "0",
        );
        world.restore_messaging("0");
        // A volume under a name a real API server would refuse, bound to a messaging claim:
        // the tool must not depend on the server to keep such names out of its argv.
        if let Ok(name) = std::env::var("ARTHUR_SIM_EXTRA_PV") {
            world.pvs.push(Pv {
                name,
                claim: format!("{NS}/datadir-0-messaging-0"),
                policy: "Delete".into(),
                status: "Bound".into(),
            });
        }
        // Another namespace's messaging volume: never to be touched.
        world.pvs.push(Pv {
            name: "pvc-staging-messaging-0".into(),
            claim: "arthur-staging/datadir-0-messaging-0".into(),
            policy: "Delete".into(),
            status: "Bound".into(),
        });
        world
    }

    pub(crate) fn add_claim(&mut self, claim: &str, generation: &str) {
        let volume = format!("pvc-{generation}-{claim}");
        self.pvcs.push(Pvc {
            name: claim.into(),
            volume: volume.clone(),
            terminating: false,
        });
        self.pvs.push(Pv {
            name: volume,
            claim: format!("{NS}/{claim}"),
            policy: "Delete".into(),
            status: "Bound".into(),
        });
    }

    /// What the messaging backup holds: the two StatefulSets and their volumes.
    pub(crate) fn restore_messaging(&mut self, generation: &str) {
        for sts in ["messaging", "messaging-cp-zookeeper"] {
            if !self.statefulsets.iter().any(|s| s == sts) {
                self.statefulsets.push(sts.into());
            }
        }
        for claim in messaging_claims() {
            if !self.pvcs.iter().any(|p| p.name == claim) {
                self.add_claim(&claim, generation);
            }
        }
    }
}

pub(crate) struct Answer {
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    pub(crate) status: i32,
    pub(crate) changed: Option<String>,
    pub(crate) missing: bool,
}

impl Answer {
    pub(crate) fn out(text: impl Into<String>) -> Answer {
        Answer {
            stdout: text.into(),
            stderr: String::new(),
            status: 0,
            changed: None,
            missing: false,
        }
    }

    pub(crate) fn err(text: impl Into<String>, status: i32) -> Answer {
        Answer {
            stdout: String::new(),
            stderr: text.into(),
            status,
            changed: None,
            missing: false,
        }
    }

    pub(crate) fn changed(mut self, object: impl Into<String>) -> Answer {
        self.changed = Some(object.into());
        self
    }
}

pub(crate) fn fixture(name: &str) -> String {
    let dir = std::env::var_os("ARTHUR_SIM_FIXTURES").expect("ARTHUR_SIM_FIXTURES is set");
    let path = Path::new(&dir).join(name);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub(crate) fn now() -> String {
    jiff::Timestamp::now().to_string()
}

/// The words after the program name, without the connection flags (they vary by host).
pub(crate) fn words(args: &[String]) -> Vec<String> {
    let mut kept = Vec::new();
    let mut skip = false;
    for arg in args {
        if skip {
            skip = false;
        } else if [
            "--kubeconfig",
            "--context",
            "--kubecontext",
            "--profile",
            "--region",
            "--endpoint-url",
        ]
        .contains(&arg.as_str())
        {
            skip = true;
        } else {
            kept.push(arg.clone());
        }
    }
    kept
}

pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.len());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<width$}", width = widths[i]))
            .collect();
        format!("{}\n", padded.join("   ").trim_end())
    };
    let mut text = line(header.iter().map(|h| h.to_string()).collect());
    for row in rows {
        text.push_str(&line(row.clone()));
    }
    text
}

/// The world, read under an exclusive lock (a port-forward and the call beside it run at once).
/// The lock is a file of its own: the world itself is replaced whole (`save_state`), so that a
/// process killed while writing leaves the world as it was.
pub(crate) fn open_state() -> (File, World) {
    let path =
        PathBuf::from(std::env::var_os("ARTHUR_SIM_STATE").expect("ARTHUR_SIM_STATE is set"));
    let lock = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path.with_extension("lock"))
        .expect("the lock file opens");
    lock.lock().expect("the state locks");
    let text = fs::read_to_string(&path).unwrap_or_default();
    let world = if text.trim().is_empty() {
        World::new()
    } else {
        serde_json::from_str(&text).expect("the state is JSON")
    };
    (lock, world)
}

pub(crate) fn save_state(_lock: &mut File, world: &World) {
    let path =
        PathBuf::from(std::env::var_os("ARTHUR_SIM_STATE").expect("ARTHUR_SIM_STATE is set"));
    let temporary = path.with_extension(format!("tmp{}", std::process::id()));
    // Compact: every call of every run reads and writes it.
    let text = serde_json::to_string(world).expect("JSON");
    fs::write(&temporary, text).expect("the state file writes");
    fs::rename(&temporary, &path).expect("the state file is replaced");
}

pub(crate) fn clear_blocking(world: &mut World) {
    for restore in &mut world.restores {
        restore.stuck = false;
    }
    let held: Vec<String> = world
        .pvcs
        .iter()
        .filter(|p| p.terminating)
        .map(|p| p.name.clone())
        .collect();
    for name in held {
        let volume = world
            .pvcs
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.volume.clone())
            .unwrap_or_default();
        world.pvcs.retain(|p| p.name != name);
        for pv in world.pvs.iter_mut().filter(|p| p.name == volume) {
            pv.status = "Released".into();
        }
    }
}
