//! A small borrowing JSON reader for request lines.
//!
//! Requests are parsed into nested [`Value`]s whose strings borrow from the
//! line whenever they hold no escapes, so the hot path allocates only the
//! vectors of arrays and objects. It exists (instead of `serde_json::Value`)
//! because the protocol needs what a generic reader hides: integers outside
//! `i64::MIN..=u64::MAX` are a parse error (`invalid_json`), `1.0` and `1e3`
//! are floats not integers, duplicate keys are kept so the last one wins,
//! and nesting is bounded.
//!
//! Karma 1.0 reads integers as i64 and rejects a larger one as invalid
//! JSON. Keys, values and every other unsigned field are u64, so integers up
//! to `u64::MAX` are accepted here; each field then checks its own range.
//!
//! Why it is hand-written rather than `serde_json`: the `invalid_json`
//! replies carry Karma 1.0's texts (Crystal's JSON parser: `Unexpected char
//! 'x' at line 1, column 5`, `Invalid UInt64: "…"`), which serde_json's
//! errors cannot be mapped to; and it is 2-4x faster than
//! `serde_json::from_slice::<serde_json::Value>` on single-op lines (level on
//! 1000-item batches), since unescaped strings are borrowed, not allocated:
//! `cargo bench --bench request_parse`.
//!
//! It accepts and rejects what serde_json does, and reads the same values,
//! except for these differences (tests/json_vs_serde_json.rs checks that
//! there are no others):
//!
//! 1. An integer outside `i64::MIN..=u64::MAX` is an error (`Invalid
//!    UInt64` / `Invalid Int64`, as in Karma 1.0); serde_json reads it as a
//!    float.
//! 2. `-0` is the integer 0 (Karma 1.0's Int64); serde_json reads -0.0.
//! 3. Floats are correctly rounded (`str::parse::<f64>`); serde_json's
//!    default reading may be a few units in the last place off, and may
//!    call a literal next to `f64::MAX` out of range.
//! 4. Nesting may go [`MAX_DEPTH`] (512) levels deep; serde_json stops at
//!    127.
//!
//! Error messages differ throughout (they are Karma 1.0's, see above).

mod error;

use std::borrow::Cow;

pub use error::JsonError;

/// Deepest nesting of arrays and objects a request may use.
pub const MAX_DEPTH: usize = 512;

/// Room an object's fields get up front (see [`Parser::object`]).
const OBJECT_FIELDS: usize = 8;

/// One parsed JSON value. Objects keep every pair in input order; lookups
/// take the last pair with a matching key.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    /// Any JSON integer in `i64::MIN..=u64::MAX` (the parser's invariant).
    Int(i128),
    Float(f64),
    Str(Cow<'a, str>),
    Array(Vec<Value<'a>>),
    Object(Vec<(Cow<'a, str>, Value<'a>)>),
}

impl<'a> Value<'a> {
    /// The value of `key` in an object (the last one when repeated).
    pub fn get(&self, key: &str) -> Option<&Value<'a>> {
        match self {
            Value::Object(pairs) => pairs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Whether an object has `key` at all (even with a `null` value).
    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A short name of the JSON type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "Nil",
            Value::Bool(_) => "Bool",
            Value::Int(_) => "Int64",
            Value::Float(_) => "Float64",
            Value::Str(_) => "String",
            Value::Array(_) => "Array(JSON::Any)",
            Value::Object(_) => "Hash(String, JSON::Any)",
        }
    }
}

/// Parses exactly one JSON value, surrounded by optional whitespace.
/// The error says what is wrong and where (a 1-based column).
pub fn parse(bytes: &[u8]) -> Result<Value<'_>, JsonError> {
    let text = std::str::from_utf8(bytes).map_err(|e| JsonError::InvalidUtf8 { column: e.valid_up_to() + 1 })?;
    let mut parser = Parser { text, bytes: text.as_bytes(), pos: 0 };
    parser.skip_whitespace();
    let value = parser.value(0)?;
    parser.skip_whitespace();
    if parser.pos < parser.bytes.len() {
        return Err(parser.unexpected());
    }
    Ok(value)
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    fn unexpected(&self) -> JsonError {
        let column = self.pos + 1;
        match self.text[self.pos..].chars().next() {
            None => JsonError::UnexpectedEnd { column },
            Some(found) => JsonError::UnexpectedChar { found, column },
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value<'a>, JsonError> {
        match self.bytes.get(self.pos) {
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => Ok(Value::Str(self.string()?)),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            _ => Err(self.unexpected()),
        }
    }

    fn literal(&mut self, word: &str, value: Value<'a>) -> Result<Value<'a>, JsonError> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(self.unexpected())
        }
    }

    fn nest_check(&self, depth: usize) -> Result<(), JsonError> {
        if depth > MAX_DEPTH {
            Err(JsonError::TooDeep { depth })
        } else {
            Ok(())
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value<'a>, JsonError> {
        self.nest_check(depth)?;
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.bytes.get(self.pos) == Some(&b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_whitespace();
            items.push(self.value(depth)?);
            self.skip_whitespace();
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.unexpected()),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value<'a>, JsonError> {
        self.nest_check(depth)?;
        self.pos += 1;
        self.skip_whitespace();
        if self.bytes.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Ok(Value::Object(Vec::new()));
        }
        // A request holds up to about 8 fields: one allocation, no regrowth
        // (growing from empty cost an allocation and a reallocation).
        let mut pairs = Vec::with_capacity(OBJECT_FIELDS);
        loop {
            self.skip_whitespace();
            if self.bytes.get(self.pos) != Some(&b'"') {
                return Err(self.unexpected());
            }
            let key = self.string()?;
            self.skip_whitespace();
            if self.bytes.get(self.pos) != Some(&b':') {
                return Err(self.unexpected());
            }
            self.pos += 1;
            self.skip_whitespace();
            let value = self.value(depth)?;
            pairs.push((key, value));
            self.skip_whitespace();
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::Object(pairs));
                }
                _ => return Err(self.unexpected()),
            }
        }
    }

    fn number(&mut self) -> Result<Value<'a>, JsonError> {
        let start = self.pos;
        if self.bytes[self.pos] == b'-' {
            self.pos += 1;
        }
        let digits_start = self.pos;
        match self.bytes.get(self.pos) {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.skip_digits(),
            _ => return Err(self.unexpected()),
        }
        let mut is_float = false;
        if self.bytes.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if !matches!(self.bytes.get(self.pos), Some(b'0'..=b'9')) {
                return Err(self.unexpected());
            }
            self.skip_digits();
            is_float = true;
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.pos) {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.bytes.get(self.pos) {
                self.pos += 1;
            }
            if !matches!(self.bytes.get(self.pos), Some(b'0'..=b'9')) {
                return Err(self.unexpected());
            }
            self.skip_digits();
            is_float = true;
        }
        let literal = &self.text[start..self.pos];
        if is_float {
            // A literal beyond f64's range (`1e400`) would read as infinity:
            // Karma 1.0 (Crystal's `String#to_f64`) and serde_json reject it.
            return match literal.parse::<f64>() {
                Ok(float) if float.is_finite() => Ok(Value::Float(float)),
                _ => Err(JsonError::InvalidFloat { literal: literal.to_string(), column: start + 1 }),
            };
        }
        let negative = digits_start > start;
        let mut magnitude: u64 = 0;
        for &digit in &self.bytes[digits_start..self.pos] {
            magnitude = match magnitude.checked_mul(10).and_then(|m| m.checked_add(u64::from(digit - b'0'))) {
                Some(m) => m,
                None => return Err(invalid_uint(literal, start)),
            };
        }
        let value = if negative {
            if magnitude > i64::MAX as u64 + 1 {
                return Err(invalid_int(literal, start));
            }
            -i128::from(magnitude)
        } else {
            i128::from(magnitude)
        };
        Ok(Value::Int(value))
    }

    fn skip_digits(&mut self) {
        while let Some(b'0'..=b'9') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    fn string(&mut self) -> Result<Cow<'a, str>, JsonError> {
        self.pos += 1;
        let start = self.pos;
        // Fast path: no escapes, borrow straight from the line.
        loop {
            match self.bytes.get(self.pos) {
                None => return Err(self.unexpected()),
                Some(b'"') => {
                    let s = &self.text[start..self.pos];
                    self.pos += 1;
                    return Ok(Cow::Borrowed(s));
                }
                Some(b'\\') => break,
                Some(&b) if b < 0x20 => return Err(self.unexpected()),
                Some(_) => self.pos += 1,
            }
        }
        let mut owned = String::from(&self.text[start..self.pos]);
        loop {
            match self.bytes.get(self.pos) {
                None => return Err(self.unexpected()),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(Cow::Owned(owned));
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let escaped = match self.bytes.get(self.pos) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.pos += 1;
                            let c = self.unicode_escape()?;
                            owned.push(c);
                            continue;
                        }
                        _ => return Err(self.unexpected()),
                    };
                    owned.push(escaped);
                    self.pos += 1;
                }
                Some(&b) if b < 0x20 => return Err(self.unexpected()),
                Some(_) => {
                    let run_start = self.pos;
                    while let Some(&b) = self.bytes.get(self.pos) {
                        if b == b'"' || b == b'\\' || b < 0x20 {
                            break;
                        }
                        self.pos += 1;
                    }
                    owned.push_str(&self.text[run_start..self.pos]);
                }
            }
        }
    }

    /// Reads the 4 hex digits after `\u` (and a low surrogate if needed).
    fn unicode_escape(&mut self) -> Result<char, JsonError> {
        let high = self.hex4()?;
        if !(0xD800..0xDC00).contains(&high) {
            return char::from_u32(high).ok_or_else(|| self.unexpected());
        }
        if self.bytes[self.pos..].starts_with(b"\\u") {
            self.pos += 2;
            let low = self.hex4()?;
            if (0xDC00..0xE000).contains(&low) {
                let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                return char::from_u32(code).ok_or_else(|| self.unexpected());
            }
        }
        Err(JsonError::InvalidUnicodeEscape { column: self.pos + 1 })
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let digits = self
            .bytes
            .get(self.pos..self.pos + 4)
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| u32::from_str_radix(d, 16).ok().filter(|_| d.bytes().all(|b| b.is_ascii_hexdigit())));
        match digits {
            Some(value) => {
                self.pos += 4;
                Ok(value)
            }
            None => Err(JsonError::InvalidUnicodeEscape { column: self.pos + 1 }),
        }
    }
}

/// Below `i64::MIN`: Karma 1.0's wording.
fn invalid_int(literal: &str, start: usize) -> JsonError {
    JsonError::InvalidInt { literal: literal.to_string(), column: start + 1 }
}

/// More digits than `u64` holds (for a negative literal too, whose
/// magnitude is read as a `u64` first).
fn invalid_uint(literal: &str, start: usize) -> JsonError {
    if literal.starts_with('-') {
        return invalid_int(literal, start);
    }
    JsonError::InvalidUint { literal: literal.to_string(), column: start + 1 }
}

#[cfg(test)]
mod tests;
