//! PartiQL statements DynamoDB accepts, parsed into a small tree: SELECT, INSERT, UPDATE
//! and DELETE with WHERE conditions in the shape of DynamoDB's condition expressions.
//! Recursive descent with a depth bound: statements come from clients.

use super::lexer::{Token, SYMBOLS};
use super::syntax_error;
use crate::tables::DdbError;

/// Deepest nesting of parentheses, conditions and values (DynamoDB nests documents 32 deep).
const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str(String),
    Num(String),
    Bool(bool),
    Null,
    /// The n-th `?` of the statement.
    Param(usize),
    Map(Vec<(String, Literal)>),
    List(Vec<Literal>),
    Set(Vec<Literal>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum PathPart {
    Name(String),
    Index(u32),
}

pub type Path = Vec<PathPart>;

#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Path(Path),
    Value(Literal),
    /// `size(path)`.
    Size(Path),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// A comparison with its operator as DynamoDB writes it (`=`, `<>`, `<`, ...).
    Compare(Operand, &'static str, Operand),
    Between(Operand, Operand, Operand),
    In(Operand, Vec<Operand>),
    /// attribute_exists, attribute_not_exists, attribute_type, begins_with, contains.
    Function(&'static str, Vec<Operand>),
    /// `path IS [NOT] MISSING`: `true` when MISSING.
    Missing(Path, bool),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    Not(Box<Cond>),
}

/// The right-hand side of an UPDATE's `SET path = …`.
#[derive(Debug, Clone, PartialEq)]
pub enum SetValue {
    Plain(Operand),
    /// `a + b` or `a - b`.
    Arith(Operand, &'static str, Operand),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    Select {
        table: String,
        /// `None` for `*`.
        projection: Option<Vec<Path>>,
        filter: Option<Cond>,
    },
    Insert {
        table: String,
        item: Vec<(String, Literal)>,
    },
    Update {
        table: String,
        set: Vec<(Path, SetValue)>,
        remove: Vec<Path>,
        filter: Option<Cond>,
    },
    Delete {
        table: String,
        filter: Option<Cond>,
    },
}

impl Statement {
    pub fn table(&self) -> &str {
        match self {
            Statement::Select { table, .. }
            | Statement::Insert { table, .. }
            | Statement::Update { table, .. }
            | Statement::Delete { table, .. } => table,
        }
    }

    pub fn verb(&self) -> &'static str {
        match self {
            Statement::Select { .. } => "SELECT",
            Statement::Insert { .. } => "INSERT",
            Statement::Update { .. } => "UPDATE",
            Statement::Delete { .. } => "DELETE",
        }
    }

    pub fn is_read(&self) -> bool {
        matches!(self, Statement::Select { .. })
    }
}

const FUNCTIONS: &[&str] = &[
    "attribute_exists",
    "attribute_not_exists",
    "attribute_type",
    "begins_with",
    "contains",
];

const COMPARISONS: &[&str] = &["=", "<>", "!=", "<", "<=", ">", ">="];

pub struct Parser {
    tokens: Vec<Token>,
    at: usize,
    depth: usize,
    /// `?` parameters seen so far.
    pub params: usize,
}

impl Parser {
    pub fn new(tokens: Vec<Token>) -> Parser {
        Parser {
            tokens,
            at: 0,
            depth: 0,
            params: 0,
        }
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Result<Token, DdbError> {
        let token = self
            .tokens
            .get(self.at)
            .cloned()
            .ok_or_else(|| syntax_error("Unexpected end of statement"))?;
        self.at += 1;
        Ok(token)
    }

    fn at_keyword(&self, word: &str) -> bool {
        self.peek().is_some_and(|t| t.is_keyword(word))
    }

    fn eat_keyword(&mut self, word: &str) -> bool {
        let found = self.at_keyword(word);
        self.at += usize::from(found);
        found
    }

    fn keyword(&mut self, word: &str) -> Result<(), DdbError> {
        match self.eat_keyword(word) {
            true => Ok(()),
            false => Err(self.unexpected(word)),
        }
    }

    fn at_sym(&self, sym: &str) -> bool {
        self.peek() == Some(&Token::Sym(match_sym(sym)))
    }

    fn eat_sym(&mut self, sym: &str) -> bool {
        let found = self.at_sym(sym);
        self.at += usize::from(found);
        found
    }

    fn sym(&mut self, sym: &str) -> Result<(), DdbError> {
        match self.eat_sym(sym) {
            true => Ok(()),
            false => Err(self.unexpected(sym)),
        }
    }

    fn unexpected(&self, wanted: &str) -> DdbError {
        match self.peek() {
            Some(token) => syntax_error(format!("Expected {wanted}, found {}", describe(token))),
            None => syntax_error(format!("Expected {wanted} at the end of the statement")),
        }
    }

    /// Runs `f` one level deeper, refusing statements nested past [`MAX_DEPTH`].
    fn nested<T>(
        &mut self,
        f: impl FnOnce(&mut Parser) -> Result<T, DdbError>,
    ) -> Result<T, DdbError> {
        if self.depth >= MAX_DEPTH {
            return Err(syntax_error(format!(
                "The statement is nested more than {MAX_DEPTH} levels deep"
            )));
        }
        self.depth += 1;
        let result = f(self);
        self.depth -= 1;
        result
    }

    /// One whole statement; trailing tokens are an error.
    pub fn statement(&mut self) -> Result<Statement, DdbError> {
        let statement = match self.next()? {
            t if t.is_keyword("SELECT") => self.select()?,
            t if t.is_keyword("INSERT") => self.insert()?,
            t if t.is_keyword("UPDATE") => self.update()?,
            t if t.is_keyword("DELETE") => self.delete()?,
            t => {
                return Err(syntax_error(format!(
                    "Expected SELECT, INSERT, UPDATE or DELETE, found {}",
                    describe(&t)
                )))
            }
        };
        match self.peek() {
            None => Ok(statement),
            Some(t) => Err(syntax_error(format!(
                "Unexpected {} after the statement",
                describe(t)
            ))),
        }
    }

    fn name(&mut self) -> Result<String, DdbError> {
        match self.next()? {
            Token::Ident(name) | Token::Quoted(name) => Ok(name),
            t => Err(syntax_error(format!(
                "Expected a name, found {}",
                describe(&t)
            ))),
        }
    }

    /// A table name; `"table"."index"` is refused (redyn has no secondary indexes).
    fn table(&mut self) -> Result<String, DdbError> {
        let table = self.name()?;
        if self.at_sym(".") {
            return Err(DdbError::validation(
                "Secondary indexes are not supported by redyn",
            ));
        }
        Ok(table)
    }

    fn filter(&mut self) -> Result<Option<Cond>, DdbError> {
        match self.eat_keyword("WHERE") {
            true => Ok(Some(self.condition()?)),
            false => Ok(None),
        }
    }

    fn select(&mut self) -> Result<Statement, DdbError> {
        let projection = match self.eat_sym("*") {
            true => None,
            false => {
                let mut paths = vec![self.path()?];
                while self.eat_sym(",") {
                    paths.push(self.path()?);
                }
                Some(paths)
            }
        };
        self.keyword("FROM")?;
        let table = self.table()?;
        let filter = self.filter()?;
        Ok(Statement::Select {
            table,
            projection,
            filter,
        })
    }

    fn insert(&mut self) -> Result<Statement, DdbError> {
        self.keyword("INTO")?;
        let table = self.table()?;
        self.keyword("VALUE")?;
        match self.literal()? {
            Literal::Map(item) => Ok(Statement::Insert { table, item }),
            _ => Err(syntax_error(
                "INSERT's VALUE must be a tuple {'name': value, ...}",
            )),
        }
    }

    fn update(&mut self) -> Result<Statement, DdbError> {
        let table = self.table()?;
        let mut set = Vec::new();
        let mut remove = Vec::new();
        // SET and REMOVE clauses in any order, each with `,`-separated targets.
        loop {
            let is_set = if self.eat_keyword("SET") {
                true
            } else if self.eat_keyword("REMOVE") {
                false
            } else {
                break;
            };
            loop {
                let path = self.path()?;
                if is_set {
                    self.sym("=")?;
                    set.push((path, self.set_value()?));
                } else {
                    remove.push(path);
                }
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        if set.is_empty() && remove.is_empty() {
            return Err(self.unexpected("SET or REMOVE"));
        }
        let filter = self.filter()?;
        Ok(Statement::Update {
            table,
            set,
            remove,
            filter,
        })
    }

    fn delete(&mut self) -> Result<Statement, DdbError> {
        self.keyword("FROM")?;
        let table = self.table()?;
        let filter = self.filter()?;
        Ok(Statement::Delete { table, filter })
    }

    fn set_value(&mut self) -> Result<SetValue, DdbError> {
        let first = self.operand()?;
        for op in ["+", "-"] {
            if self.eat_sym(op) {
                return Ok(SetValue::Arith(first, match_sym(op), self.operand()?));
            }
        }
        Ok(SetValue::Plain(first))
    }

    /// A path: `name`, `"name"`, then `.name` and `[index]` steps.
    fn path(&mut self) -> Result<Path, DdbError> {
        let mut path = vec![PathPart::Name(self.name()?)];
        loop {
            if self.eat_sym(".") {
                path.push(PathPart::Name(self.name()?));
            } else if self.eat_sym("[") {
                let index = match self.next()? {
                    Token::Num(n) => n.parse().ok(),
                    _ => None,
                };
                path.push(PathPart::Index(index.ok_or_else(|| {
                    syntax_error("A list index must be a whole number")
                })?));
                self.sym("]")?;
            } else {
                return Ok(path);
            }
        }
    }

    fn condition(&mut self) -> Result<Cond, DdbError> {
        self.nested(|p| {
            let mut left = p.conjunction()?;
            while p.eat_keyword("OR") {
                left = Cond::Or(Box::new(left), Box::new(p.conjunction()?));
            }
            Ok(left)
        })
    }

    fn conjunction(&mut self) -> Result<Cond, DdbError> {
        let mut left = self.negation()?;
        while self.eat_keyword("AND") {
            left = Cond::And(Box::new(left), Box::new(self.negation()?));
        }
        Ok(left)
    }

    fn negation(&mut self) -> Result<Cond, DdbError> {
        if self.eat_keyword("NOT") {
            return self.nested(|p| Ok(Cond::Not(Box::new(p.negation()?))));
        }
        self.predicate()
    }

    fn predicate(&mut self) -> Result<Cond, DdbError> {
        // Operands never start with `(`: it opens a parenthesised condition.
        if self.eat_sym("(") {
            let inner = self.condition()?;
            self.sym(")")?;
            return Ok(inner);
        }
        if let Some(function) = self.function_name() {
            self.at += 1;
            self.sym("(")?;
            let mut args = vec![self.operand()?];
            while self.eat_sym(",") {
                args.push(self.operand()?);
            }
            self.sym(")")?;
            return Ok(Cond::Function(function, args));
        }
        let left = self.operand()?;
        self.comparison(left)
    }

    fn function_name(&self) -> Option<&'static str> {
        let Some(Token::Ident(name)) = self.peek() else {
            return None;
        };
        let followed_by_paren = self.tokens.get(self.at + 1) == Some(&Token::Sym("("));
        FUNCTIONS
            .iter()
            .find(|f| f.eq_ignore_ascii_case(name))
            .copied()
            .filter(|_| followed_by_paren)
    }

    fn comparison(&mut self, left: Operand) -> Result<Cond, DdbError> {
        if self.eat_keyword("BETWEEN") {
            let low = self.operand()?;
            self.keyword("AND")?;
            return Ok(Cond::Between(left, low, self.operand()?));
        }
        if self.eat_keyword("IN") {
            let close = match self.eat_sym("[") {
                true => "]",
                false => {
                    self.sym("(")?;
                    ")"
                }
            };
            let mut list = vec![self.operand()?];
            while self.eat_sym(",") {
                list.push(self.operand()?);
            }
            self.sym(close)?;
            return Ok(Cond::In(left, list));
        }
        if self.eat_keyword("IS") {
            let negated = self.eat_keyword("NOT");
            self.keyword("MISSING")?;
            let Operand::Path(path) = left else {
                return Err(syntax_error("IS MISSING applies to an attribute"));
            };
            return Ok(Cond::Missing(path, !negated));
        }
        let op = match self.next()? {
            Token::Sym(s) if COMPARISONS.contains(&s) => s,
            t => {
                return Err(syntax_error(format!(
                    "Expected a comparison, found {}",
                    describe(&t)
                )))
            }
        };
        // PartiQL's `!=` is DynamoDB's `<>`.
        let op = if op == "!=" { "<>" } else { op };
        Ok(Cond::Compare(left, op, self.operand()?))
    }

    fn operand(&mut self) -> Result<Operand, DdbError> {
        let is_size =
            self.at_keyword("size") && self.tokens.get(self.at + 1) == Some(&Token::Sym("("));
        if is_size {
            self.at += 2;
            let path = self.path()?;
            self.sym(")")?;
            return Ok(Operand::Size(path));
        }
        match self.peek() {
            Some(Token::Ident(word))
                if !["TRUE", "FALSE", "NULL"]
                    .iter()
                    .any(|k| word.eq_ignore_ascii_case(k)) =>
            {
                Ok(Operand::Path(self.path()?))
            }
            Some(Token::Quoted(_)) => Ok(Operand::Path(self.path()?)),
            _ => Ok(Operand::Value(self.literal()?)),
        }
    }

    /// A value: string, number, boolean, NULL, `?`, `{…}` tuple, `[…]` list, `<<…>>` set.
    pub fn literal(&mut self) -> Result<Literal, DdbError> {
        self.nested(|p| match p.next()? {
            Token::Str(s) => Ok(Literal::Str(s)),
            Token::Num(n) => Ok(Literal::Num(n)),
            Token::Sym("-") => match p.next()? {
                Token::Num(n) => Ok(Literal::Num(format!("-{n}"))),
                t => Err(syntax_error(format!(
                    "Expected a number, found {}",
                    describe(&t)
                ))),
            },
            Token::Param => {
                p.params += 1;
                Ok(Literal::Param(p.params - 1))
            }
            t if t.is_keyword("TRUE") => Ok(Literal::Bool(true)),
            t if t.is_keyword("FALSE") => Ok(Literal::Bool(false)),
            t if t.is_keyword("NULL") => Ok(Literal::Null),
            Token::Sym("{") => p.tuple(),
            Token::Sym("[") => Ok(Literal::List(p.items("]")?)),
            Token::Sym("<<") => Ok(Literal::Set(p.items(">>")?)),
            t => Err(syntax_error(format!(
                "Expected a value, found {}",
                describe(&t)
            ))),
        })
    }

    fn tuple(&mut self) -> Result<Literal, DdbError> {
        let mut fields: Vec<(String, Literal)> = Vec::new();
        if self.eat_sym("}") {
            return Ok(Literal::Map(fields));
        }
        loop {
            let name = match self.next()? {
                Token::Str(s) => s,
                t => {
                    return Err(syntax_error(format!(
                        "Expected an attribute name in quotes, found {}",
                        describe(&t)
                    )))
                }
            };
            self.sym(":")?;
            fields.push((name, self.literal()?));
            if !self.eat_sym(",") {
                self.sym("}")?;
                return Ok(Literal::Map(fields));
            }
        }
    }

    fn items(&mut self, close: &str) -> Result<Vec<Literal>, DdbError> {
        let mut items = Vec::new();
        if self.eat_sym(close) {
            return Ok(items);
        }
        loop {
            items.push(self.literal()?);
            if !self.eat_sym(",") {
                self.sym(close)?;
                return Ok(items);
            }
        }
    }
}

/// The `&'static str` of a symbol the lexer produces.
fn match_sym(sym: &str) -> &'static str {
    SYMBOLS.iter().find(|s| **s == sym).copied().unwrap_or("")
}

fn describe(token: &Token) -> String {
    match token {
        Token::Ident(s) => format!("'{s}'"),
        Token::Quoted(s) => format!("\"{s}\""),
        Token::Str(s) => format!("string '{s}'"),
        Token::Num(n) => format!("number {n}"),
        Token::Param => "'?'".to_string(),
        Token::Sym(s) => format!("'{s}'"),
    }
}
