//! Validation of every value that goes into an argv (SPEC section 5, rule 6).
//!
//! Each function takes the raw text and returns it when it has the documented form, or a
//! sentence saying what form was expected. The types below (`Namespace`, `ObjectName`, …) can be
//! built only through these functions, whatever the source of the text: a flag (they are clap's
//! value parsers), the environment, `state.json` (deserializing validates) or a command's output.
//! The command catalogue takes only these types, so an unchecked string cannot reach an argv.
//!
//! The one exception is `placeholder`: a placeholder of the runbook's text (`$arthur_namespace`) or of
//! a plan (`<the PVCs selected above>`), for commands that are shown and never run. A command
//! built with one is marked, and the runner refuses to start it.

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).expect("a valid built-in pattern")
}

static DNS_LABEL: LazyLock<Regex> = LazyLock::new(|| regex(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"));
static DNS_SUBDOMAIN: LazyLock<Regex> =
    LazyLock::new(|| regex(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"));
static CLICKHOUSE_BACKUP: LazyLock<Regex> =
    LazyLock::new(|| regex(r"^[A-Za-z0-9][A-Za-z0-9._-]*$"));
static RDS_IDENTIFIER: LazyLock<Regex> = LazyLock::new(|| regex(r"^[A-Za-z](-?[A-Za-z0-9])*$"));
static RDS_SNAPSHOT: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"^(arn:aws[a-z-]*:rds:[a-z0-9-]+:[0-9]{12}:snapshot:)?(rds:)?[A-Za-z](-?[A-Za-z0-9])*$")
});
static SECURITY_GROUP: LazyLock<Regex> = LazyLock::new(|| regex(r"^sg-[0-9a-f]{8,17}$"));
static SUBNET_GROUP: LazyLock<Regex> = LazyLock::new(|| regex(r"^[A-Za-z0-9][A-Za-z0-9._ -]*$"));
static INSTANCE_CLASS: LazyLock<Regex> =
    LazyLock::new(|| regex(r"^db\.[a-z0-9]+(\.[a-z0-9-]+)?\.[a-z0-9]+$"));
static S3_URI: LazyLock<Regex> =
    LazyLock::new(|| regex(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[A-Za-z0-9!_.*'()/=+-]*)?$"));
static AWS_REGION: LazyLock<Regex> = LazyLock::new(|| regex(r"^[a-z]{2}(-[a-z]+)+-[0-9]+$"));
static AWS_PROFILE: LazyLock<Regex> = LazyLock::new(|| regex(r"^[A-Za-z0-9_][A-Za-z0-9_.@+-]*$"));
static ENDPOINT_URL: LazyLock<Regex> =
    LazyLock::new(|| regex(r"^https?://[^\s/$.?#\p{Cc}][^\s\p{Cc}]*$"));

fn check(value: &str, pattern: &Regex, max: usize, what: &str) -> Result<String, String> {
    if value.len() <= max && pattern.is_match(value) {
        Ok(value.to_string())
    } else {
        Err(format!("`{value}` is not {what}"))
    }
}

/// A Kubernetes namespace: an RFC 1123 label.
pub fn namespace(value: &str) -> Result<String, String> {
    check(
        value,
        &DNS_LABEL,
        63,
        "a Kubernetes namespace (RFC 1123 label: lower-case letters, digits and '-', at most 63 characters, starting and ending with a letter or digit)",
    )
}

/// A Kubernetes object name (RFC 1123 subdomain): pods, Velero backups and restores, PVCs, PVs.
pub fn object_name(value: &str) -> Result<String, String> {
    check(
        value,
        &DNS_SUBDOMAIN,
        253,
        "a Kubernetes object name (lower-case letters, digits, '-' and '.', at most 253 characters)",
    )
}

static VELERO_BACKUP: LazyLock<Regex> =
    LazyLock::new(|| regex(r"^[a-z0-9]([-a-z0-9.+]*[a-z0-9])?$"));

/// A Velero backup name: a Kubernetes object name; `+` is allowed too, for the positive UTC
/// offsets in Arthur's names (`…t05.30.00+05.30-messaging`).
pub fn velero_backup(value: &str) -> Result<String, String> {
    check(value, &VELERO_BACKUP, 253, "").map_err(|_| {
        format!(
            "`{value}` is not a Velero backup name (lower-case letters, digits, '-' and '.', e.g. arthur-backup-2023-05-11t15.22.37-04.00-messaging)"
        )
    })
}

/// An Arthur ClickHouse backup name, without the node prefix.
pub fn clickhouse_backup(value: &str) -> Result<String, String> {
    let name = check(
        value,
        &CLICKHOUSE_BACKUP,
        255,
        "a ClickHouse backup name (letters, digits, '.', '_' and '-', e.g. arthur-clickhouse-backup-2023-05-11-00-00-07)",
    )?;
    if name.starts_with("chi-") {
        return Err(format!(
            "`{value}` looks like a node-prefixed backup name; give the Arthur backup name without the node prefix (e.g. arthur-clickhouse-backup-2023-05-11-00-00-07)"
        ));
    }
    Ok(name)
}

/// An RDS DB instance identifier.
pub fn rds_instance(value: &str) -> Result<String, String> {
    check(
        value,
        &RDS_IDENTIFIER,
        63,
        "an RDS DB instance identifier (1 to 63 letters, digits or hyphens, starting with a letter, no two hyphens in a row, not ending with a hyphen)",
    )
}

/// An RDS DB snapshot identifier, an automated one (`rds:…`), or a snapshot ARN.
pub fn rds_snapshot(value: &str) -> Result<String, String> {
    check(
        value,
        &RDS_SNAPSHOT,
        1024,
        "an RDS DB snapshot identifier (letters, digits and hyphens starting with a letter, optionally `rds:`-prefixed, or a snapshot ARN)",
    )
}

pub fn security_group(value: &str) -> Result<String, String> {
    check(
        value,
        &SECURITY_GROUP,
        20,
        "a VPC security group ID (sg- followed by 8 or 17 hex digits)",
    )
}

pub fn subnet_group(value: &str) -> Result<String, String> {
    check(
        value,
        &SUBNET_GROUP,
        255,
        "a DB subnet group name (letters, digits, spaces, '.', '_' and '-')",
    )
}

pub fn instance_class(value: &str) -> Result<String, String> {
    check(
        value,
        &INSTANCE_CLASS,
        64,
        "an RDS instance class (e.g. db.m5.large)",
    )
}

pub fn rds_port(value: &str) -> Result<u16, String> {
    match value.parse::<u16>() {
        Ok(port) if port >= 1150 => Ok(port),
        _ => Err(format!(
            "`{value}` is not an RDS Postgres port (a number from 1150 to 65535)"
        )),
    }
}

pub fn local_port(value: &str) -> Result<u16, String> {
    match value.parse::<u16>() {
        Ok(port) if port >= 1 => Ok(port),
        _ => Err(format!(
            "`{value}` is not a local port (a number from 1 to 65535)"
        )),
    }
}

/// An S3 URI to list ClickHouse backups under. A missing trailing `/` is added: without it
/// `aws s3 ls` lists only the prefix itself, not what is under it.
pub fn s3_uri(value: &str) -> Result<String, String> {
    let uri = check(
        value,
        &S3_URI,
        1024,
        "an S3 URI (s3://bucket/path/, bucket in lower case)",
    )?;
    let without_scheme = &uri["s3://".len()..];
    Ok(
        if without_scheme.contains('/') && !uri.ends_with('/') || !without_scheme.contains('/') {
            format!("{uri}/")
        } else {
            uri
        },
    )
}

pub fn aws_region(value: &str) -> Result<String, String> {
    check(value, &AWS_REGION, 32, "an AWS region (e.g. us-east-1)")
}

pub fn aws_profile(value: &str) -> Result<String, String> {
    check(
        value,
        &AWS_PROFILE,
        128,
        "an AWS profile name (letters, digits, '_', '.', '@', '+' and '-')",
    )
}

pub fn endpoint_url(value: &str) -> Result<String, String> {
    check(
        value,
        &ENDPOINT_URL,
        2048,
        "an endpoint URL (http:// or https://, no spaces)",
    )
}

/// A kube context name. Context names are free text in a kubeconfig (EKS uses ARNs), so only
/// what could be mistaken for a flag or break a line is refused.
pub fn kube_context(value: &str) -> Result<String, String> {
    if value.is_empty() || value.starts_with('-') || value.chars().any(char::is_control) {
        Err(format!(
            "`{value}` is not a kube context name (it must not be empty, start with '-' or contain control characters)"
        ))
    } else {
        Ok(value.to_string())
    }
}

/// A path given to the CLIs (kubeconfig). Refused when it could be read as a flag.
pub fn cli_path(value: &str) -> Result<std::path::PathBuf, String> {
    if value.is_empty() || value.starts_with('-') || value.chars().any(char::is_control) {
        Err(format!(
            "`{value}` is not a usable path (it must not be empty, start with '-' or contain control characters)"
        ))
    } else {
        Ok(value.into())
    }
}

/// A webhook URL (`--notify`). It is a secret (Slack's and Mattermost's carry their token in the
/// path), so only its scheme and host are ever shown, by `Display` and `Debug` alike; the whole
/// URL goes to curl's argv alone, never to a file or a stream of the tool.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookUrl {
    whole: String,
    shown: String,
}

impl WebhookUrl {
    /// The URL when it is one (http or https, a host, no spaces or control characters). The
    /// error never quotes the value.
    pub fn new(value: &str) -> Result<WebhookUrl, String> {
        let refused = || {
            "not a webhook URL (http:// or https://, a host, no spaces); the value is not shown, as a webhook URL carries its token".to_string()
        };
        if !ENDPOINT_URL.is_match(value) || value.len() > 4096 {
            return Err(refused());
        }
        let (scheme, rest) = value.split_once("://").ok_or_else(refused)?;
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = authority.rsplit('@').next().unwrap_or("");
        if host.is_empty() {
            return Err(refused());
        }
        Ok(WebhookUrl {
            whole: value.to_string(),
            shown: format!("{scheme}://{host}"),
        })
    }

    /// The whole URL, for curl's argv.
    pub fn whole(&self) -> &str {
        &self.whole
    }
}

impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebhookUrl({})", self.shown)
    }
}

/// A value the catalogue may put into an argv.
pub trait ArgValue {
    /// The text of the argument.
    fn arg(&self) -> &str;
    /// True for a placeholder that is only shown, never run.
    fn is_placeholder(&self) -> bool;
}

macro_rules! checked {
    ($(#[$doc:meta])* $name:ident, $check:path) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name {
            value: String,
            #[serde(skip)]
            placeholder: bool,
        }

        impl $name {
            /// The value, when it has the documented form.
            pub fn new(value: &str) -> Result<$name, String> {
                $check(value).map(|value| $name { value, placeholder: false })
            }

            /// A placeholder, for a command that is only shown (see the module's documentation).
            pub fn placeholder(text: impl Into<String>) -> $name {
                $name { value: text.into(), placeholder: true }
            }

            /// The value when it is valid, else a placeholder of its text: for a command that
            /// is only printed for the operator (which `Display` quotes), never run.
            pub fn or_placeholder(text: &str) -> $name {
                $name::new(text).unwrap_or_else(|_| $name::placeholder(text))
            }

            pub fn as_str(&self) -> &str {
                &self.value
            }
        }

        impl ArgValue for $name {
            fn arg(&self) -> &str {
                &self.value
            }

            fn is_placeholder(&self) -> bool {
                self.placeholder
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;

            fn try_from(value: String) -> Result<$name, String> {
                $name::new(&value)
            }
        }

        impl From<$name> for String {
            fn from(name: $name) -> String {
                name.value
            }
        }

        /// For tests: a value known to be valid.
        #[cfg(test)]
        impl From<&str> for $name {
            fn from(value: &str) -> $name {
                $name::new(value).expect("a valid value in a test")
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.value
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.value
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.value)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.value == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.value == *other
            }
        }
    };
}

checked!(
    /// A Kubernetes namespace.
    Namespace,
    namespace
);
checked!(
    /// A Kubernetes object name: a pod, a StatefulSet, a PVC, a PV, a Job, a Velero restore.
    ObjectName,
    object_name
);
checked!(
    /// A Velero backup name.
    VeleroBackupName,
    velero_backup
);
checked!(
    /// An Arthur ClickHouse backup name, without the node prefix.
    ClickhouseBackupName,
    clickhouse_backup
);
checked!(
    /// An RDS DB instance identifier.
    RdsIdentifier,
    rds_instance
);
checked!(
    /// An RDS DB snapshot identifier.
    SnapshotId,
    rds_snapshot
);
checked!(
    /// A VPC security group ID.
    SecurityGroupId,
    security_group
);
checked!(
    /// A DB subnet group name.
    SubnetGroupName,
    subnet_group
);
checked!(
    /// An RDS instance class.
    InstanceClass,
    instance_class
);
checked!(
    /// An S3 URI to list ClickHouse backups under.
    S3Uri,
    s3_uri
);
checked!(
    /// An endpoint URL for aws.
    EndpointUrl,
    endpoint_url
);
checked!(
    /// An AWS region.
    AwsRegion,
    aws_region
);
checked!(
    /// An AWS profile name.
    AwsProfile,
    aws_profile
);
checked!(
    /// A kube context name.
    KubeContext,
    kube_context
);
checked!(
    /// A path given to the CLIs (the kubeconfig, a signing key, allowed signers).
    CliPath,
    cli_path_text
);
checked!(
    /// A signer's identity in an allowed-signers file (`ssh-keygen -Y verify -I`).
    Principal,
    kube_context
);

checked!(
    /// A port number as an argument (`--port 5432`), from a flag or an instance's description.
    PortNumber,
    port_text
);

fn port_text(value: &str) -> Result<String, String> {
    match value.parse::<u16>() {
        Ok(port) if port >= 1 && value.bytes().all(|b| b.is_ascii_digit()) => Ok(value.to_string()),
        _ => Err(format!(
            "`{value}` is not a port (a number from 1 to 65535)"
        )),
    }
}

/// A path given to the CLIs (kubeconfig), as text. Refused when it could be read as a flag.
fn cli_path_text(value: &str) -> Result<String, String> {
    cli_path(value).map(|_| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces() {
        assert!(namespace("arthur").is_ok());
        assert!(namespace("arthur-prod-2").is_ok());
        for bad in [
            "",
            "Arthur",
            "arthur;rm",
            "-arthur",
            "arthur-",
            "a b",
            "$(touch pwned)",
            &"a".repeat(64),
        ] {
            assert!(namespace(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn backup_names_from_the_runbook_are_accepted() {
        for name in [
            "arthur-backup-2023-05-11t15.22.37-04.00-messaging",
            "arthur-backup-2023-05-11t15.25.24-04.00-enrichments",
            "arthur-backup-2022-09-23t11.23.25-04.00-workflows",
        ] {
            assert_eq!(velero_backup(name).unwrap(), name);
        }
        assert!(clickhouse_backup("arthur-clickhouse-backup-2022-05-12-00-00-06").is_ok());
        assert!(
            clickhouse_backup(
                "chi-olap-installation-arthur-0-0-arthur-clickhouse-backup-2022-05-12-00-00-06"
            )
            .unwrap_err()
            .contains("node prefix")
        );
        for bad in ["Arthur-Backup", "a;b", "$(id)", "a/b", "-x"] {
            assert!(velero_backup(bad).is_err(), "{bad:?} accepted");
            assert!(
                clickhouse_backup(bad).is_err() || bad == "Arthur-Backup",
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn rds_names() {
        assert!(rds_instance("arthur-prod-db").is_ok());
        assert!(rds_instance("arthur--prod").is_err());
        assert!(rds_instance("1arthur").is_err());
        assert!(rds_instance("arthur-").is_err());
        assert!(rds_snapshot("arthur-backup-2023-05-11t15-21-50-04-00").is_ok());
        assert!(rds_snapshot("rds:arthur-prod-db-2023-05-14-06-10").is_ok());
        assert!(rds_snapshot("arn:aws:rds:us-east-1:123456789012:snapshot:arthur-snap").is_ok());
        assert!(rds_snapshot("snap.with.dots").is_err());
        assert!(security_group("sg-0a1b2c3d4e5f60718").is_ok());
        assert!(security_group("sg-12345678").is_ok());
        assert!(security_group("sg-xyz").is_err());
        assert!(instance_class("db.m5.large").is_ok());
        assert!(instance_class("db.r6g.2xlarge").is_ok());
        assert!(instance_class("m5.large").is_err());
        assert_eq!(rds_port("5432").unwrap(), 5432);
        assert!(rds_port("80").is_err());
        assert!(rds_port("70000").is_err());
    }

    #[test]
    fn s3_uris_get_their_trailing_slash() {
        assert_eq!(
            s3_uri("s3://arthur-prod-backups/clickhouse/").unwrap(),
            "s3://arthur-prod-backups/clickhouse/"
        );
        assert_eq!(
            s3_uri("s3://arthur-prod-backups/clickhouse").unwrap(),
            "s3://arthur-prod-backups/clickhouse/"
        );
        assert_eq!(
            s3_uri("s3://arthur-prod-backups").unwrap(),
            "s3://arthur-prod-backups/"
        );
        assert!(s3_uri("https://example.com/x").is_err());
        assert!(s3_uri("s3://Bucket/x").is_err());
        assert!(s3_uri("s3://bucket/x y").is_err());
    }

    #[test]
    fn contexts_and_paths() {
        assert!(kube_context("arn:aws:eks:us-east-1:123456789012:cluster/prod").is_ok());
        assert!(kube_context("--help").is_err());
        assert!(cli_path("/home/op/.kube/config").is_ok());
        assert!(cli_path("-x").is_err());
        assert!(aws_region("us-east-1").is_ok());
        assert!(aws_region("us-gov-west-1").is_ok());
        assert!(aws_region("US").is_err());
        assert!(endpoint_url("http://127.0.0.1:5000").is_ok());
        assert!(endpoint_url("file:///etc/passwd").is_err());
    }
}

#[cfg(test)]
mod gate_tests {
    use super::*;

    #[test]
    fn values_from_any_source_go_through_the_same_checks() {
        // From state.json: deserializing checks.
        let from_state: Result<ObjectName, _> = serde_json::from_str("\"--all\"");
        assert!(from_state.is_err());
        let ok: ObjectName = serde_json::from_str("\"messaging\"").unwrap();
        assert_eq!(ok.as_str(), "messaging");
        assert_eq!(serde_json::to_string(&ok).unwrap(), "\"messaging\"");
        assert!(serde_json::from_str::<Namespace>("\"-A\"").is_err());
        // A control character in a URL or a path is refused at the option.
        assert!(EndpointUrl::new("http://127.0.0.1:5000\u{1b}[31m").is_err());
        let hook =
            WebhookUrl::new("https://user:pw@hooks.example.com:8443/services/T0/B0/SECRET?x=1")
                .unwrap();
        assert_eq!(hook.to_string(), "https://hooks.example.com:8443");
        assert_eq!(
            format!("{hook:?}"),
            "WebhookUrl(https://hooks.example.com:8443)"
        );
        assert!(hook.whole().ends_with("SECRET?x=1"));
        let refused = WebhookUrl::new("ftp://hooks.example.com/SECRET").unwrap_err();
        assert!(!refused.contains("SECRET"), "{refused}");
        assert!(WebhookUrl::new("https:///SECRET").is_err());
        assert!(CliPath::new("/k/config\n").is_err());
        assert!(KubeContext::new("prod\u{0}").is_err());
        // A placeholder is marked.
        assert!(ObjectName::placeholder("<x>").is_placeholder());
        assert!(!ok.is_placeholder());
    }
}
