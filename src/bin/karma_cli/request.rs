//! Turning what a user typed into a request object: either a whole JSON
//! request, or `OP field=value ...` where each value is read as JSON when
//! it parses (`key=42`, `items=[[1,20260505,5]]`, `cursor=null`) and as a
//! string otherwise (`series=api`, `bucket=2026-05-05`).

use serde_json::{Map, Value};

/// Why typed words are not a request.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("no op given")]
    NoOp,
    #[error("a JSON request must be the only argument")]
    JsonNotAlone,
    #[error("a JSON request must be an object")]
    NotAnObject,
    #[error("invalid JSON request: {0}")]
    InvalidJson(#[source] serde_json::Error),
    /// A word after the op without `=` (or with nothing before it).
    #[error("expected field=value, got {0:?}")]
    NotAField(String),
    #[error("unfinished escape at end of line")]
    UnfinishedEscape,
    #[error("unclosed {0} quote")]
    UnclosedQuote(char),
    /// The client cannot encode the request (pipe mode renders it itself).
    #[error(transparent)]
    Render(#[from] karma::client::Error),
}

/// The request `words` describe: `["{...}"]` (one JSON object) or
/// `["OP", "field=value", ...]`. `v` is added by the client.
pub fn from_words<S: AsRef<str>>(words: &[S]) -> Result<Value, RequestError> {
    let Some((first, rest)) = words.split_first() else {
        return Err(RequestError::NoOp);
    };
    let first = first.as_ref().trim();
    if first.starts_with('{') {
        if !rest.is_empty() {
            return Err(RequestError::JsonNotAlone);
        }
        return match serde_json::from_str::<Value>(first) {
            Ok(Value::Object(object)) => Ok(Value::Object(object)),
            Ok(_) => Err(RequestError::NotAnObject),
            Err(e) => Err(RequestError::InvalidJson(e)),
        };
    }
    let mut request = Map::new();
    request.insert("op".to_string(), Value::from(first));
    for word in rest {
        let word = word.as_ref();
        let Some((name, text)) = word.split_once('=').filter(|(name, _)| !name.is_empty()) else {
            return Err(RequestError::NotAField(word.to_string()));
        };
        let value = serde_json::from_str(text).unwrap_or_else(|_| Value::from(text));
        request.insert(name.to_string(), value);
    }
    Ok(Value::Object(request))
}

/// Splits an interactive or piped line into words: whitespace separates,
/// `"..."` and `'...'` group (quotes removed, `\` escapes the next
/// character inside double quotes). A line starting with `{` is one word.
pub fn split_line(line: &str) -> Result<Vec<String>, RequestError> {
    let line = line.trim();
    if line.starts_with('{') {
        return Ok(vec![line.to_string()]);
    }
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '"' | '\'' => {
                in_word = true;
                let quote = c;
                loop {
                    match chars.next() {
                        Some(c) if c == quote => break,
                        Some('\\') if quote == '"' => match chars.next() {
                            Some(escaped) => word.push(escaped),
                            None => return Err(RequestError::UnfinishedEscape),
                        },
                        Some(c) => word.push(c),
                        None => return Err(RequestError::UnclosedQuote(quote)),
                    }
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests;
