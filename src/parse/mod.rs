//! Parsers: pure functions from a command's output to typed values. They never spawn processes.
//! Each follows the notes and samples of fixtures/reference/FORMATS.md, and a failure names the
//! problem and quotes the line it could not read; the caller adds the command.

pub mod clickhouse;
pub mod kots;
pub mod kube;
pub mod rds;
pub mod table;
pub mod velero;

#[cfg(test)]
pub(crate) mod properties;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub problem: String,
    pub line: Option<String>,
    /// A value read from the output that is not safe to put into an argv (an object name that
    /// is not one): a refusal, not a plain failure to read.
    pub unsafe_value: Option<String>,
}

impl ParseError {
    pub fn new(problem: impl Into<String>) -> ParseError {
        ParseError {
            problem: problem.into(),
            line: None,
            unsafe_value: None,
        }
    }

    pub fn at(problem: impl Into<String>, line: &str) -> ParseError {
        ParseError {
            problem: problem.into(),
            line: Some(line.to_string()),
            unsafe_value: None,
        }
    }

    /// A value that is not of its form (`problem` says which form), found in the output.
    pub fn unsafe_value(problem: impl Into<String>, value: &str) -> ParseError {
        ParseError {
            problem: problem.into(),
            line: None,
            unsafe_value: Some(value.to_string()),
        }
    }

    /// The line the value was read from, when the parser knows it.
    pub fn on_line(mut self, line: &str) -> ParseError {
        self.line = Some(line.to_string());
        self
    }

    pub fn json(error: serde_json::Error) -> ParseError {
        ParseError::new(format!("not the JSON expected: {error}"))
    }

    /// Attaches the command whose output this was.
    pub fn for_command(self, cmd: &crate::process::Cmd) -> crate::error::Error {
        if let Some(value) = self.unsafe_value {
            return crate::error::Error::refused(format!(
                "the output of `{cmd}` holds {value:?}, which may not go into a command: {}{}. Nothing was run after it; look at the output in the transcript",
                self.problem,
                self.line
                    .map(|l| format!(" (at line: {l:?})"))
                    .unwrap_or_default()
            ));
        }
        crate::error::Error::Parse {
            command: cmd.to_string(),
            problem: self.problem,
            line: self
                .line
                .map(|l| crate::process::escape_controls(&l).into_owned()),
        }
    }
}

pub type ParseResult<T> = Result<T, ParseError>;

#[cfg(test)]
pub(crate) fn sample(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/reference")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
