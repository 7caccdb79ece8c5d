//! What the build says of the binary: its release and the commit it was built from (build.rs),
//! and the name kubectl runs it by. A module of its own, as uv's `version.rs`, so that no module
//! reaches up into the crate root for them.

/// The release, as Cargo.toml says it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The commit the binary was built from (build.rs): `unknown` when built outside git.
pub const COMMIT: &str = env!("ARTHUR_RESTORE_COMMIT");
/// What `--version` prints after the program's name.
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("ARTHUR_RESTORE_COMMIT"),
    ")"
);

/// The file name kubectl looks for to run `kubectl arthur-restore` (a dash in a plugin's
/// command is an underscore in its file name).
pub const PLUGIN_PROGRAM: &str = "kubectl-arthur_restore";
