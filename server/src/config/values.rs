//! Parsing and validating setting values, with Redis 7's error texts (they are part of the
//! `CONFIG SET failed ... - <reason>` reply clients and test suites compare against).

use crate::stream::pubsub::OutputLimit;

/// The type of a setting, used to validate and normalise its value.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// `yes` / `no` (case-insensitive; reported in lower case).
    Bool,
    /// A whole number in `min..=max`.
    Int { min: i64, max: i64 },
    /// A size like `64mb` in `min..=max` bytes; reported in bytes, as Redis does.
    Memory { min: u64, max: u64 },
    /// One of a fixed list of words (case-insensitive; reported in lower case).
    Enum(&'static [&'static str]),
    /// A size like [`Kind::Memory`], or a percentage of `maxmemory` (`10%`, at most 100).
    MemoryOrPercent,
    /// `save`: `""` or `<seconds> <changes>` pairs.
    SaveParams,
    /// Free text (paths, names, passwords).
    Text,
}

impl Kind {
    /// Validates `value` and returns the form CONFIG GET reports.
    pub fn normalize(self, value: &str) -> Result<String, String> {
        match self {
            Kind::Bool => yes_no(value).map(|b| if b { "yes" } else { "no" }.to_string()),
            Kind::Int { min, max } => int(value, min, max).map(|n| n.to_string()),
            Kind::Memory { min, max } => memory_in(value, min, max).map(|n| n.to_string()),
            Kind::Enum(words) => one_of(value, words).map(str::to_string),
            Kind::MemoryOrPercent => memory_or_percent(value),
            Kind::SaveParams => save_params(value),
            Kind::Text => Ok(value.to_string()),
        }
    }
}

/// Redis's integer parse: a decimal `i64` in `min..=max`.
pub fn int(value: &str, min: i64, max: i64) -> Result<i64, String> {
    let n: i64 = value
        .parse()
        .map_err(|_| "argument couldn't be parsed into an integer".to_string())?;
    in_range(n, min, max)
}

fn in_range<T: PartialOrd + std::fmt::Display>(n: T, min: T, max: T) -> Result<T, String> {
    if n < min || n > max {
        return Err(format!(
            "argument must be between {min} and {max} inclusive"
        ));
    }
    Ok(n)
}

/// Redis's size parse (`memtoull`): digits with an optional `b`, `k`, `kb`, `m`, `mb`, `g`,
/// `gb` suffix (`k` = 1000, `kb` = 1024).
pub fn memory(value: &str) -> Result<u64, String> {
    let lower = value.to_ascii_lowercase();
    let (digits, unit) = [
        ("gb", 1u64 << 30),
        ("mb", 1 << 20),
        ("kb", 1 << 10),
        ("g", 1_000_000_000),
        ("m", 1_000_000),
        ("k", 1000),
        ("b", 1),
    ]
    .iter()
    .find_map(|(suffix, unit)| lower.strip_suffix(suffix).map(|d| (d, *unit)))
    .unwrap_or((lower.as_str(), 1));
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .ok_or_else(|| "argument must be a memory value".to_string())
}

/// `maxmemory-clients`: a percentage (`50%`, reported as given) or a size in bytes.
fn memory_or_percent(value: &str) -> Result<String, String> {
    match value.strip_suffix('%') {
        Some(digits) => {
            let pct: u64 = digits
                .parse()
                .map_err(|_| "argument must be a memory or percent value".to_string())?;
            if pct > 100 {
                return Err("percentage argument must be less or equal to 100".into());
            }
            Ok(format!("{pct}%"))
        }
        None => memory(value)
            .map(|n| n.to_string())
            .map_err(|_| "argument must be a memory or percent value".to_string()),
    }
}

/// A size in `min..=max` bytes.
pub fn memory_in(value: &str, min: u64, max: u64) -> Result<u64, String> {
    in_range(memory(value)?, min, max)
}

pub fn yes_no(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err("argument must be 'yes' or 'no'".into()),
    }
}

/// One of `words` (case-insensitive), as its canonical spelling.
pub fn one_of(value: &str, words: &'static [&'static str]) -> Result<&'static str, String> {
    words
        .iter()
        .find(|w| w.eq_ignore_ascii_case(value))
        .copied()
        .ok_or_else(|| {
            format!(
                "argument(s) must be one of the following: {}",
                words.join(", ")
            )
        })
}

/// A non-negative, finite decimal number (autoscaler thresholds and times).
pub fn non_negative(value: &str) -> Result<f64, String> {
    value
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .ok_or_else(|| "argument must be a non-negative number".to_string())
}

pub fn seconds(value: &str) -> Result<std::time::Duration, String> {
    non_negative(value).map(std::time::Duration::from_secs_f64)
}

/// `save`: empty, or pairs of non-negative integers (normalised to single spaces).
fn save_params(value: &str) -> Result<String, String> {
    let words: Vec<&str> = value.split_whitespace().collect();
    let valid = words.len().is_multiple_of(2) && words.iter().all(|w| w.parse::<u64>().is_ok());
    if !valid {
        return Err("Invalid save parameters".into());
    }
    Ok(words.join(" "))
}

/// `client-output-buffer-limit` per client class, as Redis reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputLimits {
    /// Accepted for compatibility: redyn never cuts off normal clients.
    pub normal: OutputLimit,
    /// Accepted for compatibility: redyn has no replicas.
    pub replica: OutputLimit,
    /// Enforced on pub/sub subscribers.
    pub pubsub: OutputLimit,
}

impl OutputLimits {
    pub fn to_redis_string(&self) -> String {
        let class = |name: &str, l: OutputLimit| {
            format!(
                "{name} {} {} {}",
                l.hard_bytes, l.soft_bytes, l.soft_seconds
            )
        };
        [
            class("normal", self.normal),
            class("slave", self.replica),
            class("pubsub", self.pubsub),
        ]
        .join(" ")
    }

    /// Applies `<class> <hard> <soft> <seconds>` groups on top of `self` (Redis changes only
    /// the classes named).
    pub fn with_groups(mut self, value: &str) -> Result<OutputLimits, String> {
        let words: Vec<&str> = value.split_whitespace().collect();
        if words.is_empty() || !words.len().is_multiple_of(4) {
            return Err("Wrong number of arguments in buffer limit configuration.".into());
        }
        for group in words.chunks(4) {
            let slot = match group[0].to_ascii_lowercase().as_str() {
                "normal" => &mut self.normal,
                "slave" | "replica" => &mut self.replica,
                "pubsub" => &mut self.pubsub,
                _ => {
                    return Err(
                        "Invalid client class specified in buffer limit configuration.".into(),
                    )
                }
            };
            let bad =
                || "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
            let hard = memory(group[1]).map_err(|_| bad())?;
            let soft = memory(group[2]).map_err(|_| bad())?;
            let secs: u64 = group[3].parse().map_err(|_| bad())?;
            *slot = OutputLimit {
                hard_bytes: usize::try_from(hard).map_err(|_| bad())?,
                soft_bytes: usize::try_from(soft).map_err(|_| bad())?,
                soft_seconds: secs,
            };
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_redis_units() {
        assert_eq!(memory("512mb").unwrap(), 512 << 20);
        assert_eq!(memory("1K").unwrap(), 1000);
        assert_eq!(memory("3").unwrap(), 3);
        assert!(memory("-1").is_err());
        assert!(memory("lots").is_err());
    }

    #[test]
    fn kinds_normalise_and_reject() {
        assert_eq!(Kind::Bool.normalize("YES").unwrap(), "yes");
        assert!(Kind::Bool.normalize("maybe").is_err());
        let small = Kind::Int { min: 0, max: 10 };
        assert_eq!(
            small.normalize("11").unwrap_err(),
            "argument must be between 0 and 10 inclusive"
        );
        assert_eq!(
            small.normalize("x").unwrap_err(),
            "argument couldn't be parsed into an integer"
        );
        assert_eq!(Kind::SaveParams.normalize(" 900  1 ").unwrap(), "900 1");
        assert!(Kind::SaveParams.normalize("900").is_err());
    }

    #[test]
    fn output_limits_change_only_the_named_class() {
        let base = OutputLimits {
            normal: OutputLimit::default(),
            replica: OutputLimit::default(),
            pubsub: OutputLimit::default(),
        };
        let changed = base.with_groups("pubsub 4mb 1mb 5").unwrap();
        assert_eq!(changed.normal, base.normal);
        assert_eq!(changed.pubsub.hard_bytes, 4 << 20);
        assert_eq!(changed.pubsub.soft_seconds, 5);
        assert!(base.with_groups("pubsub 1 2").is_err());
        assert!(base.with_groups("other 1 2 3").is_err());
    }
}
