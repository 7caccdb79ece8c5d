//! The values of flags that never reach an argv: durations (as Go writes them), sizes, times
//! and hashes, parsed for clap and shown back as the command line writes them. The checked
//! types of argv values are `names`.

use std::time::Duration;

/// A DURATION of SPEC section 3, as Go writes it (kubectl and velero accept the same): `250ms`,
/// `90s`, `30m`, `1h30m`, `1.5h`. jiff's friendly format reads these (and the longer spellings,
/// `1h 30m`, `90 seconds`); what is negative, zero or finer than a millisecond is refused.
pub fn duration(value: &str) -> Result<Duration, String> {
    let wrong =
        || format!("`{value}` is not a duration (as Go writes them: 250ms, 90s, 30m, 1h30m, 1.5h)");
    if value.trim().starts_with('-') {
        return Err(format!(
            "`{value}` is negative; a duration must be positive (as Go writes them: 250ms, 90s, 30m, 1h30m, 1.5h)"
        ));
    }
    if value.trim().is_empty() || value.trim().starts_with(['P', 'p', '+']) {
        return Err(wrong());
    }
    let parsed: jiff::SignedDuration = value.trim().parse().map_err(|_| wrong())?;
    let duration = Duration::try_from(parsed).map_err(|_| wrong())?;
    if duration.is_zero() {
        return Err(format!("`{value}` is zero; a duration must be positive"));
    }
    if duration.subsec_nanos() % 1_000_000 != 0 {
        return Err(format!(
            "`{value}` is finer than a millisecond; give whole milliseconds at least"
        ));
    }
    Ok(duration)
}

/// The smallest `--max-output`: one ordinary listing (a few hundred pods as JSON) must fit.
pub const MIN_SIZE: u64 = 64 << 10;

/// A SIZE (`--max-output`), as Kubernetes writes a quantity: a whole number of bytes with `Ki`,
/// `Mi`, `Gi` (1024s) or `K`, `M`, `G` (1000s); `KiB`, `MiB`, `GiB` and `KB`, `MB`, `GB` are read
/// alike. At least 64Ki.
pub fn size(value: &str) -> Result<u64, String> {
    let wrong = || {
        format!(
            "`{value}` is not a size: a whole number with Ki, Mi or Gi (1024s) or K, M or G (1000s), as Kubernetes writes them: 64Mi"
        )
    };
    let digits = value.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &value[digits.len()..];
    let amount: u64 = digits.parse().map_err(|_| wrong())?;
    let scale: u64 = match unit.strip_suffix('B').unwrap_or(unit) {
        "" => 1,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "K" | "k" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        _ => return Err(wrong()),
    };
    let bytes = amount.checked_mul(scale).ok_or_else(wrong)?;
    if bytes < MIN_SIZE {
        return Err(format!(
            "`{value}` is too small: one command's output must be allowed at least 64Ki (65536 bytes)"
        ));
    }
    Ok(bytes)
}

/// A SHA-256 in hex (`audit --expect`), in lower case.
pub fn sha256_hex(value: &str) -> Result<String, String> {
    if value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(value.to_ascii_lowercase())
    } else {
        Err(format!(
            "`{value}` is not a SHA-256 (64 hexadecimal digits)"
        ))
    }
}

/// `--at`: RFC 3339, or a date (the end of that day, UTC).
pub fn at_time(text: &str) -> Result<jiff::Timestamp, String> {
    if let Ok(timestamp) = text.parse::<jiff::Timestamp>() {
        return Ok(timestamp);
    }
    if let Ok(date) = text.parse::<jiff::civil::Date>()
        && text.len() == 10
    {
        let end_of_day = date.at(23, 59, 59, 999_999_999);
        if let Ok(timestamp) = jiff::tz::TimeZone::UTC.to_timestamp(end_of_day) {
            return Ok(timestamp);
        }
    }
    Err(format!(
        "--at `{text}` is not a time: give RFC 3339 (2023-05-11T15:30:00-04:00) or a date (2023-05-11)"
    ))
}

/// Shows a duration the way it is written on the command line.
pub fn format_duration(duration: Duration) -> String {
    let ms = duration.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    // As Go writes a duration, without its zero parts: 1h30m, 2m30s, 250ms.
    let (hours, minutes, seconds, millis) = (
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1_000 % 60,
        ms % 1_000,
    );
    let mut text = String::new();
    for (amount, unit) in [(hours, "h"), (minutes, "m"), (seconds, "s"), (millis, "ms")] {
        if amount > 0 {
            text.push_str(&format!("{amount}{unit}"));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(size("64MiB").unwrap(), 64 << 20);
        assert_eq!(size("64Mi").unwrap(), 64 << 20);
        assert_eq!(size("64M").unwrap(), 64_000_000);
        assert_eq!(size("100000").unwrap(), 100_000);
        assert_eq!(size("200KB").unwrap(), 200_000);
        assert_eq!(size("1Gi").unwrap(), 1 << 30);
        for bad in ["", "0", "5", "MiB", "1.5MiB", "-1", "10XB", "64m"] {
            assert!(size(bad).is_err(), "{bad}");
        }
        assert!(size("5").unwrap_err().contains("at least 64Ki"));
        assert!(size("64x").unwrap_err().contains("Ki, Mi or Gi"));
    }

    #[test]
    fn at_accepts_rfc3339_and_dates() {
        assert_eq!(
            at_time("2023-05-11T15:30:00-04:00").unwrap().to_string(),
            "2023-05-11T19:30:00Z"
        );
        assert_eq!(
            at_time("2023-05-11").unwrap().to_string(),
            "2023-05-11T23:59:59.999999999Z"
        );
        assert!(at_time("yesterday").is_err());
        assert!(at_time("2023-5-1").is_err());
    }

    #[test]
    fn durations() {
        assert!(duration("-5m").unwrap_err().contains("negative"));
        assert_eq!(duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(duration("30m").unwrap(), Duration::from_secs(1800));
        assert_eq!(duration("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(duration("1.5h").unwrap(), Duration::from_secs(5400));
        assert_eq!(duration("2m30s").unwrap(), Duration::from_secs(150));
        assert_eq!(duration("1m0.5s").unwrap(), Duration::from_millis(60_500));
        for bad in ["", "5", "-5s", "0s", "s", "PT5S", "1us", "abc", "5x"] {
            assert!(duration(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(format_duration(Duration::from_secs(1800)), "30m");
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format_duration(Duration::from_secs(3600)), "1h");
    }
}
