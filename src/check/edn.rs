//! A small EDN reader, enough for Jepsen and Knossos history files.
//!
//! Supported: `nil`, booleans, integers (any size, kept as text), floats (kept as text),
//! strings with escapes, characters, keywords, symbols, lists `( )`, vectors `[ ]`, maps `{ }`,
//! sets `#{ }`, tagged values `#tag value` (the tag is kept), discards `#_ value`, comments `;`
//! and commas as whitespace. Every value carries the line it starts on. Input is never trusted:
//! errors name the line, and nesting is bounded.

use std::fmt;

/// Deepest nesting of collections accepted.
const DEPTH_MAX: usize = 64;

/// One EDN value and the line (1-based) it starts on.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Edn {
    pub line: usize,
    pub kind: EdnKind,
}

/// The kinds of EDN values.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum EdnKind {
    Nil,
    Bool(bool),
    /// An integer as written, without a `+` sign or `N` suffix.
    Integer(String),
    /// A floating-point number as written.
    Float(String),
    Str(String),
    Char(char),
    /// A keyword without its leading `:`.
    Keyword(String),
    Symbol(String),
    List(Vec<Edn>),
    Vector(Vec<Edn>),
    Map(Vec<(Edn, Edn)>),
    Set(Vec<Edn>),
    Tagged(String, Box<Edn>),
}

/// Why a text is not EDN, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EdnError {
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for EdnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// Reads every top-level value of `text`.
pub(crate) fn read_all(text: &str) -> Result<Vec<Edn>, EdnError> {
    let mut reader = Reader { text, at: 0, line: 1 };
    let mut values = Vec::new();
    while let Some(value) = reader.next_value(0)? {
        values.push(value);
    }
    Ok(values)
}

struct Reader<'t> {
    text: &'t str,
    /// Byte offset of the next character.
    at: usize,
    line: usize,
}

/// True for characters that end a token.
fn is_delimiter(c: char) -> bool {
    c.is_whitespace() || matches!(c, ',' | '(' | ')' | '[' | ']' | '{' | '}' | '"' | ';')
}

impl Reader<'_> {
    fn peek(&self) -> Option<char> {
        self.text[self.at..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.at += c.len_utf8();
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn error<T>(&self, line: usize, reason: impl Into<String>) -> Result<T, EdnError> {
        Err(EdnError { line, reason: reason.into() })
    }

    fn skip_blank(&mut self) {
        while let Some(c) = self.peek() {
            if c == ';' {
                while self.peek().is_some_and(|c| c != '\n') {
                    self.bump();
                }
            } else if c.is_whitespace() || c == ',' {
                self.bump();
            } else {
                break;
            }
        }
    }

    /// The next value, or `None` at the end of input. A closing bracket is an error here.
    fn next_value(&mut self, depth: usize) -> Result<Option<Edn>, EdnError> {
        let value = self.form(depth)?;
        match self.peek() {
            Some(c) if value.is_none() => self.error(self.line, format!("unexpected `{c}`")),
            _ => Ok(value),
        }
    }

    /// The next value, skipping discarded ones (`#_ value`); `None` at the end of input or at
    /// a closing bracket (left unread).
    fn form(&mut self, depth: usize) -> Result<Option<Edn>, EdnError> {
        loop {
            self.skip_blank();
            let line = self.line;
            let Some(c) = self.peek() else { return Ok(None) };
            if matches!(c, ')' | ']' | '}') {
                return Ok(None);
            }
            if self.text[self.at..].starts_with("#_") {
                if depth >= DEPTH_MAX {
                    return self.error(line, format!("nested deeper than {DEPTH_MAX} levels"));
                }
                self.at += 2;
                if self.form(depth + 1)?.is_none() {
                    return self.error(line, "`#_` with nothing to discard");
                }
                continue;
            }
            return self.value(depth).map(Some);
        }
    }

    fn value(&mut self, depth: usize) -> Result<Edn, EdnError> {
        let line = self.line;
        if depth >= DEPTH_MAX {
            return self.error(line, format!("nested deeper than {DEPTH_MAX} levels"));
        }
        let c = self.peek().expect("value called at a character");
        let kind = match c {
            '(' => EdnKind::List(self.sequence(')', depth)?),
            '[' => EdnKind::Vector(self.sequence(']', depth)?),
            '{' => EdnKind::Map(self.map(depth)?),
            '"' => EdnKind::Str(self.string()?),
            '\\' => EdnKind::Char(self.character()?),
            '#' => self.dispatch(depth)?,
            _ => self.atom()?,
        };
        Ok(Edn { line, kind })
    }

    /// Values up to `close`, after the opening bracket.
    fn sequence(&mut self, close: char, depth: usize) -> Result<Vec<Edn>, EdnError> {
        let line = self.line;
        self.bump();
        let mut items = Vec::new();
        loop {
            if let Some(item) = self.form(depth + 1)? {
                items.push(item);
                continue;
            }
            return match self.bump() {
                None => self.error(line, format!("unclosed collection (missing `{close}`)")),
                Some(c) if c == close => Ok(items),
                Some(c) => self.error(self.line, format!("expected `{close}`, found `{c}`")),
            };
        }
    }

    fn map(&mut self, depth: usize) -> Result<Vec<(Edn, Edn)>, EdnError> {
        let line = self.line;
        let items = self.sequence('}', depth)?;
        if items.len() % 2 != 0 {
            return self.error(line, "map with an odd number of forms");
        }
        let mut pairs = Vec::with_capacity(items.len() / 2);
        let mut items = items.into_iter();
        while let (Some(key), Some(value)) = (items.next(), items.next()) {
            pairs.push((key, value));
        }
        Ok(pairs)
    }

    fn dispatch(&mut self, depth: usize) -> Result<EdnKind, EdnError> {
        let line = self.line;
        self.bump();
        match self.peek() {
            Some('{') => Ok(EdnKind::Set(self.sequence('}', depth)?)),
            Some(c) if !is_delimiter(c) && c != '#' => {
                let tag = self.token();
                self.skip_blank();
                if self.peek().is_none() {
                    return self.error(line, format!("tag #{tag} without a value"));
                }
                let value = self.value(depth + 1)?;
                Ok(EdnKind::Tagged(tag, Box::new(value)))
            }
            _ => self.error(line, "unsupported `#` form"),
        }
    }

    fn token(&mut self) -> String {
        let mut token = String::new();
        while let Some(c) = self.peek().filter(|&c| !is_delimiter(c)) {
            token.push(c);
            self.bump();
        }
        token
    }

    fn string(&mut self) -> Result<String, EdnError> {
        let line = self.line;
        self.bump();
        let mut text = String::new();
        loop {
            let Some(c) = self.bump() else { return self.error(line, "unterminated string") };
            match c {
                '"' => return Ok(text),
                '\\' => {
                    let escape_line = self.line;
                    let Some(e) = self.bump() else {
                        return self.error(line, "unterminated string");
                    };
                    text.push(match e {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        '"' => '"',
                        '\\' => '\\',
                        'u' => self.unicode(escape_line)?,
                        other => {
                            return self.error(escape_line, format!("unknown escape `\\{other}`"))
                        }
                    });
                }
                _ => text.push(c),
            }
        }
    }

    fn unicode(&mut self, line: usize) -> Result<char, EdnError> {
        let mut code = 0u32;
        for _ in 0..4 {
            let digit = self.bump().and_then(|c| c.to_digit(16));
            let Some(digit) = digit else { return self.error(line, "bad \\u escape") };
            code = code * 16 + digit;
        }
        match char::from_u32(code) {
            Some(c) => Ok(c),
            None => self.error(line, "\\u escape is not a character"),
        }
    }

    fn character(&mut self) -> Result<char, EdnError> {
        let line = self.line;
        self.bump();
        let Some(first) = self.bump() else { return self.error(line, "`\\` at end of input") };
        let mut name = String::from(first);
        while let Some(c) = self.peek().filter(|&c| !is_delimiter(c)) {
            name.push(c);
            self.bump();
        }
        match name.as_str() {
            "newline" => Ok('\n'),
            "space" => Ok(' '),
            "tab" => Ok('\t'),
            "return" => Ok('\r'),
            _ if name.chars().count() == 1 => Ok(first),
            _ if name.starts_with('u') && name.len() == 5 => {
                match u32::from_str_radix(&name[1..], 16).ok().and_then(char::from_u32) {
                    Some(c) => Ok(c),
                    None => self.error(line, format!("bad character `\\{name}`")),
                }
            }
            _ => self.error(line, format!("bad character `\\{name}`")),
        }
    }

    fn atom(&mut self) -> Result<EdnKind, EdnError> {
        let line = self.line;
        let token = self.token();
        if token.is_empty() {
            let c = self.peek().unwrap_or(' ');
            return self.error(line, format!("unexpected `{c}`"));
        }
        if let Some(name) = token.strip_prefix(':') {
            if name.is_empty() {
                return self.error(line, "empty keyword");
            }
            return Ok(EdnKind::Keyword(name.to_string()));
        }
        let body = token.strip_prefix(['+', '-']).unwrap_or(&token);
        if body.starts_with(|c: char| c.is_ascii_digit()) {
            return number(&token)
                .ok_or(EdnError { line, reason: format!("bad number `{token}`") });
        }
        Ok(match token.as_str() {
            "nil" => EdnKind::Nil,
            "true" => EdnKind::Bool(true),
            "false" => EdnKind::Bool(false),
            _ => EdnKind::Symbol(token),
        })
    }
}

/// An integer (optional sign, digits, optional `N`) or a float (digits with `.`, `e`, `M`).
fn number(token: &str) -> Option<EdnKind> {
    let unsigned = token.strip_prefix('+').unwrap_or(token);
    let (sign, digits) = match unsigned.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", unsigned),
    };
    let integer = digits.strip_suffix('N').unwrap_or(digits);
    if !integer.is_empty() && integer.bytes().all(|b| b.is_ascii_digit()) {
        let trimmed = integer.trim_start_matches('0');
        let canonical = if trimmed.is_empty() { "0" } else { trimmed };
        let sign = if canonical == "0" { "" } else { sign };
        return Some(EdnKind::Integer(format!("{sign}{canonical}")));
    }
    let float = digits.strip_suffix('M').unwrap_or(digits);
    let float_chars = |b: u8| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-');
    if float.bytes().all(float_chars) && float.parse::<f64>().is_ok() {
        return Some(EdnKind::Float(unsigned.to_string()));
    }
    None
}

impl Edn {
    /// The value of `key` (a keyword, without `:`) in a map; `None` if absent or not a map.
    pub(crate) fn get(&self, key: &str) -> Option<&Edn> {
        let EdnKind::Map(pairs) = &self.kind else { return None };
        pairs
            .iter()
            .find(|(k, _)| matches!(&k.kind, EdnKind::Keyword(name) if name == key))
            .map(|(_, value)| value)
    }

    /// The printed form of a scalar, as a history value: `None` for `nil` and collections.
    pub(crate) fn scalar_text(&self) -> Option<String> {
        match &self.kind {
            EdnKind::Bool(b) => Some(b.to_string()),
            EdnKind::Integer(text) | EdnKind::Float(text) | EdnKind::Str(text) => {
                Some(text.clone())
            }
            EdnKind::Char(c) => Some(c.to_string()),
            EdnKind::Keyword(name) => Some(format!(":{name}")),
            EdnKind::Symbol(name) => Some(name.clone()),
            EdnKind::Tagged(_, inner) => inner.scalar_text(),
            EdnKind::Nil
            | EdnKind::List(_)
            | EdnKind::Vector(_)
            | EdnKind::Map(_)
            | EdnKind::Set(_) => None,
        }
    }

    /// A short description of the value's kind, for error messages.
    pub(crate) fn kind_name(&self) -> &'static str {
        match &self.kind {
            EdnKind::Nil => "nil",
            EdnKind::Bool(_) => "a boolean",
            EdnKind::Integer(_) => "an integer",
            EdnKind::Float(_) => "a float",
            EdnKind::Str(_) => "a string",
            EdnKind::Char(_) => "a character",
            EdnKind::Keyword(_) => "a keyword",
            EdnKind::Symbol(_) => "a symbol",
            EdnKind::List(_) => "a list",
            EdnKind::Vector(_) => "a vector",
            EdnKind::Map(_) => "a map",
            EdnKind::Set(_) => "a set",
            EdnKind::Tagged(..) => "a tagged value",
        }
    }

    /// The items of a vector or list.
    pub(crate) fn items(&self) -> Option<&[Edn]> {
        match &self.kind {
            EdnKind::Vector(items) | EdnKind::List(items) => Some(items),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<EdnKind> {
        read_all(text).expect("valid EDN").into_iter().map(|v| v.kind).collect()
    }

    fn error(text: &str) -> EdnError {
        read_all(text).expect_err("invalid EDN")
    }

    #[test]
    fn reads_scalars() {
        let values = kinds(r#"nil true 42 -7 +3 007 12N 1.5 2e3 "a\"b\n" \x \newline :ok sym"#);
        assert_eq!(
            values,
            vec![
                EdnKind::Nil,
                EdnKind::Bool(true),
                EdnKind::Integer("42".into()),
                EdnKind::Integer("-7".into()),
                EdnKind::Integer("3".into()),
                EdnKind::Integer("7".into()),
                EdnKind::Integer("12".into()),
                EdnKind::Float("1.5".into()),
                EdnKind::Float("2e3".into()),
                EdnKind::Str("a\"b\n".into()),
                EdnKind::Char('x'),
                EdnKind::Char('\n'),
                EdnKind::Keyword("ok".into()),
                EdnKind::Symbol("sym".into()),
            ]
        );
    }

    #[test]
    fn reads_collections_comments_and_lines() {
        let text = "; a history\n{:process 0, :type :invoke}\n[1 #_ 2 (3)]\n#{:a} #inst \"x\"";
        let values = read_all(text).expect("valid");
        assert_eq!(values.len(), 4);
        assert_eq!(values[0].line, 2);
        assert_eq!(values[0].get("process").and_then(Edn::scalar_text), Some("0".into()));
        assert_eq!(values[0].get("type").and_then(Edn::scalar_text), Some(":invoke".into()));
        assert_eq!(values[1].line, 3);
        let items = values[1].items().expect("vector");
        assert_eq!(items.len(), 2);
        assert_eq!(
            items[1].kind,
            EdnKind::List(vec![Edn { line: 3, kind: EdnKind::Integer("3".into()) }])
        );
        assert!(matches!(values[2].kind, EdnKind::Set(_)));
        assert!(matches!(&values[3].kind, EdnKind::Tagged(tag, _) if tag == "inst"));
    }

    #[test]
    fn reads_non_ascii_text() {
        let values = kinds("[\"héllo ✓\" :clé \\é \"\\u00e9\"]");
        let EdnKind::Vector(items) = &values[0] else { panic!("vector") };
        let texts: Vec<Option<String>> = items.iter().map(Edn::scalar_text).collect();
        let expected = ["héllo ✓", ":clé", "é", "é"].map(|t| Some(t.to_string()));
        assert_eq!(texts, expected);
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(error("{:a 1}\n\n\"open").line, 3);
        assert!(error("\"open").reason.contains("unterminated string"));
        assert_eq!(error("[1 2\n3").line, 1);
        assert!(error("{:a}").reason.contains("odd"));
        assert!(error("]").reason.contains("unexpected"));
        assert!(error("[1 2)").reason.contains("expected `]`"));
        assert!(error("1x2").reason.contains("bad number"));
        assert!(error(&"[".repeat(100)).reason.contains("nested"));
        assert!(error("\"\\q\"").reason.contains("escape"));
        assert!(error("#").reason.contains("#"));
    }
}
