//! Property tests of the readers of the tool's own files (the transcript as `audit` reads and
//! walks it, events.jsonl, state.json, the redaction of any text): the damaged samples of the
//! parsers' property test, fed to each; none may panic. The count goes to
//! target/test-summaries/readers.txt.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::parse::properties::{Random, mutations, samples, write_summary};

type Reader = fn(&str);

/// The readers of the tool's own files.
fn readers() -> Vec<(&'static str, Reader)> {
    vec![
        ("audit's log reader and rules", |t| super::read_for_test(t)),
        ("events", |t| {
            let _ = crate::record::events::read(t);
            let _ = crate::record::events::verify_chain(t);
        }),
        ("state.json", |t| {
            let _ = serde_json::from_str::<crate::record::RunState>(t);
        }),
        ("redaction", |t| {
            let _ = crate::record::redact::redact(t);
        }),
    ]
}

#[test]
fn damaged_input_never_panics_a_reader() {
    let readers = readers();
    let mut random = Random(0x2545_F491_4F6C_DD1D);
    let mut cases = 0usize;
    let mut failures: Vec<String> = Vec::new();
    for sample in samples() {
        for (damage, text) in mutations(&sample, &mut random) {
            for (name, read) in &readers {
                cases += 1;
                if catch_unwind(AssertUnwindSafe(|| read(&text))).is_err() {
                    failures.push(format!("{name} panicked on a sample {damage}"));
                }
            }
        }
    }
    let summary = format!(
        "reader property test: {cases} cases ({} readers of transcripts, events and states on damaged samples), {} failed",
        readers.len(),
        failures.len()
    );
    write_summary("readers.txt", &summary);
    assert!(failures.is_empty(), "{summary}\n{}", failures.join("\n"));
}
