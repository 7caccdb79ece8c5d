//! arthur-restore: performs the vendor runbook "Restoring the Arthur Platform" by running
//! kubectl, velero, aws and curl as subprocesses, and writes a transcript in the runbook's style.
//! See ARCHITECTURE.md for the map of modules and the invariants.

pub mod app;
pub mod audit;
pub mod backups;
pub mod cli;
pub mod cmd;
pub mod discovery;
pub mod error;
pub mod executor;
pub mod facts;
pub mod live;
pub mod names;
pub mod options;
pub mod parse;
pub mod plan;
pub mod redact;
pub mod restore_point;
pub mod runbook;
pub mod runner;
pub mod steps;
pub mod tool;
pub mod transcript;
pub mod verify;

use clap::Parser;

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
    match app::run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("arthur-restore: error: {error}");
            error.exit_code()
        }
    }
}
