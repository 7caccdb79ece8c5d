//! A resume's options (SPEC section 3): `--resume` takes every parameter from the run's record;
//! an option given again must agree, except one whose step has not begun, which is corrected
//! (and the correction recorded). Pure: the command line's values come in as `Given`.

use super::{Facts, RestoreOptions};
use crate::error::{Error, Result};
use crate::runbook::StepId;

/// Puts a corrected value into the options.
pub type Apply = fn(&mut RestoreOptions, String);

/// An option given again on resume, and what the run recorded.
pub struct Given {
    pub flag: &'static str,
    pub given: Option<String>,
    pub recorded: Option<String>,
    /// The step whose beginning fixes the value; `None`: never corrected (the cluster, the
    /// account, the namespaces).
    pub step: Option<StepId>,
    pub apply: Apply,
}

/// `--resume` takes every parameter from state.json. An option given again must agree, except
/// one whose step has not begun: it is corrected (the RDS instance also names the database the
/// `platform` step checks, so it is fixed once either has begun). Disagreements are a usage error.
/// `fixed` are disagreements found elsewhere (the steps chosen, the Velero namespace).
pub fn reconcile(
    given: Vec<Given>,
    fixed: Vec<String>,
    options: &mut RestoreOptions,
    facts: &Facts,
) -> Result<Vec<String>> {
    let begun = |step: StepId| {
        facts.started_steps.contains(&step)
            || facts.completed_steps.contains(&step)
            || (step == StepId::Rds && facts.started_steps.contains(&StepId::Platform))
    };
    let mut disagreements: Vec<String> = Vec::new();
    let mut corrections: Vec<String> = Vec::new();
    let mut applies = Vec::new();
    for option in given {
        let Some(given) = option.given else {
            continue;
        };
        if option.recorded.as_deref() == Some(given.as_str()) {
            continue;
        }
        let was = option.recorded.unwrap_or_else(|| "(none)".into());
        match option.step {
            Some(step) if !begun(step) => {
                corrections.push(format!("{} {was} -> {given}", option.flag));
                applies.push((option.apply, given));
            }
            Some(step) => disagreements.push(format!(
                "{} {given} (the run has {was}, and its `{step}` step has begun)",
                option.flag
            )),
            None => disagreements.push(format!("{} {given} (the run has {was})", option.flag)),
        }
    }
    disagreements.extend(fixed);
    if !disagreements.is_empty() {
        return Err(Error::usage(format!(
            "--resume takes the run's parameters from state.json, and these disagree: {}. Leave them out (only the options of steps not yet begun may be corrected)",
            disagreements.join("; ")
        )));
    }
    for (apply, value) in applies {
        apply(options, value);
    }
    options.check_rds()?;
    Ok(corrections)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    enum Outcome {
        Agree,
        Corrected,
        Refused,
    }

    /// The options of a recorded run (release 0.1.0's, read by today's types).
    fn recorded_options() -> RestoreOptions {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/runs/v0.1.0-complete/state.json");
        let state: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        serde_json::from_value(state["options"].clone()).unwrap()
    }

    fn set_snapshot(options: &mut RestoreOptions, value: String) {
        options.rds.snapshot = crate::names::SnapshotId::new(&value).ok();
    }

    /// The value recorded, the value given, the step that fixes it, whether it began, the outcome.
    type Row = (
        Option<&'static str>,
        Option<&'static str>,
        Option<StepId>,
        bool,
        Outcome,
    );

    /// Each row: the value recorded, the value given again, the step that fixes it (none: never
    /// corrected), whether that step has begun; and what the resume does.
    #[test]
    fn recorded_options_against_given_flags() {
        use Outcome::*;
        let rows: &[Row] = &[
            (Some("snap-a"), None, Some(StepId::Rds), false, Agree),
            (
                Some("snap-a"),
                Some("snap-a"),
                Some(StepId::Rds),
                true,
                Agree,
            ),
            (
                Some("snap-a"),
                Some("snap-b"),
                Some(StepId::Rds),
                false,
                Corrected,
            ),
            (None, Some("snap-b"), Some(StepId::Rds), false, Corrected),
            (
                Some("snap-a"),
                Some("snap-b"),
                Some(StepId::Rds),
                true,
                Refused,
            ),
            (Some("arthur"), Some("arthur-prod"), None, false, Refused),
            (Some("arthur"), Some("arthur"), None, false, Agree),
        ];
        for (recorded, given, step, begun, expected) in rows {
            let mut facts = Facts::default();
            if *begun {
                facts.started_steps.push(step.unwrap_or(StepId::Rds));
            }
            let mut options = recorded_options();
            let row = Given {
                flag: "--rds-snapshot",
                given: given.map(String::from),
                recorded: recorded.map(String::from),
                step: *step,
                apply: set_snapshot,
            };
            let outcome = match reconcile(vec![row], Vec::new(), &mut options, &facts) {
                Ok(corrections) if corrections.is_empty() => Agree,
                Ok(corrections) => {
                    assert!(corrections[0].contains(" -> "), "{corrections:?}");
                    assert_eq!(
                        options
                            .rds
                            .snapshot
                            .as_ref()
                            .map(ToString::to_string)
                            .as_deref(),
                        *given
                    );
                    Corrected
                }
                Err(error) => {
                    assert_eq!(error.exit_code(), 2, "{error}");
                    Refused
                }
            };
            assert_eq!(
                outcome, *expected,
                "{recorded:?} then {given:?}, step {step:?} begun {begun}"
            );
        }
    }

    /// The platform step checks the database the RDS instance names: once it has begun, the
    /// RDS options are fixed too.
    #[test]
    fn the_rds_options_are_fixed_once_the_platform_step_began() {
        let mut facts = Facts::default();
        facts.started_steps.push(StepId::Platform);
        let row = Given {
            flag: "--rds-snapshot",
            given: Some("snap-b".into()),
            recorded: Some("snap-a".into()),
            step: Some(StepId::Rds),
            apply: set_snapshot,
        };
        let refused = reconcile(vec![row], Vec::new(), &mut recorded_options(), &facts);
        assert!(refused.is_err());
        let fixed = reconcile(
            Vec::new(),
            vec!["--only/--skip/--from select other steps than the run's".into()],
            &mut recorded_options(),
            &Facts::default(),
        );
        assert!(
            fixed
                .unwrap_err()
                .to_string()
                .contains("--only/--skip/--from")
        );
    }
}
