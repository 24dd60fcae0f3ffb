//! ddb commands (to be filled in).

use super::CommandSpec;

pub const COMMANDS: &[CommandSpec] = &[];
