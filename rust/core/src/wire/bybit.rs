//! Bybit v5 `orderbook.{depth}.{symbol}` messages parsed straight into book changes.
//!
//! A message (<https://bybit-exchange.github.io/docs/v5/websocket/public/orderbook>) is
//! `{"topic": ..., "type": "snapshot" | "delta", "ts", "data": {"s", "b", "a", "u", "seq"},
//! "cts"}`; a level is `[price, size]`. It is read with `serde_json`, borrowing the strings from
//! the payload, and every level is parsed exactly into a [`ChangeBatch`] (bids then asks, in
//! message order).
//!
//! Only a message of exactly the documented shape is accepted; anything else is an error, left
//! to the caller's own reader.

use std::borrow::Cow;

use serde::Deserialize;

use crate::decimal::{cut_quoted, excerpt};
use crate::wire::okx::{Object, side_changes};
use crate::wire::{ChangeBatch, Precision, RawLevel, WireError};

/// What an orderbook message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderbookType {
    /// The whole book.
    Snapshot,
    /// Changes to the book.
    Delta,
}

impl OrderbookType {
    /// Bybit's name of the type (`"snapshot"` or `"delta"`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Snapshot => "snapshot",
            Self::Delta => "delta",
        }
    }
}

/// An orderbook message of one topic, parsed at its market's precision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderbookMessage<K> {
    /// The caller's key of the message's topic (what its lookup returned).
    pub market: K,
    /// Snapshot or delta.
    pub kind: OrderbookType,
    /// The update ID (`u`, at least 1).
    pub update_id: u64,
    /// The bids (`b`) then the asks (`a`), in message order.
    pub changes: ChangeBatch,
}

#[derive(Deserialize)]
struct RawData<'a> {
    #[serde(rename = "b", borrow)]
    bids: Vec<RawLevel<'a>>,
    #[serde(rename = "a", borrow)]
    asks: Vec<RawLevel<'a>>,
    #[serde(rename = "u")]
    update_id: u64,
}

#[derive(Deserialize)]
struct RawMessage<'a> {
    #[serde(borrow)]
    topic: Cow<'a, str>,
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    data: Object<RawData<'a>>,
}

/// The field that tells a topic's message from a request's answer.
#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(default, borrow)]
    topic: Option<Cow<'a, str>>,
}

/// Parses a Bybit v5 orderbook message from its raw payload.
///
/// `market` maps the topic (`"orderbook.200.BTCUSDT"`) to the caller's key and the precision
/// to parse its levels at. Returns `Ok(None)` for a JSON object without a topic (absent or
/// null: a pong or a request's answer). Everything else that is not a `snapshot` or `delta` of
/// a known topic with an update ID of at least 1 and levels that all parse at the precision is
/// an error; no batch is returned with it.
pub fn parse_bybit_orderbook<K>(
    payload: &[u8],
    market: impl FnOnce(&str) -> Option<(K, Precision)>,
) -> Result<Option<OrderbookMessage<K>>, WireError> {
    if payload.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(WireError::Json("expected a JSON object".to_owned()));
    }
    let text =
        std::str::from_utf8(payload).map_err(|err| WireError::Json(format!("not UTF-8: {err}")))?;
    let message: RawMessage<'_> = match serde_json::from_str::<RawMessage<'_>>(text) {
        Ok(message) => message,
        Err(err) => {
            return match serde_json::from_str::<Probe<'_>>(text) {
                Ok(Probe { topic: None }) => Ok(None),
                _ => Err(WireError::Json(cut_quoted(&err.to_string()))),
            };
        }
    };
    let (key, precision) = market(&message.topic).ok_or_else(|| {
        WireError::Json(format!(
            "message of a topic not subscribed: {:?}",
            excerpt(&message.topic)
        ))
    })?;
    let kind = match message.kind.as_ref() {
        "snapshot" => OrderbookType::Snapshot,
        "delta" => OrderbookType::Delta,
        other => {
            return Err(WireError::Json(format!(
                "unknown type {:?}",
                excerpt(other)
            )));
        }
    };
    let data = message.data.0;
    if data.update_id < 1 {
        return Err(WireError::Json(format!(
            "bad update ID u={}",
            data.update_id
        )));
    }
    let changes = side_changes(precision, &data.bids, &data.asks)?;
    Ok(Some(OrderbookMessage {
        market: key,
        kind,
        update_id: data.update_id,
        changes,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::BookSide;

    const BTC_USDT: Precision = Precision {
        price_decimals: 2,
        size_decimals: 6,
    };

    fn parse(payload: &str) -> Result<Option<OrderbookMessage<()>>, WireError> {
        parse_bybit_orderbook(payload.as_bytes(), |topic| {
            (topic == "orderbook.50.BTCUSDT").then_some(((), BTC_USDT))
        })
    }

    /// The documentation's sample (orderbook.mdx), shortened.
    const SNAPSHOT: &str = r#"{"topic":"orderbook.50.BTCUSDT","type":"snapshot","ts":1672304484978,
        "data":{"s":"BTCUSDT","b":[["16493.50","0.006"],["16493.00","0.100"]],
        "a":[["16611.00","0.029"]],"u":18521288,"seq":7961638724},"cts":1672304484976}"#;

    #[test]
    fn a_documented_snapshot_becomes_its_header_and_bids_then_asks() {
        let message = parse(SNAPSHOT).unwrap().unwrap();
        assert_eq!(message.kind, OrderbookType::Snapshot);
        assert_eq!(message.update_id, 18_521_288);
        let texts: Vec<_> = message.changes.texts().collect();
        assert_eq!(
            texts,
            [
                (BookSide::Bid, "16493.50", "0.006"),
                (BookSide::Bid, "16493.00", "0.100"),
                (BookSide::Ask, "16611.00", "0.029"),
            ]
        );
    }

    #[test]
    fn a_message_without_a_topic_is_left_to_the_caller() {
        let pong =
            r#"{"success":true,"ret_msg":"pong","conn_id":"0970e817","req_id":"","op":"ping"}"#;
        assert_eq!(parse(pong), Ok(None));
        assert_eq!(parse(r#"{"topic":null,"op":"subscribe"}"#), Ok(None));
    }

    #[test]
    fn anything_off_the_documented_shape_is_refused() {
        let good = r#"{"topic":"orderbook.50.BTCUSDT","type":"delta","data":{"b":[["1.50","0.1"]],"a":[],"u":9}}"#;
        assert!(parse(good).unwrap().is_some());
        for (from, to) in [
            ("orderbook.50", "orderbook.200"),
            (r#""delta""#, r#""Delta""#),
            (r#""u":9"#, r#""u":0"#),
            (r#""u":9"#, r#""u":-9"#),
            (r#""u":9"#, r#""u":"9""#),
            (r#""1.50""#, "1.5"),
            (r#""1.50""#, r#""1.501""#),
            (r#"["1.50","0.1"]"#, r#"["1.50"]"#),
            (r#"["1.50","0.1"]"#, r#""1.50""#),
            (r#""u":9"#, r#""u":9,"u":10"#),
            (r#""u":9"#, r#""u":18446744073709551616"#),
            (r#"{"b""#, r#"{"x":{"b""#),
            (r#""a":[]"#, r#""a":{}"#),
        ] {
            let bad = good.replacen(from, to, 1);
            assert_ne!(bad, good, "{from}");
            assert!(parse(&bad).is_err(), "{bad}");
        }
        let positional =
            r#"{"topic":"orderbook.50.BTCUSDT","type":"delta","data":[[["1.50","0.1"]],[],9]}"#;
        assert!(parse(positional).is_err());
    }
}
