//! Ctrl-C and SIGTERM: a flag set by the signal handler, checked by the runner, every wait and
//! every prompt, which then end with `Error::Interrupted`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Result};

/// Shared by the handler and everything that must stop when it fires.
#[derive(Debug, Clone, Default)]
pub struct Interrupt(Arc<AtomicBool>);

impl Interrupt {
    /// A flag that nothing sets: `plan` and `backups` keep the default Ctrl-C behaviour (they
    /// change nothing, so dying at once loses nothing).
    pub fn never() -> Interrupt {
        Interrupt::default()
    }

    /// A flag set by Ctrl-C and SIGTERM, for the commands that must save state or stop children.
    /// A second signal does nothing more than the first: the first already asked every wait
    /// and child to stop.
    pub fn on_signals() -> Interrupt {
        let interrupt = Interrupt::default();
        let flag = interrupt.0.clone();
        let _ = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst));
        interrupt
    }

    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Sets the flag (tests, and a prompt whose terminal went away).
    pub fn set(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// `Err(Interrupted)` once the flag is set.
    pub fn check(&self) -> Result<()> {
        if self.is_set() {
            Err(Error::interrupted())
        } else {
            Ok(())
        }
    }

    /// Sleeps in small slices so that an interruption is answered at once.
    pub fn sleep(&self, duration: std::time::Duration) -> Result<()> {
        let until = std::time::Instant::now() + duration;
        loop {
            self.check()?;
            let left = until.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(20).min(left));
        }
    }
}
