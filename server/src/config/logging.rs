//! Logging driven by the `loglevel` setting. The filter sits behind a reload handle so that
//! `CONFIG SET loglevel` takes effect in the running process (logging is process-wide, so
//! the handle is too).

use std::sync::OnceLock;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, EnvFilter, Registry};

static FILTER: OnceLock<reload::Handle<EnvFilter, Registry>> = OnceLock::new();

/// The tracing filter for a Redis log level (fjall's own logging stays quiet).
pub fn filter_for(loglevel: &str) -> EnvFilter {
    let level = match loglevel {
        "debug" | "verbose" => "debug",
        "warning" => "warn",
        "nothing" => "off",
        _ => "info",
    };
    EnvFilter::new(format!("{level},fjall=warn,lsm_tree=warn"))
}

/// Installs the process's log output. `RUST_LOG`, when set, wins at start-up; a later
/// `CONFIG SET loglevel` replaces it (an explicit runtime request).
pub fn init(loglevel: &str) {
    let initial = EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| filter_for(loglevel));
    let (filter, handle) = reload::Layer::new(initial);
    tracing_subscriber::registry()
        .with(filter)
        .with(tracing_subscriber::fmt::layer())
        .init();
    let _ = FILTER.set(handle);
}

/// Switches the running log filter to `loglevel` (no-op when [`init`] was not called, e.g.
/// a server embedded in tests, or when the level is unchanged).
pub fn apply(loglevel: &str) {
    static APPLIED: parking_lot::Mutex<Option<String>> = parking_lot::Mutex::new(None);
    let Some(handle) = FILTER.get() else { return };
    let mut applied = APPLIED.lock();
    // The first call comes from start-up, where the filter `init` installed (perhaps from
    // RUST_LOG) must stay.
    let Some(previous) = applied.replace(loglevel.to_string()) else {
        return;
    };
    if previous != loglevel {
        if let Err(e) = handle.reload(filter_for(loglevel)) {
            tracing::warn!("cannot change the log level: {e}");
        }
    }
}
