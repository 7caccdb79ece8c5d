//! arthur-restore: performs the vendor runbook "Restoring the Arthur Platform" by running
//! kubectl, velero, aws and curl as subprocesses, and writes a transcript in the runbook's style.
//! See ARCHITECTURE.md for the map of modules and the invariants.

// The layers, lowest first; each imports only from those above it in this list.
pub mod audit;
pub mod cli;
pub mod commands;
pub mod error;
pub mod health;
pub mod model;
pub mod names;
pub mod parse;
pub mod process;
pub mod record;
pub mod restore;
pub mod restore_point;
pub mod runbook;

use clap::Parser;

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

/// Parses the command line, runs the command, prints any error, and returns the exit status.
pub fn main_with_args<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return match error.kind() {
                clap::error::ErrorKind::DisplayHelp
                | clap::error::ErrorKind::DisplayVersion
                | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    if error.kind()
                        == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
                    {
                        error::exit::USAGE
                    } else {
                        error::exit::SUCCESS
                    }
                }
                _ => error::exit::USAGE,
            };
        }
    };
    match commands::run(cli) {
        Ok(code) => code,
        Err(error) => {
            record::redact::err(&format!("arthur-restore: error: {error}\n"));
            error.exit_code()
        }
    }
}
