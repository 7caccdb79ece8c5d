//! `completions SHELL`: a completion script generated from the clap definition.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionShell};
use crate::error::{Result, exit};

pub fn completions(shell: CompletionShell) -> Result<i32> {
    let shell = match shell {
        CompletionShell::Bash => clap_complete::Shell::Bash,
        CompletionShell::Zsh => clap_complete::Shell::Zsh,
        CompletionShell::Fish => clap_complete::Shell::Fish,
    };
    let mut command = Cli::command();
    clap_complete::generate(
        shell,
        &mut command,
        "arthur-restore",
        &mut std::io::stdout(),
    );
    Ok(exit::SUCCESS)
}
