//! aws rds: `describe-db-instances` and `describe-db-snapshots` JSON.

use serde_json::Value;

use super::{ParseError, ParseResult};
use crate::names::{InstanceClass, PortNumber, SecurityGroupId, SubnetGroupName};
use crate::runbook::commands::RdsSettings;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbInstance {
    pub id: String,
    pub status: String,
    /// `InstanceCreateTime`: absent while a new instance is still being created.
    pub created: Option<String>,
    pub endpoint: Option<(String, u16)>,
    pub settings: InstanceSettings,
}

/// The settings of an instance as AWS describes them, unchecked: to compare, or to check
/// (`checked`) before they go into an argv.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceSettings {
    pub port: String,
    pub security_groups: Vec<String>,
    pub subnet_group: String,
    pub instance_class: String,
}

impl InstanceSettings {
    /// The settings as values that may go into an argv; a value that is not of its form is an
    /// unsafe value read from output (a refusal naming it).
    pub fn checked(&self) -> ParseResult<RdsSettings> {
        let unsafe_value = |value: &str, problem: String| ParseError::unsafe_value(problem, value);
        Ok(RdsSettings {
            port: PortNumber::new(&self.port).map_err(|p| unsafe_value(&self.port, p))?,
            security_groups: self
                .security_groups
                .iter()
                .map(|g| SecurityGroupId::new(g).map_err(|p| unsafe_value(g, p)))
                .collect::<ParseResult<Vec<_>>>()?,
            subnet_group: SubnetGroupName::new(&self.subnet_group)
                .map_err(|p| unsafe_value(&self.subnet_group, p))?,
            instance_class: InstanceClass::new(&self.instance_class)
                .map_err(|p| unsafe_value(&self.instance_class, p))?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbSnapshot {
    pub id: String,
    pub instance: String,
    pub status: String,
    pub created: Option<String>,
}

fn string(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn array<'a>(json: &'a Value, key: &str) -> ParseResult<&'a Vec<Value>> {
    json.get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| ParseError::new(format!("expected a JSON object with a {key} list")))
}

pub fn instances(json: &str) -> ParseResult<Vec<DbInstance>> {
    let value: Value = serde_json::from_str(json).map_err(ParseError::json)?;
    array(&value, "DBInstances")?
        .iter()
        .map(|item| {
            let endpoint = item.get("Endpoint").and_then(|endpoint| {
                let address = endpoint.get("Address")?.as_str()?.to_string();
                let port = endpoint.get("Port")?.as_u64()? as u16;
                Some((address, port))
            });
            // `DbInstancePort` is 0 for RDS; the endpoint's port is the one clients use. While
            // the instance is being created there is no endpoint yet.
            let port = endpoint
                .as_ref()
                .map(|(_, port)| *port as u64)
                .or_else(|| {
                    item.get("DbInstancePort")
                        .and_then(Value::as_u64)
                        .filter(|p| *p != 0)
                })
                .map(|port| port.to_string())
                .unwrap_or_default();
            let mut security_groups: Vec<String> = item
                .get("VpcSecurityGroups")
                .and_then(Value::as_array)
                .map(|groups| {
                    groups
                        .iter()
                        .map(|g| string(g, "VpcSecurityGroupId"))
                        .collect()
                })
                .unwrap_or_default();
            security_groups.sort();
            Ok(DbInstance {
                id: string(item, "DBInstanceIdentifier"),
                status: string(item, "DBInstanceStatus"),
                created: item
                    .get("InstanceCreateTime")
                    .and_then(Value::as_str)
                    .map(String::from),
                endpoint,
                settings: InstanceSettings {
                    port,
                    security_groups,
                    subnet_group: item
                        .get("DBSubnetGroup")
                        .map(|group| string(group, "DBSubnetGroupName"))
                        .unwrap_or_default(),
                    instance_class: string(item, "DBInstanceClass"),
                },
            })
        })
        .collect()
}

/// The identifier in the answer of `restore-db-instance-from-db-snapshot` (`DBInstance`).
pub fn restored_identifier(json: &str) -> ParseResult<String> {
    let value: Value = serde_json::from_str(json).map_err(ParseError::json)?;
    value
        .get("DBInstance")
        .and_then(|i| i.get("DBInstanceIdentifier"))
        .and_then(Value::as_str)
        .map(String::from)
        .ok_or_else(|| ParseError::new("the answer has no DBInstance.DBInstanceIdentifier"))
}

/// The one instance a `--db-instance-identifier` describe returns.
pub fn instance(json: &str) -> ParseResult<DbInstance> {
    let mut all = instances(json)?;
    match all.len() {
        1 => Ok(all.remove(0)),
        n => Err(ParseError::new(format!(
            "expected one DB instance, found {n}"
        ))),
    }
}

/// The snapshots of `describe-db-snapshots`, deserialized into the four fields the tool reads
/// (an account can hold thousands; the rest of each is skipped, never built).
pub fn snapshots(json: &str) -> ParseResult<Vec<DbSnapshot>> {
    #[derive(serde::Deserialize)]
    struct Answer {
        #[serde(rename = "DBSnapshots")]
        snapshots: Option<Vec<Snapshot>>,
    }
    #[derive(serde::Deserialize, Default)]
    #[serde(default)]
    struct Snapshot {
        #[serde(rename = "DBSnapshotIdentifier")]
        id: Option<String>,
        #[serde(rename = "DBInstanceIdentifier")]
        instance: Option<String>,
        #[serde(rename = "Status")]
        status: Option<String>,
        #[serde(rename = "SnapshotCreateTime")]
        created: Option<String>,
    }
    let answer: Answer = serde_json::from_str(json).map_err(ParseError::json)?;
    let snapshots = answer
        .snapshots
        .ok_or_else(|| ParseError::new("expected a JSON object with a DBSnapshots list"))?;
    Ok(snapshots
        .into_iter()
        .map(|s| DbSnapshot {
            id: s.id.unwrap_or_default(),
            instance: s.instance.unwrap_or_default(),
            status: s.status.unwrap_or_default(),
            created: s.created,
        })
        .collect())
}

/// Settings of an instance that a restore does not copy (SPEC copies port, security groups,
/// subnet group and class): the operator checks these by hand ("any other configuration which
/// might be overridden"). Default groups are left out.
pub fn other_settings(json: &str) -> ParseResult<Vec<String>> {
    let value: Value = serde_json::from_str(json).map_err(ParseError::json)?;
    let Some(item) = array(&value, "DBInstances")?.first() else {
        return Ok(Vec::new());
    };
    let mut settings = Vec::new();
    let first_name = |list: &str, key: &str| {
        item.get(list)
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .map(|g| string(g, key))
            .filter(|name| !name.is_empty() && !name.starts_with("default"))
    };
    if let Some(group) = first_name("DBParameterGroups", "DBParameterGroupName") {
        settings.push(format!("parameter group {group}"));
    }
    if let Some(group) = first_name("OptionGroupMemberships", "OptionGroupName") {
        settings.push(format!("option group {group}"));
    }
    for (key, what) in [
        ("MultiAZ", "Multi-AZ"),
        ("PubliclyAccessible", "publicly accessible"),
    ] {
        if let Some(flag) = item.get(key).and_then(Value::as_bool) {
            settings.push(format!("{what} {flag}"));
        }
    }
    let storage = string(item, "StorageType");
    if !storage.is_empty() {
        settings.push(format!("storage type {storage}"));
    }
    Ok(settings)
}

/// States `aws rds wait db-instance-available` treats as final failures, and a few more that
/// cannot become available without someone acting.
pub fn is_failed_status(status: &str) -> bool {
    matches!(
        status,
        "deleted"
            | "deleting"
            | "failed"
            | "incompatible-restore"
            | "incompatible-parameters"
            | "incompatible-network"
            | "incompatible-option-group"
            | "inaccessible-encryption-credentials"
            | "restore-error"
            | "storage-full"
    )
}

/// `An error occurred (DBInstanceNotFound)` / `(DBSnapshotNotFound)`.
pub fn is_not_found(stderr: &str) -> bool {
    stderr.contains("NotFound)")
}

/// The differences between what an instance has and what it should have.
pub fn differences(actual: &InstanceSettings, wanted: &RdsSettings) -> Vec<String> {
    let mut wanted_groups: Vec<String> = wanted
        .security_groups
        .iter()
        .map(|g| g.to_string())
        .collect();
    wanted_groups.sort();
    let mut actual_groups = actual.security_groups.clone();
    actual_groups.sort();
    let mut out = Vec::new();
    let mut compare = |what: &str, actual: String, wanted: String| {
        if actual != wanted {
            out.push(format!("{what} is {actual}, the source has {wanted}"));
        }
    };
    compare("port", actual.port.clone(), wanted.port.to_string());
    compare(
        "security groups",
        actual_groups.join(" "),
        wanted_groups.join(" "),
    );
    compare(
        "subnet group",
        actual.subnet_group.clone(),
        wanted.subnet_group.to_string(),
    );
    compare(
        "instance class",
        actual.instance_class.clone(),
        wanted.instance_class.to_string(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::sample;

    #[test]
    fn source_and_restored_instances_match() {
        let source = instance(&sample("aws-rds-describe-db-instances.json")).unwrap();
        assert_eq!(source.status, "available");
        assert_eq!(source.settings.port, "5432");
        assert_eq!(source.settings.security_groups, ["sg-0a1b2c3d4e5f60718"]);
        assert_eq!(source.settings.instance_class, "db.m5.large");
        assert_eq!(source.settings.subnet_group, "arthur-db-subnet-group");
        let restored = instance(&sample("aws-rds-describe-db-instances-restored.json")).unwrap();
        assert_eq!(
            restored.endpoint.as_ref().unwrap().0,
            "arthur-restored-db.c9xkq2abcd12.us-east-1.rds.amazonaws.com"
        );
        assert!(differences(&restored.settings, &source.settings.checked().unwrap()).is_empty());
    }

    #[test]
    fn settings_that_are_not_copied() {
        let others = other_settings(&sample("aws-rds-describe-db-instances.json")).unwrap();
        assert_eq!(
            others,
            [
                "parameter group arthur-postgres13",
                "Multi-AZ false",
                "publicly accessible false",
                "storage type gp2"
            ]
        );
    }

    #[test]
    fn a_creating_instance_has_no_endpoint() {
        let json = sample("aws-rds-restore-db-instance-from-db-snapshot.json");
        let value: Value = serde_json::from_str(&json).unwrap();
        let wrapped = serde_json::json!({"DBInstances": [value["DBInstance"]]}).to_string();
        let creating = instance(&wrapped).unwrap();
        assert_eq!(creating.status, "creating");
        assert_eq!(creating.endpoint, None);
    }

    #[test]
    fn snapshots_and_not_found() {
        let all = snapshots(&sample("aws-rds-describe-db-snapshots.json")).unwrap();
        assert!(all.iter().any(|s| s.status == "available"));
        assert!(is_not_found(&sample(
            "aws-rds-describe-notfound.stderr.txt"
        )));
        assert!(is_failed_status("incompatible-restore"));
        assert!(!is_failed_status("backing-up"));
    }

    #[test]
    fn differences_are_named() {
        let wanted = RdsSettings {
            port: "5432".into(),
            security_groups: vec!["sg-00000001".into(), "sg-00000002".into()],
            subnet_group: "g".into(),
            instance_class: "db.m5.large".into(),
        };
        let mut actual = InstanceSettings {
            port: "5432".into(),
            security_groups: vec!["sg-00000002".into(), "sg-00000001".into()],
            subnet_group: "g".into(),
            instance_class: "db.m5.large".into(),
        };
        assert!(differences(&actual, &wanted).is_empty());
        actual.port = "5433".into();
        assert_eq!(
            differences(&actual, &wanted),
            ["port is 5433, the source has 5432"]
        );
    }
}
