//! The column tables kubectl, velero and kots print (Go text/tabwriter). Cells are read by the
//! header's column offsets, not by splitting on white space: cells can be empty (a Pending PVC's
//! VOLUME, a kots app with no status) and headers can hold spaces (`ACCESS MODES`).

use std::collections::HashMap;

use super::{ParseError, ParseResult};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// No output at all is an empty table (kubectl and velero print nothing when nothing
    /// matches). The first non-blank line is the header.
    pub fn parse(text: &str) -> ParseResult<Table> {
        let mut lines = text.lines().filter(|line| !line.trim().is_empty());
        let Some(header) = lines.next() else {
            return Ok(Table {
                headers: Vec::new(),
                rows: Vec::new(),
            });
        };
        let header: Vec<char> = header.chars().collect();
        let starts = column_starts(&header);
        if starts.first() != Some(&0) {
            return Err(ParseError::at(
                "the table header does not start at the first column",
                &header.iter().collect::<String>(),
            ));
        }
        let cut = |line: &[char], index: usize| -> String {
            let start = starts[index].min(line.len());
            let end = starts
                .get(index + 1)
                .copied()
                .unwrap_or(line.len())
                .min(line.len());
            line[start..end]
                .iter()
                .collect::<String>()
                .trim()
                .to_string()
        };
        let headers: Vec<String> = (0..starts.len()).map(|i| cut(&header, i)).collect();
        if headers
            .iter()
            .any(|h| h.chars().any(|c| c.is_ascii_lowercase()))
        {
            return Err(ParseError::at(
                "expected a table header in upper case",
                &header.iter().collect::<String>(),
            ));
        }
        let rows = lines
            .map(|line| {
                let chars: Vec<char> = line.chars().collect();
                (0..starts.len()).map(|i| cut(&chars, i)).collect()
            })
            .collect();
        Ok(Table { headers, rows })
    }

    pub fn column(&self, name: &str) -> Option<usize> {
        self.headers.iter().position(|header| header == name)
    }

    /// Rows as maps from header to cell.
    pub fn records(&self) -> Vec<HashMap<&str, &str>> {
        self.rows
            .iter()
            .map(|row| {
                self.headers
                    .iter()
                    .map(String::as_str)
                    .zip(row.iter().map(String::as_str))
                    .collect()
            })
            .collect()
    }

    /// The cells of one column; an error naming the column when the table lacks it.
    pub fn cells(&self, name: &str) -> ParseResult<Vec<&str>> {
        if self.headers.is_empty() {
            return Ok(Vec::new());
        }
        let index = self.column(name).ok_or_else(|| {
            ParseError::at(
                format!("the table has no {name} column"),
                &self.headers.join("  "),
            )
        })?;
        Ok(self.rows.iter().map(|row| row[index].as_str()).collect())
    }

    pub fn require(&self, name: &str) -> ParseResult<usize> {
        self.column(name).ok_or_else(|| {
            ParseError::at(
                format!("the table has no {name} column"),
                &self.headers.join("  "),
            )
        })
    }
}

/// Where each header cell starts: at the start of the line, or after two or more spaces
/// (tabwriter pads every column but the last by at least two; a header's own words are
/// separated by one).
fn column_starts(header: &[char]) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut spaces = 0usize;
    for (index, c) in header.iter().enumerate() {
        if *c == ' ' {
            spaces += 1;
        } else {
            if index == 0 || spaces >= 2 {
                starts.push(index);
            }
            spaces = 0;
        }
    }
    starts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::sample;

    #[test]
    fn empty_output_is_an_empty_table() {
        let table = Table::parse("").unwrap();
        assert!(table.rows.is_empty());
        assert!(table.cells("NAME").unwrap().is_empty());
    }

    #[test]
    fn pending_pvc_keeps_its_empty_cells() {
        let table = Table::parse(&sample("kubectl-get-pvc.txt")).unwrap();
        assert_eq!(
            table.headers,
            [
                "NAME",
                "STATUS",
                "VOLUME",
                "CAPACITY",
                "ACCESS MODES",
                "STORAGECLASS",
                "AGE"
            ]
        );
        let pending = table.records().into_iter().last().unwrap();
        assert_eq!(pending["NAME"], "datadir-0-messaging-3");
        assert_eq!(pending["STATUS"], "Pending");
        assert_eq!(pending["VOLUME"], "");
        assert_eq!(pending["STORAGECLASS"], "gp2");
    }

    #[test]
    fn pv_claims_and_blank_reason() {
        let table = Table::parse(&sample("kubectl-get-pv.txt")).unwrap();
        let records = table.records();
        assert_eq!(records[0]["RECLAIM POLICY"], "Delete");
        assert_eq!(records[0]["REASON"], "");
        assert_eq!(records[0]["AGE"], "12h");
        assert_eq!(records[11]["CLAIM"], "arthur-staging/datadir-0-messaging-0");
        let k129 = Table::parse(&sample("kubectl-get-pv-k8s129.txt")).unwrap();
        assert!(k129.column("VOLUMEATTRIBUTESCLASS").is_some());
        assert!(k129.records().iter().all(|r| r["CLAIM"].contains('/')));
    }

    #[test]
    fn kots_apps_with_an_empty_status() {
        let table = Table::parse(&sample("kots-get-apps-nostatus.txt")).unwrap();
        let record = &table.records()[0];
        assert_eq!(record["STATUS"], "");
        assert!(!record["VERSION"].is_empty());
    }
}
