//! Printing replies: the raw line with `--raw`, else readable text (a
//! string or number as it is, arrays and objects as indented JSON, an
//! error as one `(error) code: message` line).

use serde::Deserialize;
use serde_json::Value;

/// A reply line, decoded for printing.
pub enum Shown {
    Success(String),
    Error { code: String, text: String },
}

#[derive(Deserialize)]
struct Envelope {
    success: bool,
    response: Value,
    #[serde(default)]
    idempotent: Option<bool>,
    #[serde(default)]
    error_code: Option<String>,
}

/// What to print for `reply`; `raw` prints the line as it came.
pub fn show(reply: &str, raw: bool) -> Shown {
    let Ok(envelope) = serde_json::from_str::<Envelope>(reply) else {
        return Shown::Error { code: "invalid_reply".into(), text: format!("(error) invalid reply: {reply}") };
    };
    if !envelope.success {
        let code = envelope.error_code.unwrap_or_default();
        let text = if raw {
            reply.to_string()
        } else {
            let message = match &envelope.response {
                Value::String(message) => message.clone(),
                other => other.to_string(),
            };
            format!("(error) {code}: {message}")
        };
        return Shown::Error { code, text };
    }
    if raw {
        return Shown::Success(reply.to_string());
    }
    let mut text = readable(&envelope.response);
    if envelope.idempotent == Some(true) {
        text.push_str("\n(replayed: the idempotency key was used before)");
    }
    Shown::Success(text)
}

/// A response value as people read it.
pub fn readable(response: &Value) -> String {
    match response {
        // Prometheus text and messages print as their lines.
        Value::String(text) => text.strip_suffix('\n').unwrap_or(text).to_string(),
        Value::Array(items) if items.is_empty() => "(empty)".to_string(),
        Value::Array(_) | Value::Object(_) => {
            serde_json::to_string_pretty(response).unwrap_or_else(|_| response.to_string())
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests;
