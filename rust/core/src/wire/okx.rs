//! OKX v5 `books` channel pushes parsed straight into book changes, at the market's precision.
//!
//! A push (<https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-order-book-channel>)
//! is `{"arg": {"channel": "books", "instId": ...}, "action": "snapshot" | "update", "data":
//! [{"asks", "bids", "ts", "checksum", "prevSeqId", "seqId"}]}`; a level is `[price, size, "0",
//! numOrders]`. It is read with `serde_json`, borrowing the strings from the payload, and every
//! level is parsed exactly into a [`ChangeBatch`] (bids then asks, in message order).
//!
//! Only a push of exactly the documented shape is accepted; anything else (an event, several
//! entries, a mistyped field) is an error, left to the caller's own reader.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};

use crate::book::BookSide;
use crate::decimal::{cut_quoted, excerpt};
use crate::wire::{ChangeBatch, Precision, RawLevel, WireError};

/// OKX's name of the order book channel of 400 levels.
pub const BOOKS_CHANNEL: &str = "books";

/// What a `books` push carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BooksAction {
    /// The whole book (the first push of a subscription).
    Snapshot,
    /// Changes to the book.
    Update,
}

impl BooksAction {
    /// OKX's name of the action (`"snapshot"` or `"update"`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Snapshot => "snapshot",
            Self::Update => "update",
        }
    }
}

/// A `books` push of one instrument, parsed at its market's precision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BooksPush<K> {
    /// The caller's key of the push's instrument (what its lookup returned).
    pub market: K,
    /// Snapshot or update.
    pub action: BooksAction,
    /// The push's sequence ID (`seqId`, never negative).
    pub seq_id: i64,
    /// The previous push's sequence ID (`prevSeqId`: -1 for a snapshot, never negative for an
    /// update).
    pub prev_seq_id: i64,
    /// The CRC32 checksum as a signed 32-bit integer; None when absent, null or 0 (OKX's value
    /// since the field's deprecation).
    pub checksum: Option<i32>,
    /// The bids then the asks, in message order.
    pub changes: ChangeBatch,
}

/// A field that is present (whatever its value, null included) or absent.
#[derive(Default)]
struct Present(bool);

impl<'de> Deserialize<'de> for Present {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        IgnoredAny::deserialize(deserializer)?;
        Ok(Self(true))
    }
}

/// A struct read only from a JSON object: serde would also read one from an array (fields by
/// position), which the exchanges never send and the Python readers refuse.
pub(crate) struct Object<T>(pub(crate) T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
            type Value = Object<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Object)
            }
        }
        deserializer.deserialize_map(ObjectVisitor(PhantomData))
    }
}

/// Appends the bids then the asks to a new batch at `precision`.
pub(crate) fn side_changes(
    precision: Precision,
    bids: &[RawLevel<'_>],
    asks: &[RawLevel<'_>],
) -> Result<ChangeBatch, WireError> {
    let mut changes = ChangeBatch::with_capacity(precision, bids.len() + asks.len());
    for (side, levels) in [(BookSide::Bid, bids), (BookSide::Ask, asks)] {
        for (index, level) in levels.iter().enumerate() {
            changes.push(side, index, &level.price.0, &level.size.0)?;
        }
    }
    Ok(changes)
}

#[derive(Deserialize)]
struct RawArg<'a> {
    #[serde(borrow)]
    channel: Cow<'a, str>,
    #[serde(rename = "instId", borrow)]
    inst_id: Cow<'a, str>,
}

#[derive(Deserialize)]
struct RawEntry<'a> {
    #[serde(borrow)]
    bids: Vec<RawLevel<'a>>,
    #[serde(borrow)]
    asks: Vec<RawLevel<'a>>,
    #[serde(rename = "seqId")]
    seq_id: i64,
    #[serde(rename = "prevSeqId")]
    prev_seq_id: i64,
    #[serde(default)]
    checksum: Option<i64>,
}

#[derive(Deserialize)]
struct RawPush<'a> {
    #[serde(default)]
    event: Present,
    #[serde(borrow)]
    arg: Object<RawArg<'a>>,
    #[serde(borrow)]
    action: Cow<'a, str>,
    #[serde(borrow)]
    data: Vec<Object<RawEntry<'a>>>,
}

/// Parses an OKX `books` push of one data entry from its raw payload.
///
/// `market` maps the instrument ID (`"BTC-USDT"`) to the caller's key and the precision to
/// parse its levels at. Returns `Ok(None)` for an event (`{"event": ...}`: a subscription's
/// answer, an error, a notice). Everything else that is not a valid push of the `books` channel
/// for a known instrument with exactly one entry, whose sequence IDs fit its action, whose
/// checksum is a signed 32-bit integer and whose every level parses at the precision, is an
/// error; no batch is returned with it.
pub fn parse_okx_books<K>(
    payload: &[u8],
    market: impl FnOnce(&str) -> Option<(K, Precision)>,
) -> Result<Option<BooksPush<K>>, WireError> {
    if payload.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(WireError::Json("expected a JSON object".to_owned()));
    }
    let text =
        std::str::from_utf8(payload).map_err(|err| WireError::Json(format!("not UTF-8: {err}")))?;
    // An event has no arg, action or data: it is recognised before the push's fields are
    // required.
    #[derive(Deserialize)]
    struct Probe {
        #[serde(default)]
        event: Present,
    }
    let push: RawPush<'_> = match serde_json::from_str::<RawPush<'_>>(text) {
        Ok(push) => push,
        Err(err) => {
            return match serde_json::from_str::<Probe>(text) {
                Ok(Probe {
                    event: Present(true),
                }) => Ok(None),
                _ => Err(WireError::Json(cut_quoted(&err.to_string()))),
            };
        }
    };
    if push.event.0 {
        return Ok(None);
    }
    let arg = push.arg.0;
    if arg.channel != BOOKS_CHANNEL {
        return Err(WireError::Json(format!(
            "push of an unexpected channel {:?}",
            excerpt(&arg.channel)
        )));
    }
    let (key, precision) = market(&arg.inst_id).ok_or_else(|| {
        WireError::Json(format!(
            "books push for an instrument not subscribed: {:?}",
            excerpt(&arg.inst_id)
        ))
    })?;
    let action = match push.action.as_ref() {
        "snapshot" => BooksAction::Snapshot,
        "update" => BooksAction::Update,
        other => {
            return Err(WireError::Json(format!(
                "unknown action {:?}",
                excerpt(other)
            )));
        }
    };
    let [Object(entry)]: [Object<RawEntry<'_>>; 1] = push
        .data
        .try_into()
        .map_err(|_| WireError::Json("expected exactly one data entry".to_owned()))?;
    let expected_previous = match action {
        BooksAction::Snapshot => entry.prev_seq_id == -1,
        BooksAction::Update => entry.prev_seq_id >= 0,
    };
    if entry.seq_id < 0 || !expected_previous {
        return Err(WireError::Json(format!(
            "bad sequence IDs seqId={} prevSeqId={} for {}",
            entry.seq_id,
            entry.prev_seq_id,
            action.as_str()
        )));
    }
    let checksum = match entry.checksum {
        None | Some(0) => None,
        Some(value) => Some(
            i32::try_from(value).map_err(|_| WireError::Json(format!("bad checksum {value}")))?,
        ),
    };
    let changes = side_changes(precision, &entry.bids, &entry.asks)?;
    Ok(Some(BooksPush {
        market: key,
        action,
        seq_id: entry.seq_id,
        prev_seq_id: entry.prev_seq_id,
        checksum,
        changes,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BTC_USDT: Precision = Precision {
        price_decimals: 1,
        size_decimals: 8,
    };

    fn parse(payload: &str) -> Result<Option<BooksPush<()>>, WireError> {
        parse_okx_books(payload.as_bytes(), |inst| {
            (inst == "BTC-USDT").then_some(((), BTC_USDT))
        })
    }

    /// The documentation's snapshot push, shortened to two levels per side.
    const SNAPSHOT: &str = r#"{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot",
        "data":[{"asks":[["8476.98","415","0","13"],["8477","7","0","2"]],
        "bids":[["8476.9","256","0","12"],["8476.8","2","0","1"]],
        "ts":"1597026383085","checksum":-855196043,"prevSeqId":-1,"seqId":123456}]}"#;

    #[test]
    fn a_documented_snapshot_becomes_its_header_and_bids_then_asks() {
        let precision = Precision::new(2, 0).unwrap();
        let push = parse_okx_books(SNAPSHOT.as_bytes(), |_| Some(((), precision)))
            .unwrap()
            .unwrap();
        assert_eq!(push.action, BooksAction::Snapshot);
        assert_eq!((push.seq_id, push.prev_seq_id), (123_456, -1));
        assert_eq!(push.checksum, Some(-855_196_043));
        let texts: Vec<_> = push.changes.texts().collect();
        assert_eq!(
            texts,
            [
                (BookSide::Bid, "8476.9", "256"),
                (BookSide::Bid, "8476.8", "2"),
                (BookSide::Ask, "8476.98", "415"),
                (BookSide::Ask, "8477", "7"),
            ]
        );
    }

    #[test]
    fn an_event_is_left_to_the_caller() {
        let answer = r#"{"event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"},"connId":"a4d3ae55"}"#;
        assert_eq!(parse(answer), Ok(None));
        assert_eq!(parse(r#"{"event":null}"#), Ok(None));
    }

    #[test]
    fn a_zero_or_absent_checksum_is_none() {
        let update = r#"{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update",
            "data":[{"asks":[],"bids":[["1.5","0.1","0","1"]],"checksum":0,"prevSeqId":7,"seqId":9}]}"#;
        let push = parse(update).unwrap().unwrap();
        assert_eq!(push.checksum, None);
        assert_eq!((push.seq_id, push.prev_seq_id), (9, 7));
        assert_eq!(push.action, BooksAction::Update);
    }

    #[test]
    fn anything_off_the_documented_shape_is_refused() {
        let good = r#"{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[],"bids":[["1.5","0.1"]],"prevSeqId":7,"seqId":9}]}"#;
        assert!(parse(good).unwrap().is_some());
        for (from, to) in [
            (r#""books""#, r#""books5""#),
            ("BTC-USDT", "ETH-USDT"),
            (r#""update""#, r#""snapshotx""#),
            (r#""prevSeqId":7"#, r#""prevSeqId":-1"#),
            (r#""seqId":9"#, r#""seqId":-2"#),
            (r#""seqId":9"#, r#""seqId":9.0"#),
            (r#""seqId":9}"#, r#""seqId":9,"checksum":4294967296}"#),
            (r#""1.5""#, "1.5"),
            (r#""0.1""#, r#""0.123456789""#),
            (r#"["1.5","0.1"]"#, r#"["1.5"]"#),
            (r#"["1.5","0.1"]"#, r#""1.5""#),
            (r#""seqId":9"#, r#""seqId":9,"seqId":10"#),
            (r#""seqId":9"#, r#""seqId":9223372036854775808"#),
            (
                r#"{"channel":"books","instId":"BTC-USDT"}"#,
                r#"["books","BTC-USDT"]"#,
            ),
            (
                "}]}",
                "},{\"asks\":[],\"bids\":[],\"prevSeqId\":9,\"seqId\":10}]}",
            ),
            ("[{", "[[{"),
        ] {
            let bad = good.replacen(from, to, 1);
            assert_ne!(bad, good, "{from}");
            assert!(parse(&bad).is_err(), "{bad}");
        }
        assert!(parse("[]").is_err());
        assert!(parse("pong").is_err());
    }
}
