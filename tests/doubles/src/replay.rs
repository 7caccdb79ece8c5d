//! The test double of SPEC section 7: one program installed as `kubectl`, `velero`, `aws` and
//! `curl` (by links named so) that answers from a recorded session and fails loudly on any
//! command it was not told about, so that a test proves the exact command sequence.
//!
//! A session is written in the transcript format: a `$ ` line is an expected command (as the
//! transcript shows it; `{any}` matches any run of non-space characters), the lines after it are
//! its standard output, `# exit status N` its exit status. `# ` and `## ` lines are comments.
//! Directives start with `#> `:
//!   `#> stderr: TEXT`        a line on standard error
//!   `#> stdout-file: PATH`   standard output from a file (relative to the session's folder)
//!   `#> stderr-file: PATH`   standard error from a file
//!   `#> background`          keep running after answering, until killed (a port-forward)
//!   `#> interrupt`           send SIGINT to the caller after answering (Ctrl-C during a wait)
//!   `#> terminate`           send SIGTERM to the caller after answering
//!   `#> repeat`              answer every matching call (polls until something changes); the
//!                            entry is passed over once a call matches the next entry instead
//!   `#> delay-ms: N`         answer after N milliseconds (reads side by side finishing in an
//!                            order of the session's choosing)
//!   `#> include: PATH`       (between commands) the entries of another session file
//!
//! Environment: ARTHUR_REPLAY_SESSION (the session file), ARTHUR_REPLAY_STATE (a folder where
//! the cursor and `calls.log`, one line per command received, are kept).
//!
//! Reads run side by side (`Runner::run_side_by_side`, at most `SIDE_BY_SIDE` at a time) reach
//! the replay in any order: a read may answer an entry up to `SIDE_BY_SIDE - 1` places after
//! the first one not yet answered, when every entry it passes over is a read too. A command
//! that changes something is answered only in its place. Calls are taken one at a time (a lock).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use arthur_restore::process::shell_quote;

#[derive(Debug, Clone)]
enum Chunk {
    Text(String),
    File(PathBuf),
}

#[derive(Debug, Default, Clone)]
struct Entry {
    line: String,
    /// Standard output: text of the session, and files read only when the entry answers (a
    /// long listing is streamed, not held by every call of the session).
    stdout: Vec<Chunk>,
    stderr: String,
    status: i32,
    background: bool,
    interrupt: bool,
    terminate: bool,
    repeat: bool,
    delay_ms: u64,
}

fn main() {
    let code = match run() {
        Ok(code) => code,
        Err(message) => {
            eprintln!("arthur-restore-replay: {message}");
            97
        }
    };
    std::process::exit(code);
}

fn run() -> Result<i32, String> {
    let mut args = std::env::args();
    let argv0 = args.next().unwrap_or_default();
    let program = Path::new(&argv0)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let line = std::iter::once(program.clone())
        .chain(args.map(|a| shell_quote(&a).into_owned()))
        .collect::<Vec<_>>()
        .join(" ");
    let session = PathBuf::from(env("ARTHUR_REPLAY_SESSION")?);
    let state = PathBuf::from(env("ARTHUR_REPLAY_STATE")?);
    let entries = load(&session)?;
    let chosen = take_entry(&entries, &session, &state, &line)?;
    let entry = &entries[chosen];
    delay(&line, entry.delay_ms);
    {
        let mut out = std::io::stdout().lock();
        for chunk in &entry.stdout {
            let written = match chunk {
                Chunk::Text(text) => out.write_all(text.as_bytes()),
                Chunk::File(path) => fs::File::open(path)
                    .and_then(|mut file| std::io::copy(&mut file, &mut out).map(|_| ())),
            };
            if let Err(e) = written {
                if e.kind() == std::io::ErrorKind::BrokenPipe {
                    break;
                }
                return Err(format!("cannot answer: {e}"));
            }
        }
        let _ = out.flush();
    }
    eprint!("{}", entry.stderr);
    for (wanted, signal) in [(entry.interrupt, "-INT"), (entry.terminate, "-TERM")] {
        if wanted {
            let parent = std::os::unix::process::parent_id();
            let _ = std::process::Command::new("kill")
                .args([signal, &parent.to_string()])
                .status();
        }
    }
    if entry.background {
        std::thread::sleep(std::time::Duration::from_secs(120));
    }
    Ok(entry.status)
}

/// The cursor (the first entry not yet answered) and the entries after it answered ahead.
fn load_cursor(path: &Path) -> (usize, Vec<usize>) {
    let text = fs::read_to_string(path).unwrap_or_default();
    let mut lines = text.lines();
    let cursor = lines
        .next()
        .and_then(|c| c.trim().parse().ok())
        .unwrap_or(0);
    let taken = lines
        .next()
        .unwrap_or("")
        .split_whitespace()
        .filter_map(|t| t.parse().ok())
        .collect();
    (cursor, taken)
}

/// The entry a read run side by side answers, out of its place: one of the next entries not
/// yet answered (at most `SIDE_BY_SIDE` from the cursor on), when it and every entry it passes
/// over are reads.
fn read_side_by_side(
    entries: &[Entry],
    cursor: usize,
    taken: &[usize],
    line: &str,
) -> Option<usize> {
    if !is_read(line) {
        return None;
    }
    let mut open = 0;
    for (index, entry) in entries.iter().enumerate().skip(cursor) {
        if taken.contains(&index) {
            continue;
        }
        if entry.repeat || !is_read(&entry.line) || open == arthur_restore::process::SIDE_BY_SIDE {
            return None;
        }
        if matches(&entry.line, line) {
            return Some(index);
        }
        open += 1;
    }
    None
}

/// Whether a command line only reads (as the runbook's reads are spelled).
fn is_read(line: &str) -> bool {
    let words: Vec<&str> = line.split(' ').collect();
    let word = |n: usize| words.get(n).copied().unwrap_or("");
    match word(0) {
        "kubectl" => {
            ["get", "describe", "version", "config", "logs"].contains(&word(1))
                || (word(1) == "kots" && ["get", "version"].contains(&word(2)))
                || (word(1) == "exec" && line.ends_with("clickhouse-backup list"))
        }
        "velero" => {
            word(1) == "version"
                || (["backup", "restore"].contains(&word(1))
                    && ["get", "describe", "logs"].contains(&word(2)))
        }
        "aws" => {
            line.contains(" describe-")
                || line.contains(" get-caller-identity")
                || line.contains(" s3 ls ")
                || word(1) == "--version"
        }
        "curl" => word(1) == "--version",
        _ => false,
    }
}

/// Takes the entry that answers `line` (one at a time, under the state's lock): the entry at
/// the cursor, or a read's entry ahead of it (reads run side by side); logs the call.
fn take_entry(
    entries: &[Entry],
    session: &Path,
    state: &Path,
    line: &str,
) -> Result<usize, String> {
    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(state.join("lock"))
        .map_err(|e| format!("cannot open the replay's lock: {e}"))?;
    lock.lock()
        .map_err(|e| format!("cannot take the replay's lock: {e}"))?;
    let cursor_path = state.join("cursor");
    let (cursor, mut taken) = load_cursor(&cursor_path);
    let log = |what: &str| {
        if let Ok(mut file) = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(state.join("calls.log"))
        {
            let _ = writeln!(file, "{what}");
        }
    };
    // A repeating entry answers until a call matches the entry after it.
    let mut cursor = cursor;
    if let (Some(current), Some(next)) = (entries.get(cursor), entries.get(cursor + 1))
        && current.repeat
        && !matches(&current.line, line)
        && matches(&next.line, line)
    {
        cursor += 1;
    }
    let Some(entry) = entries.get(cursor) else {
        log(&format!("UNEXPECTED {line}"));
        return Err(format!(
            "unexpected command `{line}`: the session {} has no more commands",
            session.display()
        ));
    };
    let chosen = if matches(&entry.line, line) {
        Some(cursor)
    } else {
        read_side_by_side(entries, cursor, &taken, line)
    };
    let Some(chosen) = chosen else {
        log(&format!("UNEXPECTED {line}"));
        return Err(format!(
            "unexpected command `{line}`; the session {} expects `{}` (command {} of {})",
            session.display(),
            entry.line,
            cursor + 1,
            entries.len()
        ));
    };
    log(line);
    let entry = &entries[chosen];
    let mut next = cursor;
    if chosen != cursor {
        taken.push(chosen);
    } else if !entry.repeat {
        next += 1;
        // Entries answered ahead of their place are passed over now.
        while let Some(at) = taken.iter().position(|t| *t == next) {
            taken.swap_remove(at);
            next += 1;
        }
    }
    let taken_text: Vec<String> = taken.iter().map(ToString::to_string).collect();
    fs::write(&cursor_path, format!("{next}\n{}\n", taken_text.join(" ")))
        .map_err(|e| e.to_string())?;
    drop(lock);
    Ok(chosen)
}

/// `ARTHUR_REPLAY_DELAY_MS`: every answer comes after this long (the round trip to an API
/// server), and `ARTHUR_REPLAY_SLOW_MS` for the slow listings (`clickhouse-backup list`, RDS
/// snapshots); `ARTHUR_REPLAY_JITTER_MS`: a random delay up to this long, so that reads run
/// side by side finish in any order; and the entry's own `#> delay-ms`. Taken after the lock is
/// let go: calls wait side by side.
fn delay(line: &str, session_ms: u64) {
    let millis = |name: &str| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let slow = line.ends_with("clickhouse-backup list") || line.contains(" describe-db-snapshots");
    let mut wait = if slow && millis("ARTHUR_REPLAY_SLOW_MS") > 0 {
        millis("ARTHUR_REPLAY_SLOW_MS")
    } else {
        millis("ARTHUR_REPLAY_DELAY_MS")
    };
    wait += session_ms;
    let jitter = millis("ARTHUR_REPLAY_JITTER_MS");
    if jitter > 0 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::from(d.subsec_nanos()));
        wait += (nanos ^ u64::from(std::process::id()).wrapping_mul(2_654_435_761)) % jitter;
    }
    if wait > 0 {
        std::thread::sleep(std::time::Duration::from_millis(wait));
    }
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

/// `{any}` in the expected line matches any run of non-space characters.
fn matches(expected: &str, actual: &str) -> bool {
    let pattern = expected
        .split("{any}")
        .map(regex::escape)
        .collect::<Vec<_>>()
        .join("[^ ]*");
    regex::Regex::new(&format!("^{pattern}$")).is_ok_and(|re| re.is_match(actual))
}

fn load(path: &Path) -> Result<Vec<Entry>, String> {
    let text =
        fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let folder = path.parent().unwrap_or(Path::new("."));
    let mut entries: Vec<Entry> = Vec::new();
    for raw in text.lines() {
        if let Some(command) = raw.strip_prefix("$ ") {
            entries.push(Entry {
                line: command.to_string(),
                ..Entry::default()
            });
            continue;
        }
        if let Some(directive) = raw.strip_prefix("#> ") {
            let (name, value) = directive
                .split_once(':')
                .map(|(n, v)| (n.trim(), v.trim()))
                .unwrap_or((directive.trim(), ""));
            if name == "include" {
                entries.extend(load(&folder.join(value))?);
                continue;
            }
            let entry = entries
                .last_mut()
                .ok_or_else(|| format!("{}: `#> {name}` before any command", path.display()))?;
            match name {
                "stderr" => {
                    entry.stderr.push_str(value);
                    entry.stderr.push('\n');
                }
                "stdout-file" => {
                    let file = folder.join(value);
                    if !file.is_file() {
                        return Err(format!("cannot read {value}: no such file"));
                    }
                    entry.stdout.push(Chunk::File(file));
                }
                "stderr-file" => entry.stderr.push_str(&read(folder, value)?),
                "background" => entry.background = true,
                "interrupt" => entry.interrupt = true,
                "repeat" => entry.repeat = true,
                "terminate" => entry.terminate = true,
                "delay-ms" => {
                    entry.delay_ms = value
                        .parse()
                        .map_err(|_| format!("{}: bad `#> delay-ms: {value}`", path.display()))?;
                }
                other => return Err(format!("{}: unknown directive `{other}`", path.display())),
            }
            continue;
        }
        if let Some(status) = raw.strip_prefix("# exit status ") {
            if let Some(entry) = entries.last_mut() {
                entry.status = status
                    .trim()
                    .parse()
                    .map_err(|_| format!("bad exit status `{raw}`"))?;
            }
            continue;
        }
        if raw.starts_with("# ") || raw == "#" || raw.starts_with("## ") {
            continue;
        }
        if let Some(entry) = entries.last_mut() {
            match entry.stdout.last_mut() {
                Some(Chunk::Text(text)) => {
                    text.push_str(raw);
                    text.push('\n');
                }
                _ => entry.stdout.push(Chunk::Text(format!("{raw}\n"))),
            }
        }
    }
    Ok(entries)
}

fn read(folder: &Path, name: &str) -> Result<String, String> {
    fs::read_to_string(folder.join(name)).map_err(|e| format!("cannot read {name}: {e}"))
}
