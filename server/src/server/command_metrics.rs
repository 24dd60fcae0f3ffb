//! The per-command Prometheus series, rendered at each scrape from the command table's
//! statistics (the counters INFO commandstats and latencystats report) rather than recorded
//! through the `metrics` facade on the request path (see `crate::metrics`).
//!
//! Like Redis's commandstats (which `redis_exporter` turns into its series), they start over
//! at CONFIG RESETSTAT; Prometheus's `rate()` reads that as a counter reset.

use std::fmt::Write;
use std::sync::atomic::Ordering;
use std::sync::Weak;

use super::Server;
use crate::cmd::table::Entry;

/// Histogram buckets: the command table counts calls per power of two of µs, so each bucket
/// bound is 2^i µs, from 1 µs to 2^20 µs (about a second); slower calls fall in `+Inf`.
const LATENCY_BOUNDS: usize = 21;

/// The `extra` text of `crate::metrics::install`: nothing once the server is gone.
pub fn renderer(server: Weak<Server>) -> crate::metrics::ExtraText {
    Box::new(move |out| {
        if let Some(server) = server.upgrade() {
            write_command_series(server.commands.all(), out);
        }
    })
}

/// Calls, failed calls and the latency histogram of each command called since the start
/// (or the last CONFIG RESETSTAT), as Prometheus text.
fn write_command_series<'a>(entries: impl Iterator<Item = &'a Entry>, out: &mut String) {
    let called: Vec<&Entry> = entries
        .filter(|entry| entry.stat.calls.load(Ordering::Relaxed) > 0)
        .collect();
    let load = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Relaxed);
    write_counter_family(out, "redyn_commands_total", &called, |e| {
        load(&e.stat.calls)
    });
    write_counter_family(out, "redyn_command_errors_total", &called, |e| {
        load(&e.stat.failed)
    });
    out.push_str("# TYPE redyn_command_duration_seconds histogram\n");
    for entry in &called {
        let name = entry.spec.name;
        let buckets = entry.stat.latency_buckets();
        let mut below = 0;
        for (i, calls) in buckets.iter().take(LATENCY_BOUNDS).enumerate() {
            below += calls;
            let bound = (1u64 << i) as f64 / 1e6;
            let _ = writeln!(
                out,
                "redyn_command_duration_seconds_bucket{{cmd=\"{name}\",le=\"{bound}\"}} {below}"
            );
        }
        let count: u64 = buckets.iter().sum();
        let sum = load(&entry.stat.usec) as f64 / 1e6;
        let _ = writeln!(
            out,
            "redyn_command_duration_seconds_bucket{{cmd=\"{name}\",le=\"+Inf\"}} {count}\n\
             redyn_command_duration_seconds_sum{{cmd=\"{name}\"}} {sum}\n\
             redyn_command_duration_seconds_count{{cmd=\"{name}\"}} {count}"
        );
    }
}

/// One counter family: a series per command.
fn write_counter_family(
    out: &mut String,
    name: &str,
    called: &[&Entry],
    value: impl Fn(&Entry) -> u64,
) {
    let _ = writeln!(out, "# TYPE {name} counter");
    for entry in called {
        let _ = writeln!(
            out,
            "{name}{{cmd=\"{}\"}} {}",
            entry.spec.name,
            value(entry)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::CommandTable;

    #[test]
    fn buckets_are_cumulative_and_count_every_call() {
        let table = CommandTable::new();
        let get = table.get(b"get").unwrap();
        for usec in [0, 1, 3, 3, 5_000_000] {
            get.stat.record(usec, usec == 5_000_000);
        }
        let mut text = String::new();
        write_command_series(table.all(), &mut text);
        for line in [
            r#"redyn_commands_total{cmd="get"} 5"#,
            r#"redyn_command_errors_total{cmd="get"} 1"#,
            r#"redyn_command_duration_seconds_bucket{cmd="get",le="0.000001"} 1"#,
            r#"redyn_command_duration_seconds_bucket{cmd="get",le="0.000002"} 2"#,
            r#"redyn_command_duration_seconds_bucket{cmd="get",le="0.000004"} 4"#,
            r#"redyn_command_duration_seconds_bucket{cmd="get",le="1.048576"} 4"#,
            r#"redyn_command_duration_seconds_bucket{cmd="get",le="+Inf"} 5"#,
            r#"redyn_command_duration_seconds_sum{cmd="get"} 5.000007"#,
            r#"redyn_command_duration_seconds_count{cmd="get"} 5"#,
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from\n{text}"
            );
        }
        assert!(
            !text.contains(r#"cmd="set""#),
            "uncalled commands are left out"
        );
    }
}
