//! Writes the man pages of arthur-restore and of each subcommand, generated from the clap
//! definition, into the directory given (`scripts/man` calls it).

use clap::CommandFactory;

fn main() -> std::io::Result<()> {
    let dir = std::env::args_os()
        .nth(1)
        .map_or_else(|| std::path::PathBuf::from("target/man"), Into::into);
    std::fs::create_dir_all(&dir)?;
    let command = arthur_restore::cli::Cli::command();
    clap_mangen::generate_to(command, &dir)?;
    for entry in std::fs::read_dir(&dir)? {
        println!("{}", entry?.path().display());
    }
    Ok(())
}
