//! Parsers: pure functions from a command's output to typed values. They never spawn processes.
//! Each follows the notes and samples of fixtures/reference/FORMATS.md, and a failure names the
//! problem and quotes the line it could not read; the caller adds the command.

pub mod clickhouse;
pub mod kots;
pub mod kube;
pub mod rds;
pub mod table;
pub mod velero;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub problem: String,
    pub line: Option<String>,
}

impl ParseError {
    pub fn new(problem: impl Into<String>) -> ParseError {
        ParseError {
            problem: problem.into(),
            line: None,
        }
    }

    pub fn at(problem: impl Into<String>, line: &str) -> ParseError {
        ParseError {
            problem: problem.into(),
            line: Some(line.to_string()),
        }
    }

    pub fn json(error: serde_json::Error) -> ParseError {
        ParseError::new(format!("not the JSON expected: {error}"))
    }

    /// Attaches the command whose output this was.
    pub fn for_command(self, cmd: &crate::process::Cmd) -> crate::error::Error {
        crate::error::Error::Parse {
            command: cmd.to_string(),
            problem: self.problem,
            line: self.line,
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
