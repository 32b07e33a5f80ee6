//! Virtual time: an integer count of nanoseconds, everywhere. Never floats.

/// Nanoseconds of virtual time (global time in the scheduler, local time on a node's clock).
pub type Nanos = u64;

/// One microsecond in nanoseconds.
pub const MICROSECOND: Nanos = 1_000;
/// One millisecond in nanoseconds.
pub const MILLISECOND: Nanos = 1_000_000;
/// One second in nanoseconds.
pub const SECOND: Nanos = 1_000_000_000;

/// Formats nanoseconds for people: `0ns`, `12.5us`, `3.25ms`, `1.5s`, `2m3.5s`.
pub fn format_nanos(ns: Nanos) -> String {
    if ns < MICROSECOND {
        format!("{ns}ns")
    } else if ns < MILLISECOND {
        trim_decimal(ns, MICROSECOND, "us")
    } else if ns < SECOND {
        trim_decimal(ns, MILLISECOND, "ms")
    } else if ns < 60 * SECOND {
        trim_decimal(ns, SECOND, "s")
    } else {
        let minutes = ns / (60 * SECOND);
        let rest = ns % (60 * SECOND);
        format!("{minutes}m{}", trim_decimal(rest, SECOND, "s"))
    }
}

/// Like [`format_nanos`], but lossless: when three decimals would round the value, it is written
/// in nanoseconds (`"10376123457ns"`), so a scenario written out reads back to the same run.
pub fn format_nanos_exact(ns: Nanos) -> String {
    let text = format_nanos(ns);
    if parse_duration(&text) == Ok(ns) {
        text
    } else {
        format!("{ns}ns")
    }
}

fn trim_decimal(ns: Nanos, unit: Nanos, suffix: &str) -> String {
    let whole = ns / unit;
    let frac = (ns % unit) * 1000 / unit; // three decimals
    if frac == 0 {
        format!("{whole}{suffix}")
    } else {
        let digits = format!("{frac:03}");
        format!("{whole}.{}{suffix}", digits.trim_end_matches('0'))
    }
}

/// Parses a duration written for people: `250us`, `1.5s`, `20ms`, `3m`, `100ns`, `2h`.
///
/// Decimals are parsed exactly (no floats), to the nanosecond.
pub fn parse_duration(text: &str) -> Result<Nanos, String> {
    let text = text.trim();
    if text.starts_with('-') {
        return Err(format!("`{text}` is negative: a duration must be 0 or more"));
    }
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let scale = match unit.trim() {
        "ns" => 1,
        "us" | "µs" => MICROSECOND,
        "ms" => MILLISECOND,
        "s" => SECOND,
        "m" | "min" => 60 * SECOND,
        "h" => 3600 * SECOND,
        "" => return Err(format!("`{text}` has no unit (write e.g. `10ms`, `1.5s`)")),
        other => return Err(format!("unknown time unit `{other}` (use ns, us, ms, s, m or h)")),
    };
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && frac.is_empty() {
        return Err(format!("`{text}` has no number"));
    }
    let parse = |s: &str| -> Result<u64, String> {
        if s.is_empty() {
            Ok(0)
        } else {
            s.parse::<u64>().map_err(|_| format!("`{text}` is not a duration"))
        }
    };
    let mut total =
        parse(whole)?.checked_mul(scale).ok_or_else(|| format!("`{text}` is too long"))?;
    let mut place = scale;
    for digit in frac.chars() {
        let digit = digit.to_digit(10).ok_or_else(|| format!("`{text}` is not a duration"))?;
        place /= 10;
        total = total
            .checked_add(u64::from(digit) * place)
            .ok_or_else(|| format!("`{text}` is too long"))?;
    }
    Ok(total)
}

/// A span of time written `"1s"` or `"1s..2s"` (a range, drawn from where it is used):
/// (min, max) in ns.
pub fn parse_span(text: &str) -> Result<(Nanos, Nanos), String> {
    match text.split_once("..") {
        Some((a, b)) => {
            let (a, b) = (parse_duration(a)?, parse_duration(b)?);
            if a > b {
                return Err(format!("`{text}`: the range's start is after its end"));
            }
            Ok((a, b))
        }
        None => parse_duration(text).map(|t| (t, t)),
    }
}

/// The written form of a span (see [`parse_span`]).
pub fn format_span((a, b): (Nanos, Nanos)) -> String {
    let f = format_nanos_exact;
    if a == b {
        f(a)
    } else {
        format!("{}..{}", f(a), f(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats() {
        assert_eq!(parse_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(format_nanos_exact(1_500_000_000), "1.5s");
        assert_eq!(format_nanos_exact(10_376_123_457), "10376123457ns");
        assert_eq!(format_nanos_exact(90 * SECOND), "90000000000ns");
        assert_eq!(parse_duration("250us"), Ok(250_000));
        assert_eq!(parse_duration("20ms"), Ok(20_000_000));
        assert_eq!(parse_duration("3m"), Ok(180 * SECOND));
        assert_eq!(parse_duration(" 7ns "), Ok(7));
        assert_eq!(parse_duration("0.001ms"), Ok(1_000));
        assert!(parse_duration("12").is_err());
        assert!(parse_duration("ms").is_err());
        assert!(parse_duration("1.5parsecs").is_err());
        assert!(parse_duration("-3s").unwrap_err().contains("negative"));
        assert_eq!(format_nanos(1_500_000_000), "1.5s");
        assert_eq!(format_nanos(2_250_000), "2.25ms");
        assert_eq!(format_nanos(999), "999ns");
        assert_eq!(format_nanos(123 * SECOND + 500 * MILLISECOND), "2m3.5s");
    }
}

/// Serde for a duration in nanoseconds written for people (`"150ms"`):
/// `#[serde(with = "sim::node::duration_ns")]` on a `Nanos` field.
pub mod duration_ns {
    use super::{format_nanos_exact, parse_duration, Nanos};
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `"150ms"`.
    pub fn serialize<S: Serializer>(ns: &Nanos, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_nanos_exact(*ns))
    }

    /// Reads `"150ms"`, `"1.5s"`; a negative or unitless value is an error saying so.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Nanos, D::Error> {
        let text = String::deserialize(d)?;
        parse_duration(&text).map_err(serde::de::Error::custom)
    }
}
