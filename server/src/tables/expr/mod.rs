//! DynamoDB expressions: condition, filter, key-condition, update and projection expressions,
//! with `#name` / `:value` placeholders and nested document paths `a.b[2].c`.
//!
//! One pipeline, one file per stage: `tokenizer` (text → tokens, placeholders) ←
//! `parser` (tokens → the `ast` trees) ← `eval` (trees applied to an item).

mod ast;
mod eval;
mod parser;
mod tokenizer;

pub use ast::{Action, Cond, KeyCondition, Path, PathPart, SortCondition};
pub use eval::{apply_update, evaluate, project};
pub use parser::{parse_condition, parse_key_condition, parse_projection, parse_update};
pub use tokenizer::Placeholders;
