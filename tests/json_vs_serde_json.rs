//! The request-line JSON reader (`karma::protocol::json`, the first step of
//! `parse_request`) accepts and rejects exactly what `serde_json` does, and
//! reads the same values, apart from the differences listed in
//! `src/protocol/json.rs` (each one is an explicit case below).
//!
//! The inputs are JSON-ish byte strings: documents built by a recursive
//! strategy (numbers at every edge, strings with every kind of escape,
//! duplicate keys, odd whitespace, a few invalid tokens mixed in), then
//! mutated (truncated, bytes inserted, deleted, replaced, slices
//! duplicated), and separately nested up to past `MAX_DEPTH`.
//!
//! The case counts are bounded so that `cargo test --release` takes a few
//! seconds. For a longer local run, set `PROPTEST_CASES`, which proptest
//! reads natively: `PROPTEST_CASES=200000 cargo test --release --test
//! json_vs_serde_json`.

use karma::protocol::json::{self, JsonError, Value, MAX_DEPTH};
use karma::protocol::{parse_request, ErrorCode};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::Config;
use serde_json::Value as Reference;

/// Cases of the main property when `PROPTEST_CASES` is not set.
const CASES: u32 = 3000;
/// Cases of the nesting property (each document is 500 levels deep or so).
const NESTING_CASES: u32 = 300;

/// `serde_json` (without its `float_roundtrip` feature) parses floats on a
/// best-effort basis, a few units in the last place (ULP) off the correctly
/// rounded value that we take from `str::parse::<f64>` (for example
/// `2.2250738585072011e-308`). The difference is serde_json's; we allow it.
const FLOAT_ULPS: u64 = 4;

fn config(default_cases: u32) -> Config {
    // `Config::default()` reads PROPTEST_CASES; `with_cases` would ignore it.
    if std::env::var_os("PROPTEST_CASES").is_some() {
        Config::default()
    } else {
        Config::with_cases(default_cases)
    }
}

// ---------------------------------------------------------------------------
// Generators: rendered JSON text, as bytes
// ---------------------------------------------------------------------------

/// Bytes that change the meaning of a JSON text, for the mutations.
const INTERESTING_BYTES: &[u8] =
    b"\"\\{}[],: \t\n\r0123456789-+.eEu/abfnrtx\x00\x01\x0b\x0c\x1f\x7f\x80\xbf\xc0\xc3\xe2\xed\xf0\xf4\xf5\xff";

fn whitespace() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        40 => Just(""),
        10 => Just(" "),
        2 => Just("\t"),
        2 => Just("\n"),
        2 => Just("\r\n  "),
        // Not JSON whitespace: form feed, vertical tab, no-break space.
        1 => prop_oneof![Just("\x0c"), Just("\x0b"), Just("\u{a0}")],
    ]
}

/// Number literals: every edge we know of, then random ones of each shape.
fn number() -> impl Strategy<Value = String> {
    const EDGES: &[&str] = &[
        "0",
        "-0",
        "1",
        "-1",
        "0.0",
        "-0.0",
        "-0e0",
        "1e400",
        "-1e400",
        "1e-400",
        "1E5",
        "1e+5",
        "1e-5",
        "2.5",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "-9223372036854775809",
        "18446744073709551615",
        "18446744073709551616",
        "-18446744073709551616",
        "99999999999999999999999999999",
        "1.7976931348623157e308",
        "1.7976931348623158e308",
        "1.7976931348623159e308",
        "2.2250738585072011e-308",
        "4.9e-324",
        "5e-325",
        "123456789012345678901234567890e-10",
        "0.000000000000000000000000000000000000000000001e300",
    ];
    const INVALID: &[&str] = &[
        "01",
        "-",
        "1.",
        "1.e5",
        ".5",
        "+1",
        "1e",
        "1e+",
        "0x10",
        "Infinity",
        "NaN",
        "-Infinity",
        "00",
        "-01",
        "1.0.0",
    ];
    prop_oneof![
        4 => proptest::sample::select(EDGES).prop_map(str::to_string),
        1 => proptest::sample::select(INVALID).prop_map(str::to_string),
        3 => any::<u64>().prop_map(|n| n.to_string()),
        3 => any::<i64>().prop_map(|n| n.to_string()),
        2 => any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| format!("{f:?}")),
        2 => any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| format!("{f:e}")),
        4 => "-?(0|[1-9][0-9]{0,24})(\\.[0-9]{1,20})?([eE][+-]?[0-9]{1,3})?",
    ]
}

const SHORT_ESCAPES: &[&[u8]] = &[b"\\\"", b"\\\\", b"\\/", b"\\b", b"\\f", b"\\n", b"\\r", b"\\t"];

/// Invalid string contents: lone or mismatched surrogates, unknown or short
/// escapes, raw control characters, bytes that are not UTF-8 (a lone lead
/// byte, an encoded surrogate, an overlong NUL, a code point past U+10FFFF).
const BROKEN_PIECES: &[&[u8]] = &[
    b"\\ud800",
    b"\\udc00",
    b"\\ud83d\\u0041",
    b"\\ud83dx",
    b"\\x",
    b"\\U0041",
    b"\\u12",
    b"\\u12g4",
    b"\x00",
    b"\x1f",
    b"\n",
    b"\xff",
    b"\xc3",
    b"\xed\xa0\x80",
    b"\xc0\x80",
    b"\xf4\x90\x80\x80",
];

/// One piece of a string literal's body, already escaped (or broken).
fn string_piece() -> impl Strategy<Value = Vec<u8>> {
    let plain = prop_oneof![
        4 => "[a-zA-Z0-9 _.%/-]{1,6}",
        2 => any::<char>().prop_filter("needs no escape", |c| !matches!(c, '"' | '\\' | '\0'..='\x1f')).prop_map(String::from),
    ]
    .prop_map(String::into_bytes);
    let short_escape = proptest::sample::select(SHORT_ESCAPES).prop_map(<[u8]>::to_vec);
    let unicode_escape = (any::<char>(), any::<bool>()).prop_map(|(c, upper)| {
        let mut units = [0u16; 2];
        let text: String = c.encode_utf16(&mut units).iter().map(|u| format!("\\u{u:04x}")).collect();
        if upper {
            text.to_uppercase().replace("\\U", "\\u").into_bytes()
        } else {
            text.into_bytes()
        }
    });
    let broken = proptest::sample::select(BROKEN_PIECES).prop_map(<[u8]>::to_vec);
    prop_oneof![12 => plain, 3 => short_escape, 4 => unicode_escape, 1 => broken]
}

fn string_literal() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(string_piece(), 0..6).prop_map(|pieces| quoted(&pieces.concat()))
}

fn quoted(body: &[u8]) -> Vec<u8> {
    [&b"\""[..], body, b"\""].concat()
}

/// Object keys: a few names, often repeated (also as `\u` escapes of the
/// same name), so duplicate keys are common.
fn key() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => proptest::sample::select(&["a", "b", "v", "op", "key", "", "\\u0061", "\\u0076"][..])
            .prop_map(|k| quoted(k.as_bytes())),
        1 => string_literal(),
    ]
}

fn leaf() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => proptest::sample::select(&["null", "true", "false"][..]).prop_map(|w| w.as_bytes().to_vec()),
        // Literals that are not JSON.
        1 => proptest::sample::select(&["nul", "True", "undefined", "'a'", "tru"][..]).prop_map(|w| w.as_bytes().to_vec()),
        8 => number().prop_map(String::into_bytes),
        6 => string_literal(),
    ]
}

/// A JSON-ish document, mostly valid.
fn document() -> impl Strategy<Value = Vec<u8>> {
    leaf().prop_recursive(5, 48, 6, |inner| {
        let element = (whitespace(), inner.clone(), whitespace());
        let member = (whitespace(), key(), whitespace(), whitespace(), inner, whitespace());
        prop_oneof![
            (prop::collection::vec(element, 0..6), whitespace(), trailing_comma()).prop_map(|(items, empty, comma)| {
                let items: Vec<Vec<u8>> =
                    items.into_iter().map(|(a, item, b)| [a.as_bytes(), &item, b.as_bytes()].concat()).collect();
                let body = if items.is_empty() { empty.as_bytes().to_vec() } else { items.join(&b","[..]) };
                [&b"["[..], &body, comma, b"]"].concat()
            }),
            (prop::collection::vec(member, 0..6), whitespace(), trailing_comma()).prop_map(
                |(members, empty, comma)| {
                    let members: Vec<Vec<u8>> = members
                        .into_iter()
                        .map(|(a, key, b, c, value, d)| {
                            [a.as_bytes(), &key, b.as_bytes(), b":", c.as_bytes(), &value, d.as_bytes()].concat()
                        })
                        .collect();
                    let body = if members.is_empty() { empty.as_bytes().to_vec() } else { members.join(&b","[..]) };
                    [&b"{"[..], &body, comma, b"}"].concat()
                }
            ),
        ]
    })
}

/// Mostly nothing; now and then the trailing comma JSON does not allow.
fn trailing_comma() -> impl Strategy<Value = &'static [u8]> {
    prop_oneof![30 => Just(&b""[..]), 1 => Just(&b","[..])]
}

#[derive(Debug, Clone)]
enum Mutation {
    Truncate(Index),
    Insert(Index, u8),
    Delete(Index),
    Replace(Index, u8),
    /// Copies the slice between two positions to the first one.
    Duplicate(Index, Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let byte = prop_oneof![3 => proptest::sample::select(INTERESTING_BYTES), 1 => any::<u8>()];
    prop_oneof![
        (any::<Index>()).prop_map(Mutation::Truncate),
        (any::<Index>(), byte.clone()).prop_map(|(at, b)| Mutation::Insert(at, b)),
        (any::<Index>()).prop_map(Mutation::Delete),
        (any::<Index>(), byte).prop_map(|(at, b)| Mutation::Replace(at, b)),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::Duplicate(a, b)),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for mutation in mutations {
        let len = bytes.len();
        match mutation {
            Mutation::Truncate(at) => bytes.truncate(at.index(len + 1)),
            Mutation::Insert(at, b) => bytes.insert(at.index(len + 1), *b),
            Mutation::Delete(at) if len > 0 => {
                bytes.remove(at.index(len));
            }
            Mutation::Replace(at, b) if len > 0 => bytes[at.index(len)] = *b,
            Mutation::Duplicate(a, b) => {
                let (a, b) = (a.index(len + 1), b.index(len + 1));
                let slice = bytes[a.min(b)..a.max(b)].to_vec();
                bytes.splice(a..a, slice);
            }
            _ => {}
        }
    }
    bytes
}

/// A document, then up to three mutations (none for half of the cases).
fn json_ish() -> impl Strategy<Value = Vec<u8>> {
    (whitespace(), document(), whitespace(), prop_oneof![Just(vec![]), prop::collection::vec(mutation(), 1..4)])
        .prop_map(|(before, doc, after, mutations)| {
            mutate([before.as_bytes(), &doc, after.as_bytes()].concat(), &mutations)
        })
}

// ---------------------------------------------------------------------------
// The comparison
// ---------------------------------------------------------------------------

/// Checks that our reading of `input` agrees with serde_json's, up to the
/// documented differences.
fn check_agreement(input: &[u8]) -> Result<(), TestCaseError> {
    let ours = json::parse(input);
    let theirs = serde_json::from_slice::<Reference>(input);
    let shown = String::from_utf8_lossy(input);
    match (&ours, &theirs) {
        (Ok(ours), Ok(theirs)) => {
            same_value(ours, theirs).map_err(|why| TestCaseError::fail(format!("{shown:?}: {why}")))?;
        }
        (Err(_), Err(_)) => {}
        (Err(message), Ok(_)) => {
            // Difference 1: an integer outside i64::MIN..=u64::MAX is
            // `Invalid UInt64` / `Invalid Int64` (serde_json reads it as a
            // float).
            prop_assert!(
                out_of_range_integer(message),
                "{shown:?}: we reject ({message}), serde_json accepts ({theirs:?})"
            );
        }
        (Ok(value), Err(error)) => {
            // Difference 3 (serde_json's): its best-effort float parsing
            // may round a literal next to f64::MAX up to infinity and call
            // it out of range, where the correct rounding is f64::MAX.
            prop_assert!(
                error.to_string().starts_with("number out of range") && holds_float_near_max(value),
                "{shown:?}: we accept ({value:?}), serde_json rejects ({error})"
            );
        }
    }
    // parse_request's first step is this reader: the same decision, and
    // the same message as `invalid_json`.
    match (parse_request(input), &ours) {
        (Err(rejected), Err(message)) => {
            prop_assert_eq!(rejected.error.code, ErrorCode::InvalidJson);
            prop_assert_eq!(&rejected.error.message, &message.to_string());
        }
        (Err(rejected), Ok(_)) => prop_assert_ne!(rejected.error.code, ErrorCode::InvalidJson),
        (Ok(_), Ok(_)) => {}
        (Ok(_), Err(message)) => {
            prop_assert!(false, "{shown:?}: parse_request accepts what json::parse rejects ({message})")
        }
    }
    Ok(())
}

/// Whether `error` reports an integer literal outside
/// `i64::MIN..=u64::MAX` (difference 1 in `src/protocol/json.rs`).
fn out_of_range_integer(error: &JsonError) -> bool {
    let (JsonError::InvalidUint { literal, .. } | JsonError::InvalidInt { literal, .. }) = error else {
        return false;
    };
    let digits = literal.strip_prefix('-').unwrap_or(literal);
    let integer = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    let in_range = match literal.parse::<i128>() {
        Ok(n) => (i128::from(i64::MIN)..=i128::from(u64::MAX)).contains(&n),
        Err(_) => false,
    };
    integer && !in_range
}

fn holds_float_near_max(value: &Value) -> bool {
    match value {
        Value::Float(f) => f.is_finite() && ulps_apart(f.abs(), f64::MAX) <= FLOAT_ULPS,
        Value::Array(items) => items.iter().any(holds_float_near_max),
        Value::Object(pairs) => pairs.iter().any(|(_, v)| holds_float_near_max(v)),
        _ => false,
    }
}

/// Distance in units in the last place between two finite floats of the
/// same sign (both zeros are 0 apart).
fn ulps_apart(a: f64, b: f64) -> u64 {
    if a == b {
        return 0;
    }
    if a.is_sign_negative() != b.is_sign_negative() {
        return u64::MAX;
    }
    a.to_bits().abs_diff(b.to_bits())
}

fn same_value(ours: &Value, theirs: &Reference) -> Result<(), String> {
    match (ours, theirs) {
        (Value::Null, Reference::Null) => Ok(()),
        (Value::Bool(a), Reference::Bool(b)) if a == b => Ok(()),
        (Value::Int(i), Reference::Number(n)) => {
            let same = match (n.as_u64(), n.as_i64(), n.as_f64()) {
                (Some(u), _, _) => *i == i128::from(u),
                (None, Some(s), _) => *i == i128::from(s),
                // Difference 2: `-0` is the integer 0 (serde_json: -0.0).
                (None, None, Some(f)) => *i == 0 && f == 0.0 && f.is_sign_negative(),
                _ => false,
            };
            if same {
                Ok(())
            } else {
                Err(format!("integer {i} is {n} for serde_json"))
            }
        }
        (Value::Float(a), Reference::Number(n)) if n.is_f64() => {
            let b = n.as_f64().unwrap_or(f64::NAN);
            if ulps_apart(*a, b) <= FLOAT_ULPS {
                Ok(())
            } else {
                Err(format!("float {a:e} is {b:e} for serde_json"))
            }
        }
        (Value::Str(a), Reference::String(b)) if a == b => Ok(()),
        (Value::Array(a), Reference::Array(b)) if a.len() == b.len() => {
            a.iter().zip(b).try_for_each(|(a, b)| same_value(a, b))
        }
        (Value::Object(pairs), Reference::Object(map)) => {
            // Both keep the last of repeated keys.
            let mut distinct: Vec<&str> = pairs.iter().map(|(k, _)| k.as_ref()).collect();
            distinct.sort_unstable();
            distinct.dedup();
            if distinct.len() != map.len() {
                return Err(format!("keys {distinct:?}, serde_json has {:?}", map.keys().collect::<Vec<_>>()));
            }
            map.iter().try_for_each(|(key, theirs)| match ours.get(key) {
                Some(value) => same_value(value, theirs),
                None => Err(format!("no key {key:?}")),
            })
        }
        _ => Err(format!("{ours:?} is {theirs:?} for serde_json")),
    }
}

/// The depth of nesting of a valid JSON text (a scalar is 0). Counted on
/// the text, not on a parsed value, which drops repeated keys.
fn depth(text: &[u8]) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &b in text {
        match (in_string, escaped, b) {
            (true, true, _) => escaped = false,
            (true, false, b'\\') => escaped = true,
            (true, false, b'"') | (false, _, b'"') => in_string = !in_string,
            (false, _, b'[' | b'{') => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            (false, _, b']' | b'}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

proptest! {
    #![proptest_config(config(CASES))]

    /// Accept, reject and values agree on JSON-ish bytes.
    #[test]
    fn agrees_with_serde_json(input in json_ish()) {
        check_agreement(&input)?;
    }
}

proptest! {
    #![proptest_config(config(NESTING_CASES))]

    /// Difference 4: nesting is allowed to `MAX_DEPTH` (512) levels, where
    /// serde_json stops at 127. So a document wrapped in `levels` arrays or
    /// objects is read as serde_json reads the unwrapped one, up to 512.
    /// (Not mutated: `1],[2` is no document, yet `[1],[2]` wrapped once is.)
    #[test]
    fn nesting_is_bounded_at_max_depth(
        levels in prop_oneof![0..140usize, 500..530usize, 0..600usize],
        objects in any::<bool>(),
        inner in document(),
    ) {
        let (open, close): (&[u8], &[u8]) = if objects { (b"{\"k\":", b"}") } else { (b"[", b"]") };
        let input = [open.repeat(levels), inner.clone(), close.repeat(levels)].concat();
        let ours = json::parse(&input);
        match serde_json::from_slice::<Reference>(&inner) {
            Ok(theirs) if levels + depth(&inner) <= MAX_DEPTH => {
                let mut wrapped = theirs;
                for _ in 0..levels {
                    wrapped = if objects { serde_json::json!({ "k": wrapped }) } else { Reference::Array(vec![wrapped]) };
                }
                match &ours {
                    Ok(value) => same_value(value, &wrapped).map_err(TestCaseError::fail)?,
                    // Difference 1 again, inside the wrapping.
                    Err(message) => prop_assert!(out_of_range_integer(message), "{message}"),
                }
            }
            Ok(_) => {
                let message = ours.expect_err("deeper than MAX_DEPTH");
                prop_assert!(
                    matches!(message, JsonError::TooDeep { .. }) || out_of_range_integer(&message),
                    "{message}"
                );
            }
            // The inner document is invalid (or holds an integer beyond
            // serde_json's reach): so is the wrapped one for us, whatever
            // the depth, unless the difference near f64::MAX applies.
            Err(error) => {
                if let Ok(value) = &ours {
                    prop_assert!(
                        error.to_string().starts_with("number out of range") && holds_float_near_max(value),
                        "we accept {value:?}, serde_json rejects the inner document: {error}"
                    );
                }
            }
        }
    }
}

/// The inputs behind each documented difference, and the bugs the
/// property found, kept as plain examples.
#[test]
fn documented_differences() {
    // 1. Integers beyond i64::MIN..=u64::MAX are invalid JSON for us.
    assert_eq!(
        json::parse(b"18446744073709551616").map_err(|e| e.to_string()),
        Err("Invalid UInt64: \"18446744073709551616\" at line 1, column 1".into())
    );
    assert!(serde_json::from_slice::<Reference>(b"18446744073709551616").is_ok());
    // 2. `-0` is the integer 0.
    assert_eq!(json::parse(b"-0"), Ok(Value::Int(0)));
    assert!(serde_json::from_slice::<Reference>(b"-0").unwrap().as_f64().unwrap().is_sign_negative());
    // 3. serde_json's best-effort float reading (ours rounds correctly).
    assert_eq!(json::parse(b"2.2250738585072011e-308"), Ok(Value::Float(2.225073858507201e-308)));
    // 4. Nesting: 512 levels for us, 127 for serde_json.
    let deep = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
    assert!(json::parse(deep.as_bytes()).is_ok());
    assert!(serde_json::from_str::<Reference>(&deep).is_err());
    // Found by the property: a float beyond f64's range is rejected, as
    // by serde_json and Karma 1.0, not read as infinity.
    assert_eq!(
        json::parse(b"[1e400]").map_err(|e| e.to_string()),
        Err("Invalid Float64: \"1e400\" at line 1, column 2".into())
    );
    assert_eq!(
        json::parse(b"-1e400").map_err(|e| e.to_string()),
        Err("Invalid Float64: \"-1e400\" at line 1, column 1".into())
    );
    assert_eq!(json::parse(b"1e-400"), Ok(Value::Float(0.0)));
}
