//! Records the commit the tool was built from, for `--version` and the run's first event.
//! A source tree without git (a tarball carried to an air-gapped host) says `unknown`, unless
//! ARTHUR_RESTORE_COMMIT names the commit.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=ARTHUR_RESTORE_COMMIT");
    for path in [".git/HEAD", ".git/refs/heads", ".git/packed-refs"] {
        if std::path::Path::new(path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    let commit = std::env::var("ARTHUR_RESTORE_COMMIT")
        .ok()
        .filter(|value| is_commit(value))
        .or_else(git_head)
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=ARTHUR_RESTORE_COMMIT={commit}");
}

fn git_head() -> Option<String> {
    let output = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let commit = String::from_utf8(output.stdout).ok()?.trim().to_string();
    is_commit(&commit).then_some(commit)
}

fn is_commit(value: &str) -> bool {
    (7..=40).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_hexdigit())
}
