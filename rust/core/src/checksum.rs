//! Exchange order-book checksums (CRC32) recomputed from a [`Book`]: Kraken v2 and OKX.
//!
//! Exchanges that send a checksum with their book updates compute it over a string built from
//! the best levels of their own book. Because a [`Book`] keeps exact fixed-point integers at the
//! market's precision, the strings can be rebuilt digit for digit. Both functions write each
//! number's digits into one stack buffer and feed it to an incremental [`crc32fast::Hasher`]:
//! no allocation per level.

use crc32fast::Hasher;

use crate::book::{Book, Ladder};
use crate::decimal::POW10;

/// Levels per side that Kraken's checksum covers.
pub const KRAKEN_CHECKSUM_LEVELS: usize = 10;
/// Levels per side that OKX's checksum covers.
pub const OKX_CHECKSUM_LEVELS: usize = 25;

/// Longest number written: 20 integer digits, a point, 18 fraction digits (and a leading "0.").
const BUFFER: usize = 48;

/// The Kraken Spot WebSocket v2 `book` checksum of `book`, as the unsigned 32-bit integer that
/// Kraken sends in the `checksum` field.
///
/// As Kraken documents (<https://docs.kraken.com/api/docs/guides/spot-ws-book-v2>): for each of
/// the best 10 asks (lowest price first) and then the best 10 bids (highest first), the price
/// and then the quantity, each written at the pair's precision with the decimal point removed
/// and leading zeros stripped, are concatenated; the checksum is the CRC32 of that string.
/// Written at the pair's precision and without its point, a value is just the digits of its
/// fixed-point integer, so the book's `price_decimals` and `size_decimals` must be the pair's
/// price and quantity precisions (Kraken's `price_precision` and `qty_precision`). A value of
/// zero (never in a valid book) contributes nothing: all its digits are leading zeros.
#[must_use]
pub fn kraken_checksum(book: &Book) -> u32 {
    let mut hasher = Hasher::new();
    let mut buffer = [0u8; BUFFER];
    for ladder in [book.asks(), book.bids()] {
        for level in ladder.iter().take(KRAKEN_CHECKSUM_LEVELS) {
            for value in [level.price, level.size] {
                if value != 0 {
                    hasher.update(write_integer(&mut buffer, value));
                }
            }
        }
    }
    hasher.finalize()
}

/// The OKX order-book checksum of `book`, as the signed 32-bit integer that OKX sends in the
/// `checksum` field of its `books` channels.
///
/// As OKX documents (<https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-order-book-channel>,
/// "Checksum"): the best 25 bids and asks are interleaved, best first (bid 1, ask 1, bid 2,
/// ask 2, ...; once one side runs out the other continues alone), each level written as
/// `price:size`, all joined with `:`; the checksum is the CRC32 of that string read as a signed
/// 32-bit integer.
///
/// OKX hashes the price and size strings exactly as it sends them. The book keeps exact values,
/// not strings, so sor writes each value in the shortest plain decimal form: no trailing zeros
/// after the point and no point for an integer (`3366`, `0.5`, `8476.98`). That is how OKX
/// writes them: its own checksum example has `"3366"` next to `"3366.1"` in one book (so a price
/// at the 0.1 tick is not padded to `"3366.0"`), and its pushed levels carry no padding zeros
/// (`"41006.8"`, `"0.60038921"`, `"415"`). Should OKX ever pad a value, the checksum would not
/// match and the book would be resynced: a false alarm, never a wrong book accepted.
#[must_use]
pub fn okx_checksum(book: &Book) -> i32 {
    let mut hasher = Hasher::new();
    let mut buffer = [0u8; BUFFER];
    let price_decimals = book.price_decimals();
    let size_decimals = book.size_decimals();
    let mut first = true;
    let mut write_level = |hasher: &mut Hasher, ladder: &Ladder, index: usize| {
        if let Some(level) = ladder.nth_from_best(index) {
            if !first {
                hasher.update(b":");
            }
            first = false;
            hasher.update(write_plain(&mut buffer, level.price, price_decimals));
            hasher.update(b":");
            hasher.update(write_plain(&mut buffer, level.size, size_decimals));
        }
    };
    for index in 0..OKX_CHECKSUM_LEVELS {
        write_level(&mut hasher, book.bids(), index);
        write_level(&mut hasher, book.asks(), index);
    }
    // OKX reads the CRC's 32 bits as a two's-complement integer.
    i32::from_ne_bytes(hasher.finalize().to_ne_bytes())
}

/// Writes the decimal digits of `value` at the end of `buffer`; returns them.
fn write_integer(buffer: &mut [u8; BUFFER], value: u64) -> &[u8] {
    let start = write_digits(buffer, BUFFER, value, 1);
    &buffer[start..]
}

/// Writes `value` (a count of `10^-decimals` units) in its shortest plain decimal form at the
/// end of `buffer`; returns it.
fn write_plain(buffer: &mut [u8; BUFFER], value: u64, decimals: u8) -> &[u8] {
    let decimals = usize::from(decimals);
    let scale = POW10[decimals];
    let (integer, mut fraction) = (value / scale, value % scale);
    let mut end = BUFFER;
    if fraction != 0 {
        let mut width = decimals;
        while fraction % 10 == 0 {
            fraction /= 10;
            width -= 1;
        }
        end = write_digits(buffer, end, fraction, width);
        end -= 1;
        buffer[end] = b'.';
    }
    let start = write_digits(buffer, end, integer, 1);
    &buffer[start..]
}

/// Writes `value` in decimal, left-padded with zeros to at least `width` digits, so that it ends
/// just before `end`; returns where it starts.
fn write_digits(buffer: &mut [u8; BUFFER], end: usize, mut value: u64, width: usize) -> usize {
    let mut start = end;
    while value != 0 || end - start < width {
        start -= 1;
        // `value % 10` is below 10, so the cast cannot truncate.
        buffer[start] = b'0' + (value % 10) as u8;
        value /= 10;
    }
    start
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::Level;
    use crate::decimal::{format_fixed, parse_fixed};
    use proptest::prelude::*;

    fn book(
        price_decimals: u8,
        size_decimals: u8,
        bids: &[(&str, &str)],
        asks: &[(&str, &str)],
    ) -> Book {
        let parse = |levels: &[(&str, &str)]| -> Vec<Level> {
            levels
                .iter()
                .map(|(price, size)| Level {
                    price: parse_fixed(price, price_decimals).unwrap(),
                    size: parse_fixed(size, size_decimals).unwrap(),
                })
                .collect()
        };
        let mut book = Book::new(price_decimals, size_decimals).unwrap();
        book.apply_snapshot(&parse(bids), &parse(asks), 0, 0)
            .unwrap();
        book
    }

    /// Kraken's worked example (https://docs.kraken.com/api/docs/guides/spot-ws-book-v2):
    /// the BTC/USD snapshot whose `checksum` is 3310070434.
    fn kraken_v2_example() -> Book {
        book(
            1,
            8,
            &[
                ("45283.5", "0.10000000"),
                ("45283.4", "1.54582015"),
                ("45282.1", "0.10000000"),
                ("45281.0", "0.10000000"),
                ("45280.3", "1.54592586"),
                ("45279.0", "0.07990000"),
                ("45277.6", "0.03310103"),
                ("45277.5", "0.30000000"),
                ("45277.3", "1.54602737"),
                ("45276.6", "0.15445238"),
            ],
            &[
                ("45285.2", "0.00100000"),
                ("45286.4", "1.54571953"),
                ("45286.6", "1.54571109"),
                ("45289.6", "1.54560911"),
                ("45290.2", "0.15890660"),
                ("45291.8", "1.54553491"),
                ("45294.7", "0.04454749"),
                ("45296.1", "0.35380000"),
                ("45297.5", "0.09945542"),
                ("45299.5", "0.18772827"),
            ],
        )
    }

    #[test]
    fn kraken_v2_documented_example_has_the_documented_checksum() {
        assert_eq!(kraken_checksum(&kraken_v2_example()), 3_310_070_434);
    }

    #[test]
    fn kraken_v1_documented_example_has_the_documented_checksum() {
        // https://docs.kraken.com/api/docs/guides/spot-ws-book-v1: "974947235".
        let asks: Vec<(String, &str)> = (0..10)
            .map(|i| (format!("0.0{}", 5005 + 5 * i), "0.00000500"))
            .collect();
        let bids = [
            "0.05000", "0.04995", "0.04990", "0.04980", "0.04975", "0.04970", "0.04965", "0.04960",
            "0.04955", "0.04950",
        ];
        let asks: Vec<(&str, &str)> = asks.iter().map(|(p, s)| (p.as_str(), *s)).collect();
        let bids: Vec<(&str, &str)> = bids.iter().map(|p| (*p, "0.00000500")).collect();
        assert_eq!(kraken_checksum(&book(5, 8, &bids, &asks)), 974_947_235);
    }

    #[test]
    fn kraken_checksum_covers_only_the_best_ten_levels_per_side() {
        let mut deep = kraken_v2_example();
        let deeper = [
            crate::book::Delta {
                side: crate::book::BookSide::Bid,
                price: 452_000,
                size: 1,
            },
            crate::book::Delta {
                side: crate::book::BookSide::Ask,
                price: 453_500,
                size: 1,
            },
        ];
        deep.apply_deltas(&deeper, None, 0).unwrap();
        assert_eq!(kraken_checksum(&deep), 3_310_070_434);
        let better = [crate::book::Delta {
            side: crate::book::BookSide::Bid,
            price: 452_840,
            size: 1,
        }];
        deep.apply_deltas(&better, None, 0).unwrap();
        assert_ne!(kraken_checksum(&deep), 3_310_070_434);
    }

    #[test]
    fn okx_documented_examples_have_the_documented_checksums() {
        // https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-order-book-channel
        // "3366.1:7:3366.8:9:3366:6:3368:8" and "3366.1:7:3366.8:9:3368:8:3372:8".
        let even = book(
            1,
            0,
            &[("3366.1", "7"), ("3366", "6")],
            &[("3366.8", "9"), ("3368", "8")],
        );
        assert_eq!(okx_checksum(&even), -1_881_014_294);
        let uneven = book(
            1,
            0,
            &[("3366.1", "7")],
            &[("3366.8", "9"), ("3368", "8"), ("3372", "8")],
        );
        assert_eq!(okx_checksum(&uneven), 831_078_360);
    }

    #[test]
    fn okx_values_are_written_without_padding_zeros_at_any_precision() {
        // The same book at a finer precision has the same strings, so the same checksum.
        let coarse = book(
            1,
            0,
            &[("3366.1", "7")],
            &[("3366.8", "9"), ("3368", "8"), ("3372", "8")],
        );
        let fine = book(
            4,
            8,
            &[("3366.1", "7")],
            &[("3366.8", "9"), ("3368", "8"), ("3372", "8")],
        );
        assert_eq!(okx_checksum(&fine), okx_checksum(&coarse));
        let small = book(
            8,
            8,
            &[("0.00000001", "0.5")],
            &[("0.0000001", "0.00000010")],
        );
        assert_eq!(
            okx_checksum(&small),
            crc32_signed("0.00000001:0.5:0.0000001:0.0000001")
        );
    }

    #[test]
    fn empty_book_checksums_are_the_crc_of_nothing() {
        let empty = Book::new(2, 8).unwrap();
        assert_eq!(kraken_checksum(&empty), 0);
        assert_eq!(okx_checksum(&empty), 0);
    }

    fn crc32_signed(text: &str) -> i32 {
        i32::from_ne_bytes(crc32fast::hash(text.as_bytes()).to_ne_bytes())
    }

    /// Kraken's string, built the obvious way: format with the point, remove it, strip zeros.
    fn kraken_reference(book: &Book) -> u32 {
        let fixed = |value: u64, decimals: u8| {
            let decimals = usize::from(decimals);
            let scale = POW10[decimals];
            let text = if decimals == 0 {
                value.to_string()
            } else {
                format!("{}.{:0decimals$}", value / scale, value % scale)
            };
            text.replace('.', "").trim_start_matches('0').to_string()
        };
        let mut text = String::new();
        for ladder in [book.asks(), book.bids()] {
            for level in ladder.iter().take(10) {
                text.push_str(&fixed(level.price, book.price_decimals()));
                text.push_str(&fixed(level.size, book.size_decimals()));
            }
        }
        crc32fast::hash(text.as_bytes())
    }

    /// OKX's string, built the obvious way: `price:size` items interleaved, joined with `:`.
    fn okx_reference(book: &Book) -> i32 {
        let mut items = Vec::new();
        for index in 0..25 {
            for ladder in [book.bids(), book.asks()] {
                if let Some(level) = ladder.nth_from_best(index) {
                    items.push(format!(
                        "{}:{}",
                        format_fixed(u128::from(level.price), book.price_decimals()),
                        format_fixed(u128::from(level.size), book.size_decimals())
                    ));
                }
            }
        }
        crc32_signed(&items.join(":"))
    }

    fn arb_book() -> impl Strategy<Value = Book> {
        (0u8..=18, 0u8..=18, 0usize..40, 0usize..40, any::<bool>())
            .prop_flat_map(
                |(price_decimals, size_decimals, bid_count, ask_count, huge)| {
                    let price_max = if huge { u64::MAX / 2 } else { 10_000_000 };
                    let sizes = prop::collection::vec(
                        prop_oneof![1u64..1_000, 1u64..u64::MAX, Just(u64::MAX)],
                        bid_count + ask_count,
                    );
                    let prices = prop::collection::btree_set(1..price_max, bid_count + ask_count);
                    (
                        Just((price_decimals, size_decimals, bid_count)),
                        prices,
                        sizes,
                    )
                },
            )
            .prop_map(
                |((price_decimals, size_decimals, bid_count), prices, sizes)| {
                    let prices: Vec<u64> = prices.into_iter().collect();
                    let levels: Vec<Level> = prices
                        .iter()
                        .zip(sizes)
                        .map(|(&price, size)| Level { price, size })
                        .collect();
                    let split = bid_count.min(levels.len());
                    let mut bids = levels[..split].to_vec();
                    bids.reverse(); // best (highest) first
                    let asks = levels[split..].to_vec(); // best (lowest) first
                    let mut book = Book::new(price_decimals, size_decimals).unwrap();
                    book.apply_snapshot(&bids, &asks, 0, 0).unwrap();
                    book
                },
            )
    }

    proptest! {
        /// The allocation-free Kraken checksum equals the string-building reference.
        #[test]
        fn kraken_checksum_equals_the_string_reference(book in arb_book()) {
            prop_assert_eq!(kraken_checksum(&book), kraken_reference(&book));
        }

        /// The allocation-free OKX checksum equals the string-building reference.
        #[test]
        fn okx_checksum_equals_the_string_reference(book in arb_book()) {
            prop_assert_eq!(okx_checksum(&book), okx_reference(&book));
        }
    }
}
