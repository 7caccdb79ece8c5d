//! kots: `kubectl kots get apps` (table) and `kubectl kots get config` (YAML).

use super::ParseResult;
use super::table::Table;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KotsApp {
    pub slug: String,
    /// `ready`, `updating`, `degraded`, `unavailable`, `missing`, or empty when none reported.
    pub status: String,
    pub version: String,
}

pub fn apps(stdout: &str) -> ParseResult<Vec<KotsApp>> {
    let table = Table::parse(stdout)?;
    if table.headers.is_empty() {
        return Ok(Vec::new());
    }
    let slug = table.require("SLUG")?;
    let status = table.require("STATUS")?;
    let version = table.require("VERSION")?;
    Ok(table
        .rows
        .iter()
        .map(|row| KotsApp {
            slug: row[slug].clone(),
            status: row[status].clone(),
            version: row[version].clone(),
        })
        .collect())
}

/// Whether the KOTS config names the host in a value: as the whole value, or as a whole
/// hostname inside one (`postgres://arthur@HOST:5432/arthurai`). The config's item names vary
/// between Arthur versions, so the value is looked for, not a key. A longer hostname that merely
/// starts or ends with the host (`HOST.evil.example`, `old-HOST`) does not count.
pub fn config_names_host(config_yaml: &str, host: &str) -> bool {
    if host.is_empty() {
        return false;
    }
    let hostname_char = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '-';
    config_yaml.lines().any(|line| {
        let trimmed = line.trim();
        let Some(value) = trimmed
            .strip_prefix("value:")
            .or_else(|| trimmed.strip_prefix("default:"))
        else {
            return false;
        };
        let value = value.trim().trim_matches('"').trim_matches('\'');
        value.match_indices(host).any(|(at, _)| {
            let before = value[..at].chars().next_back();
            let after = value[at + host.len()..].chars().next();
            before.is_none_or(|c| !hostname_char(c)) && after.is_none_or(|c| !hostname_char(c))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::sample;

    #[test]
    fn apps_ready_degraded_and_without_status() {
        assert_eq!(
            apps(&sample("kots-get-apps.txt")).unwrap()[0].status,
            "ready"
        );
        assert_eq!(
            apps(&sample("kots-get-apps-degraded.txt")).unwrap()[0].status,
            "degraded"
        );
        let none = apps(&sample("kots-get-apps-nostatus.txt")).unwrap();
        assert_eq!(none[0].status, "");
        assert_eq!(none[0].version, "3.4.0");
    }

    #[test]
    fn config_pointer() {
        let config = sample("kots-get-config.yaml");
        assert!(config_names_host(
            &config,
            "arthur-restored-db.c9xkq2abcd12.us-east-1.rds.amazonaws.com"
        ));
        assert!(!config_names_host(
            &config,
            "arthur-prod-db.c9xkq2abcd12.us-east-1.rds.amazonaws.com"
        ));
        assert!(!config_names_host(&config, "arthur-restored-db"));
        let host = "db.example.com";
        assert!(config_names_host(
            "    value: postgres://arthur@db.example.com:5432/arthurai",
            host
        ));
        assert!(config_names_host("    value: \"db.example.com\"", host));
        assert!(!config_names_host(
            "    value: db.example.com.evil.example",
            host
        ));
        assert!(!config_names_host("    value: old-db.example.com", host));
        assert!(!config_names_host("    title: db.example.com", host));
    }
}
