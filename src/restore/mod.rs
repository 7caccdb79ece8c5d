//! The engine shared by `plan` and `run`: the sequence of a restore (identity, the choice of
//! backups, the preflight, then every selected step), run against an `Executor` that decides
//! what running means. No command-line types here: the engine takes `RestoreOptions`.

pub mod ahead;
pub mod discovery;
pub mod executor;
pub mod inventory;
pub mod live;
pub mod operator;
pub mod read_only;
pub mod steps;

use crate::error::Result;
use crate::model::{Facts, RestoreOptions};
use executor::Executor;
use steps::Context;

pub use live::LiveExecutor;
pub use read_only::ReadOnlyExecutor;

/// How a restore begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    Plan {
        offline: bool,
    },
    Run,
    Resume {
        /// Options were corrected on the resume: the names are checked against discovery again.
        corrected: bool,
        /// `--allow-unknown-cluster`: go on when the cluster's identity cannot be read.
        allow_unknown_cluster: bool,
    },
}

impl Start {
    fn resuming(self) -> bool {
        matches!(self, Start::Resume { .. })
    }
}

/// The whole sequence of a plan or a run: identity, the choice of backups (not on resume, whose
/// names are fixed, nor offline), the preflight, then every selected step.
pub fn restore(
    options: &mut RestoreOptions,
    exec: &mut dyn Executor,
    facts: &mut Facts,
    start: Start,
) -> Result<()> {
    let resuming = start.resuming();
    let mut cx = Context::new(options, exec, facts, resuming);
    cx.allow_unknown_cluster = matches!(
        start,
        Start::Resume {
            allow_unknown_cluster: true,
            ..
        }
    );
    steps::identify(&mut cx)?;
    // A resumed run keeps the names it chose; one interrupted before it chose them chooses now
    // (nothing was changed before the choice).
    let choose = match start {
        Start::Run | Start::Plan { offline: false } => true,
        Start::Resume { corrected, .. } => corrected || discovery::lacks_names(cx.options),
        Start::Plan { offline: true } => false,
    };
    if choose {
        discovery::resolve(cx.options, cx.exec)?;
        cx.exec.checkpoint(cx.options, cx.facts)?;
    }
    perform_all(&mut cx)
}

/// Preflight, then every selected step, in order. A step this run completed before an
/// interruption is not performed again.
fn perform_all(cx: &mut Context<'_>) -> Result<()> {
    steps::preflight(cx)?;
    let shown = steps::approval::restore_point_lines(cx);
    steps::approval::require(cx, "restore-point", shown)?;
    for step in cx.options.steps.clone() {
        if cx.facts.is_complete(step) {
            cx.exec.section(step.title())?;
            cx.note_completed(step)?;
            continue;
        }
        if !cx.facts.started_steps.contains(&step) {
            cx.facts.started_steps.push(step);
            cx.checkpoint()?;
        }
        steps::perform(step, cx)?;
        cx.exec.complete_step(step, cx.options, cx.facts)?;
    }
    Ok(())
}
