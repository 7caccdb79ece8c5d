//! One integration-test binary, a module per feature. `support` holds the harness: the release
//! or debug binary of the tool, and the replay program installed as the four CLIs.

mod audit;
mod backups;
mod change_control;
mod cli;
mod compat;
mod evidence;
mod kubectl_argv;
mod moto;
mod plan;
mod readme;
mod record;
mod recovery;
mod run;
mod screen;
mod side_by_side;
mod support;
mod trust;
mod verify;
