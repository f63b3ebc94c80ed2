//! Keeping a book to a fixed depth, as exchanges that stream only their top levels require.
//!
//! Kraken's `book` channel maintains the best `depth` levels per side and does not send a
//! removal for a level that an insert pushes out of scope: the client must cut its book back to
//! the subscribed depth after every update
//! (<https://docs.kraken.com/api/docs/guides/spot-ws-book-v2>).

use crate::book::{Book, BookSide, Delta};

/// Removes every level beyond the best `depth` of each side; returns how many were removed.
///
/// Only the removed levels are touched (the ladders keep their worst levels first, so this is
/// proportional to what is cut, not to the depth). A book already within `depth` is left
/// untouched, its version and timestamp included.
pub fn truncate(book: &mut Book, depth: usize) -> usize {
    let mut cut: Vec<Delta> = Vec::new();
    for side in [BookSide::Bid, BookSide::Ask] {
        let ladder = book.ladder(side);
        let extra = ladder.len().saturating_sub(depth);
        // `iter` runs from the best level outward: the last `extra` are the ones to cut.
        cut.extend(ladder.iter().rev().take(extra).map(|level| Delta {
            side,
            price: level.price,
            size: 0,
        }));
    }
    if cut.is_empty() {
        return 0;
    }
    let timestamp_ns = book.updated_at_ns();
    // Removing levels can neither cross the book nor set a zero price, so this cannot fail;
    // were it to, the book would be left as it was and nothing reported removed.
    match book.apply_deltas(&cut, None, timestamp_ns) {
        Ok(()) => cut.len(),
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::Level;
    use proptest::prelude::*;

    fn lv(price: u64, size: u64) -> Level {
        Level { price, size }
    }

    #[test]
    fn truncate_keeps_the_best_levels_of_each_side() {
        let mut book = Book::new(0, 0).unwrap();
        book.apply_snapshot(
            &[lv(100, 1), lv(99, 2), lv(98, 3)],
            &[lv(101, 4), lv(102, 5), lv(103, 6), lv(104, 7)],
            7,
            1,
        )
        .unwrap();
        assert_eq!(truncate(&mut book, 2), 3);
        let bids: Vec<_> = book.bids().iter().collect();
        let asks: Vec<_> = book.asks().iter().collect();
        assert_eq!(bids, vec![lv(100, 1), lv(99, 2)]);
        assert_eq!(asks, vec![lv(101, 4), lv(102, 5)]);
        assert_eq!(book.sequence(), 7, "the sequence is the last update's");
    }

    #[test]
    fn truncate_of_a_book_within_depth_changes_nothing() {
        let mut book = Book::new(0, 0).unwrap();
        book.apply_snapshot(&[lv(100, 1)], &[lv(101, 1)], 1, 5)
            .unwrap();
        let before = book.clone();
        let version = book.version();
        assert_eq!(truncate(&mut book, 1), 0);
        assert_eq!(book, before);
        assert_eq!(book.version(), version);
    }

    proptest! {
        /// After truncation each side holds exactly its best `min(len, depth)` levels.
        #[test]
        fn truncate_equals_taking_the_best_levels(
            prices in prop::collection::btree_set(1u64..10_000, 0..60),
            split in 0usize..60,
            depth in 0usize..40,
        ) {
            let prices: Vec<u64> = prices.into_iter().collect();
            let split = split.min(prices.len());
            let bids: Vec<Level> = prices[..split].iter().rev().map(|&p| lv(p, p)).collect();
            let asks: Vec<Level> = prices[split..].iter().map(|&p| lv(p, p)).collect();
            let mut book = Book::new(2, 2).unwrap();
            book.apply_snapshot(&bids, &asks, 0, 0).unwrap();
            let removed = truncate(&mut book, depth);
            let kept_bids: Vec<Level> = book.bids().iter().collect();
            let kept_asks: Vec<Level> = book.asks().iter().collect();
            prop_assert_eq!(&kept_bids[..], &bids[..bids.len().min(depth)]);
            prop_assert_eq!(&kept_asks[..], &asks[..asks.len().min(depth)]);
            prop_assert_eq!(removed, bids.len() + asks.len() - kept_bids.len() - kept_asks.len());
        }
    }
}
