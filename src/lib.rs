//! arthur-restore: performs the vendor runbook "Restoring the Arthur Platform" by running
//! kubectl, velero, aws and curl as subprocesses, and writes a transcript in the runbook's style.
//! See ARCHITECTURE.md for the map of modules and the invariants.

// The layers, lowest first; each imports only from those above it in this list.
pub mod audit;
pub mod cli;
pub mod commands;
pub mod error;
pub mod freshness;
pub mod health;
pub mod measures;
pub mod model;
pub mod names;
pub mod parse;
pub mod process;
pub mod record;
pub mod restore;
pub mod restore_point;
pub mod runbook;
pub mod terminal;
pub mod textfile;
pub mod units;
pub mod version;

pub use version::{COMMIT, LONG_VERSION, PLUGIN_PROGRAM, VERSION};

/// Parses the command line, runs the command, prints any error, and returns the exit status.
pub fn main_with_args<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    use clap::{CommandFactory, FromArgMatches};
    let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    let mut command = cli::Cli::command();
    // Installed as a kubectl plugin, the tool is `kubectl arthur-restore`: its usage says so.
    if args
        .first()
        .and_then(|program| std::path::Path::new(program).file_name())
        .is_some_and(|name| name == PLUGIN_PROGRAM)
    {
        command = command.bin_name("kubectl arthur-restore");
    }
    let command = with_globals_once(command);
    let parsed = command
        .clone()
        .try_get_matches_from(args)
        .and_then(|matches| cli::Cli::from_arg_matches(&matches));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            if let Some(tip) = nearest_name(&error, &command) {
                record::redact::err(&format!("\n  tip: did you mean `{tip}`?\n"));
            }
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
    terminal::init_colour(cli.global.colour());
    match commands::run(cli) {
        Ok(code) => code,
        // Told on the screen already (a run's ending): only the exit status is left.
        Err(error::Error::Told { code }) => code,
        Err(error) => {
            record::redact::err(&format!(
                "arthur-restore: {} {error}\n",
                terminal::screen::error("error:")
            ));
            error.exit_code()
        }
    }
}

/// The global options are described once, in `arthur-restore --help`: clap copies them into
/// every subcommand when it builds the command, and there they are hidden from the help (still
/// accepted) and a pointer stands in their place, as `kubectl options` does.
fn with_globals_once(mut command: clap::Command) -> clap::Command {
    command.build();
    let globals: Vec<String> = command
        .get_arguments()
        .filter(|arg| arg.is_global_set())
        .filter_map(|arg| match (arg.get_short(), arg.get_long()) {
            (Some(short), _) => Some(format!("-{short}")),
            (None, Some(long)) => Some(format!("--{long}")),
            (None, None) => None,
        })
        .collect();
    let program = command
        .get_bin_name()
        .unwrap_or(command.get_name())
        .to_string();
    let pointer = format!(
        "Global options, accepted here too ({}): see `{program} --help`.",
        globals.join(", ")
    );
    let names: Vec<String> = command
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    for name in names {
        command = command.mut_subcommand(name, |sub| {
            let after = match sub.get_after_help() {
                Some(examples) => format!("{examples}\n\n{pointer}"),
                None => pointer.clone(),
            };
            sub.mut_args(|arg| {
                if arg.is_global_set() {
                    arg.hide(true)
                } else {
                    arg
                }
            })
            .after_help(after)
        });
    }
    command
}

/// For a mistyped subcommand or flag that clap finds nothing near (`rnu`, `--yse`): the name of
/// the command line nearest to it, a letter or two away (transpositions count as one).
fn nearest_name(error: &clap::Error, command: &clap::Command) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if error.get(ContextKind::SuggestedSubcommand).is_some()
        || error.get(ContextKind::SuggestedArg).is_some()
    {
        return None;
    }
    let (typed, candidates): (String, Vec<String>) = match error.kind() {
        ErrorKind::InvalidSubcommand => {
            let Some(ContextValue::String(typed)) = error.get(ContextKind::InvalidSubcommand)
            else {
                return None;
            };
            let names = command
                .get_subcommands()
                .map(|c| c.get_name().to_string())
                .collect();
            (typed.clone(), names)
        }
        ErrorKind::UnknownArgument => {
            let Some(ContextValue::String(typed)) = error.get(ContextKind::InvalidArg) else {
                return None;
            };
            let typed = typed.split('=').next().unwrap_or(typed).to_string();
            let mut names: Vec<String> = command
                .get_arguments()
                .chain(
                    command
                        .get_subcommands()
                        .flat_map(clap::Command::get_arguments),
                )
                .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
                .collect();
            names.sort();
            names.dedup();
            (typed, names)
        }
        _ => return None,
    };
    candidates
        .into_iter()
        .map(|name| (strsim::damerau_levenshtein(&typed, &name), name))
        .filter(|(distance, name)| *distance <= 2 && *distance * 2 <= name.len())
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| name)
}
