//! One thin file per subcommand: settings -> engine -> render -> exit status.

mod approve;
mod audit;
mod backups;
mod completions;
mod plan;
mod run;
mod steps;
mod verify;

use crate::cli::{Cli, Command};
use crate::error::{Error, Result};

/// Runs the command and returns the exit status.
pub fn run(cli: Cli) -> Result<i32> {
    match &cli.command {
        Command::Plan(args) => plan::plan(&cli.global, args),
        Command::Run(args) => run::run(&cli.global, args),
        Command::Steps => steps::steps(cli.global.output),
        Command::Completions { shell } => completions::completions(*shell),
        Command::Backups(args) => backups::backups(&cli.global, args),
        Command::Verify(args) => verify::verify(&cli.global, args),
        Command::Audit(args) => audit::audit(cli.global.output, args),
        Command::Approve(args) => approve::approve(args),
    }
}

/// Writes the whole text to standard output, without secrets.
fn print(text: &str) -> Result<()> {
    crate::record::redact::out(text).map_err(|e| Error::io("cannot write to", "standard output", e))
}

/// Pretty JSON and a newline.
fn print_json(value: &impl serde::Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| {
        Error::io(
            "cannot serialize the answer for",
            "standard output",
            std::io::Error::other(e),
        )
    })?;
    print(&format!("{text}\n"))
}
