//! ClickHouse backups: `clickhouse-backup list` (1.x and 2.x layouts, log lines mixed into
//! stdout before 2.6) and `aws s3 ls` of the backup bucket (PRE lines). Arthur names backups
//! `<node>-<arthur backup name>`, the node being `chi-<installation>-<cluster>-<shard>-<replica>`.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;

use super::{ParseError, ParseResult};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClickhouseBackup {
    pub node: String,
    /// The Arthur backup name, without the node prefix.
    pub name: String,
    /// `local`, `remote`, or `s3` for an S3 listing.
    pub location: String,
    pub broken: bool,
}

static NODE_PREFIXED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(chi-[a-z0-9-]+?-[0-9]+-[0-9]+)-([A-Za-z0-9][A-Za-z0-9._-]*)$").expect("valid")
});
/// v1.0–v2.5 log lines on stdout: `2022/05/12 15:12:16.101512  info …`.
static APEX_LOG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?\s+(\w+)")
        .expect("valid")
});
/// v2.6+ log lines (normally on stderr): `2025-08-12 15:12:16.193 INF …`.
static ZEROLOG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]+ (TRC|DBG|INF|WRN|ERR|FTL) ").expect("valid")
});

/// Splits `chi-olap-installation-arthur-0-0-arthur-clickhouse-backup-…` into node and name.
pub fn split_node(full: &str) -> Option<(String, String)> {
    NODE_PREFIXED
        .captures(full)
        .map(|c| (c[1].to_string(), c[2].to_string()))
}

pub fn parse_list(stdout: &str) -> ParseResult<Vec<ClickhouseBackup>> {
    let mut backups = Vec::new();
    for line in stdout.lines() {
        if line.trim().is_empty() {
            continue;
        }
        if let Some(captures) = APEX_LOG.captures(line) {
            if &captures[2] == "error" {
                return Err(ParseError::at("clickhouse-backup reported an error", line));
            }
            continue;
        }
        if ZEROLOG.is_match(line) {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let location = fields
            .iter()
            .find(|field| matches!(**field, "local" | "remote"))
            .map(|field| field.to_string());
        let (Some(location), false) = (location, line.chars().any(char::is_control)) else {
            // Neither a log line nor a backup row: not the output of `clickhouse-backup list`.
            return Err(ParseError::at(
                "not a line of `clickhouse-backup list` (neither a log line nor a backup row saying local or remote)",
                line,
            ));
        };
        let Some((node, name)) = split_node(fields[0]) else {
            // Not an Arthur node backup (another naming scheme): not ours to restore.
            continue;
        };
        let broken = line.contains("broken") || fields.contains(&"???");
        backups.push(ClickhouseBackup {
            node,
            name,
            location,
            broken,
        });
    }
    Ok(backups)
}

/// `aws s3 ls s3://bucket/path/`: the `PRE name/` lines are the backups.
pub fn parse_s3_listing(stdout: &str) -> ParseResult<Vec<ClickhouseBackup>> {
    let mut backups = Vec::new();
    for line in stdout.lines() {
        let trimmed = line.trim_start();
        let Some(prefix) = trimmed.strip_prefix("PRE ") else {
            continue;
        };
        let folder = prefix.strip_suffix('/').unwrap_or(prefix);
        if let Some((node, name)) = split_node(folder) {
            backups.push(ClickhouseBackup {
                node,
                name,
                location: "s3".to_string(),
                broken: false,
            });
        }
    }
    Ok(backups)
}

/// Every node that holds any backup: "every node that has ever had one".
pub fn all_nodes(backups: &[ClickhouseBackup]) -> BTreeSet<String> {
    backups.iter().map(|b| b.node.clone()).collect()
}

/// The nodes holding a usable copy of the named backup.
pub fn nodes_holding(backups: &[ClickhouseBackup], name: &str) -> BTreeSet<String> {
    backups
        .iter()
        .filter(|b| b.name == name && !b.broken)
        .map(|b| b.node.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::sample;

    const NAME: &str = "arthur-clickhouse-backup-2022-05-12-00-00-06";

    #[test]
    fn splits_the_node_prefix() {
        assert_eq!(
            split_node(
                "chi-olap-installation-arthur-0-0-arthur-clickhouse-backup-2022-05-12-00-00-06"
            ),
            Some(("chi-olap-installation-arthur-0-0".into(), NAME.into()))
        );
        assert_eq!(split_node("default_0.tar"), None);
    }

    #[test]
    fn v2_list_with_log_lines() {
        let backups = parse_list(&sample("clickhouse-backup-list-v2.txt")).unwrap();
        assert!(!backups.is_empty());
        assert_eq!(all_nodes(&backups).len(), 3);
    }

    #[test]
    fn v1_list_with_a_local_row() {
        let backups = parse_list(&sample("clickhouse-backup-list-v1.txt")).unwrap();
        assert_eq!(backups.len(), 7);
        assert_eq!(backups[0].location, "local");
        assert_eq!(nodes_holding(&backups, NAME).len(), 3);
    }

    #[test]
    fn v2_6_32_list() {
        let backups = parse_list(&sample("clickhouse-backup-list-v2.6.32plus.stdout.txt")).unwrap();
        assert_eq!(
            nodes_holding(&backups, "arthur-clickhouse-backup-2025-08-12-00-00-06").len(),
            3
        );
    }

    #[test]
    fn the_runbook_sample_listing() {
        let text = "2023/05/12 15:12:16.199434  info SELECT * FROM system.macros logger=clickhouse\n\
chi-olap-installation-arthur-0-0-arthur-clickhouse-backup-2023-05-11-00-00-07   10.33MiB   11/05/2023 00:00:14   remote   tar, regular\n\
chi-olap-installation-arthur-0-1-arthur-clickhouse-backup-2023-05-11-00-00-07   10.33MiB   11/05/2023 00:00:15   remote   tar, regular\n\
2023/05/12 15:12:18.317324  info clickhouse connection closed logger=clickhouse\n";
        let backups = parse_list(text).unwrap();
        assert_eq!(backups.len(), 2);
    }

    #[test]
    fn an_error_line_is_an_error() {
        let error = parse_list("2023/05/12 15:12:16.199434 error can't connect to clickhouse\n")
            .unwrap_err();
        assert!(error.line.unwrap().contains("can't connect"));
    }

    #[test]
    fn s3_prefixes() {
        let backups = parse_s3_listing(&sample("aws-s3-ls.txt")).unwrap();
        assert!(backups.len() >= 3);
        assert!(
            parse_s3_listing(&sample("aws-s3-ls-edge-cases.txt"))
                .unwrap()
                .is_empty()
        );
    }
}
