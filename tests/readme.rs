//! Issue 19, item 10: the README's commands that run against the demo's recorded sessions are run
//! here as written, so the README stays true. Each such block is marked in the README with
//! [`MARK`]; it runs in bash in a folder laid out as a checkout (the repository's `scripts` and
//! `fixtures`, this build's binaries as `target/release`). Only what differs from one run to the
//! next is put in: the demo's folder and the final hash, as the operator copies them from the
//! demo's output.

use std::path::Path;
use std::process::Command;

const MARK: &str = "<!-- checked: tests/readme.rs runs this block as written against the demo -->";
/// The README's example of the demo's folder and of a final hash.
const EXAMPLE_FOLDER: &str = "/tmp/arthur-restore-demo.Xy12Ab";
const EXAMPLE_HASH: &str = "3f5c…e21a";

/// The shell blocks that follow a mark.
fn marked_blocks(readme: &str) -> Vec<String> {
    readme
        .split(MARK)
        .skip(1)
        .map(|after| {
            let body = after
                .trim_start()
                .strip_prefix("```sh\n")
                .expect("a marked block is a ```sh block right after the mark");
            body[..body.find("\n```").expect("the block ends")].to_string()
        })
        .collect()
}

/// A folder laid out as a checkout after `cargo build --release`, with this test build.
fn checkout(root: &Path) -> std::path::PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    for folder in ["scripts", "fixtures"] {
        std::os::unix::fs::symlink(repo.join(folder), root.join(folder)).unwrap();
    }
    let bin = root.join("target/release");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(
        env!("CARGO_BIN_EXE_arthur-restore"),
        bin.join("arthur-restore"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        crate::support::double("arthur-restore-replay"),
        bin.join("arthur-restore-replay"),
    )
    .unwrap();
    bin
}

#[test]
fn the_readme_commands_work_against_the_demo() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let blocks = marked_blocks(&readme);
    assert!(
        blocks.len() >= 4,
        "the demo, its interruption, its next commands and the audit page are marked: {blocks:?}"
    );
    let root = tempfile::tempdir().unwrap();
    let bin = checkout(root.path());
    let temporary = root.path().join("tmp");
    std::fs::create_dir(&temporary).unwrap();
    let folder_of = regex::Regex::new(r"(/\S+/arthur-restore-demo\.\w+)/run").unwrap();
    let hash_of = regex::Regex::new(r"final hash [^\n]*: ([0-9a-f]{64})\n").unwrap();
    let (mut folder, mut hash) = (None::<String>, None::<String>);
    for block in blocks {
        let mut script = block.clone();
        for (example, learned) in [(EXAMPLE_FOLDER, &folder), (EXAMPLE_HASH, &hash)] {
            if script.contains(example) {
                let learned = learned
                    .as_ref()
                    .unwrap_or_else(|| panic!("{example} before the demo printed it:\n{block}"));
                script = script.replace(example, learned);
            }
        }
        let output = Command::new("bash")
            .args(["-euo", "pipefail", "-c", &script])
            .current_dir(root.path())
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", root.path())
            .env("TMPDIR", &temporary)
            .env("ARTHUR_RESTORE_BIN_DIR", &bin)
            .output()
            .expect("bash runs");
        let explained = crate::support::explain(&output);
        assert_eq!(output.status.code(), Some(0), "{block}\n{explained}");
        let shown = crate::support::stdout(&output);
        if folder.is_none() && !block.contains("--interrupt") {
            folder = folder_of.captures(&shown).map(|c| c[1].to_string());
            hash = hash_of.captures(&shown).map(|c| c[1].to_string());
        }
    }
    assert!(
        folder.is_some() && hash.is_some(),
        "the demo named its folder and hash"
    );
    let page = std::fs::read_to_string(root.path().join("report.html")).expect("report.html");
    assert!(
        page.contains(hash.as_deref().unwrap()),
        "the page shows the hash"
    );
}
