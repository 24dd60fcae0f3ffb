//! PartiQL's tokens: identifiers (plain or `"quoted"`), `'strings'`, numbers, `?`
//! parameters and punctuation. Keywords are plain identifiers compared without case.

use super::syntax_error;
use crate::tables::DdbError;

#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    Ident(String),
    Quoted(String),
    Str(String),
    Num(String),
    Param,
    /// Punctuation and operators: `( ) [ ] { } , . : = <> != < <= > >= + - * << >>`.
    Sym(&'static str),
}

impl Token {
    /// Whether this is the keyword `word` (upper case).
    pub fn is_keyword(&self, word: &str) -> bool {
        matches!(self, Token::Ident(name) if name.eq_ignore_ascii_case(word))
    }
}

/// Longest first, so `<=` is not read as `<` then `=`.
pub const SYMBOLS: &[&str] = &[
    "<<", ">>", "<>", "!=", "<=", ">=", "(", ")", "[", "]", "{", "}", ",", ".", ":", "=", "<", ">",
    "+", "-", "*",
];

pub fn tokenize(text: &str) -> Result<Vec<Token>, DdbError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' || c == '"' {
            let (content, next) = quoted(&chars, i)?;
            tokens.push(match c {
                '\'' => Token::Str(content),
                _ => Token::Quoted(content),
            });
            i = next;
        } else if c.is_ascii_digit() {
            let start = i;
            i = number_end(&chars, i);
            tokens.push(Token::Num(chars[start..i].iter().collect()));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push(Token::Ident(chars[start..i].iter().collect()));
        } else if c == '?' {
            tokens.push(Token::Param);
            i += 1;
        } else {
            let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
            let symbol = SYMBOLS
                .iter()
                .find(|s| rest.starts_with(**s))
                .ok_or_else(|| syntax_error(format!("Unexpected character: {c}")))?;
            tokens.push(Token::Sym(symbol));
            i += symbol.len();
        }
    }
    Ok(tokens)
}

/// A quoted token starting at `start`; the quote doubled stands for itself.
fn quoted(chars: &[char], start: usize) -> Result<(String, usize), DdbError> {
    let quote = chars[start];
    let mut out = String::new();
    let mut i = start + 1;
    loop {
        match chars.get(i) {
            None => return Err(syntax_error("Unterminated quoted text")),
            Some(&c) if c == quote && chars.get(i + 1) == Some(&quote) => {
                out.push(quote);
                i += 2;
            }
            Some(&c) if c == quote => return Ok((out, i + 1)),
            Some(&c) => {
                out.push(c);
                i += 1;
            }
        }
    }
}

/// End of a number: digits, an optional fraction and an optional exponent.
fn number_end(chars: &[char], mut i: usize) -> usize {
    let digits = |mut i: usize| {
        while chars.get(i).is_some_and(char::is_ascii_digit) {
            i += 1;
        }
        i
    };
    i = digits(i);
    if chars.get(i) == Some(&'.') && chars.get(i + 1).is_some_and(char::is_ascii_digit) {
        i = digits(i + 1);
    }
    if matches!(chars.get(i), Some('e' | 'E')) {
        let sign = usize::from(matches!(chars.get(i + 1), Some('+' | '-')));
        if chars.get(i + 1 + sign).is_some_and(char::is_ascii_digit) {
            i = digits(i + 1 + sign);
        }
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_of_a_statement() {
        let tokens =
            tokenize(r#"SELECT "a b".c FROM t WHERE x<=1.5e3 AND y='it''s' OR z <> ?"#).unwrap();
        assert_eq!(tokens[1], Token::Quoted("a b".into()));
        assert_eq!(tokens[2], Token::Sym("."));
        assert!(tokens[7].is_keyword("X"));
        assert_eq!(tokens[8], Token::Sym("<="));
        assert_eq!(tokens[9], Token::Num("1.5e3".into()));
        assert_eq!(tokens[13], Token::Str("it's".into()));
        assert_eq!(tokens[16], Token::Sym("<>"));
        assert_eq!(tokens[17], Token::Param);
        assert!(tokenize("SELECT 'open").is_err());
        assert!(tokenize("SELECT ;").is_err());
    }
}
