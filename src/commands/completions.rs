//! `completions SHELL`: a completion script generated from the clap definition.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionShell};
use crate::error::{Result, exit};

pub fn completions(shell: CompletionShell) -> Result<i32> {
    super::print(&script(shell))?;
    Ok(exit::SUCCESS)
}

/// The script for one shell.
pub fn script(shell: CompletionShell) -> String {
    let generator = match shell {
        CompletionShell::Bash => clap_complete::Shell::Bash,
        CompletionShell::Zsh => clap_complete::Shell::Zsh,
        CompletionShell::Fish => clap_complete::Shell::Fish,
    };
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(generator, &mut command, "arthur-restore", &mut script);
    let script = String::from_utf8_lossy(&script).into_owned();
    match shell {
        CompletionShell::Bash => mend_bash(&script),
        CompletionShell::Zsh | CompletionShell::Fish => script,
    }
}

/// clap_complete's bash generator spells a hyphenated program's subcommand states two ways: the
/// loop that walks the words sets `arthur__restore__subcmd__run`, the `case` that completes
/// them expects `arthur__subcmd__restore__subcmd__run`, so nothing after the subcommand was
/// ever offered. The states are made to agree.
fn mend_bash(script: &str) -> String {
    script.replace("arthur__subcmd__restore", "arthur__restore")
}
