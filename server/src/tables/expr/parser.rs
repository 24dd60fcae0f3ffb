//! DynamoDB's expression grammar: condition / filter, key-condition, update and projection
//! expressions, parsed from tokens (placeholders substituted) into the [`super::ast`] trees.

use super::ast::{Action, Cond, KeyCondition, Operand, Path, PathPart, SetValue, SortCondition};
use super::tokenizer::{tokenize, Placeholders, Token};
use crate::tables::value::Value;
use crate::tables::DdbError;

/// DynamoDB's limit on an expression string's length.
const MAX_EXPRESSION_BYTES: usize = 4096;
/// DynamoDB's limit on operators and functions in one expression.
const MAX_OPERATORS: usize = 300;
/// How deep parentheses and function calls may nest. DynamoDB states no figure; the parser
/// and evaluator recurse once per level, so a bound keeps any input from exhausting the
/// stack (32 is also DynamoDB's nesting limit for attribute values).
const MAX_NESTING: usize = 32;

struct Parser<'a> {
    tokens: Vec<Token>,
    pos: usize,
    ph: &'a Placeholders,
    what: &'static str,
    text: &'a str,
    /// Open parentheses and function calls around the current position.
    depth: usize,
    /// Operators and functions seen so far.
    operators: usize,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str, ph: &'a Placeholders, what: &'static str) -> Result<Self, DdbError> {
        if text.len() > MAX_EXPRESSION_BYTES {
            return Err(DdbError::validation(format!(
                "Invalid {what}: Expression size has exceeded the maximum allowed size; expression size: {}",
                text.len()
            )));
        }
        Ok(Parser {
            tokens: tokenize(text, what)?,
            pos: 0,
            ph,
            what,
            text,
            depth: 0,
            operators: 0,
        })
    }

    /// Counts one operator or function against DynamoDB's limit.
    fn operator(&mut self) -> Result<(), DdbError> {
        self.operators += 1;
        if self.operators > MAX_OPERATORS {
            return Err(DdbError::validation(format!(
                "Invalid {}: The expression contains too many operators; operator count: {}, maximum: {MAX_OPERATORS}",
                self.what, self.operators
            )));
        }
        Ok(())
    }

    /// Runs `parse` one nesting level deeper (inside parentheses or a function call).
    fn nested<T>(
        &mut self,
        parse: impl FnOnce(&mut Self) -> Result<T, DdbError>,
    ) -> Result<T, DdbError> {
        if self.depth == MAX_NESTING {
            return Err(DdbError::validation(format!(
                "Invalid {}: The expression is nested too deeply; maximum depth: {MAX_NESTING}",
                self.what
            )));
        }
        self.depth += 1;
        let parsed = parse(self);
        self.depth -= 1;
        parsed
    }

    fn error(&self) -> DdbError {
        let near = self
            .tokens
            .get(self.pos)
            .map_or("<end>".to_string(), |t| format!("{t:?}"));
        DdbError::validation(format!(
            "Invalid {}: Syntax error; token: {near}, near: \"{}\"",
            self.what, self.text
        ))
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn expect(&mut self, token: Token) -> Result<(), DdbError> {
        if self.next() == Some(token) {
            Ok(())
        } else {
            Err(self.error())
        }
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Some(Token::Op(o)) if o == op)
    }

    fn at_end(&self) -> bool {
        self.pos >= self.tokens.len()
    }

    fn path(&mut self) -> Result<Path, DdbError> {
        let mut path = match self.next() {
            Some(Token::Name(n)) => vec![PathPart::Attr(self.ph.name(&n)?)],
            _ => return Err(self.error()),
        };
        loop {
            match self.peek() {
                Some(Token::Dot) => {
                    self.pos += 1;
                    match self.next() {
                        Some(Token::Name(n)) => path.push(PathPart::Attr(self.ph.name(&n)?)),
                        _ => return Err(self.error()),
                    }
                }
                Some(Token::LBracket) => {
                    self.pos += 1;
                    match self.next() {
                        Some(Token::Number(i)) => path.push(PathPart::Index(i)),
                        _ => return Err(self.error()),
                    }
                    self.expect(Token::RBracket)?;
                }
                _ => return Ok(path),
            }
        }
    }

    fn function_name(&self) -> Option<String> {
        match (self.peek(), self.tokens.get(self.pos + 1)) {
            (Some(Token::Name(n)), Some(Token::LParen)) => Some(n.to_ascii_lowercase()),
            (Some(Token::Op(o)), Some(Token::LParen)) if o == "BEGINS_WITH" => {
                Some("begins_with".into())
            }
            _ => None,
        }
    }

    fn operand(&mut self) -> Result<Operand, DdbError> {
        if self.function_name().as_deref() == Some("size") {
            self.pos += 2;
            self.operator()?;
            let path = self.path()?;
            self.expect(Token::RParen)?;
            return Ok(Operand::Size(path));
        }
        match self.peek() {
            Some(Token::Value(v)) => {
                let v = v.clone();
                self.pos += 1;
                Ok(Operand::Value(self.ph.value(&v)?))
            }
            Some(Token::Name(_)) => Ok(Operand::Path(self.path()?)),
            _ => Err(self.error()),
        }
    }

    fn condition(&mut self) -> Result<Cond, DdbError> {
        let mut left = self.and()?;
        while self.is_op("OR") {
            self.pos += 1;
            self.operator()?;
            left = Cond::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Cond, DdbError> {
        let mut left = self.not()?;
        while self.is_op("AND") {
            self.pos += 1;
            self.operator()?;
            left = Cond::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Cond, DdbError> {
        if self.is_op("NOT") {
            self.pos += 1;
            self.operator()?;
            return Ok(Cond::Not(Box::new(self.nested(Self::not)?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Cond, DdbError> {
        if self.peek() == Some(&Token::LParen) {
            self.pos += 1;
            let inner = self.nested(Self::condition)?;
            self.expect(Token::RParen)?;
            return Ok(inner);
        }
        if let Some(f) = self.function_name() {
            if f != "size" {
                self.pos += 2;
                self.operator()?;
                let cond = match f.as_str() {
                    "attribute_exists" => Cond::Exists(self.path()?),
                    "attribute_not_exists" => Cond::NotExists(self.path()?),
                    "attribute_type" => {
                        let p = self.path()?;
                        self.expect(Token::Comma)?;
                        Cond::Type(p, self.operand()?)
                    }
                    "begins_with" | "contains" => {
                        let a = self.operand()?;
                        self.expect(Token::Comma)?;
                        let b = self.operand()?;
                        if f == "contains" {
                            Cond::Contains(a, b)
                        } else {
                            Cond::BeginsWith(a, b)
                        }
                    }
                    other => {
                        return Err(DdbError::validation(format!(
                            "Invalid {}: Invalid function name; function: {other}",
                            self.what
                        )))
                    }
                };
                self.expect(Token::RParen)?;
                return Ok(cond);
            }
        }
        let left = self.operand()?;
        self.operator()?;
        match self.next() {
            Some(Token::Op(op)) if ["=", "<>", "<", "<=", ">", ">="].contains(&op.as_str()) => {
                Ok(Cond::Cmp(left, op, self.operand()?))
            }
            Some(Token::Op(op)) if op == "BETWEEN" => {
                let lo = self.operand()?;
                if !self.is_op("AND") {
                    return Err(self.error());
                }
                self.pos += 1;
                Ok(Cond::Between(left, lo, self.operand()?))
            }
            Some(Token::Op(op)) if op == "IN" => {
                self.expect(Token::LParen)?;
                let mut list = vec![self.operand()?];
                while self.peek() == Some(&Token::Comma) {
                    self.pos += 1;
                    list.push(self.operand()?);
                }
                self.expect(Token::RParen)?;
                Ok(Cond::In(left, list))
            }
            _ => Err(self.error()),
        }
    }
}

/// Parses a ConditionExpression or FilterExpression.
pub fn parse_condition(
    text: &str,
    ph: &Placeholders,
    what: &'static str,
) -> Result<Cond, DdbError> {
    let mut parser = Parser::new(text, ph, what)?;
    let cond = parser.condition()?;
    if !parser.at_end() {
        return Err(parser.error());
    }
    Ok(cond)
}

/// Parses a ProjectionExpression: comma-separated document paths.
pub fn parse_projection(text: &str, ph: &Placeholders) -> Result<Vec<Path>, DdbError> {
    let mut p = Parser::new(text, ph, "ProjectionExpression")?;
    let mut paths = vec![p.path()?];
    while p.peek() == Some(&Token::Comma) {
        p.pos += 1;
        paths.push(p.path()?);
    }
    if !p.at_end() {
        return Err(p.error());
    }
    Ok(paths)
}

/// The operands only an UpdateExpression has.
impl Parser<'_> {
    fn set_operand(&mut self) -> Result<SetValue, DdbError> {
        match self.function_name().as_deref() {
            Some("if_not_exists") => {
                self.pos += 2;
                self.operator()?;
                let path = self.path()?;
                self.expect(Token::Comma)?;
                let fallback = self.nested(Self::set_operand)?;
                self.expect(Token::RParen)?;
                Ok(SetValue::IfNotExists(path, Box::new(fallback)))
            }
            Some("list_append") => {
                self.pos += 2;
                self.operator()?;
                let a = self.nested(Self::set_operand)?;
                self.expect(Token::Comma)?;
                let b = self.nested(Self::set_operand)?;
                self.expect(Token::RParen)?;
                Ok(SetValue::ListAppend(Box::new(a), Box::new(b)))
            }
            _ => Ok(SetValue::Operand(self.operand()?)),
        }
    }

    fn set_value(&mut self) -> Result<SetValue, DdbError> {
        let left = self.set_operand()?;
        if self.is_op("+") || self.is_op("-") {
            let plus = self.is_op("+");
            self.pos += 1;
            self.operator()?;
            let right = self.set_operand()?;
            return Ok(if plus {
                SetValue::Plus(Box::new(left), Box::new(right))
            } else {
                SetValue::Minus(Box::new(left), Box::new(right))
            });
        }
        Ok(left)
    }

    fn value_operand(&mut self) -> Result<Value, DdbError> {
        match self.next() {
            Some(Token::Value(v)) => self.ph.value(&v),
            _ => Err(self.error()),
        }
    }
}

/// Parses an UpdateExpression into its actions.
pub fn parse_update(text: &str, ph: &Placeholders) -> Result<Vec<Action>, DdbError> {
    let mut p = Parser::new(text, ph, "UpdateExpression")?;
    let mut actions = Vec::new();
    let mut seen = Vec::new();
    while !p.at_end() {
        let clause = match p.next() {
            Some(Token::Op(op)) if ["SET", "REMOVE", "ADD", "DELETE"].contains(&op.as_str()) => op,
            _ => return Err(p.error()),
        };
        if seen.contains(&clause) {
            return Err(DdbError::validation(format!(
                "Invalid UpdateExpression: The \"{clause}\" section can only be used once in an update expression;"
            )));
        }
        seen.push(clause.clone());
        loop {
            let path = p.path()?;
            actions.push(match clause.as_str() {
                "SET" => {
                    p.expect(Token::Op("=".into()))?;
                    Action::Set(path, p.set_value()?)
                }
                "REMOVE" => Action::Remove(path),
                "ADD" => Action::Add(path, p.value_operand()?),
                _ => Action::Delete(path, p.value_operand()?),
            });
            if p.peek() == Some(&Token::Comma) {
                p.pos += 1;
            } else {
                break;
            }
        }
    }
    if actions.is_empty() {
        return Err(DdbError::validation(
            "Invalid UpdateExpression: The expression can not be empty;",
        ));
    }
    Ok(actions)
}

/// Parses a KeyConditionExpression with the general condition parser, then checks it has
/// the shape DynamoDB allows: `pk = :v` and at most one sort-key condition (=, <, <=, >, >=,
/// BETWEEN, begins_with), joined by AND.
pub fn parse_key_condition(text: &str, ph: &Placeholders) -> Result<KeyCondition, DdbError> {
    let what = "KeyConditionExpression";
    let invalid = |detail: &str| DdbError::validation(format!("Invalid {what}: {detail}"));
    let mut terms = Vec::new();
    flatten_and(parse_condition(text, ph, what)?, &mut terms);
    let attr = |path: &[PathPart]| match path {
        [PathPart::Attr(name)] => Ok(name.clone()),
        _ => Err(invalid(
            "Key conditions may only name top-level key attributes",
        )),
    };
    let mut partition = None;
    let mut sort = None;
    for term in terms {
        let (name, cond) = match term {
            Cond::Cmp(Operand::Path(p), op, Operand::Value(v)) if op != "<>" => {
                (attr(&p)?, SortCondition::Cmp(op, v))
            }
            Cond::Between(Operand::Path(p), Operand::Value(lo), Operand::Value(hi)) => {
                (attr(&p)?, SortCondition::Between(lo, hi))
            }
            Cond::BeginsWith(Operand::Path(p), Operand::Value(v)) => {
                (attr(&p)?, SortCondition::BeginsWith(v))
            }
            _ => {
                return Err(invalid(
                    "Unsupported operator or function in a key condition",
                ))
            }
        };
        match cond {
            SortCondition::Cmp(op, v) if op == "=" && partition.is_none() => {
                partition = Some((name, v))
            }
            cond if sort.is_none() => sort = Some((name, cond)),
            _ => return Err(invalid("The expression can only contain two conditions")),
        }
    }
    let partition =
        partition.ok_or_else(|| DdbError::validation("Query key condition not supported"))?;
    Ok(KeyCondition { partition, sort })
}

fn flatten_and(cond: Cond, out: &mut Vec<Cond>) {
    match cond {
        Cond::And(a, b) => {
            flatten_and(*a, out);
            flatten_and(*b, out);
        }
        other => out.push(other),
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ph() -> Placeholders {
        let req = json!({
            "ExpressionAttributeNames": {"#c": "CustomerID", "#o": "OrderID"},
            "ExpressionAttributeValues": {":c": {"S": "c1"}, ":lo": {"N": "1"}, ":hi": {"N": "9"}, ":p": {"S": "2024"}}
        });
        Placeholders::from_request(req.as_object().unwrap()).unwrap()
    }

    #[test]
    fn key_conditions() {
        let kc = parse_key_condition("#c = :c", &ph()).unwrap();
        assert_eq!(kc.partition, ("CustomerID".into(), Value::S("c1".into())));
        assert!(kc.sort.is_none());
        let kc = parse_key_condition("#c = :c AND #o BETWEEN :lo AND :hi", &ph()).unwrap();
        assert_eq!(
            kc.sort.unwrap().1,
            SortCondition::Between(Value::N("1".into()), Value::N("9".into()))
        );
        let kc = parse_key_condition("(#c = :c) and begins_with(#o, :p)", &ph()).unwrap();
        assert_eq!(
            kc.sort.unwrap().1,
            SortCondition::BeginsWith(Value::S("2024".into()))
        );
        let kc = parse_key_condition("CustomerID = :c AND OrderID >= :lo", &ph()).unwrap();
        assert_eq!(kc.sort.unwrap().0, "OrderID");
        assert!(parse_key_condition("#c = ", &ph()).is_err());
        assert!(parse_key_condition("#c = :missing", &ph()).is_err());
    }

    #[test]
    fn projections() {
        let paths = parse_projection("a, #c.x[2]", &ph()).unwrap();
        assert_eq!(paths[0], vec![PathPart::Attr("a".into())]);
        assert_eq!(
            paths[1],
            vec![
                PathPart::Attr("CustomerID".into()),
                PathPart::Attr("x".into()),
                PathPart::Index(2)
            ]
        );
        assert!(parse_projection("a b", &ph()).is_err());
    }
}
