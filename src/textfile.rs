//! The node_exporter textfile format (the Prometheus text exposition format), as `backups
//! --textfile` and `run --textfile` write it: a gauge's header, a label's value, and the file
//! written atomically.

use std::fmt::Write as _;

/// A label value as the text format wants it: backslash, double quote and newline escaped.
pub fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The `# HELP` and `# TYPE` lines of a gauge.
pub fn metric(out: &mut String, name: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} gauge");
}

/// Writes the file atomically: a temporary file beside it, then a rename, so that node_exporter
/// never reads half of it.
pub fn write(path: &std::path::Path, text: &str) -> crate::error::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "metrics.prom".into());
    let temporary = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&temporary, text)
        .map_err(|e| crate::error::Error::io("cannot write", &temporary, e))?;
    std::fs::rename(&temporary, path).map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        crate::error::Error::io("cannot rename the metrics into", path, e)
    })
}

/// The file can be written where it is to go: its folder exists and takes a new file (checked
/// before the first command, so that a run does not end unable to say how it went).
pub fn check_writable(path: &std::path::Path) -> Result<(), String> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => std::path::Path::new("."),
    };
    let probe = folder.join(format!(
        ".arthur-restore-textfile-check.{}",
        std::process::id()
    ));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => Err(format!("{}: {e}", folder.display())),
    }
}
