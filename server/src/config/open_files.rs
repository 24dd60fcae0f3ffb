//! `maxclients` against the process's open-file limit, as Redis's `adjustOpenFilesLimit`:
//! the soft limit is raised to fit every client plus the server's own descriptors, and when
//! the OS does not allow that, `maxclients` is lowered instead of letting `accept` fail with
//! "Too many open files" and clients get no reply at all.

use rlimit::Resource;

/// Descriptors the server needs besides one per client: fjall's file-descriptor cache (see
/// `engine::MAX_CACHED_FILES`), its journals, the listeners, the metrics endpoint, and files
/// opened by SAVE, ACL and function persistence.
pub const RESERVED_FDS: u64 = crate::engine::MAX_CACHED_FILES as u64 + 64;

/// What fitting `maxclients` to the open-file limit found.
#[derive(Debug)]
pub struct Fit {
    /// The clients the limit allows: the requested `maxclients` when it fits.
    pub maxclients: usize,
    /// Descriptors the requested `maxclients` needs.
    pub wanted: u64,
    /// The soft limit before and after.
    pub original: u64,
    pub limit: u64,
    /// Why the limit could not be raised to `wanted`, when it could not.
    pub error: Option<std::io::Error>,
}

/// Raises the soft open-file limit (up to the hard limit) to fit `maxclients`.
pub fn fit_maxclients(maxclients: usize) -> Fit {
    let wanted = maxclients as u64 + RESERVED_FDS;
    let (original, hard) = match rlimit::getrlimit(Resource::NOFILE) {
        Ok(limits) => limits,
        Err(error) => {
            // Without a readable limit there is nothing to reconcile with.
            return Fit {
                maxclients,
                wanted,
                original: wanted,
                limit: wanted,
                error: Some(error),
            };
        }
    };
    let mut fit = Fit {
        maxclients,
        wanted,
        original,
        limit: original,
        error: None,
    };
    if original >= wanted {
        return fit;
    }
    let target = wanted.min(hard);
    match rlimit::setrlimit(Resource::NOFILE, target, hard) {
        Ok(()) => fit.limit = target,
        Err(error) => fit.error = Some(error),
    }
    if fit.limit < wanted {
        if fit.error.is_none() {
            fit.error = Some(std::io::Error::from_raw_os_error(1)); // EPERM: over the hard limit
        }
        fit.maxclients = fit.limit.saturating_sub(RESERVED_FDS) as usize;
    }
    fit
}
