//! Why a request line is not JSON. The texts are Karma 1.0's (the
//! `invalid_json` replies pin them), with a 1-based column.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    /// Bytes that are not UTF-8, from the first bad one.
    #[error("Invalid UTF-8 at line 1, column {column}")]
    InvalidUtf8 { column: usize },
    /// The line ends inside a value.
    #[error("unexpected token '<EOF>' at line 1, column {column}")]
    UnexpectedEnd { column: usize },
    /// A character that cannot come here.
    #[error("Unexpected char '{found}' at line 1, column {column}")]
    UnexpectedChar { found: char, column: usize },
    /// Arrays and objects nested deeper than [`super::MAX_DEPTH`].
    #[error("Nesting of {depth} is too deep")]
    TooDeep { depth: usize },
    /// A `\u` escape that is not 4 hex digits or pairs no surrogates.
    #[error("Invalid unicode escape at line 1, column {column}")]
    InvalidUnicodeEscape { column: usize },
    /// A float literal out of `f64`'s range.
    #[error("Invalid Float64: {literal:?} at line 1, column {column}")]
    InvalidFloat { literal: String, column: usize },
    /// A negative integer below `i64::MIN`.
    #[error("Invalid Int64: {literal:?} at line 1, column {column}")]
    InvalidInt { literal: String, column: usize },
    /// A positive integer above `u64::MAX`.
    #[error("Invalid UInt64: {literal:?} at line 1, column {column}")]
    InvalidUint { literal: String, column: usize },
}
