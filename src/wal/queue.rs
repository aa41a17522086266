//! Records appended but not yet committed: their WAL lines, encoded at
//! append time, and the seal marks between them, in LSN order.

use super::line::encode_line;

/// The most a queue buffer keeps between commits (ordinary batches of small
/// entries fit well below this; a larger one pays an allocation).
const KEEP_BUFFER_BYTES: usize = 1 << 20;

/// Records appended but not yet committed, in LSN order.
#[derive(Default, Clone)]
pub(super) struct Queue {
    /// The records' WAL lines, back to back.
    lines: Vec<u8>,
    items: Vec<Item>,
    /// Records among `items`.
    records: usize,
}

#[derive(Clone)]
pub(super) enum Item {
    /// A record whose line ends at byte `end` of `lines`.
    Record { lsn: u64, end: usize },
    /// Seal the active file once everything before this is written.
    Seal,
}

impl Queue {
    pub(super) fn push_record(&mut self, lsn: u64, entry: &[u8]) {
        encode_line(&mut self.lines, lsn, entry);
        self.items.push(Item::Record { lsn, end: self.lines.len() });
        self.records += 1;
    }

    pub(super) fn push_seal(&mut self) {
        self.items.push(Item::Seal);
    }

    pub(super) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub(super) fn records(&self) -> usize {
        self.records
    }

    /// The records' WAL lines, back to back.
    pub(super) fn lines(&self) -> &[u8] {
        &self.lines
    }

    pub(super) fn items(&self) -> &[Item] {
        &self.items
    }

    /// Swaps this queue's content for `taker`'s empty buffers; returns
    /// false when there was nothing to take. Taking from an empty queue
    /// hands the roomier buffer back to it, so a quiet node keeps one
    /// grown buffer, not two.
    pub(super) fn take_into(&mut self, taker: &mut Queue) -> bool {
        if self.is_empty() {
            if taker.lines.capacity() > self.lines.capacity() {
                std::mem::swap(self, taker);
            }
            return false;
        }
        std::mem::swap(self, taker);
        true
    }

    /// The LSNs of the records queued, in order.
    #[cfg(test)]
    pub(super) fn lsns(&self) -> Vec<u64> {
        let lsn = |item: &Item| match *item {
            Item::Record { lsn, .. } => Some(lsn),
            Item::Seal => None,
        };
        self.items.iter().filter_map(lsn).collect()
    }

    pub(super) fn clear(&mut self) {
        self.lines.clear();
        self.items.clear();
        self.records = 0;
        if self.lines.capacity() > KEEP_BUFFER_BYTES {
            self.lines.shrink_to(KEEP_BUFFER_BYTES);
        }
    }
}
