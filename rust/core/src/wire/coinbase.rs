//! Coinbase Advanced Trade `level2` messages parsed straight into book changes.
//!
//! A message of the `level2` channel
//! (<https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-channels#level2-channel>)
//! arrives on channel `l2_data` with the connection's `sequence_num` and a list of `events`,
//! each a `snapshot` (the whole book of `product_id`) or an `update`, whose `updates` give a
//! `side` (`bid` or `offer`), a `price_level` and the level's `new_quantity` (`"0"` removes it).
//! Each event becomes a [`ChangeBatch`] at its market's precision, exactly as a Binance
//! `depthUpdate` does in [`crate::wire`]: an update keeps the message's order; a snapshot
//! keeps its non-empty levels only, bids then asks, each side best first (Coinbase promises no
//! order), as a book's snapshot wants them. The whole message is refused if anything in it is
//! wrong: nothing is returned with an error.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserializer, MapAccess, Visitor};
use thiserror::Error;

use crate::book::BookSide;
use crate::decimal::{cut_quoted, excerpt};
use crate::wire::{ChangeBatch, Precision, WireError};

/// The channel name `level2` messages carry.
pub const LEVEL2_DATA_CHANNEL: &str = "l2_data";

/// Why a `level2` message could not be turned into book changes.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Level2Error {
    /// The payload is not JSON, or a field has the wrong type or shape.
    #[error("invalid message: {0}")]
    Json(String),
    /// A field the message needs is absent (or null); the path names it.
    #[error("l2_data without {0}")]
    Missing(String),
    /// An event is for a product the caller does not know.
    #[error("l2_data for a product not subscribed: {0:?}")]
    UnknownProduct(String),
    /// An event's `type` is neither `snapshot` nor `update`.
    #[error("l2_data: unknown event type {0:?}")]
    UnknownType(String),
    /// An update's `side` is neither `bid` nor `offer`.
    #[error("l2_data: unknown side {0:?}")]
    UnknownSide(String),
    /// A price or quantity does not fit the market's precision (or is not a number).
    #[error("{field}: {source}")]
    Decimal {
        /// Which value, as `events[0].updates[3].price_level`.
        field: String,
        /// What was wrong with it.
        source: crate::decimal::DecimalError,
    },
}

/// What an event of a `level2` message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level2Kind {
    /// The whole book of the product.
    Snapshot,
    /// Changes to the book of the product.
    Update,
}

/// One event of a `level2` message, parsed at its market's precision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Level2Event<K> {
    /// The caller's key of the event's market (what its product lookup returned).
    pub market: K,
    /// Snapshot or update.
    pub kind: Level2Kind,
    /// An update's changes in message order; a snapshot's non-empty levels, bids then asks,
    /// each side best first.
    pub changes: ChangeBatch,
}

/// A `level2` message: the connection's `sequence_num` and its events, in message order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Level2Message<K> {
    /// The message's number on its connection (`sequence_num`).
    pub sequence_num: u64,
    /// The events, in message order.
    pub events: Vec<Level2Event<K>>,
}

/// A `T` read from a JSON object only: serde's derived structs would also read an array (fields
/// by position), which is not a message, an event or an update.
struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
            type Value = T;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map))
            }
        }
        deserializer
            .deserialize_map(ObjectVisitor(PhantomData))
            .map(Object)
    }
}

/// The fields of one entry of `updates`; every other field is skipped.
#[derive(Deserialize)]
struct RawUpdate<'a> {
    #[serde(borrow, default)]
    side: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    price_level: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    new_quantity: Option<Cow<'a, str>>,
}

/// The fields of one entry of `events`; every other field is skipped.
#[derive(Deserialize)]
struct RawEvent<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    product_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    updates: Option<Vec<Object<RawUpdate<'a>>>>,
}

/// The fields of a message that `l2_data` uses; every other field is skipped.
#[derive(Deserialize)]
struct RawMessage<'a> {
    #[serde(borrow, default)]
    channel: Option<Cow<'a, str>>,
    /// `"error"` for an error message (which has no channel).
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(default)]
    sequence_num: Option<u64>,
    #[serde(borrow, default)]
    events: Option<Vec<Object<RawEvent<'a>>>>,
}

/// Parses a Coinbase Advanced Trade `level2` message from its raw payload.
///
/// `market` maps an event's product (`"BTC-USD"`) to the caller's key for that market and the
/// precision to parse its levels at; a product it does not know is an error. Returns `Ok(None)`
/// for a JSON object that is not an `l2_data` message (heartbeats, subscription
/// acknowledgements, other channels, an `error` message), leaving those to the caller. Errors
/// name the field and value that were wrong; nothing is returned with them.
pub fn parse_coinbase_level2<K>(
    payload: &[u8],
    mut market: impl FnMut(&str) -> Option<(K, Precision)>,
) -> Result<Option<Level2Message<K>>, Level2Error> {
    // serde would also read a struct from a JSON array (fields by position): only objects are
    // messages.
    if payload.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(Level2Error::Json("expected a JSON object".to_owned()));
    }
    let text = std::str::from_utf8(payload)
        .map_err(|err| Level2Error::Json(format!("not UTF-8: {err}")))?;
    let raw: RawMessage<'_> = serde_json::from_str(text)
        .map_err(|err| Level2Error::Json(cut_quoted(&err.to_string())))?;
    if raw.kind.as_deref() == Some("error") || raw.channel.as_deref() != Some(LEVEL2_DATA_CHANNEL) {
        return Ok(None);
    }
    let sequence_num = raw
        .sequence_num
        .ok_or_else(|| Level2Error::Missing("sequence_num".to_owned()))?;
    let raw_events = raw
        .events
        .ok_or_else(|| Level2Error::Missing("events".to_owned()))?;
    let mut events = Vec::with_capacity(raw_events.len());
    for (event_index, Object(event)) in raw_events.into_iter().enumerate() {
        let missing = |what: &str| Level2Error::Missing(format!("events[{event_index}].{what}"));
        let product = event.product_id.ok_or_else(|| missing("product_id"))?;
        let (key, precision) =
            market(&product).ok_or_else(|| Level2Error::UnknownProduct(excerpt(&product)))?;
        let kind = match event.kind.as_deref() {
            Some("snapshot") => Level2Kind::Snapshot,
            Some("update") => Level2Kind::Update,
            Some(other) => return Err(Level2Error::UnknownType(excerpt(other))),
            None => return Err(missing("type")),
        };
        let updates = event.updates.ok_or_else(|| missing("updates"))?;
        let changes = parse_updates(&updates, precision, event_index)?;
        let changes = match kind {
            Level2Kind::Update => changes,
            Level2Kind::Snapshot => best_first(&changes),
        };
        events.push(Level2Event {
            market: key,
            kind,
            changes,
        });
    }
    Ok(Some(Level2Message {
        sequence_num,
        events,
    }))
}

/// The updates of event `event_index`, in message order, at `precision`.
fn parse_updates(
    updates: &[Object<RawUpdate<'_>>],
    precision: Precision,
    event_index: usize,
) -> Result<ChangeBatch, Level2Error> {
    let mut changes = ChangeBatch::with_capacity(precision, updates.len());
    for (index, Object(update)) in updates.iter().enumerate() {
        let path = |what: &str| format!("events[{event_index}].updates[{index}].{what}");
        let side = match update.side.as_deref() {
            Some("bid") => BookSide::Bid,
            Some("offer") => BookSide::Ask,
            Some(other) => return Err(Level2Error::UnknownSide(excerpt(other))),
            None => return Err(Level2Error::Missing(path("side"))),
        };
        let price = update
            .price_level
            .as_deref()
            .ok_or_else(|| Level2Error::Missing(path("price_level")))?;
        let size = update
            .new_quantity
            .as_deref()
            .ok_or_else(|| Level2Error::Missing(path("new_quantity")))?;
        changes
            .push(side, index, price, size)
            .map_err(|err| match err {
                // The batch names the value Binance's way (`b[3].price`): say it Coinbase's.
                WireError::Decimal { field, source } => Level2Error::Decimal {
                    field: path(if field.ends_with(".price") {
                        "price_level"
                    } else {
                        "new_quantity"
                    }),
                    source,
                },
                other => Level2Error::Json(other.to_string()),
            })?;
    }
    Ok(changes)
}

/// A snapshot's non-empty levels, bids then asks, each side best first; levels of one price
/// keep their message order.
fn best_first(changes: &ChangeBatch) -> ChangeBatch {
    let deltas = changes.deltas();
    let mut bids: Vec<usize> = Vec::with_capacity(deltas.len());
    let mut asks: Vec<usize> = Vec::with_capacity(deltas.len());
    for (index, delta) in deltas.iter().enumerate() {
        if delta.size == 0 {
            continue;
        }
        match delta.side {
            BookSide::Bid => bids.push(index),
            BookSide::Ask => asks.push(index),
        }
    }
    // Stable sorts: equal prices keep their order.
    bids.sort_by(|&a, &b| deltas[b].price.cmp(&deltas[a].price));
    asks.sort_by_key(|&index| deltas[index].price);
    let mut sorted = ChangeBatch::with_capacity(changes.precision(), bids.len() + asks.len());
    for (position, &index) in bids.iter().chain(asks.iter()).enumerate() {
        if let Some((side, price, size)) = changes.text(index) {
            // Parsed once already at this precision: parsing again cannot fail.
            if sorted.push(side, position, price, size).is_err() {
                debug_assert!(false, "a parsed level failed to parse again");
            }
        }
    }
    sorted
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::Delta;
    use crate::decimal::DecimalError;

    const BTC_USD: Precision = Precision {
        price_decimals: 2,
        size_decimals: 8,
    };

    /// The `level2` sample of Coinbase's "Websocket Channels" page.
    const DOCS_SAMPLE: &[u8] = br#"{
      "channel": "l2_data",
      "client_id": "",
      "timestamp": "2023-02-09T20:32:50.714964855Z",
      "sequence_num": 0,
      "events": [
        {
          "type": "snapshot",
          "product_id": "BTC-USD",
          "updates": [
            {
              "side": "bid",
              "event_time": "1970-01-01T00:00:00Z",
              "price_level": "21921.73",
              "new_quantity": "0.06317902"
            },
            {
              "side": "bid",
              "event_time": "1970-01-01T00:00:00Z",
              "price_level": "21921.3",
              "new_quantity": "0.02"
            }
          ]
        }
      ]
    }"#;

    fn parse(payload: &[u8]) -> Result<Option<Level2Message<u8>>, Level2Error> {
        parse_coinbase_level2(payload, |product| {
            (product == "BTC-USD").then_some((7u8, BTC_USD))
        })
    }

    fn message(events: &str) -> Vec<u8> {
        format!(r#"{{"channel":"l2_data","client_id":"","timestamp":"t","sequence_num":5,"events":{events}}}"#)
            .into_bytes()
    }

    fn level(side: &str, price: &str, size: &str) -> String {
        format!(
            r#"{{"side":"{side}","event_time":"t","price_level":"{price}","new_quantity":"{size}"}}"#
        )
    }

    #[test]
    fn documented_snapshot_becomes_the_bids_best_first_with_their_text() {
        let parsed = parse(DOCS_SAMPLE).unwrap().unwrap();
        assert_eq!(parsed.sequence_num, 0);
        assert_eq!(parsed.events.len(), 1);
        let event = &parsed.events[0];
        assert_eq!((event.market, event.kind), (7, Level2Kind::Snapshot));
        assert_eq!(
            event.changes.deltas(),
            &[
                Delta {
                    side: BookSide::Bid,
                    price: 2_192_173,
                    size: 6_317_902
                },
                Delta {
                    side: BookSide::Bid,
                    price: 2_192_130,
                    size: 2_000_000
                },
            ]
        );
        assert_eq!(
            event.changes.text(1),
            Some((BookSide::Bid, "21921.3", "0.02"))
        );
    }

    #[test]
    fn snapshot_drops_empty_levels_and_sorts_each_side_best_first() {
        let levels = [
            level("offer", "101.5", "1"),
            level("bid", "99", "1"),
            level("offer", "100.5", "2"),
            level("bid", "99.5", "0"),
            level("bid", "99.75", "3"),
            level("offer", "102", "0.0"),
        ]
        .join(",");
        let bytes = message(&format!(
            r#"[{{"type":"snapshot","product_id":"BTC-USD","updates":[{levels}]}}]"#
        ));
        let parsed = parse(&bytes).unwrap().unwrap();
        let texts: Vec<_> = parsed.events[0].changes.texts().collect();
        assert_eq!(
            texts,
            [
                (BookSide::Bid, "99.75", "3"),
                (BookSide::Bid, "99", "1"),
                (BookSide::Ask, "100.5", "2"),
                (BookSide::Ask, "101.5", "1"),
            ]
        );
    }

    #[test]
    fn update_keeps_message_order_and_zero_sizes() {
        let levels = [level("offer", "101.5", "0"), level("bid", "99", "1.5")].join(",");
        let bytes = message(&format!(
            r#"[{{"type":"update","product_id":"BTC-USD","updates":[{levels}]}}]"#
        ));
        let parsed = parse(&bytes).unwrap().unwrap();
        assert_eq!(parsed.sequence_num, 5);
        assert_eq!(parsed.events[0].kind, Level2Kind::Update);
        let texts: Vec<_> = parsed.events[0].changes.texts().collect();
        assert_eq!(
            texts,
            [(BookSide::Ask, "101.5", "0"), (BookSide::Bid, "99", "1.5")]
        );
    }

    #[test]
    fn other_channels_and_error_messages_are_left_to_the_caller() {
        let heartbeat = br#"{"channel":"heartbeats","sequence_num":1,"events":[]}"#;
        assert_eq!(parse(heartbeat), Ok(None));
        let error = br#"{"type":"error","channel":"l2_data","message":"boom"}"#;
        assert_eq!(parse(error), Ok(None));
    }

    #[test]
    fn bad_messages_are_refused_whole_naming_the_problem() {
        let update = |levels: &str| {
            message(&format!(
                r#"[{{"type":"update","product_id":"BTC-USD","updates":[{levels}]}}]"#
            ))
        };
        assert!(matches!(parse(b"[1]"), Err(Level2Error::Json(_))));
        assert!(matches!(parse(b"{\"channel\":"), Err(Level2Error::Json(_))));
        assert_eq!(
            parse(br#"{"channel":"l2_data","events":[]}"#),
            Err(Level2Error::Missing("sequence_num".to_owned()))
        );
        assert!(matches!(
            parse(br#"{"channel":"l2_data","sequence_num":-1,"events":[]}"#),
            Err(Level2Error::Json(_))
        ));
        assert_eq!(
            parse(&message(
                r#"[{"type":"update","product_id":"ETH-USD","updates":[]}]"#
            )),
            Err(Level2Error::UnknownProduct("ETH-USD".to_owned()))
        );
        assert_eq!(
            parse(&message(
                r#"[{"type":"delta","product_id":"BTC-USD","updates":[]}]"#
            )),
            Err(Level2Error::UnknownType("delta".to_owned()))
        );
        assert_eq!(
            parse(&update(&level("ask", "1", "1"))),
            Err(Level2Error::UnknownSide("ask".to_owned()))
        );
        let good = level("bid", "1", "1");
        assert_eq!(
            parse(&update(&format!("{good},{}", level("bid", "1.001", "1")))),
            Err(Level2Error::Decimal {
                field: "events[0].updates[1].price_level".to_owned(),
                source: DecimalError::TooPrecise {
                    text: "1.001".to_owned(),
                    decimals: 2
                }
            })
        );
        assert!(matches!(
            parse(&update(&level("bid", "1", "abc"))),
            Err(Level2Error::Decimal { field, .. }) if field == "events[0].updates[0].new_quantity"
        ));
        assert_eq!(
            parse(&update(r#"{"side":"bid","new_quantity":"1"}"#)),
            Err(Level2Error::Missing(
                "events[0].updates[0].price_level".to_owned()
            ))
        );
        assert!(matches!(
            parse(&update(
                r#"{"side":"bid","price_level":1,"new_quantity":"1"}"#
            )),
            Err(Level2Error::Json(_))
        ));
        for product in ["5", "null", r#"["BTC-USD"]"#] {
            let event = format!(r#"[{{"type":"update","product_id":{product},"updates":[]}}]"#);
            assert!(parse(&message(&event)).is_err(), "{event}");
        }
        assert!(matches!(
            parse(&update(
                r#"{"side":["bid"],"price_level":"1","new_quantity":"1"}"#
            )),
            Err(Level2Error::Json(_))
        ));
        assert!(matches!(
            parse(&update(&good.replace(r#""1"}"#, r#""1","side":"offer"}"#))),
            Err(Level2Error::Json(message)) if message.starts_with("duplicate field `side`")
        ));
        // serde's structs would read arrays by position: only objects are updates and events.
        assert!(matches!(
            parse(&update(r#"["bid","1","1"]"#)),
            Err(Level2Error::Json(_))
        ));
        assert!(matches!(
            parse(&message(r#"[["update","BTC-USD",[]]]"#)),
            Err(Level2Error::Json(_))
        ));
    }
}
