//! What can go wrong in the data-type layer. The command layer turns these into Redis's
//! error replies (`cmd/errors.rs`), so this layer never speaks the wire's wording.

use crate::engine::EngineError;

#[derive(Debug, thiserror::Error)]
pub enum TypeError {
    /// The key holds a value of another type than the operation works on.
    #[error("key holds a value of another type")]
    WrongType,
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A stored row does not decode as its type's layout says (names what was corrupt).
    #[error("corrupt {0}")]
    Corrupt(&'static str),
}

/// Results of the types layer (the error parameter stays open for `collect::<Result<_, _>>`).
pub type Result<T, E = TypeError> = std::result::Result<T, E>;
