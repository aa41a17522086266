//! SHA-256 (FIPS 180-4).
//!
//! Used for idempotency fingerprints (docs/protocol.md, Fingerprints) and snapshot file
//! names. The digest comes from the `sha2` crate, which uses the CPU's SHA
//! extensions when present: every keyed write is fingerprinted, so this is
//! on the hot path.

use sha2::Digest;

/// An incremental SHA-256 computation.
#[derive(Clone, Debug, Default)]
pub struct Sha256(sha2::Sha256);

impl Sha256 {
    pub fn new() -> Sha256 {
        Sha256(sha2::Sha256::new())
    }

    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    pub fn finalize(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

/// The SHA-256 digest of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    sha2::Sha256::digest(data).into()
}

#[cfg(test)]
mod tests {
    use super::{sha256, Sha256};
    use hex::encode as hex;

    #[test]
    fn fips_vectors() {
        assert_eq!(hex(&sha256(b"")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(hex(&sha256(b"abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(
            hex(&sha256(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
    }

    #[test]
    fn million_a_fed_in_odd_pieces() {
        let mut hasher = Sha256::new();
        let piece = [b'a'; 999];
        let mut left = 1_000_000;
        while left > 0 {
            let n = left.min(piece.len());
            hasher.update(&piece[..n]);
            left -= n;
        }
        assert_eq!(hex(&hasher.finalize()), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
        assert_eq!(
            hex(&sha256(&vec![b'a'; 1_000_000])),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        );
    }

    #[test]
    fn every_split_point_and_padding_boundary() {
        // Lengths around the 55/56/64-byte padding edges, split at every offset.
        let data: Vec<u8> = (0..130u8).collect();
        for len in [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 130] {
            let whole = sha256(&data[..len]);
            for split in 0..=len {
                let mut hasher = Sha256::new();
                hasher.update(&data[..split]);
                hasher.update(&data[split..len]);
                assert_eq!(hasher.finalize(), whole, "len {len} split {split}");
            }
        }
        assert_eq!(hex(&sha256(&[b'a'; 64])), "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
    }

    #[test]
    fn idempotency_fingerprint_example() {
        let canonical = "command:s:9:increment\nseries:s:5:usage\nkey:u:101\nbucket:u:20260529\nvalue:u:2\n";
        assert_eq!(
            hex(&sha256(canonical.as_bytes())),
            "00efa1dcd02ad1bb399c2131de3a2ae29a340f7dc629c33809641d0a6bd46e14"
        );
        // The fingerprint example of docs/protocol.md, Fingerprints spans one 64-byte
        // block boundary.
        let text = "command:s:9:increment\nseries:s:3:api\nkey:u:43\nbucket:u:20260506\nvalue:u:3\n";
        assert_eq!(hex(&sha256(text.as_bytes())), "f5cec8440dbe3a2c8a1f2954263670d37ecfaecdacf186dc74c507ad42665f2e");
        let reset = "command:s:5:reset\nseries:s:5:usage\nkey:n\n";
        assert_eq!(hex(&sha256(reset.as_bytes())), "422e51677aebd841b23f86612755285b7200bc1c0ba822dd00463c24c6f8d205");
    }
}
