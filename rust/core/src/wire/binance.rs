//! Binance spot `depthUpdate` events
//! (<https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams#diff-depth-stream>)
//! parsed straight into a [`ChangeBatch`] (see the [module documentation](super)).

use std::borrow::Cow;

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::{ChangeBatch, Precision, RawLevel, WireError};
use crate::book::BookSide;
use crate::decimal::{cut_quoted, excerpt};

/// A Binance `depthUpdate` event, parsed at its market's precision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepthUpdate<K> {
    /// The caller's key of the event's market (what its symbol lookup returned).
    pub market: K,
    /// First update ID in the event (`U`).
    pub first_update_id: u64,
    /// Final update ID in the event (`u`).
    pub final_update_id: u64,
    /// The bids (`b`) then the asks (`a`), in message order.
    pub changes: ChangeBatch,
}

/// The fields of a Binance event that a `depthUpdate` uses; every other field is skipped.
#[derive(Deserialize)]
struct RawEvent<'a> {
    #[serde(rename = "e", borrow, default)]
    event: Option<Cow<'a, str>>,
    #[serde(rename = "s", borrow, default)]
    symbol: Option<Cow<'a, str>>,
    #[serde(rename = "U", default)]
    first: Option<u64>,
    #[serde(rename = "u", default)]
    last: Option<u64>,
    #[serde(rename = "b", borrow, default)]
    bids: Option<Vec<RawLevel<'a>>>,
    #[serde(rename = "a", borrow, default)]
    asks: Option<Vec<RawLevel<'a>>>,
    /// The stream name of a combined-stream wrapper (`{"stream": ..., "data": ...}`).
    #[serde(default)]
    stream: Option<IgnoredAny>,
    /// The event inside a combined-stream wrapper.
    #[serde(default)]
    data: Option<IgnoredAny>,
}

/// Parses a Binance spot `depthUpdate` event from its raw payload.
///
/// `market` maps the event's symbol (`"BTCUSDT"`) to the caller's key for that market and the
/// precision to parse its levels at; a symbol it does not know is an error. Returns `Ok(None)`
/// for a JSON object that is not a `depthUpdate` (a request's response, `serverShutdown`, a
/// combined-stream wrapper), leaving those to the caller. Errors name the field and value that
/// were wrong; no batch is returned with them.
pub fn parse_binance_depth_update<K>(
    payload: &[u8],
    market: impl FnOnce(&str) -> Option<(K, Precision)>,
) -> Result<Option<DepthUpdate<K>>, WireError> {
    // serde would also read a struct from a JSON array (fields by position): only objects are
    // events.
    if payload.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(WireError::Json("expected a JSON object".to_owned()));
    }
    // One UTF-8 check of the whole payload is cheaper than one per string (serde_json's reader
    // of bytes checks each string it borrows; its reader of text does not need to).
    let text =
        std::str::from_utf8(payload).map_err(|err| WireError::Json(format!("not UTF-8: {err}")))?;
    let raw: RawEvent<'_> =
        serde_json::from_str(text).map_err(|err| WireError::Json(cut_quoted(&err.to_string())))?;
    if raw.event.as_deref() != Some("depthUpdate") || (raw.stream.is_some() && raw.data.is_some()) {
        return Ok(None);
    }
    let symbol = raw.symbol.ok_or(WireError::Missing("s"))?;
    let (key, precision) =
        market(&symbol).ok_or_else(|| WireError::UnknownSymbol(excerpt(&symbol)))?;
    let first = raw.first.ok_or(WireError::Missing("U"))?;
    let last = raw.last.ok_or(WireError::Missing("u"))?;
    if first > last {
        return Err(WireError::UpdateIds { first, last });
    }
    let bids = raw.bids.ok_or(WireError::Missing("b"))?;
    let asks = raw.asks.ok_or(WireError::Missing("a"))?;
    let mut changes = ChangeBatch::with_capacity(precision, bids.len() + asks.len());
    for (side, levels) in [(BookSide::Bid, bids), (BookSide::Ask, asks)] {
        for (index, level) in levels.iter().enumerate() {
            changes.push(side, index, &level.price.0, &level.size.0)?;
        }
    }
    Ok(Some(DepthUpdate {
        market: key,
        first_update_id: first,
        final_update_id: last,
        changes,
    }))
}
