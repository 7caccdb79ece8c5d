//! The doubles fail loudly on what they were not told about (SPEC section 7), so that a test
//! proves the exact command sequence. Having tests of its own also makes `cargo test` build the
//! doubles' programs, which the product's tests then find beside their own binary.

use std::process::Command;

#[test]
fn the_replay_refuses_a_command_its_session_does_not_hold() {
    let dir = std::env::temp_dir().join(format!("arthur-restore-doubles-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let session = dir.join("empty.session");
    std::fs::write(&session, "").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_arthur-restore-replay"))
        .arg0_kubectl()
        .args(["get", "pods"])
        .env("ARTHUR_REPLAY_SESSION", &session)
        .env("ARTHUR_REPLAY_STATE", &dir)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_ne!(output.status.code(), Some(0), "{output:?}");
    assert!(!output.stderr.is_empty(), "it says why: {output:?}");
}

/// The programs are installed under the CLIs' names; the name they are called by says which.
trait ArgZero {
    fn arg0_kubectl(&mut self) -> &mut Self;
}

impl ArgZero for Command {
    fn arg0_kubectl(&mut self) -> &mut Self {
        use std::os::unix::process::CommandExt;
        self.arg0("kubectl")
    }
}
