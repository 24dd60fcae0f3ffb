//! The syntax trees of DynamoDB expressions: document paths, conditions, update actions and
//! key conditions. The parser builds them; evaluation and the table operations read them.

use crate::tables::value::Value;

/// One step of a document path.
#[derive(Debug, Clone, PartialEq)]
pub enum PathPart {
    Attr(String),
    Index(usize),
}

/// A document path such as `a.b[2].c`, placeholders already substituted.
pub type Path = Vec<PathPart>;

/// A value in a condition: a literal (from `:value`), an attribute, or `size(path)`.
#[derive(Debug, Clone)]
pub enum Operand {
    Path(Path),
    Value(Value),
    Size(Path),
}

/// A ConditionExpression, FilterExpression or KeyConditionExpression (comparison operators
/// kept as their text: `=`, `<>`, `<`, `<=`, `>`, `>=`).
#[derive(Debug, Clone)]
pub enum Cond {
    Cmp(Operand, String, Operand),
    Between(Operand, Operand, Operand),
    In(Operand, Vec<Operand>),
    Exists(Path),
    NotExists(Path),
    Type(Path, Operand),
    BeginsWith(Operand, Operand),
    Contains(Operand, Operand),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    Not(Box<Cond>),
}

/// The right-hand side of a SET action.
#[derive(Debug, Clone)]
pub enum SetValue {
    Operand(Operand),
    IfNotExists(Path, Box<SetValue>),
    ListAppend(Box<SetValue>, Box<SetValue>),
    Plus(Box<SetValue>, Box<SetValue>),
    Minus(Box<SetValue>, Box<SetValue>),
}

/// One action of an UpdateExpression clause.
#[derive(Debug, Clone)]
pub enum Action {
    Set(Path, SetValue),
    Remove(Path),
    Add(Path, Value),
    Delete(Path, Value),
}

/// A condition on the sort key.
#[derive(Debug, Clone, PartialEq)]
pub enum SortCondition {
    Cmp(String, Value),
    Between(Value, Value),
    BeginsWith(Value),
}

/// A parsed key condition: the partition key value and an optional sort-key condition.
#[derive(Debug, Clone)]
pub struct KeyCondition {
    pub partition: (String, Value),
    pub sort: Option<(String, SortCondition)>,
}
