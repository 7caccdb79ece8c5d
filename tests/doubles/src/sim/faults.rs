//! Faults for the matrices (`ARTHUR_SIM_FAULT`), planted secrets (`ARTHUR_SIM_SECRETS`) and
//! hostile bytes (`ARTHUR_SIM_NOISE`).

use crate::*;

/// `ARTHUR_SIM_FAULT=N:KIND`: the fault, and the N-th command received. With
/// `ARTHUR_SIM_FAULT_COMMAND="K LINE"` it is the K-th call of that command line instead (reads
/// run side by side arrive in any order: the matrices name the command, not its arrival).
pub(crate) fn fault() -> Option<(u64, String)> {
    let spec = std::env::var("ARTHUR_SIM_FAULT").ok()?;
    let (n, kind) = spec.split_once(':')?;
    Some((n.parse().ok()?, kind.to_string()))
}

pub(crate) fn fault_kind() -> Option<String> {
    fault().map(|(_, kind)| kind)
}

/// The command line being answered (set once, as the call begins).
pub(crate) static CURRENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// The fault applies to the command being answered.
pub(crate) fn fault_now(world: &World) -> bool {
    let Some((n, _)) = fault() else {
        return false;
    };
    let Some((k, line)) = std::env::var("ARTHUR_SIM_FAULT_COMMAND")
        .ok()
        .and_then(|spec| {
            let (k, line) = spec.split_once(' ')?;
            Some((k.parse::<usize>().ok()?, line.to_string()))
        })
    else {
        return n == world.calls.len() as u64 + 1;
    };
    // The tests name the run's folder `[DIR]`: the folder of this world.
    let dir = std::env::var("ARTHUR_SIM_STATE")
        .ok()
        .and_then(|state| {
            std::path::Path::new(&state)
                .parent()
                .map(|p| p.display().to_string())
        })
        .unwrap_or_default();
    let spelled = |text: &str| {
        if dir.is_empty() {
            text.to_string()
        } else {
            text.replace(&dir, "[DIR]")
        }
    };
    let current = spelled(CURRENT.get().map(String::as_str).unwrap_or(""));
    current == line
        && world
            .calls
            .iter()
            .filter(|call| spelled(&call.argv.join(" ")) == line)
            .count()
            + 1
            == k
}

/// The realistic error of each CLI for a fault kind.
pub(crate) fn failure(tool: &str, kind: &str) -> Answer {
    let text = match (tool, kind) {
        ("kubectl", "notfound") => {
            "Error from server (NotFound): the server could not find the requested resource\n"
        }
        ("kubectl", "forbidden") => {
            "Error from server (Forbidden): statefulsets.apps is forbidden: User \"operator\" cannot list resource \"statefulsets\" in API group \"apps\" in the namespace \"arthur\"\n"
        }
        ("kubectl", "refused") => {
            "The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?\n"
        }
        ("kubectl", _) => {
            "Error from server (TooManyRequests): the server has received too many requests and has asked us to try again later\n"
        }
        ("velero", "notfound") => {
            "An error occurred: the server could not find the requested resource\n"
        }
        ("velero", "forbidden") => {
            "An error occurred: restores.velero.io is forbidden: User \"operator\" cannot create resource \"restores\"\n"
        }
        ("velero", "refused") => {
            "An error occurred: Get \"https://127.0.0.1:6443/api\": dial tcp 127.0.0.1:6443: connect: connection refused\n"
        }
        ("velero", _) => {
            "An error occurred: the server has received too many requests and has asked us to try again later\n"
        }
        ("aws", "notfound") => {
            "\nAn error occurred (DBInstanceNotFound) when calling the DescribeDBInstances operation: DBInstance x not found.\n"
        }
        ("aws", "forbidden") => {
            "\nAn error occurred (AccessDenied) when calling the operation: User: arn:aws:iam::123456789012:user/operator is not authorized to perform this operation\n"
        }
        ("aws", "refused") => {
            "\nCould not connect to the endpoint URL: \"https://rds.us-east-1.amazonaws.com/\"\n"
        }
        ("aws", _) => {
            "\nAn error occurred (Throttling) when calling the operation (reached max retries: 2): Rate exceeded\n"
        }
        (_, "refused") => {
            "curl: (7) Failed to connect to localhost port 7899 after 0 ms: Connection refused\n"
        }
        _ => "curl: (22) The requested URL returned error: 503\n",
    };
    let status = match tool {
        "aws" => 254,
        "curl" => 7,
        _ => 1,
    };
    Answer::err(text, status)
}

/// A generated secret: letters and digits from a seed and an index (deterministic).
pub(crate) fn secret(seed: u64, index: u64, length: usize, upper: bool) -> String {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(index.wrapping_mul(1442695040888963407))
        | 1;
    let alphabet: &[u8] = if upper {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    } else {
        b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    };
    (0..length)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            alphabet[(state % alphabet.len() as u64) as usize] as char
        })
        .collect()
}

/// Secrets in every form a CLI may print them (`ARTHUR_SIM_SECRETS=SEED`): YAML keys, nested
/// values, block scalars, flow mappings, PEM blocks, bearer tokens, AWS credentials, JSON and
/// JSON-escaped text. Returns the text and the secret values planted in it.
pub(crate) fn planted_secrets(seed: u64, call: u64) -> (String, Vec<String>) {
    let v: Vec<String> = (0..30)
        .map(|i| secret(seed, call * 100 + i, 24, false))
        .collect();
    let key_id = format!("AKIA{}", secret(seed, call * 100 + 50, 16, true));
    let mut text = format!(
        "meta_db_password:\n  value: {}\napi_key: {}\nvaluePlaintext: {}\ndb_password: {{value: '{}'}}\ntls_key: |\n  {}\n-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\nAuthorization: Bearer {}\naws_access_key_id = {key_id}\naws_secret_access_key = {}\naws_session_token = {}\n{{\"SecretAccessKey\": \"{}\", \"SessionToken\": \"{}\"}}\n{{\"message\": \"config:\\n  password: {}\\n\"}}\ntoken: \"{}\"\n",
        v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12]
    );
    // The forms of issue 17: URL userinfo, an env list, keys ending _pass/_pw/passphrase, a
    // cookie and an API key header, shaped tokens, a value on the next line, broken YAML.
    text.push_str(&format!(
        "url: postgres://arthur:{}@db.internal:5432/arthur\ncache: redis://:{}@cache:6379\nsee https://user:{}@host/x\nenv:\n  - name: POSTGRES_PASSWORD\n    value: {}\ndb_pass: {}\nuser_pw={}\nssh_passphrase: {}\nDB_PASS={}\nCookie: session={}\nx-api-key: {}\nghp_{}\nxoxb-{}\npassword:\n  {}\nmeta_db_password: {{value: 'Pa55-{}\n",
        v[14], v[15], v[16], v[17], v[18], v[19], v[20], v[21], v[22], v[23], v[24], v[25], v[26], v[27]
    ));
    let mut values = v[..13].to_vec();
    values.extend(v[14..28].iter().cloned());
    values.push(key_id);
    (text, values)
}

/// Hostile bytes in the answer of call N (`ARTHUR_SIM_NOISE=N`): escape sequences, an OSC 8
/// link, BEL, CR, NUL, a right-to-left override and a line of 2 MiB, somewhere in stdout.
pub(crate) fn add_noise(answer: &mut Answer, n: u64) {
    if std::env::var("ARTHUR_SIM_NOISE")
        .ok()
        .and_then(|t| t.parse::<u64>().ok())
        != Some(n)
    {
        return;
    }
    let noise = format!(
        "\u{1b}[2J\u{1b}]8;;http://evil.example/\u{7}link\u{1b}]8;;\u{7}\u{7}\r\0\u{202e}evil\u{9b}31m\n{}\n",
        "x".repeat(2 << 20)
    );
    let mut at = (n as usize * 7919) % (answer.stdout.len() + 1);
    while !answer.stdout.is_char_boundary(at) {
        at -= 1;
    }
    answer.stdout.insert_str(at, &noise);
    answer.stderr.push_str("\u{1b}[31mwarning\u{7}\r\u{2066}\n");
}

pub(crate) fn hang() -> ! {
    loop {
        std::thread::sleep(std::time::Duration::from_secs(60));
    }
}

pub(crate) fn signal_caller(kind: &str) {
    let signal = match kind {
        "interrupt" | "interrupt-twice" => libc::SIGINT,
        "terminate" => libc::SIGTERM,
        _ => libc::SIGKILL,
    };
    let caller = std::os::unix::process::parent_id() as libc::pid_t;
    // SAFETY: kill(2) with a process id and a signal number has no memory effects.
    unsafe {
        libc::kill(caller, signal);
    }
}
