//! Keeps secrets out of the transcript and events.jsonl (SPEC section 4): AWS access keys,
//! values under keys that name a password, secret or token (YAML and JSON), bearer tokens.

use std::sync::LazyLock;

use regex::Regex;

const REDACTED: &str = "<redacted>";

static AWS_KEY_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b").expect("valid"));
static INLINE_SECRET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)("?[A-Za-z0-9_.-]*(password|passwd|secret|token)[A-Za-z0-9_.-]*"?\s*[:=]\s*)("[^"]*"|'[^']*'|[^\s,}{]+)"#)
        .expect("valid")
});
static BEARER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+").expect("valid"));
static SECRET_KEY_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(\s*)[A-Za-z0-9_.-]*(password|passwd|secret|token)[A-Za-z0-9_.-]*:\s*$")
        .expect("valid")
});
static VALUE_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(\s*)(value|default|data):\s*(.+)$").expect("valid"));

/// Returns the text with secrets replaced by `<redacted>`.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // Indentation of a `…password:` key whose block's values are secret (the KOTS config).
    let mut secret_block: Option<usize> = None;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches('\n');
        let indent = body.len() - body.trim_start().len();
        if let Some(block) = secret_block
            && (indent <= block && !body.trim().is_empty())
        {
            secret_block = None;
        }
        let mut redacted = if secret_block.is_some() {
            match VALUE_LINE.captures(body) {
                Some(c) => format!("{}{}: {REDACTED}", &c[1], &c[2]),
                None => body.to_string(),
            }
        } else {
            body.to_string()
        };
        if let Some(c) = SECRET_KEY_LINE.captures(body) {
            secret_block = Some(c[1].len());
        }
        redacted = AWS_KEY_ID.replace_all(&redacted, REDACTED).into_owned();
        redacted = BEARER
            .replace_all(&redacted, format!("${{1}}{REDACTED}"))
            .into_owned();
        // `name: BACKUP_NAME` style lines hold no secret; only key/value pairs whose key names one.
        redacted = INLINE_SECRET
            .replace_all(&redacted, |c: &regex::Captures<'_>| {
                let value = &c[3];
                if value.starts_with("{") || value.is_empty() {
                    c[0].to_string()
                } else {
                    format!("{}{REDACTED}", &c[1])
                }
            })
            .into_owned();
        out.push_str(&redacted);
        if line.ends_with('\n') {
            out.push('\n');
        }
    }
    out
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
    }

    #[test]
    fn keys_and_tokens() {
        assert_eq!(
            redact("key AKIAABCDEFGHIJKLMNOP here"),
            "key <redacted> here"
        );
        assert_eq!(
            redact("aws_secret_access_key = abc/def+ghi"),
            "aws_secret_access_key = <redacted>"
        );
        assert_eq!(
            redact(r#"{"password": "hunter2", "user": "x"}"#),
            r#"{"password": <redacted>, "user": "x"}"#
        );
        assert_eq!(
            redact("Authorization: Bearer eyJabc.def"),
            "Authorization: Bearer <redacted>"
        );
    }

    #[test]
    fn ordinary_output_is_left_alone() {
        let job = crate::parse::sample("kubectl-create-job-dry-run.yaml");
        let clean = redact(&job);
        assert!(clean.contains("secretKeyRef:"));
        assert!(clean.contains("key: password"));
        let pv = crate::parse::sample("kubectl-get-pv.txt");
        assert_eq!(redact(&pv), pv);
    }
}
