//! The "typical" implementations the core is measured against, written the way a
//! straightforward router would: a book as two `BTreeMap<price, size>` (one heap node per level),
//! snapshots parsed with `str::parse::<f64>`, walks by iterating the map, a venue ranking and an
//! allocation in obvious loops. They compute the same answers as the core (the benches check
//! this before measuring), so the ratios compare like with like.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::num::ParseFloatError;

use sor_core::{BookSide, Delta, Level, TakerSide};

use super::data::BookLevels;

/// An order book as two ordered maps from price (ticks) to size (lots).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MapBook {
    /// Bids by price; the best is the last key.
    pub bids: BTreeMap<u64, u64>,
    /// Asks by price; the best is the first key.
    pub asks: BTreeMap<u64, u64>,
}

/// What a baseline walk filled: lots, notional (ticks × lots), worst price (ticks), levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MapWalk {
    /// Base quantity filled, in lots.
    pub filled: u64,
    /// Notional in units of `10^-(price_decimals + size_decimals)` quote.
    pub notional: u128,
    /// Price of the last level taken from, in ticks.
    pub worst_price: u64,
    /// Levels taken from.
    pub levels: u32,
}

fn walk_levels<'a>(levels: impl Iterator<Item = (&'a u64, &'a u64)>, quantity: u64) -> MapWalk {
    let mut out = MapWalk::default();
    let mut remaining = quantity;
    for (&price, &size) in levels {
        if remaining == 0 {
            break;
        }
        let take = size.min(remaining);
        out.filled += take;
        out.notional += u128::from(price) * u128::from(take);
        out.worst_price = price;
        out.levels += 1;
        remaining -= take;
    }
    out
}

impl MapBook {
    /// A map book holding the given levels.
    pub fn from_levels(levels: &BookLevels) -> Self {
        let side = |levels: &[Level]| levels.iter().map(|l| (l.price, l.size)).collect();
        Self {
            bids: side(&levels.bids),
            asks: side(&levels.asks),
        }
    }

    /// Best bid and best ask, if the book is crossed.
    fn crossing(&self) -> Option<(u64, u64)> {
        let bid = *self.bids.last_key_value()?.0;
        let ask = *self.asks.first_key_value()?.0;
        (bid >= ask).then_some((bid, ask))
    }

    fn set(&mut self, side: BookSide, price: u64, size: u64) -> u64 {
        let map = match side {
            BookSide::Bid => &mut self.bids,
            BookSide::Ask => &mut self.asks,
        };
        let old = if size == 0 {
            map.remove(&price)
        } else {
            map.insert(price, size)
        };
        old.unwrap_or(0)
    }

    /// Applies one delta (size 0 removes); refused and undone if it would cross the book.
    pub fn apply(&mut self, delta: &Delta) -> bool {
        let old = self.set(delta.side, delta.price, delta.size);
        if self.crossing().is_some() {
            self.set(delta.side, delta.price, old);
            return false;
        }
        true
    }

    /// Applies deltas in order and reports whether the result is uncrossed. Unlike the core's
    /// batch it keeps no undo log (a typical feed handler does not), which only flatters it.
    pub fn apply_batch(&mut self, deltas: &[Delta]) -> bool {
        for delta in deltas {
            self.set(delta.side, delta.price, delta.size);
        }
        self.crossing().is_none()
    }

    /// Walks the side a taker order consumes for `quantity` lots.
    pub fn walk(&self, side: TakerSide, quantity: u64) -> MapWalk {
        match side {
            TakerSide::Buy => walk_levels(self.asks.iter(), quantity),
            TakerSide::Sell => walk_levels(self.bids.iter().rev(), quantity),
        }
    }

    /// Best price of the side a taker order consumes, in ticks.
    pub fn best(&self, side: TakerSide) -> Option<u64> {
        match side {
            TakerSide::Buy => self.asks.first_key_value().map(|(&p, _)| p),
            TakerSide::Sell => self.bids.last_key_value().map(|(&p, _)| p),
        }
    }

    /// Total size (lots) resting within `bps` of the best price on the consumed side.
    pub fn depth_within_bps(&self, side: TakerSide, bps: f64) -> u128 {
        let Some(best) = self.best(side) else {
            return 0;
        };
        let sum = |range: std::collections::btree_map::Range<'_, u64, u64>| {
            range.map(|(_, &s)| u128::from(s)).sum()
        };
        match side {
            TakerSide::Buy => sum(self.asks.range(..=bound(best, bps, side))),
            TakerSide::Sell => sum(self.bids.range(bound(best, bps, side)..)),
        }
    }
}

/// The worst price (ticks) within `bps` of `best`, computed in floats as a typical router does.
fn bound(best: u64, bps: f64, side: TakerSide) -> u64 {
    match side {
        TakerSide::Buy => (best as f64 * (1.0 + bps / 1e4)).floor() as u64,
        TakerSide::Sell => (best as f64 * (1.0 - bps / 1e4)).ceil() as u64,
    }
}

/// Parses one side of a depth message into `(price, size)` floats sorted best first.
pub fn parse_f64_side(
    levels: &[(String, String)],
    side: BookSide,
) -> Result<Vec<(f64, f64)>, ParseFloatError> {
    let mut out = levels
        .iter()
        .map(|(p, s)| Ok((p.parse::<f64>()?, s.parse::<f64>()?)))
        .collect::<Result<Vec<(f64, f64)>, ParseFloatError>>()?;
    match side {
        BookSide::Bid => out.sort_by(|a, b| b.0.total_cmp(&a.0)),
        BookSide::Ask => out.sort_by(|a, b| a.0.total_cmp(&b.0)),
    }
    Ok(out)
}

/// Parses one side of a depth message with `str::parse::<f64>` and keys it by rounded
/// fixed-point price and size in a `BTreeMap`.
pub fn parse_map_side(
    levels: &[(String, String)],
    price_decimals: u8,
    size_decimals: u8,
) -> Result<BTreeMap<u64, u64>, ParseFloatError> {
    let price_scale = 10f64.powi(i32::from(price_decimals));
    let size_scale = 10f64.powi(i32::from(size_decimals));
    levels
        .iter()
        .map(|(p, s)| {
            let price = (p.parse::<f64>()? * price_scale).round() as u64;
            let size = (s.parse::<f64>()? * size_scale).round() as u64;
            Ok((price, size))
        })
        .collect()
}

/// A venue's fee, latency and reliability, as the baseline ranking takes them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VenueStats {
    /// Taker fee in basis points.
    pub taker_fee_bps: f64,
    /// Round-trip latency in milliseconds.
    pub latency_ms: f64,
    /// Share of requests that succeed, in `[0, 1]`.
    pub reliability: f64,
}

/// One venue's place in the baseline ranking.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ranked {
    /// Position of the venue in the input.
    pub index: usize,
    /// Fills the whole order within the slippage bound.
    pub eligible: bool,
    /// Fee-inclusive price per unit of base, in quote.
    pub effective_price: f64,
    /// Weighted score in `[0, 1]`.
    pub score: f64,
}

/// The best-execution ranking written plainly: walk each map book, price the walk with the fee,
/// measure depth within the slippage bound, min-max normalise price / liquidity / latency /
/// reliability over the eligible venues, weight and sort (eligible first, best first).
/// `decimals` are the books' price and size decimals.
pub fn rank_venues(
    books: &[&MapBook],
    side: TakerSide,
    quantity: u64,
    venues: &[VenueStats],
    weights: [f64; 4],
    max_slippage_bps: f64,
    (price_decimals, size_decimals): (u8, u8),
) -> Vec<Ranked> {
    let lot = 10f64.powi(-i32::from(size_decimals));
    let quote = 10f64.powi(-i32::from(price_decimals + size_decimals));
    let mut raw = Vec::with_capacity(books.len());
    let mut ranked = Vec::with_capacity(books.len());
    for (index, (book, venue)) in books.iter().zip(venues).enumerate() {
        let walked = book.walk(side, quantity);
        let best = book.best(side).unwrap_or(0);
        let notional = walked.notional as f64 * quote;
        let fee = notional * venue.taker_fee_bps / 1e4;
        let total = match side {
            TakerSide::Buy => notional + fee,
            TakerSide::Sell => notional - fee,
        };
        let effective_price = if walked.filled == 0 {
            0.0
        } else {
            total / (walked.filled as f64 * lot)
        };
        // The same definition as the core: depth over the order, capped at ten times the order.
        let liquidity = (book.depth_within_bps(side, max_slippage_bps) as f64 / quantity as f64)
            .min(sor_core::score::LIQUIDITY_RATIO_CAP as f64);
        let limit = bound(best, max_slippage_bps, side);
        let within = walked.filled > 0
            && match side {
                TakerSide::Buy => walked.worst_price <= limit,
                TakerSide::Sell => walked.worst_price >= limit,
            };
        let price = match side {
            TakerSide::Buy => -effective_price,
            TakerSide::Sell => effective_price,
        };
        raw.push([price, liquidity, -venue.latency_ms, venue.reliability]);
        ranked.push(Ranked {
            index,
            eligible: walked.filled == quantity && within,
            effective_price,
            score: 0.0,
        });
    }
    let any_eligible = ranked.iter().any(|r| r.eligible);
    let mut low = [f64::INFINITY; 4];
    let mut high = [f64::NEG_INFINITY; 4];
    for (values, r) in raw.iter().zip(&ranked) {
        if any_eligible && !r.eligible {
            continue;
        }
        for k in 0..4 {
            low[k] = low[k].min(values[k]);
            high[k] = high[k].max(values[k]);
        }
    }
    let weight_sum: f64 = weights.iter().sum();
    for (values, r) in raw.iter().zip(&mut ranked) {
        r.score = (0..4)
            .map(|k| {
                let span = high[k] - low[k];
                let normalised = if span > 0.0 {
                    ((values[k] - low[k]) / span).clamp(0.0, 1.0)
                } else {
                    1.0
                };
                weights[k] / weight_sum * normalised
            })
            .sum();
    }
    ranked.sort_by(|a, b| {
        b.eligible
            .cmp(&a.eligible)
            .then(b.score.total_cmp(&a.score))
            .then(a.index.cmp(&b.index))
    });
    ranked
}

/// A baseline split of a buy across venues: merges the venues' ask maps by fee-adjusted price
/// with a binary heap and takes the cheapest levels greedily. Returns the lots per venue.
///
/// It enforces no lot size, minimum or cap; with the benches' lot-aligned sizes and order the
/// greedy split is already lot-aligned, so it does at most the work the core does.
pub fn allocate_buy(books: &[&MapBook], quantity: u64, taker_fee_bps: &[f64]) -> Vec<u64> {
    let mut parts = vec![0u64; books.len()];
    let mut cursors: Vec<_> = books.iter().map(|b| b.asks.iter().peekable()).collect();
    // Exact fee-adjusted price: ticks × (1e4 + fee in 1e-4 bps) ordered as integers.
    let fee_units: Vec<u128> = taker_fee_bps
        .iter()
        .map(|&f| 100_000_000 + (f * 1e4).round() as u128)
        .collect();
    let mut heap = BinaryHeap::with_capacity(books.len());
    for (venue, cursor) in cursors.iter_mut().enumerate() {
        if let Some(&(&price, _)) = cursor.peek() {
            heap.push(Reverse((u128::from(price) * fee_units[venue], venue)));
        }
    }
    let mut remaining = quantity;
    while remaining > 0 {
        let Some(Reverse((_, venue))) = heap.pop() else {
            break;
        };
        let Some((_, &size)) = cursors[venue].next() else {
            continue;
        };
        let take = size.min(remaining);
        parts[venue] += take;
        remaining -= take;
        if let Some(&(&price, _)) = cursors[venue].peek() {
            heap.push(Reverse((u128::from(price) * fee_units[venue], venue)));
        }
    }
    parts
}
