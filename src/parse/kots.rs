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

/// Whether the KOTS config names the host anywhere as a whole value (the Meta Database host).
/// The config's item names vary between Arthur versions, so the value is looked for, not a key.
pub fn config_names_host(config_yaml: &str, host: &str) -> bool {
    config_yaml.lines().any(|line| {
        let value = line
            .trim()
            .strip_prefix("value:")
            .or_else(|| line.trim().strip_prefix("default:"))
            .map(|v| v.trim().trim_matches('"').trim_matches('\''));
        value == Some(host)
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
    }
}
