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
//!   `#> include: PATH`       (between commands) the entries of another session file
//!
//! Environment: ARTHUR_REPLAY_SESSION (the session file), ARTHUR_REPLAY_STATE (a folder where
//! the cursor and `calls.log`, one line per command received, are kept).

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
    let cursor_path = state.join("cursor");
    let cursor: usize = fs::read_to_string(&cursor_path)
        .ok()
        .and_then(|c| c.trim().parse().ok())
        .unwrap_or(0);
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
        && !matches(&current.line, &line)
        && matches(&next.line, &line)
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
    if !matches(&entry.line, &line) {
        log(&format!("UNEXPECTED {line}"));
        return Err(format!(
            "unexpected command `{line}`; the session {} expects `{}` (command {} of {})",
            session.display(),
            entry.line,
            cursor + 1,
            entries.len()
        ));
    }
    log(&line);
    let next = if entry.repeat { cursor } else { cursor + 1 };
    fs::write(&cursor_path, next.to_string()).map_err(|e| e.to_string())?;
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
