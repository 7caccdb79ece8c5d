//! The four command-line programs the restore drives.

use std::ffi::OsString;
use std::path::PathBuf;

use serde::Serialize;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tool {
    Kubectl,
    Velero,
    Aws,
    Curl,
    /// For signing the event log (`run --sign-key`) and checking it (`audit --allowed-signers`);
    /// not one of the four CLIs a restore needs.
    SshKeygen,
}

impl Tool {
    pub const ALL: [Tool; 4] = [Tool::Kubectl, Tool::Velero, Tool::Aws, Tool::Curl];

    /// The program's name, as the runbook spells it and as the transcript shows it.
    pub fn name(self) -> &'static str {
        match self {
            Tool::Kubectl => "kubectl",
            Tool::Velero => "velero",
            Tool::Aws => "aws",
            Tool::Curl => "curl",
            Tool::SshKeygen => "ssh-keygen",
        }
    }

    /// The environment variable that may name another executable for this program.
    pub fn override_variable(self) -> &'static str {
        match self {
            Tool::Kubectl => "ARTHUR_RESTORE_KUBECTL",
            Tool::Velero => "ARTHUR_RESTORE_VELERO",
            Tool::Aws => "ARTHUR_RESTORE_AWS",
            Tool::Curl => "ARTHUR_RESTORE_CURL",
            Tool::SshKeygen => "ARTHUR_RESTORE_SSH_KEYGEN",
        }
    }

    /// Where to get the program, for the error that says it is missing.
    pub fn install_hint(self) -> &'static str {
        match self {
            Tool::Kubectl => {
                "install kubectl (https://kubernetes.io/docs/tasks/tools/; on an air-gapped host, copy the binary onto PATH)"
            }
            Tool::Velero => {
                "install the velero CLI (https://velero.io/docs/main/basic-install/#install-the-cli; on an air-gapped host, copy the binary from the release tarball onto PATH)"
            }
            Tool::Aws => {
                "install the AWS CLI (`pip install awscli`, or https://aws.amazon.com/cli/)"
            }
            Tool::Curl => "install curl (`apt-get install curl`, `yum install curl`)",
            Tool::SshKeygen => "install OpenSSH's client tools (`apt-get install openssh-client`)",
        }
    }

    /// Finds the executable: the override variable if set, else `which` on PATH.
    pub fn locate(self) -> Result<PathBuf> {
        let wanted: OsString = std::env::var_os(self.override_variable())
            .filter(|value| !value.is_empty())
            .unwrap_or_else(|| self.name().into());
        which::which(&wanted).map_err(|source| Error::ToolNotFound {
            program: self.name(),
            variable: self.override_variable(),
            hint: self.install_hint(),
            source,
        })
    }
}

impl std::fmt::Display for Tool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
