//! What a run is: its parameters (`RestoreOptions`) and what it has learnt (`Facts`). Plain data,
//! shared by the engine that uses it (`restore`) and the record that keeps it (`record`'s
//! state.json), so that neither depends on the other for it.

pub mod facts;
pub mod options;
pub mod resume;

pub use facts::{Facts, MessagingDeletions};
pub use options::{BackupNames, RdsOptions, RestoreOptions, Timing};
