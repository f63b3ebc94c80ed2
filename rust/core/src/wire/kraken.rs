//! Kraken WebSocket v2 `book` channel messages parsed straight into book changes.
//!
//! A message (<https://docs.kraken.com/api/docs/websocket-v2/book>) is `{"channel": "book",
//! "type": "snapshot" | "update", "data": [{"symbol", "bids", "asks", "checksum",
//! "timestamp"}]}`; a level is `{"price": <number>, "qty": <number>}`. Kraken writes prices and
//! quantities as JSON *numbers*: each is read as its raw text (never through a float), so the
//! batch keeps the digits exactly as they were sent, and parsed exactly at the market's
//! precision. An update may leave out a side that did not change; a snapshot has both.
//!
//! Only a `book` message of exactly one data item is read here; another channel (heartbeat,
//! status) or a method's answer is `Ok(None)`, left to the caller's own reader, and a `book`
//! message of any other shape is an error.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::book::BookSide;
use crate::decimal::{cut_quoted, excerpt};
use crate::wire::okx::Object;
use crate::wire::{ChangeBatch, Precision, WireError};

/// Kraken's name of the order book channel.
pub const BOOK_CHANNEL: &str = "book";

/// What a `book` message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookKind {
    /// The whole book (the first message of a subscription).
    Snapshot,
    /// Changes to the book.
    Update,
}

impl BookKind {
    /// Kraken's name of the type (`"snapshot"` or `"update"`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Snapshot => "snapshot",
            Self::Update => "update",
        }
    }
}

/// A `book` message of one symbol, parsed at its market's precision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookMessage<K> {
    /// The caller's key of the message's symbol (what its lookup returned).
    pub market: K,
    /// Snapshot or update.
    pub kind: BookKind,
    /// The CRC32 of the book's top 10 levels once the message is applied.
    pub checksum: u32,
    /// The bids then the asks, in message order, with the text of every number.
    pub changes: ChangeBatch,
}

#[derive(Deserialize)]
struct RawBook<'a> {
    #[serde(borrow)]
    channel: Cow<'a, str>,
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    data: Vec<Object<RawItem<'a>>>,
}

#[derive(Deserialize)]
struct RawItem<'a> {
    #[serde(borrow)]
    symbol: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "present")]
    bids: Option<Vec<Object<RawLevel<'a>>>>,
    #[serde(borrow, default, deserialize_with = "present")]
    asks: Option<Vec<Object<RawLevel<'a>>>>,
    checksum: u32,
}

/// A side that is present, read as levels: `null` is refused (serde would read it as absent).
fn present<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<Object<RawLevel<'de>>>>, D::Error> {
    Vec::deserialize(deserializer).map(Some)
}

#[derive(Deserialize)]
struct RawLevel<'a> {
    #[serde(borrow)]
    price: &'a RawValue,
    #[serde(borrow)]
    qty: &'a RawValue,
}

fn json_error(err: &serde_json::Error) -> WireError {
    WireError::Json(cut_quoted(&err.to_string()))
}

/// The text of a JSON number (a string, even a decimal one, is not what Kraken sends).
fn number<'a>(
    value: &'a RawValue,
    side: &str,
    index: usize,
    what: &str,
) -> Result<&'a str, WireError> {
    let text = value.get();
    match text.as_bytes().first() {
        Some(b'-' | b'0'..=b'9') => Ok(text),
        _ => Err(WireError::Json(format!(
            "{side}[{index}].{what}: expected a number, got {}",
            excerpt(text)
        ))),
    }
}

/// Parses a Kraken v2 `book` message of one data item from its raw payload, in one pass.
///
/// `market` maps Kraken's symbol (`"BTC/USD"`) to the caller's key and the precision to parse
/// its levels at. Returns `Ok(None)` for a message of another channel, or without one (a
/// method's answer). A `book` message that is not a snapshot or update of exactly one item for a
/// known symbol, with a 32-bit checksum, both sides in a snapshot, and every level an object of
/// two JSON numbers that parse at the precision, is an error; no batch is returned with it.
pub fn parse_kraken_book<K>(
    payload: &[u8],
    market: impl FnOnce(&str) -> Option<(K, Precision)>,
) -> Result<Option<BookMessage<K>>, WireError> {
    if payload.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(WireError::Json("expected a JSON object".to_owned()));
    }
    let text =
        std::str::from_utf8(payload).map_err(|err| WireError::Json(format!("not UTF-8: {err}")))?;
    let book: RawBook<'_> = match serde_json::from_str(text) {
        Ok(book) => book,
        Err(err) => {
            // Not a book message of the documented shape: another channel's (or a method's
            // answer) is the caller's to read; a book message's is an error.
            #[derive(Deserialize)]
            struct Probe<'a> {
                #[serde(borrow, default)]
                channel: Option<Cow<'a, str>>,
            }
            return match serde_json::from_str::<Probe<'_>>(text) {
                Ok(Probe { channel }) if channel.as_deref() != Some(BOOK_CHANNEL) => Ok(None),
                _ => Err(json_error(&err)),
            };
        }
    };
    if book.channel != BOOK_CHANNEL {
        return Ok(None);
    }
    let kind = match book.kind.as_ref() {
        "snapshot" => BookKind::Snapshot,
        "update" => BookKind::Update,
        other => {
            return Err(WireError::Json(format!(
                "book message of unknown type {:?}",
                excerpt(other)
            )));
        }
    };
    let [Object(item)]: [Object<RawItem<'_>>; 1] = book
        .data
        .try_into()
        .map_err(|_| WireError::Json("expected exactly one data item".to_owned()))?;
    let (key, precision) = market(&item.symbol).ok_or_else(|| {
        WireError::Json(format!(
            "book data for an unknown symbol: {:?}",
            excerpt(&item.symbol)
        ))
    })?;
    if kind == BookKind::Snapshot && (item.bids.is_none() || item.asks.is_none()) {
        return Err(WireError::Json("a snapshot needs bids and asks".to_owned()));
    }
    let count = item.bids.as_ref().map_or(0, Vec::len) + item.asks.as_ref().map_or(0, Vec::len);
    let mut changes = ChangeBatch::with_capacity(precision, count);
    for (side, name, levels) in [
        (BookSide::Bid, "bids", &item.bids),
        (BookSide::Ask, "asks", &item.asks),
    ] {
        for (index, Object(level)) in levels.iter().flatten().enumerate() {
            let price = number(level.price, name, index, "price")?;
            let qty = number(level.qty, name, index, "qty")?;
            changes.push(side, index, price, qty)?;
        }
    }
    Ok(Some(BookMessage {
        market: key,
        kind,
        checksum: item.checksum,
        changes,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::Delta;
    use rstest::rstest;

    /// docs.kraken.com, websocket-v2/book, the snapshot example (one level per side kept).
    const SNAPSHOT: &[u8] = br#"{"channel":"book","type":"snapshot","data":[{"symbol":"BTC/USD",
        "bids":[{"price":45283.5,"qty":0.10000000},{"price":45283.4,"qty":1.54582015}],
        "asks":[{"price":45285.2,"qty":0.00100000}],"checksum":3310070434}]}"#;

    fn btc_usd(symbol: &str) -> Option<((), Precision)> {
        (symbol == "BTC/USD").then(|| ((), Precision::new(1, 8).unwrap()))
    }

    fn parse(payload: &[u8]) -> Result<Option<BookMessage<()>>, WireError> {
        parse_kraken_book(payload, btc_usd)
    }

    #[test]
    fn a_snapshot_keeps_every_number_as_it_was_written() {
        let message = parse(SNAPSHOT).unwrap().unwrap();
        assert_eq!(message.kind, BookKind::Snapshot);
        assert_eq!(message.checksum, 3_310_070_434);
        assert_eq!(
            message.changes.deltas(),
            &[
                Delta {
                    side: BookSide::Bid,
                    price: 452_835,
                    size: 10_000_000
                },
                Delta {
                    side: BookSide::Bid,
                    price: 452_834,
                    size: 154_582_015
                },
                Delta {
                    side: BookSide::Ask,
                    price: 452_852,
                    size: 100_000
                },
            ]
        );
        let texts: Vec<_> = message.changes.texts().collect();
        assert_eq!(texts[1], (BookSide::Bid, "45283.4", "1.54582015"));
        assert_eq!(texts[2], (BookSide::Ask, "45285.2", "0.00100000"));
    }

    #[test]
    fn an_update_may_leave_out_a_side() {
        let payload = br#"{"channel":"book","type":"update","data":[{"symbol":"BTC/USD",
            "asks":[{"price":45285.2,"qty":0}],"checksum":7,"timestamp":"2023-10-06T17:35:55Z"}]}"#;
        let message = parse(payload).unwrap().unwrap();
        assert_eq!(message.kind, BookKind::Update);
        assert_eq!(
            message.changes.deltas(),
            &[Delta {
                side: BookSide::Ask,
                price: 452_852,
                size: 0
            }]
        );
    }

    #[rstest]
    #[case::heartbeat(br#"{"channel":"heartbeat"}"#)]
    #[case::status(br#"{"channel":"status","type":"update","data":[{"system":"online"}]}"#)]
    #[case::answer(br#"{"method":"subscribe","result":{"channel":"book"},"success":true}"#)]
    fn other_messages_are_left_to_the_caller(#[case] payload: &[u8]) {
        assert_eq!(parse(payload).unwrap(), None);
    }

    #[rstest]
    #[case::not_an_object(b"[1]", "expected a JSON object")]
    #[case::unknown_type(br#"{"channel":"book","type":"delta","data":[]}"#, "unknown type")]
    #[case::mistyped_level(
        br#"{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[[1,2]],"checksum":1}]}"#,
        "invalid message"
    )]
    #[case::no_data(br#"{"channel":"book","type":"update"}"#, "missing field `data`")]
    #[case::two_items(
        br#"{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","checksum":1},{"symbol":"BTC/USD","checksum":1}]}"#,
        "exactly one data item"
    )]
    #[case::unknown_symbol(
        br#"{"channel":"book","type":"update","data":[{"symbol":"ETH/USD","checksum":1}]}"#,
        "unknown symbol"
    )]
    #[case::string_price(
        br#"{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":"1.0","qty":1}],"checksum":1}]}"#,
        "bids[0].price: expected a number"
    )]
    #[case::null_side(
        br#"{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":null,"checksum":1}]}"#,
        "invalid message"
    )]
    #[case::half_snapshot(
        br#"{"channel":"book","type":"snapshot","data":[{"symbol":"BTC/USD","bids":[],"checksum":1}]}"#,
        "needs bids and asks"
    )]
    #[case::big_checksum(
        br#"{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","checksum":4294967296}]}"#,
        "invalid message"
    )]
    #[case::float_checksum(
        br#"{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","checksum":5.0}]}"#,
        "invalid message"
    )]
    #[case::too_fine(
        br#"{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","asks":[{"price":1.25,"qty":1}],"checksum":1}]}"#,
        "a[0].price"
    )]
    fn bad_book_messages_are_refused_naming_the_problem(
        #[case] payload: &[u8],
        #[case] words: &str,
    ) {
        let error = parse(payload).unwrap_err().to_string();
        assert!(error.contains(words), "{error}");
    }
}
