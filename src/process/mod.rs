//! Running programs: a command as a value (`Cmd`), the four CLIs (`Tool`), what a finished
//! command printed (`Output`), the runner (the only place a process is spawned) and the
//! interruption flag. This layer knows nothing of Arthur or the runbook.

mod cmd;
mod interrupt;
mod output;
mod runner;
mod tool;

pub use cmd::{Cmd, Effect, shell_quote};
pub use interrupt::Interrupt;
pub use output::{Output, RunOutput, command_failed, escape_controls, is_unsafe_char};
pub use runner::{BackgroundChild, DEFAULT_MAX_OUTPUT, Read, Runner, SIDE_BY_SIDE, format_size};
pub use tool::Tool;
