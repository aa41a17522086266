//! Base64, standard alphabet (`A-Z a-z 0-9 + /`) with `=` padding
//! (RFC 4648 section 4), as `snapshot.fetch` and the chunk-fetch ops carry
//! file bytes.
//!
//! The decoder is strict: no whitespace or line breaks, the length must be
//! a multiple of 4, `=` only as the last one or two characters, and the
//! bits a padded group leaves unused must be zero. So every accepted text
//! is the one [`encode`] would produce for the decoded bytes.

use std::fmt;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Marks bytes outside the alphabet in [`DECODE`].
const INVALID: u8 = 0xff;

/// Byte -> 6-bit value, or [`INVALID`].
const DECODE: [u8; 256] = {
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < 64 {
        table[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// Why a text is not canonical padded base64.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Base64Error {
    /// The length (in bytes) is not a multiple of 4.
    Length(usize),
    /// A byte outside the alphabet (or a misplaced `=`) at this offset.
    InvalidByte { offset: usize, byte: u8 },
    /// The final group's padding is malformed or leaves non-zero bits.
    Padding,
}

impl fmt::Display for Base64Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Base64Error::Length(len) => {
                write!(f, "invalid base64: length {len} is not a multiple of 4")
            }
            Base64Error::InvalidByte { offset, byte } => {
                write!(f, "invalid base64: byte 0x{byte:02x} at offset {offset}")
            }
            Base64Error::Padding => f.write_str("invalid base64: bad padding"),
        }
    }
}

impl std::error::Error for Base64Error {}

/// `data` as padded base64.
pub fn encode(data: &[u8]) -> String {
    let mut out = Vec::with_capacity(data.len().div_ceil(3) * 4);
    encode_into(data, &mut out);
    // Only alphabet bytes and `=` were written: always ASCII.
    out.into_iter().map(char::from).collect()
}

/// Appends `data` as padded base64 to `out` (for writing straight into a
/// reply buffer).
pub fn encode_into(data: &[u8], out: &mut Vec<u8>) {
    out.reserve(data.len().div_ceil(3) * 4);
    let sextet = |v: u32, shift: u32| ALPHABET[((v >> shift) & 0x3f) as usize];
    let mut chunks = data.chunks_exact(3);
    for chunk in &mut chunks {
        let v = u32::from(chunk[0]) << 16 | u32::from(chunk[1]) << 8 | u32::from(chunk[2]);
        out.extend_from_slice(&[sextet(v, 18), sextet(v, 12), sextet(v, 6), sextet(v, 0)]);
    }
    match *chunks.remainder() {
        [a] => {
            let v = u32::from(a) << 16;
            out.extend_from_slice(&[sextet(v, 18), sextet(v, 12), b'=', b'=']);
        }
        [a, b] => {
            let v = u32::from(a) << 16 | u32::from(b) << 8;
            out.extend_from_slice(&[sextet(v, 18), sextet(v, 12), sextet(v, 6), b'=']);
        }
        _ => {}
    }
}

/// Decodes padded base64; see the module doc for what is rejected.
pub fn decode(text: &str) -> Result<Vec<u8>, Base64Error> {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return Err(Base64Error::Length(bytes.len()));
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    let groups = bytes.len() / 4;
    for (index, group) in bytes.chunks_exact(4).enumerate() {
        let base = index * 4;
        // `=` is allowed only in the last group, in its last one or two
        // places; anywhere else it falls through to the alphabet check.
        let padding = if index + 1 == groups {
            match group {
                [_, _, b'=', b'='] => 2,
                [_, _, _, b'='] => 1,
                _ => 0,
            }
        } else {
            0
        };
        let mut v: u32 = 0;
        for (i, &byte) in group[..4 - padding].iter().enumerate() {
            let sextet = DECODE[usize::from(byte)];
            if sextet == INVALID {
                return Err(Base64Error::InvalidByte { offset: base + i, byte });
            }
            v |= u32::from(sextet) << (18 - 6 * i);
        }
        let [_, a, b, c] = v.to_be_bytes();
        match padding {
            0 => out.extend_from_slice(&[a, b, c]),
            1 if c == 0 => out.extend_from_slice(&[a, b]),
            2 if b == 0 && c == 0 => out.push(a),
            _ => return Err(Base64Error::Padding),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{decode, encode, encode_into, Base64Error};

    #[test]
    fn rfc4648_vectors() {
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(encode(plain.as_bytes()), encoded);
            assert_eq!(decode(encoded), Ok(plain.as_bytes().to_vec()));
        }
    }

    #[test]
    fn whole_alphabet_and_all_bytes_round_trip() {
        let all: Vec<u8> = (0..=255).collect();
        for len in 0..all.len() {
            assert_eq!(decode(&encode(&all[..len])).as_deref(), Ok(&all[..len]));
        }
        assert_eq!(encode(&[0xfb, 0xff, 0xbf]), "+/+/");
        let mut out = b"x:".to_vec();
        encode_into(b"foobar", &mut out);
        assert_eq!(out, b"x:Zm9vYmFy");
    }

    fn from_hex(text: &str) -> Vec<u8> {
        let digits: Vec<u8> = text
            .bytes()
            .filter(u8::is_ascii_hexdigit)
            .map(|d| char::from(d).to_digit(16).expect("hex digit") as u8)
            .collect();
        digits.chunks_exact(2).map(|p| p[0] << 4 | p[1]).collect()
    }

    #[test]
    fn snapshot_worked_example() {
        // docs/storage.md, Snapshots: the 56-byte `.tree` file and its base64.
        let bytes = from_hex(
            "82ac6272616e636865735f6e756d09a86272616e6368657399808080808080
             812a82a57461626c6581ce0135269907a5746f74616c078080",
        );
        assert_eq!(bytes.len(), 56);
        let text = "gqxicmFuY2hlc19udW0JqGJyYW5jaGVzmYCAgICAgIEqgqV0YWJsZYHOATUmmQeldG90YWwHgIA=";
        assert_eq!(encode(&bytes), text);
        assert_eq!(decode(text), Ok(bytes));
    }

    #[test]
    fn rejects_what_encode_never_writes() {
        assert_eq!(decode("Zg="), Err(Base64Error::Length(3)));
        assert_eq!(decode("Zg"), Err(Base64Error::Length(2)));
        assert_eq!(decode("Zm9v\nYmFy"), Err(Base64Error::Length(9)));
        assert_eq!(decode("Zm9*"), Err(Base64Error::InvalidByte { offset: 3, byte: b'*' }));
        assert_eq!(decode("Zm9-"), Err(Base64Error::InvalidByte { offset: 3, byte: b'-' }));
        assert_eq!(decode("Zg==Zg=="), Err(Base64Error::InvalidByte { offset: 2, byte: b'=' }));
        assert_eq!(decode("Z==="), Err(Base64Error::InvalidByte { offset: 1, byte: b'=' }));
        assert_eq!(decode("===="), Err(Base64Error::InvalidByte { offset: 0, byte: b'=' }));
        assert_eq!(decode("Zm=v"), Err(Base64Error::InvalidByte { offset: 2, byte: b'=' }));
        // Unused bits set: `Zh==` would also decode to "f" leniently.
        assert_eq!(decode("Zh=="), Err(Base64Error::Padding));
        assert_eq!(decode("Zm9="), Err(Base64Error::Padding));
        assert_eq!(decode("Zm9*").map_err(|e| e.to_string()), Err("invalid base64: byte 0x2a at offset 3".to_string()));
    }
}
