//! Keeps secrets out of everything the tool writes (SPEC section 4, section 5 rule 10). The
//! places text leaves the process call this module, not their callers: the screen (`out`, `err`),
//! transcript.log, events.jsonl and state.json (each string value, before JSON escapes it).
//!
//! What is a secret: the value of a key that names one (`password`, `secret`, `token`, `api_key`,
//! `private_key`, `credential`, …) at any depth, inline, in a nested block (`password:` then
//! `value: …`), in a YAML block scalar (`key: |` and the lines under it) or in a flow mapping
//! (`password: {value: '…'}`); every `valuePlaintext`; PEM blocks (keys and certificates); AWS
//! access key ids, secret keys and session tokens; bearer and basic credentials. A line
//! commented by the transcript (`# `) is read as what it comments.

use std::io::Write;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, Ordering};

use regex::Regex;

pub const REDACTED: &str = "<redacted>";

/// The words that make a key's value secret.
const SECRET_WORDS: &str = r"password|passwd|passphrase|pwd|secret|token|api_?key|apikey|private_?key|_key|credential|_pass|pass_|_pw";

static AWS_KEY_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b").expect("valid"));
static INLINE_SECRET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r#"(?i)("?[A-Za-z0-9_.-]*(?:{SECRET_WORDS})[A-Za-z0-9_.-]*"?\s*[:=]\s*)("[^"]*"?|'[^']*'?|\{{[^}}]*\}}?|[^\s,}}{{]+)"#
    ))
    .expect("valid")
});
static PLAINTEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)("?valuePlaintext"?\s*:\s*)("[^"]*"|'[^']*'|[^\s,}{]+)"#).expect("valid")
});
static FLOW_VALUE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(:\s*)("[^"]*"?|'[^']*'?|[^\s,}{]+)"#).expect("valid"));
/// The password of a URL's userinfo: `postgres://arthur:PW@host`, `redis://:PW@host`.
static URL_USERINFO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@]*:)([^\s@/]+)@").expect("valid")
});
/// Headers that carry a credential whole: `Cookie:`, `Set-Cookie:`, `X-Api-Key:`, `X-Auth-Token:`.
static CREDENTIAL_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b((?:set-)?cookie|x-api-key|x-auth-token|proxy-authorization)(\s*:\s*)\S.*")
        .expect("valid")
});
/// Tokens recognisable by their own form: GitHub's (`ghp_…`, `github_pat_…`) and Slack's (`xoxb-…`).
static SHAPED_TOKEN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{16,}|xox[abposr]-[A-Za-z0-9-]{8,})")
        .expect("valid")
});
/// The name of an environment variable in a list (`- name: POSTGRES_PASSWORD`): the `value:`
/// that follows it is its value.
static ENV_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s*(?:-\s+)?"?name"?\s*:\s*["']?([A-Za-z0-9_.-]+)["']?\s*,?\s*$"#)
        .expect("valid")
});
/// The same in JSON, on one line: `{"name":"POSTGRES_PASSWORD","value":"X"}`.
static ENV_PAIR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)("name"\s*:\s*"[^"]*(?:password|passwd|passphrase|secret|token|api_?key|_key|credential|_pass|_pw)[^"]*"\s*,\s*"value"\s*:\s*)"(?:[^"\\]|\\.)*""#)
        .expect("valid")
});
/// A line that is a key of its own (`key: …`), not a bare value.
static KEYED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s*(?:-\s+)?["']?[A-Za-z0-9_.-]+["']?\s*:(?:\s|$)"#).expect("valid")
});
static CREDENTIALS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b((?:bearer|basic)\s+)[A-Za-z0-9._~+/=-]+").expect("valid"));
static PEM_INLINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(-----BEGIN [A-Z0-9 ]+-----).*?(-----END [A-Z0-9 ]+-----)").expect("valid")
});
static SECRET_KEY_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r#"(?i)(?:{SECRET_WORDS})[A-Za-z0-9_.-]*"?:\s*$"#)).expect("valid")
});
static BLOCK_SCALAR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(\s*)(-\s+)?([A-Za-z0-9_.-]+):\s*[|>][-+]?[0-9]?\s*$").expect("valid")
});
static VALUE_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(\s*)(value|valuePlaintext|default|data):\s*(.+)$").expect("valid")
});

/// Every word or form without which no pattern above can match a line, in one search: a line
/// without any of them, read outside any secret block, leaves as it came (most lines of a long
/// listing do, and one search of a line costs far less than a dozen).
static MAY_HOLD_A_SECRET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i){SECRET_WORDS}|auth|valueplaintext|privatekey|cookie|akia|asia|bearer|basic|://|x-api-key|gh[pousr]_|github_pat_|xox[abposr]-|-----begin"
    ))
    .expect("valid")
});

/// A nested block whose lines are secret: opened by a key line, its lines are those indented at
/// least as much as the first line after the key (the key's own indentation says little: an
/// error message or a merged stream may have put text before it).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Block {
    /// The key line was seen; the next non-blank line sets the indentation.
    Opening,
    /// Lines indented at least this much are inside.
    Inside(usize),
}

/// Where the line-by-line reading stands.
#[derive(Default)]
struct Reading {
    /// Under a `password:` key: its `value`/`default`/`data` lines are secret.
    secret_block: Option<Block>,
    /// Under a block scalar (`key: |`) of a secret key: every line is secret.
    secret_scalar: Option<Block>,
    /// Inside a PEM block.
    pem: bool,
}

fn indent_of(body: &str) -> usize {
    body.len() - body.trim_start().len()
}

fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "password",
        "passwd",
        "pwd",
        "secret",
        "token",
        "apikey",
        "privatekey",
        "_key",
        "credential",
        "auth",
        "valueplaintext",
        "passphrase",
        "_pass",
        "pass_",
        "_pw",
        "cookie",
    ]
    .iter()
    .any(|word| key.contains(word))
}

/// Whether a line of the given indentation is inside the block, settling an opening block.
fn inside(block: &mut Option<Block>, indent: usize, blank: bool) -> bool {
    match *block {
        None => false,
        Some(_) if blank => true,
        Some(Block::Opening) if indent > 0 => {
            *block = Some(Block::Inside(indent));
            true
        }
        Some(Block::Inside(min)) if indent >= min => true,
        Some(_) => {
            *block = None;
            false
        }
    }
}

impl Reading {
    /// The redacted form of one line's body (the line without a transcript's `# `).
    fn line(&mut self, body: &str) -> String {
        let outside = !self.pem && self.secret_scalar.is_none() && self.secret_block.is_none();
        if outside && !MAY_HOLD_A_SECRET.is_match(body) {
            return body.to_string();
        }
        let indent = indent_of(body);
        let blank = body.trim().is_empty();
        if self.pem {
            if body.contains("-----END ") {
                self.pem = false;
                return body.to_string();
            }
            return format!("{}{REDACTED}", &body[..indent]);
        }
        if inside(&mut self.secret_scalar, indent, blank) {
            return if blank {
                body.to_string()
            } else {
                format!("{}{REDACTED}", &body[..indent])
            };
        }
        let in_block = inside(&mut self.secret_block, indent, blank);
        if body.contains("-----BEGIN ") && !PEM_INLINE.is_match(body) {
            self.pem = true;
            return body.to_string();
        }
        if let Some(c) = BLOCK_SCALAR.captures(body)
            && (in_block || is_secret_key(&c[3]))
        {
            self.secret_scalar = Some(Block::Opening);
            return body.to_string();
        }
        let redacted = match (in_block, VALUE_LINE.captures(body)) {
            (true, Some(c)) => format!("{}{}: {REDACTED}", &c[1], &c[2]),
            // `password:` with its value on the next line, or a list under it.
            (true, None) if !blank && !KEYED.is_match(body) => {
                format!("{}{REDACTED}", &body[..indent])
            }
            _ => body.to_string(),
        };
        if SECRET_KEY_LINE.is_match(body) {
            self.secret_block = Some(Block::Opening);
        }
        if let Some(c) = ENV_NAME.captures(body)
            && is_secret_key(&c[1])
        {
            // `- name: POSTGRES_PASSWORD` then `value: X`: the value is a sibling key.
            self.secret_block = Some(Block::Opening);
        }
        inline(&redacted)
    }
}

/// A key that names where a secret is kept (`secretKeyRef`, `secretName`, `tokenSecretRef`).
fn names_a_secret(key: &str) -> bool {
    let key = key
        .trim()
        .trim_end_matches(['=', ':', ' '])
        .trim_matches('"')
        .to_ascii_lowercase();
    key.ends_with("ref") || key.ends_with("name")
}

/// The secrets of one line that need no context.
fn inline(text: &str) -> String {
    let text = PEM_INLINE.replace_all(text, format!("${{1}}{REDACTED}${{2}}"));
    let text = AWS_KEY_ID.replace_all(&text, REDACTED);
    let text = CREDENTIALS.replace_all(&text, format!("${{1}}{REDACTED}"));
    let text = PLAINTEXT.replace_all(&text, format!("${{1}}{REDACTED}"));
    let text = URL_USERINFO.replace_all(&text, format!("${{1}}{REDACTED}@"));
    let text = CREDENTIAL_HEADER.replace_all(&text, format!("${{1}}${{2}}{REDACTED}"));
    let text = SHAPED_TOKEN.replace_all(&text, REDACTED);
    let text = ENV_PAIR.replace_all(&text, format!("${{1}}\"{REDACTED}\""));
    INLINE_SECRET
        .replace_all(&text, |c: &regex::Captures<'_>| {
            let value = &c[2];
            if names_a_secret(&c[1]) {
                // `secretKeyRef: {name: x, key: password}`, `secretName: x`: where a secret is
                // kept, not the secret.
                c[0].to_string()
            } else if let Some(inner) = value.strip_prefix('{') {
                // A flow mapping: every value in it.
                let inner = FLOW_VALUE.replace_all(inner, format!("${{1}}{REDACTED}"));
                format!("{}{{{inner}", &c[1])
            } else if value.is_empty() {
                c[0].to_string()
            } else {
                format!("{}{REDACTED}", &c[1])
            }
        })
        .into_owned()
}

/// Returns the text as it may leave the process: control characters and bidirectional overrides
/// escaped (`process::escape_controls`), then secrets replaced by `<redacted>`. This is the one
/// boundary (SPEC section 5, rules 10 and 15): the terminal, transcript.log, events.jsonl,
/// state.json and the HTML page all write through it.
pub fn redact(text: &str) -> String {
    let text = crate::process::escape_controls(text);
    let mut out = String::with_capacity(text.len());
    let mut reading = Reading::default();
    for line in text.split_inclusive('\n') {
        let (content, newline) = match line.strip_suffix('\n') {
            Some(content) => (content, "\n"),
            None => (line, ""),
        };
        // A transcript's comment is read as what it comments.
        let (prefix, body) = match content.strip_prefix("# ") {
            Some(body) => ("# ", body),
            None => ("", content),
        };
        out.push_str(prefix);
        out.push_str(&reading.line(body));
        out.push_str(newline);
    }
    out
}

/// Redacts every string of a JSON value (before serializing: the redaction sees the text, not
/// its JSON escapes).
pub fn redact_json(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(text) => {
            let clean = redact(text);
            if clean != *text {
                *text = clean;
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_json),
        serde_json::Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                if is_secret_key(key)
                    && let serde_json::Value::String(text) = item
                    && !text.is_empty()
                {
                    *text = REDACTED.to_string();
                } else {
                    redact_json(item);
                }
            }
        }
        _ => {}
    }
}

/// Whether the terminal streams may carry the tool's own colour (`--color`, decided once by the
/// screen): then, and only then, SGR sequences (`ESC [ 1;33 m`, colour and weight, never a cursor
/// movement, a title or a link) pass to the terminal; every other control character is escaped.
static COLOUR: AtomicBool = AtomicBool::new(false);

pub fn allow_colour(paint: bool) {
    COLOUR.store(paint, Ordering::Relaxed);
}

static SGR: LazyLock<Regex> = LazyLock::new(|| Regex::new("\x1b\\[[0-9;]*m").expect("valid"));

/// The first of the Unicode private-use code points that stand for a colour sequence while the
/// text is escaped and redacted; the same code points in the text itself are escaped first.
const HELD: u32 = 0xF0000;

/// Text for the terminal: escaped and redacted as everywhere, keeping the tool's own colour.
pub fn for_terminal(text: &str) -> String {
    terminal_text(text, COLOUR.load(Ordering::Relaxed))
}

fn terminal_text(text: &str, colour: bool) -> String {
    if !colour || !text.contains('\x1b') {
        return redact(text);
    }
    let mut codes: Vec<&str> = Vec::new();
    let mut holding = String::with_capacity(text.len());
    let mut last = 0;
    for code in SGR.find_iter(text) {
        push_unheld(&mut holding, &text[last..code.start()]);
        let index = codes
            .iter()
            .position(|c| *c == code.as_str())
            .unwrap_or_else(|| {
                codes.push(code.as_str());
                codes.len() - 1
            });
        holding.push(char::from_u32(HELD + index as u32).unwrap_or('?'));
        last = code.end();
    }
    push_unheld(&mut holding, &text[last..]);
    redact(&holding)
        .chars()
        .map(|c| match (u32::from(c)).checked_sub(HELD) {
            Some(index) if (index as usize) < codes.len() => codes[index as usize].to_string(),
            _ => c.to_string(),
        })
        .collect()
}

/// Appends text in which no code point can pass for a held colour sequence.
fn push_unheld(out: &mut String, text: &str) {
    for c in text.chars() {
        if (HELD..HELD + 0x100).contains(&u32::from(c)) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
}

/// Writes to standard output, escaped and without secrets.
pub fn out(text: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(for_terminal(text).as_bytes())?;
    stdout.flush()
}

/// Writes to standard error, escaped and without secrets (errors quote what commands printed).
pub fn err(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(for_terminal(text).as_bytes());
    let _ = stderr.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kots_config_password_is_redacted() {
        let config = crate::parse::sample("kots-get-config.yaml");
        let clean = redact(&config);
        assert!(!clean.contains("Wm9TxO1bT2c3dWR4c2pZQkZ0a0lQb0x5b0ZJdk9xTjhKcnE2cE1ndz09"));
        assert!(clean.contains("meta_db_password:\n      value: <redacted>"));
        assert!(clean.contains("arthur-restored-db.c9xkq2abcd12.us-east-1.rds.amazonaws.com"));
        assert_eq!(clean.lines().count(), config.lines().count());
        // The same, commented in the transcript (an error quoting the output).
        let commented: String = config.lines().map(|l| format!("# {l}\n")).collect();
        assert!(
            !redact(&commented)
                .contains("Wm9TxO1bT2c3dWR4c2pZQkZ0a0lQb0x5b0ZJdk9xTjhKcnE2cE1ndz09")
        );
    }

    /// Each row: text holding the secret `S3CR3T`, which must be gone after redaction.
    #[test]
    fn every_form_of_secret_is_redacted() {
        let rows = [
            "key AKIAS3CR3TABCDEFGHIJ here",
            "aws_secret_access_key = S3CR3T",
            "aws_session_token=S3CR3T",
            r#"{"password": "S3CR3T", "user": "x"}"#,
            r#"{"SecretAccessKey":"S3CR3T","SessionToken":"S3CR3T"}"#,
            "Authorization: Bearer S3CR3T",
            "Authorization: Basic S3CR3T",
            "  api_key: S3CR3T",
            "  valuePlaintext: S3CR3T",
            "  meta_db_password: {value: 'S3CR3T'}",
            "  meta_db_password: {default: x, value: S3CR3T}",
            "  meta_db_password:\n    value: |\n      S3CR3T\n      S3CR3T\n    other: x",
            "  tls_key: |\n    S3CR3T\n",
            "-----BEGIN RSA PRIVATE KEY-----\nS3CR3T\n-----END RSA PRIVATE KEY-----",
            "ca: -----BEGIN CERTIFICATE-----\\nS3CR3T\\n-----END CERTIFICATE-----",
            r#"{"message":"config:\n  password: S3CR3T\n"}"#,
            "# meta_db_password:\n#   value: S3CR3T",
            "token: \"S3CR3T\"",
            // Issue 17's forms.
            "url: postgres://arthur:S3CR3T@db.example:5432/arthur",
            "redis://:S3CR3T@cache:6379/0",
            "see https://user:S3CR3T@host/path",
            "env:\n  - name: POSTGRES_PASSWORD\n    value: S3CR3T\n  - name: OTHER\n    value: x",
            r#"[{"name":"POSTGRES_PASSWORD","value":"S3CR3T"}]"#,
            "db_pass: S3CR3T",
            "user_pw=S3CR3T",
            "ssh_passphrase: S3CR3T",
            "DB_PASS=S3CR3T",
            "Cookie: session=S3CR3T; other=S3CR3T",
            "x-api-key: S3CR3T",
            "token ghp_S3CR3TS3CR3TS3CR3TS3CR3T here",
            "xoxb-S3CR3T-S3CR3T-S3CR3T",
            "password:\n  S3CR3T\nother: x",
            "  meta_db_password: {value: 'S3CR3T and more",
            "  meta_db_password: {value: \"S3CR3T",
        ];
        for text in rows {
            let clean = redact(text);
            assert!(!clean.contains("S3CR3T"), "{text:?} became {clean:?}");
        }
    }

    /// The terminal keeps the tool's colour when it paints, and nothing else: a screen clear, a
    /// hyperlink, a bell, a right-to-left override and a forged placeholder are all escaped.
    #[test]
    fn the_terminal_gets_colour_and_no_other_control() {
        let styled = "\x1b[33mwarning\x1b[0m \x1b[2J\x1b]8;;http://x\x07y\x1b]8;;\x07 \u{202e}z \u{f0000} password: S3CR3T\n";
        for colour in [false, true] {
            let shown = terminal_text(styled, colour);
            assert!(!shown.contains("S3CR3T"), "{shown:?}");
            assert!(
                !shown.contains("\x1b[2J")
                    && !shown.contains('\x07')
                    && !shown.contains('\u{202e}'),
                "{shown:?}"
            );
            assert!(!colour || !shown.contains('\u{f0000}'), "{shown:?}");
            assert_eq!(
                shown.contains("\x1b[33mwarning\x1b[0m"),
                colour,
                "{shown:?}"
            );
            let raw: Vec<char> = shown
                .chars()
                .filter(|c| crate::process::is_unsafe_char(*c))
                .collect();
            assert_eq!(raw.len(), if colour { 2 } else { 0 }, "{shown:?}");
        }
    }

    #[test]
    fn json_strings_are_redacted_before_escaping() {
        let mut value = serde_json::json!({
            "error": "`kubectl kots get config` failed: meta_db_password:\n  value: S3CR3T\n",
            "list": ["password: S3CR3T"],
            "api_key": "S3CR3T",
        });
        redact_json(&mut value);
        assert!(!value.to_string().contains("S3CR3T"), "{value}");
    }

    #[test]
    fn ordinary_output_is_left_alone() {
        let job = crate::parse::sample("kubectl-create-job-dry-run.yaml");
        let clean = redact(&job);
        assert!(clean.contains("secretKeyRef:"));
        assert!(clean.contains("key: password"));
        let pv = crate::parse::sample("kubectl-get-pv.txt");
        assert_eq!(redact(&pv), pv);
        let restore = crate::parse::sample("velero-restore-describe.txt");
        assert_eq!(redact(&restore), restore);
    }
}
