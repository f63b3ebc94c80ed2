//! Exchange wire messages parsed straight into book changes, at the market's precision.
//!
//! A feed spends most of its time turning JSON text into numbers. Here each exchange's book
//! messages are read with `serde_json`, borrowing the price and quantity strings from the
//! payload, and each level is parsed exactly with [`parse_fixed`] — the same parser the book
//! uses for strings — into a [`ChangeBatch`]: the [`Delta`]s a [`Book`] applies all or nothing,
//! plus the text each value was written as (so the batch can still be read back as the
//! exchange's strings). One module per exchange: [`binance`] (spot `depthUpdate`,
//! <https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams#diff-depth-stream>),
//! [`coinbase`] (Advanced Trade `level2`), [`okx`] (v5 `books`), [`bybit`] (v5 `orderbook`) and
//! [`kraken`] (v2 `book`, whose numbers are JSON numbers: read as their raw text).

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, SeqAccess, Visitor};
use thiserror::Error;

pub mod binance;
pub mod bybit;
pub mod coinbase;
pub mod kraken;
pub mod okx;

pub use binance::{DepthUpdate, parse_binance_depth_update};

use crate::book::{Book, BookError, BookSide, Delta};
use crate::decimal::{DecimalError, check_decimals, parse_fixed};

/// The decimal places of a market's prices and sizes, as a book keeps them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Precision {
    /// Decimal places of prices (a tick is `10^-price_decimals`).
    pub price_decimals: u8,
    /// Decimal places of sizes (a lot is `10^-size_decimals`).
    pub size_decimals: u8,
}

impl Precision {
    /// A precision, if both places are in range (`0..=18`).
    pub fn new(price_decimals: u8, size_decimals: u8) -> Result<Self, DecimalError> {
        check_decimals(price_decimals)?;
        check_decimals(size_decimals)?;
        Ok(Self {
            price_decimals,
            size_decimals,
        })
    }

    /// The precision of a book.
    #[must_use]
    pub fn of(book: &Book) -> Self {
        Self {
            price_decimals: book.price_decimals(),
            size_decimals: book.size_decimals(),
        }
    }
}

/// Why a wire message could not be turned into book changes. Nothing is returned (and so
/// nothing can be applied) when one of these is.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WireError {
    /// The payload is not JSON, or a field has the wrong type or shape.
    #[error("invalid message: {0}")]
    Json(String),
    /// A field the event needs is absent (or null).
    #[error("depthUpdate without {0:?}")]
    Missing(&'static str),
    /// The event is for a symbol the caller does not know.
    #[error("depthUpdate for a symbol not subscribed: {0:?}")]
    UnknownSymbol(String),
    /// The first update ID is above the final one.
    #[error("bad update IDs U={first} u={last}: U must not be above u")]
    UpdateIds {
        /// The event's first update ID (`U`).
        first: u64,
        /// The event's final update ID (`u`).
        last: u64,
    },
    /// A price or quantity does not fit the market's precision (or is not a number).
    #[error("{field}: {source}")]
    Decimal {
        /// Which value, as `b[3].price` or `a[0].quantity`.
        field: String,
        /// What was wrong with it.
        source: DecimalError,
    },
}

/// Book changes parsed from a wire message: the deltas in message order, the precision they
/// were parsed at, and the text each price and size was written as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeBatch {
    precision: Precision,
    deltas: Vec<Delta>,
    /// Every price and size text, concatenated.
    text: String,
    /// End offsets in `text`: two per delta (price, then size); each starts where the one
    /// before it ends.
    ends: Vec<usize>,
}

impl ChangeBatch {
    /// An empty batch at `precision`, with room for `levels` changes.
    #[must_use]
    pub fn with_capacity(precision: Precision, levels: usize) -> Self {
        Self {
            precision,
            deltas: Vec::with_capacity(levels),
            text: String::with_capacity(levels * 24),
            ends: Vec::with_capacity(levels * 2),
        }
    }

    /// The precision the deltas were parsed at.
    #[must_use]
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// The parsed changes, in message order (prices in ticks, sizes in lots).
    #[must_use]
    pub fn deltas(&self) -> &[Delta] {
        &self.deltas
    }

    /// Number of changes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.deltas.len()
    }

    /// True if the batch has no changes.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.deltas.is_empty()
    }

    /// Change `index` as the exchange wrote it: side, price text, size text.
    #[must_use]
    pub fn text(&self, index: usize) -> Option<(BookSide, &str, &str)> {
        let delta = self.deltas.get(index)?;
        let start = if index == 0 {
            0
        } else {
            self.ends[2 * index - 1]
        };
        let middle = self.ends[2 * index];
        let end = self.ends[2 * index + 1];
        Some((
            delta.side,
            &self.text[start..middle],
            &self.text[middle..end],
        ))
    }

    /// Every change as the exchange wrote it, in order.
    pub fn texts(&self) -> impl Iterator<Item = (BookSide, &str, &str)> + '_ {
        (0..self.len()).filter_map(|index| self.text(index))
    }

    /// Parses one level (`prefix[index]`, e.g. `b[3]`) and appends it.
    pub fn push(
        &mut self,
        side: BookSide,
        index: usize,
        price: &str,
        size: &str,
    ) -> Result<(), WireError> {
        let field = |what: &str| format!("{}[{index}].{what}", wire_side(side));
        let price_ticks = parse_fixed(price, self.precision.price_decimals).map_err(|source| {
            WireError::Decimal {
                field: field("price"),
                source,
            }
        })?;
        let size_lots = parse_fixed(size, self.precision.size_decimals).map_err(|source| {
            WireError::Decimal {
                field: field("quantity"),
                source,
            }
        })?;
        self.deltas.push(Delta {
            side,
            price: price_ticks,
            size: size_lots,
        });
        self.text.push_str(price);
        self.ends.push(self.text.len());
        self.text.push_str(size);
        self.ends.push(self.text.len());
        Ok(())
    }

    /// Applies the batch to `book`, all or nothing (see [`Book::apply_deltas`]).
    ///
    /// A book of another precision gets the changes parsed again from their text at its own
    /// precision, exactly as if it had been given the strings.
    pub fn apply_to(
        &self,
        book: &mut Book,
        sequence: Option<u64>,
        timestamp_ns: u64,
    ) -> Result<(), BookError> {
        let precision = Precision::of(book);
        if precision == self.precision {
            return book.apply_deltas(&self.deltas, sequence, timestamp_ns);
        }
        let reparsed = self
            .texts()
            .enumerate()
            .map(|(index, (side, price, size))| {
                let field = |what: &str| format!("deltas[{index}].{what}");
                let decimal = |field: String| move |source| BookError::Decimal { field, source };
                Ok(Delta {
                    side,
                    price: parse_fixed(price, precision.price_decimals)
                        .map_err(decimal(field("price")))?,
                    size: parse_fixed(size, precision.size_decimals)
                        .map_err(decimal(field("size")))?,
                })
            })
            .collect::<Result<Vec<_>, BookError>>()?;
        book.apply_deltas(&reparsed, sequence, timestamp_ns)
    }
}

/// Binance's name of a side's list in a `depthUpdate` (`b` or `a`).
fn wire_side(side: BookSide) -> &'static str {
    match side {
        BookSide::Bid => "b",
        BookSide::Ask => "a",
    }
}

/// A JSON string, borrowed from the payload unless it had escapes to decode.
pub(crate) struct Text<'a>(pub(crate) Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
            type Value = Text<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(TextVisitor(PhantomData))
    }
}

/// One `[price, quantity]` level; further elements (older versions of the documentation show
/// a third, ignored one) are skipped.
pub(crate) struct RawLevel<'a> {
    pub(crate) price: Text<'a>,
    pub(crate) size: Text<'a>,
}

impl<'de: 'a, 'a> Deserialize<'de> for RawLevel<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LevelVisitor<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for LevelVisitor<'a> {
            type Value = RawLevel<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a [price, quantity] pair of strings")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let price = seq
                    .next_element::<Text<'a>>()?
                    .ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let size = seq
                    .next_element::<Text<'a>>()?
                    .ok_or_else(|| de::Error::invalid_length(1, &self))?;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(RawLevel { price, size })
            }
        }
        deserializer.deserialize_seq(LevelVisitor(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rstest::rstest;

    /// web-socket-streams.md, "Diff. Depth Stream" (Binance's sample, comments removed).
    const DOCS_SAMPLE: &[u8] = br#"{
        "e": "depthUpdate",
        "E": 1672515782136,
        "s": "BNBBTC",
        "U": 157,
        "u": 160,
        "b": [["0.0024", "10"]],
        "a": [["0.0026", "100"]]
    }"#;

    const BNBBTC: Precision = Precision {
        price_decimals: 8,
        size_decimals: 8,
    };

    fn bnbbtc(symbol: &str) -> Option<((), Precision)> {
        (symbol == "BNBBTC").then_some(((), BNBBTC))
    }

    fn parse(payload: &[u8]) -> Result<Option<DepthUpdate<()>>, WireError> {
        parse_binance_depth_update(payload, bnbbtc)
    }

    fn delta(side: BookSide, price: u64, size: u64) -> Delta {
        Delta { side, price, size }
    }

    #[test]
    fn documented_sample_becomes_header_and_exact_deltas_with_their_text() {
        let update = parse(DOCS_SAMPLE).unwrap().unwrap();
        assert_eq!((update.first_update_id, update.final_update_id), (157, 160));
        assert_eq!(
            update.changes.deltas(),
            &[
                delta(BookSide::Bid, 240_000, 1_000_000_000),
                delta(BookSide::Ask, 260_000, 10_000_000_000),
            ]
        );
        let texts: Vec<_> = update.changes.texts().collect();
        assert_eq!(
            texts,
            vec![
                (BookSide::Bid, "0.0024", "10"),
                (BookSide::Ask, "0.0026", "100")
            ]
        );
        assert_eq!(update.changes.precision(), BNBBTC);
    }

    #[test]
    fn extra_level_elements_escapes_and_unknown_fields_are_accepted() {
        let payload = br#"{"e":"depthUpdate","x":{"y":[1,2]},"s":"BNB\u0042TC","U":1,"u":1,
            "b":[["0.0024","1\u0030",[]]],"a":[]}"#;
        let update = parse(payload).unwrap().unwrap();
        assert_eq!(
            update.changes.texts().collect::<Vec<_>>(),
            vec![(BookSide::Bid, "0.0024", "10")]
        );
    }

    #[rstest]
    #[case::subscription_response(br#"{"result":null,"id":1}"#.as_slice())]
    #[case::server_shutdown(br#"{"e":"serverShutdown","E":1770123456789}"#.as_slice())]
    #[case::error_response(br#"{"code":0,"msg":"Unknown property","id":1}"#.as_slice())]
    #[case::combined_stream(
        br#"{"stream":"bnbbtc@depth","data":{"e":"depthUpdate","s":"BNBBTC","U":1,"u":1,"b":[],"a":[]},"e":"depthUpdate"}"#.as_slice()
    )]
    fn other_messages_are_left_to_the_caller(#[case] payload: &[u8]) {
        assert_eq!(parse(payload), Ok(None));
    }

    #[rstest]
    #[case::not_json(b"{\"e\":".as_slice(), "invalid message")]
    #[case::not_an_object(b" [1,2]".as_slice(), "invalid message: expected a JSON object")]
    #[case::fields_by_position(
        br#"["depthUpdate",1,"BNBBTC",1,2,[],[]]"#.as_slice(),
        "invalid message: expected a JSON object"
    )]
    #[case::ids_as_strings(
        br#"{"e":"depthUpdate","s":"BNBBTC","U":"1","u":2,"b":[],"a":[]}"#.as_slice(),
        "invalid message"
    )]
    #[case::negative_id(
        br#"{"e":"depthUpdate","s":"BNBBTC","U":-1,"u":2,"b":[],"a":[]}"#.as_slice(),
        "invalid message"
    )]
    #[case::level_of_one(
        br#"{"e":"depthUpdate","s":"BNBBTC","U":1,"u":2,"b":[["1"]],"a":[]}"#.as_slice(),
        "invalid message"
    )]
    #[case::number_level(
        br#"{"e":"depthUpdate","s":"BNBBTC","U":1,"u":2,"b":[[0.1,"1"]],"a":[]}"#.as_slice(),
        "invalid message"
    )]
    #[case::level_as_a_string(
        br#"{"e":"depthUpdate","s":"BNBBTC","U":1,"u":2,"b":["65000"],"a":[]}"#.as_slice(),
        "invalid message: invalid type: string \"65000\", expected a [price, quantity] pair"
    )]
    #[case::level_as_an_object(
        br#"{"e":"depthUpdate","s":"BNBBTC","U":1,"u":2,"b":[{"p":"1","q":"1"}],"a":[]}"#
            .as_slice(),
        "invalid message: invalid type: map"
    )]
    #[case::duplicated_key(
        br#"{"e":"depthUpdate","s":"BNBBTC","U":1,"u":2,"b":[],"a":[],"b":[["1","1"]]}"#
            .as_slice(),
        "invalid message: duplicate field `b`"
    )]
    #[case::id_beyond_u64(
        br#"{"e":"depthUpdate","s":"BNBBTC","U":1,"u":18446744073709551616,"b":[],"a":[]}"#
            .as_slice(),
        "invalid message"
    )]
    #[case::non_ascii_digits(
        "{\"e\":\"depthUpdate\",\"s\":\"BNBBTC\",\"U\":1,\"u\":2,\"b\":[[\"\u{ff16}\",\"1\"]],\"a\":[]}"
            .as_bytes(),
        "b[0].price"
    )]
    // serde_json skips an unread value without recursing: no stack overflow, the rest is read.
    #[case::deeply_nested_unread_field(
        format!("{{\"e\":\"depthUpdate\",\"E\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000))
            .into_bytes()
            .leak(),
        "depthUpdate without \"s\""
    )]
    #[case::no_symbol(
        br#"{"e":"depthUpdate","U":1,"u":2,"b":[],"a":[]}"#.as_slice(),
        "depthUpdate without \"s\""
    )]
    #[case::null_final_id(
        br#"{"e":"depthUpdate","s":"BNBBTC","U":1,"u":null,"b":[],"a":[]}"#.as_slice(),
        "depthUpdate without \"u\""
    )]
    #[case::no_asks(
        br#"{"e":"depthUpdate","s":"BNBBTC","U":1,"u":2,"b":[]}"#.as_slice(),
        "depthUpdate without \"a\""
    )]
    #[case::unknown_symbol(
        br#"{"e":"depthUpdate","s":"ETHBTC","U":1,"u":2,"b":[],"a":[]}"#.as_slice(),
        "depthUpdate for a symbol not subscribed: \"ETHBTC\""
    )]
    #[case::ids_reversed(
        br#"{"e":"depthUpdate","s":"BNBBTC","U":3,"u":2,"b":[],"a":[]}"#.as_slice(),
        "bad update IDs U=3 u=2"
    )]
    #[case::too_precise(
        br#"{"e":"depthUpdate","s":"BNBBTC","U":1,"u":2,"b":[],"a":[["1","2"],["0.000000001","1"]]}"#.as_slice(),
        "a[1].price: \"0.000000001\" has non-zero digits beyond 8 decimal places"
    )]
    #[case::negative_quantity(
        br#"{"e":"depthUpdate","s":"BNBBTC","U":1,"u":2,"b":[["1","-2"]],"a":[]}"#.as_slice(),
        "b[0].quantity: \"-2\" is negative"
    )]
    #[case::not_a_number(
        br#"{"e":"depthUpdate","s":"BNBBTC","U":1,"u":2,"b":[["NaN","1"]],"a":[]}"#.as_slice(),
        "b[0].price: \"NaN\" is not finite"
    )]
    fn bad_payloads_are_refused_with_a_message_naming_the_problem(
        #[case] payload: &[u8],
        #[case] starts: &str,
    ) {
        let message = parse(payload).unwrap_err().to_string();
        assert!(message.starts_with(starts), "{message:?} vs {starts:?}");
    }

    fn sample_book() -> Book {
        let mut book = Book::new(8, 8).unwrap();
        let lv = |price, size| crate::book::Level { price, size };
        book.apply_snapshot(&[lv(230_000, 5)], &[lv(250_000, 7)], 150, 1)
            .unwrap();
        book
    }

    #[test]
    fn a_batch_that_would_cross_leaves_the_book_exactly_as_it_was() {
        let payload = br#"{"e":"depthUpdate","s":"BNBBTC","U":151,"u":152,
            "b":[["0.0024","1"],["0.0026","1"]],"a":[["0.0025","3"]]}"#;
        let update = parse(payload).unwrap().unwrap();
        let mut book = sample_book();
        let before = book.clone();
        let err = update.changes.apply_to(&mut book, Some(152), 2);
        assert!(matches!(err, Err(BookError::Crossed { .. })), "{err:?}");
        assert_eq!(book, before);
    }

    #[test]
    fn a_book_of_another_precision_reparses_the_text_at_its_own() {
        let update = parse(DOCS_SAMPLE).unwrap().unwrap();
        let mut coarse = Book::new(4, 0).unwrap();
        update.changes.apply_to(&mut coarse, Some(160), 1).unwrap();
        assert_eq!(
            coarse.bids().best().map(|l| (l.price, l.size)),
            Some((24, 10))
        );
        assert_eq!(coarse.sequence(), 160);
        let mut too_coarse = Book::new(3, 0).unwrap();
        let err = update.changes.apply_to(&mut too_coarse, None, 1);
        assert!(
            matches!(&err, Err(BookError::Decimal { field, .. }) if field == "deltas[0].price"),
            "{err:?}"
        );
        assert!(too_coarse.bids().is_empty());
    }

    /// A level as a generator writes it: exact integers and the text Binance would send.
    #[derive(Debug, Clone)]
    struct Written {
        side: BookSide,
        price: u64,
        size: u64,
        price_text: String,
        size_text: String,
    }

    /// `units * 10^-decimals` written with `places >= decimals` decimals (trailing zeros).
    fn write(units: u64, decimals: u8, places: u8) -> String {
        let scale = 10u64.pow(u32::from(decimals));
        let (whole, fraction) = (units / scale, units % scale);
        if places == 0 {
            return whole.to_string();
        }
        let padded = u128::from(fraction) * 10u128.pow(u32::from(places - decimals));
        format!("{whole}.{padded:0width$}", width = usize::from(places))
    }

    fn arb_level(precision: Precision) -> impl Strategy<Value = Written> {
        (
            prop_oneof![Just(BookSide::Bid), Just(BookSide::Ask)],
            1u64..10_000_000_000,
            0u64..10_000_000_000,
            0u8..=4,
            0u8..=4,
        )
            .prop_map(move |(side, price, size, extra_p, extra_s)| Written {
                side,
                price,
                size,
                price_text: write(
                    price,
                    precision.price_decimals,
                    precision.price_decimals + extra_p,
                ),
                size_text: write(
                    size,
                    precision.size_decimals,
                    precision.size_decimals + extra_s,
                ),
            })
    }

    fn payload(first: u64, last: u64, levels: &[Written]) -> Vec<u8> {
        let side = |side| {
            levels
                .iter()
                .filter(|l| l.side == side)
                .map(|l| serde_json::json!([l.price_text, l.size_text]))
                .collect::<Vec<_>>()
        };
        serde_json::to_vec(&serde_json::json!({
            "e": "depthUpdate",
            "E": 1_672_515_782_136_u64,
            "s": "BNBBTC",
            "U": first,
            "u": last,
            "b": side(BookSide::Bid),
            "a": side(BookSide::Ask),
        }))
        .unwrap()
    }

    fn arb_precision() -> impl Strategy<Value = Precision> {
        (0u8..=8, 0u8..=8).prop_map(|(p, s)| Precision::new(p, s).unwrap())
    }

    proptest! {
        #[test]
        fn parsed_levels_equal_the_written_integers_and_texts(
            (precision, levels) in arb_precision()
                .prop_flat_map(|p| (Just(p), proptest::collection::vec(arb_level(p), 0..40))),
            first in 0u64..1_000_000,
            span in 0u64..1_000,
        ) {
            let bytes = payload(first, first + span, &levels);
            let update = parse_binance_depth_update(&bytes, |s| (s == "BNBBTC").then_some((7u8, precision)))
                .unwrap()
                .unwrap();
            prop_assert_eq!(update.market, 7);
            prop_assert_eq!((update.first_update_id, update.final_update_id), (first, first + span));
            // The reference: bids then asks, each in message order.
            let expected: Vec<&Written> = levels
                .iter()
                .filter(|l| l.side == BookSide::Bid)
                .chain(levels.iter().filter(|l| l.side == BookSide::Ask))
                .collect();
            prop_assert_eq!(update.changes.len(), expected.len());
            for (index, want) in expected.iter().enumerate() {
                prop_assert_eq!(update.changes.deltas()[index], delta(want.side, want.price, want.size));
                prop_assert_eq!(
                    update.changes.text(index),
                    Some((want.side, want.price_text.as_str(), want.size_text.as_str()))
                );
            }
            prop_assert_eq!(update.changes.text(expected.len()), None);
        }

        #[test]
        fn a_value_finer_than_the_precision_anywhere_refuses_the_whole_message(
            (precision, mut levels) in (0u8..=7, 0u8..=7)
                .prop_map(|(p, s)| Precision::new(p, s).unwrap())
                .prop_flat_map(|p| (Just(p), proptest::collection::vec(arb_level(p), 1..30))),
            pick in any::<proptest::sample::Index>(),
            on_price in any::<bool>(),
        ) {
            let index = pick.index(levels.len());
            let bad = &mut levels[index];
            // One more decimal than the precision allows, non-zero.
            let decimals = if on_price { precision.price_decimals } else { precision.size_decimals };
            let value = if on_price { bad.price } else { bad.size };
            let text = if decimals == 0 {
                format!("{value}.1")
            } else {
                format!("{}1", write(value, decimals, decimals))
            };
            if on_price { bad.price_text = text } else { bad.size_text = text }
            let bad_side = bad.side;
            let position = levels[..index].iter().filter(|l| l.side == bad_side).count();
            let bytes = payload(1, 2, &levels);
            let err = parse_binance_depth_update(&bytes, |_| Some(((), precision))).unwrap_err();
            let field = format!(
                "{}[{position}].{}",
                wire_side(bad_side),
                if on_price { "price" } else { "quantity" }
            );
            prop_assert!(
                matches!(&err, WireError::Decimal { field: f, source: DecimalError::TooPrecise { .. } } if *f == field),
                "{:?} (expected {})", err, field
            );
        }

        #[test]
        fn applying_a_batch_equals_applying_the_same_changes_one_by_one(
            levels in proptest::collection::vec(arb_level(BNBBTC), 0..40),
        ) {
            let bytes = payload(1, 2, &levels);
            let update = parse(&bytes).unwrap().unwrap();
            let mut batched = Book::new(8, 8).unwrap();
            let result = update.changes.apply_to(&mut batched, Some(2), 1);
            // The reference: each change set in order on plain maps, crossing judged at the end.
            let mut bids = std::collections::BTreeMap::new();
            let mut asks = std::collections::BTreeMap::new();
            for d in update.changes.deltas() {
                let side = if d.side == BookSide::Bid { &mut bids } else { &mut asks };
                if d.size == 0 { side.remove(&d.price); } else { side.insert(d.price, d.size); }
            }
            let crossed = matches!(
                (bids.keys().next_back(), asks.keys().next()),
                (Some(b), Some(a)) if b >= a
            );
            let zero_price = update.changes.deltas().iter().any(|d| d.price == 0);
            prop_assert_eq!(result.is_ok(), !crossed && !zero_price);
            if result.is_ok() {
                let got_bids: Vec<_> = batched.bids().iter().map(|l| (l.price, l.size)).collect();
                let got_asks: Vec<_> = batched.asks().iter().map(|l| (l.price, l.size)).collect();
                prop_assert_eq!(got_bids, bids.into_iter().rev().collect::<Vec<_>>());
                prop_assert_eq!(got_asks, asks.into_iter().collect::<Vec<_>>());
            } else {
                prop_assert!(batched.bids().is_empty() && batched.asks().is_empty());
            }
        }
    }
}
