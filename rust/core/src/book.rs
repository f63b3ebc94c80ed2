//! The order book: two ladders of exact price levels, updated by snapshots and deltas.
//!
//! A ladder keeps its levels in two contiguous arrays (keys and sizes) sorted so that the best
//! level is the *last* element: most updates touch the top of the book, and inserting or removing
//! near the end of a `Vec` moves almost nothing. Asks are stored under the key `!price`, so one
//! ascending order serves both sides.

use std::sync::{Mutex, TryLockError};

use thiserror::Error;

use crate::decimal::{DecimalError, check_decimals, excerpt, parse_fixed};

/// Which side of the book a level rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BookSide {
    /// Resting buy orders, best = highest price.
    Bid,
    /// Resting sell orders, best = lowest price.
    Ask,
}

/// The side of a taker order: a buy consumes asks, a sell consumes bids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TakerSide {
    /// Buying base currency: walks the asks upward.
    Buy,
    /// Selling base currency: walks the bids downward.
    Sell,
}

impl TakerSide {
    /// The book side this taker order consumes.
    #[must_use]
    pub fn consumes(self) -> BookSide {
        match self {
            Self::Buy => BookSide::Ask,
            Self::Sell => BookSide::Bid,
        }
    }
}

/// One price level: a price in ticks and a size in lots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Level {
    /// Price as an integer count of `10^-price_decimals`.
    pub price: u64,
    /// Size as an integer count of `10^-size_decimals`.
    pub size: u64,
}

/// One change to a book: set the size at a price on a side (size 0 removes the level).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Delta {
    /// The side the level rests on.
    pub side: BookSide,
    /// Price in ticks.
    pub price: u64,
    /// New size in lots; 0 removes the level.
    pub size: u64,
}

/// Why a book refused an update. The book is unchanged whenever one of these is returned.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BookError {
    /// A price or size could not be parsed at the book's precision.
    #[error("{field}: {source}")]
    Decimal {
        /// Which input the value was for (e.g. `bids[3].price`).
        field: String,
        /// What was wrong with it.
        source: DecimalError,
    },
    /// Snapshot levels are not strictly sorted best-first.
    #[error(
        "{side:?} levels are not strictly sorted best first: level {index} (price {price}) after price {previous}"
    )]
    Unsorted {
        /// The side whose levels are out of order.
        side: BookSide,
        /// The index of the offending level.
        index: usize,
        /// Its price in ticks.
        price: u64,
        /// The price (ticks) of the level before it.
        previous: u64,
    },
    /// The update would leave the best bid at or above the best ask.
    #[error("crossed book: best bid {bid} >= best ask {ask} (ticks)")]
    Crossed {
        /// Best bid in ticks.
        bid: u64,
        /// Best ask in ticks.
        ask: u64,
    },
    /// A price of zero.
    #[error("{field}: price must be positive")]
    ZeroPrice {
        /// Which input the price was for.
        field: String,
    },
}

/// Converts between a price in ticks and its raw ladder key (see [`Ladder::raw`]): bids store
/// the price, asks its bitwise complement, so both sides ascend towards the best level. The
/// mapping is its own inverse.
#[must_use]
#[inline]
pub const fn key_price(side: BookSide, value: u64) -> u64 {
    match side {
        BookSide::Bid => value,
        BookSide::Ask => !value,
    }
}

/// Levels summed per chunk of depth: a chunk of this many sizes vectorises.
const DEPTH_CHUNK: usize = 64;

/// The cumulative depth of a ladder's best levels, per [`DEPTH_CHUNK`] levels from the best,
/// for the version of the ladder it was computed on: `totals[c]` is the total size of the best
/// `(c + 1) * DEPTH_CHUNK` levels. It is extended on demand (never further than a query
/// needs) and emptied by every write, so every order reading a version shares the sums the
/// first one computed.
///
/// A copy of a ladder starts with an empty cache, and two ladders compare equal whatever their
/// caches hold: it is not part of the book's state.
#[derive(Default)]
struct DepthCache {
    sums: Mutex<DepthSums>,
}

/// What a [`DepthCache`] holds for one version of its ladder.
#[derive(Default)]
struct DepthSums {
    /// `totals[c]`: the total size of the best `(c + 1) * DEPTH_CHUNK` levels.
    totals: Vec<u128>,
    /// The last bound queried: the orders reading a version mostly share one (the same best
    /// price and slippage bound), so its search and its partial chunk are done once.
    last: Option<BoundSums>,
}

/// One bound's place in the ladder: its key, the position of the first level within it, and
/// the total of the levels past the last whole chunk within it (the worst ones).
#[derive(Clone, Copy)]
struct BoundSums {
    key: u64,
    start: usize,
    partial: u128,
}

impl DepthCache {
    /// Forgets the sums (the ladder is being written); no lock is taken.
    #[inline]
    fn invalidate(&mut self) {
        let sums = self
            .sums
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !sums.totals.is_empty() || sums.last.is_some() {
            sums.totals.clear();
            sums.last = None;
        }
    }
}

impl Clone for DepthCache {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl PartialEq for DepthCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for DepthCache {}

impl std::fmt::Debug for DepthCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DepthCache")
    }
}

/// One side of the book: levels sorted with the best one last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ladder {
    side: BookSide,
    /// `price` for bids, `!price` for asks; ascending, so the best level is last.
    keys: Vec<u64>,
    sizes: Vec<u64>,
    /// Depth sums of this version, shared by the orders that read it.
    depth: DepthCache,
}

impl Ladder {
    /// An empty ladder for a side.
    #[must_use]
    pub fn new(side: BookSide) -> Self {
        Self {
            side,
            keys: Vec::new(),
            sizes: Vec::new(),
            depth: DepthCache::default(),
        }
    }

    /// The side this ladder holds.
    #[must_use]
    pub fn side(&self) -> BookSide {
        self.side
    }

    #[inline]
    fn key(&self, price: u64) -> u64 {
        key_price(self.side, price)
    }

    /// Number of price levels.
    #[must_use]
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when the ladder holds no level.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The best level, if any.
    #[must_use]
    pub fn best(&self) -> Option<Level> {
        self.nth_from_best(0)
    }

    /// The level `n` places from the best (0 = best).
    #[must_use]
    #[inline]
    pub fn nth_from_best(&self, n: usize) -> Option<Level> {
        let len = self.keys.len();
        (n < len).then(|| {
            let i = len - 1 - n;
            Level {
                price: self.key(self.keys[i]),
                size: self.sizes[i],
            }
        })
    }

    /// Levels from the best outward.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Level> + DoubleEndedIterator + '_ {
        let side = self.side;
        self.keys
            .iter()
            .zip(&self.sizes)
            .rev()
            .map(move |(&key, &size)| Level {
                price: key_price(side, key),
                size,
            })
    }

    /// The size resting at a price (0 when there is no level).
    #[must_use]
    pub fn size_at(&self, price: u64) -> u64 {
        match self.keys.binary_search(&self.key(price)) {
            Ok(i) => self.sizes[i],
            Err(_) => 0,
        }
    }

    /// Position of `key` in `keys` (`Ok`) or where it would be inserted (`Err`).
    ///
    /// Most updates land near the best level, which is at the end: the last few keys are scanned
    /// linearly before falling back to a binary search of the rest.
    #[inline]
    fn find(&self, key: u64) -> Result<usize, usize> {
        const NEAR_TOP: usize = 16;
        let len = self.keys.len();
        let near = len.saturating_sub(NEAR_TOP);
        if len > 0 && key >= self.keys[near] {
            let mut i = len;
            while i > near {
                let k = self.keys[i - 1];
                if k == key {
                    return Ok(i - 1);
                }
                if k < key {
                    return Err(i);
                }
                i -= 1;
            }
            return Err(near);
        }
        self.keys[..near].binary_search(&key)
    }

    /// Sets the size at a price (0 removes it) and returns the size that was there before.
    pub fn set(&mut self, price: u64, size: u64) -> u64 {
        self.depth.invalidate();
        let key = self.key(price);
        match self.find(key) {
            Ok(i) if size == 0 => {
                self.keys.remove(i);
                self.sizes.remove(i)
            }
            Ok(i) => std::mem::replace(&mut self.sizes[i], size),
            Err(_) if size == 0 => 0,
            Err(i) => {
                self.keys.insert(i, key);
                self.sizes.insert(i, size);
                0
            }
        }
    }

    /// The raw arrays: keys (`price` for bids, `!price` for asks) and sizes, best level last.
    #[must_use]
    #[inline]
    pub fn raw(&self) -> (&[u64], &[u64]) {
        (&self.keys, &self.sizes)
    }

    /// Total size of the levels whose price is at least as good as `limit`, counting from the
    /// best level and stopping early once the total reaches `cap` (the result is then `>= cap`).
    ///
    /// The sums are cached per version of the ladder ([`DepthCache`]): the first query after a
    /// write sums what it needs (as many levels as a plain sum would), later ones look it up
    /// and add at most one chunk's levels.
    #[must_use]
    pub fn size_up_to_capped(&self, limit: u64, cap: u128) -> u128 {
        let limit_key = self.key(limit);
        let mut sums = match self.depth.sums.try_lock() {
            Ok(sums) => sums,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            // Another reader is extending the sums: sum directly rather than wait.
            Err(TryLockError::WouldBlock) => {
                let start = self.keys.partition_point(|&k| k < limit_key);
                return plain_sum(&self.sizes[start..], cap);
            }
        };
        let bound = match sums.last {
            Some(bound) if bound.key == limit_key => bound,
            _ => {
                let start = self.keys.partition_point(|&k| k < limit_key);
                let rest = (self.sizes.len() - start) % DEPTH_CHUNK;
                let bound = BoundSums {
                    key: limit_key,
                    start,
                    partial: chunk_sum(&self.sizes[start..start + rest]),
                };
                sums.last = Some(bound);
                bound
            }
        };
        let chunks = (self.sizes.len() - bound.start) / DEPTH_CHUNK;
        if chunks == 0 {
            return bound.partial;
        }
        let end = self.sizes.len();
        while sums.totals.len() < chunks {
            let last = sums.totals.last().copied().unwrap_or(0);
            if last >= cap {
                return last; // the best levels already reach the cap
            }
            let c = sums.totals.len();
            let chunk = &self.sizes[end - (c + 1) * DEPTH_CHUNK..end - c * DEPTH_CHUNK];
            sums.totals.push(last + chunk_sum(chunk));
        }
        let whole = sums.totals[chunks - 1];
        drop(sums);
        if whole >= cap {
            whole
        } else {
            whole + bound.partial
        }
    }

    /// Total size of the levels whose price is at least as good as `limit`.
    #[must_use]
    pub fn size_up_to(&self, limit: u64) -> u128 {
        self.size_up_to_capped(limit, u128::MAX)
    }

    /// Replaces every level from a best-first list, refusing unsorted input without changing.
    fn replace(&mut self, levels: &[Level]) -> Result<(), BookError> {
        self.check_sorted(levels)?;
        self.depth.invalidate();
        self.keys.clear();
        self.sizes.clear();
        self.keys.reserve(levels.len());
        self.sizes.reserve(levels.len());
        for level in levels.iter().rev().filter(|l| l.size > 0) {
            self.keys.push(self.key(level.price));
            self.sizes.push(level.size);
        }
        Ok(())
    }

    fn check_sorted(&self, levels: &[Level]) -> Result<(), BookError> {
        for (index, pair) in levels.windows(2).enumerate() {
            let (previous, current) = (pair[0].price, pair[1].price);
            // Best first means keys strictly descending.
            if self.key(current) >= self.key(previous) {
                return Err(BookError::Unsorted {
                    side: self.side,
                    index: index + 1,
                    price: current,
                    previous,
                });
            }
        }
        for (index, level) in levels.iter().enumerate() {
            if level.price == 0 {
                return Err(BookError::ZeroPrice {
                    field: format!("{}[{index}].price", side_name(self.side)),
                });
            }
        }
        Ok(())
    }
}

/// The total of up to a few chunks of sizes: 32-bit halves summed in u64 lanes, which
/// vectorises (a chunk of [`DEPTH_CHUNK`] sizes cannot overflow a lane).
#[inline]
fn chunk_sum(sizes: &[u64]) -> u128 {
    let (mut low, mut high) = (0u64, 0u64);
    for &size in sizes {
        low += size & 0xFFFF_FFFF;
        high += size >> 32;
    }
    (u128::from(high) << 32) + u128::from(low)
}

/// The total of `sizes` summed from the best end (the last element) a chunk at a time,
/// stopping once it reaches `cap`.
fn plain_sum(sizes: &[u64], cap: u128) -> u128 {
    let mut total: u128 = 0;
    for chunk in sizes.rchunks(DEPTH_CHUNK) {
        total += chunk_sum(chunk);
        if total >= cap {
            break;
        }
    }
    total
}

/// The plural name of a side as used in field paths (`bids`, `asks`).
#[must_use]
pub fn side_name(side: BookSide) -> &'static str {
    match side {
        BookSide::Bid => "bids",
        BookSide::Ask => "asks",
    }
}

/// An order book for one market on one venue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Book {
    bids: Ladder,
    asks: Ladder,
    price_decimals: u8,
    size_decimals: u8,
    sequence: u64,
    updated_at_ns: u64,
    version: u64,
    /// Reused undo log of `apply_deltas` (always empty between calls).
    undo: Vec<(BookSide, u64, u64)>,
}

impl Book {
    /// An empty book whose prices have `price_decimals` and sizes `size_decimals` places.
    pub fn new(price_decimals: u8, size_decimals: u8) -> Result<Self, DecimalError> {
        check_decimals(price_decimals)?;
        check_decimals(size_decimals)?;
        Ok(Self {
            bids: Ladder::new(BookSide::Bid),
            asks: Ladder::new(BookSide::Ask),
            price_decimals,
            size_decimals,
            sequence: 0,
            updated_at_ns: 0,
            version: 0,
            undo: Vec::new(),
        })
    }

    /// Decimal places of prices.
    #[must_use]
    pub fn price_decimals(&self) -> u8 {
        self.price_decimals
    }

    /// Decimal places of sizes.
    #[must_use]
    pub fn size_decimals(&self) -> u8 {
        self.size_decimals
    }

    /// The exchange sequence number of the last update applied.
    #[must_use]
    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    /// When the last update was applied, in nanoseconds since the Unix epoch.
    #[must_use]
    pub fn updated_at_ns(&self) -> u64 {
        self.updated_at_ns
    }

    /// A counter bumped by every successful update; equal versions mean equal contents.
    #[must_use]
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The bid ladder.
    #[must_use]
    pub fn bids(&self) -> &Ladder {
        &self.bids
    }

    /// The ask ladder.
    #[must_use]
    pub fn asks(&self) -> &Ladder {
        &self.asks
    }

    /// The ladder for a side.
    #[must_use]
    pub fn ladder(&self, side: BookSide) -> &Ladder {
        match side {
            BookSide::Bid => &self.bids,
            BookSide::Ask => &self.asks,
        }
    }

    fn ladder_mut(&mut self, side: BookSide) -> &mut Ladder {
        match side {
            BookSide::Bid => &mut self.bids,
            BookSide::Ask => &mut self.asks,
        }
    }

    /// Best bid and best ask prices if the book is crossed (best bid >= best ask).
    #[must_use]
    pub fn crossing(&self) -> Option<(u64, u64)> {
        match (self.bids.best(), self.asks.best()) {
            (Some(bid), Some(ask)) if bid.price >= ask.price => Some((bid.price, ask.price)),
            _ => None,
        }
    }

    fn stamp(&mut self, sequence: Option<u64>, timestamp_ns: u64) {
        if let Some(sequence) = sequence {
            self.sequence = sequence;
        }
        self.updated_at_ns = timestamp_ns;
        self.version += 1;
    }

    /// Replaces the whole book from best-first bid and ask levels (zero sizes are skipped).
    ///
    /// Refuses unsorted, zero-priced or crossed input and leaves the book unchanged.
    pub fn apply_snapshot(
        &mut self,
        bids: &[Level],
        asks: &[Level],
        sequence: u64,
        timestamp_ns: u64,
    ) -> Result<(), BookError> {
        self.bids.check_sorted(bids)?;
        self.asks.check_sorted(asks)?;
        let best_bid = bids.iter().find(|l| l.size > 0);
        let best_ask = asks.iter().find(|l| l.size > 0);
        if let (Some(bid), Some(ask)) = (best_bid, best_ask)
            && bid.price >= ask.price
        {
            return Err(BookError::Crossed {
                bid: bid.price,
                ask: ask.price,
            });
        }
        self.bids.replace(bids)?;
        self.asks.replace(asks)?;
        self.stamp(Some(sequence), timestamp_ns);
        Ok(())
    }

    /// Applies deltas in order, all or nothing: if the result would be crossed, or a price is
    /// zero, the book is restored and left exactly as it was.
    pub fn apply_deltas(
        &mut self,
        deltas: &[Delta],
        sequence: Option<u64>,
        timestamp_ns: u64,
    ) -> Result<(), BookError> {
        if let Some(index) = deltas.iter().position(|d| d.price == 0) {
            return Err(BookError::ZeroPrice {
                field: format!("deltas[{index}].price"),
            });
        }
        let mut undo = std::mem::take(&mut self.undo);
        undo.clear();
        for delta in deltas {
            let old = self.ladder_mut(delta.side).set(delta.price, delta.size);
            undo.push((delta.side, delta.price, old));
        }
        let crossed = self.crossing();
        if crossed.is_some() {
            for &(side, price, old) in undo.iter().rev() {
                self.ladder_mut(side).set(price, old);
            }
        }
        undo.clear();
        self.undo = undo;
        if let Some((bid, ask)) = crossed {
            return Err(BookError::Crossed { bid, ask });
        }
        self.stamp(sequence, timestamp_ns);
        Ok(())
    }

    /// Applies one delta; refused (and the book unchanged) if it would cross the book.
    pub fn apply_delta(
        &mut self,
        delta: Delta,
        sequence: Option<u64>,
        timestamp_ns: u64,
    ) -> Result<(), BookError> {
        if delta.price == 0 {
            return Err(BookError::ZeroPrice {
                field: "price".to_owned(),
            });
        }
        let old = self.ladder_mut(delta.side).set(delta.price, delta.size);
        if let Some((bid, ask)) = self.crossing() {
            self.ladder_mut(delta.side).set(delta.price, old);
            return Err(BookError::Crossed { bid, ask });
        }
        self.stamp(sequence, timestamp_ns);
        Ok(())
    }

    /// Removes every level (e.g. before a resync) and bumps the version.
    pub fn clear(&mut self, timestamp_ns: u64) {
        self.bids = Ladder::new(BookSide::Bid);
        self.asks = Ladder::new(BookSide::Ask);
        self.sequence = 0;
        self.stamp(None, timestamp_ns);
    }

    /// Best ask minus best bid, in ticks.
    #[must_use]
    pub fn spread(&self) -> Option<u64> {
        match (self.bids.best(), self.asks.best()) {
            (Some(bid), Some(ask)) => Some(ask.price.saturating_sub(bid.price)),
            _ => None,
        }
    }

    /// Mid price (average of best bid and best ask) in ticks, as a float.
    #[must_use]
    pub fn mid_ticks(&self) -> Option<f64> {
        match (self.bids.best(), self.asks.best()) {
            (Some(bid), Some(ask)) => Some((bid.price as f64 + ask.price as f64) / 2.0),
            _ => None,
        }
    }

    /// Total size (lots) on a side within `bps` basis points of that side's best price.
    ///
    /// `bps` is exact to 1e-4 bps: asks up to `best * (1 + bps/1e4)` (rounded down to a tick),
    /// bids down to `best * (1 - bps/1e4)` (rounded up). Levels exactly on the bound count.
    #[must_use]
    pub fn depth_within_bps(&self, side: BookSide, bps: Bps) -> u128 {
        self.depth_within_bps_capped(side, bps, u128::MAX)
    }

    /// Like [`Book::depth_within_bps`], but may stop counting once the depth reaches `cap`
    /// (the result is exact below `cap`, and `>= cap` otherwise).
    #[must_use]
    pub fn depth_within_bps_capped(&self, side: BookSide, bps: Bps, cap: u128) -> u128 {
        let ladder = self.ladder(side);
        match ladder.best() {
            None => 0,
            Some(best) => ladder.size_up_to_capped(bps.bound(best.price, side), cap),
        }
    }
}

/// A non-negative number of basis points, held exactly in units of 1e-4 bps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bps(pub u64);

/// Units of [`Bps`] in one whole (1 = 10,000 bps = 10^8 units).
pub const BPS_UNITS_PER_ONE: u64 = 100_000_000;

/// Decimal places of a number of basis points that [`Bps`] holds exactly (1e-4 bps).
pub const BPS_DECIMALS: u8 = 4;

/// Why a taker fee was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FeeError {
    /// Not an exact non-negative decimal with at most [`BPS_DECIMALS`] places.
    #[error("{0} (fees are exact to 1e-4 bps)")]
    Decimal(#[from] DecimalError),
    /// 10,000 bps (100%) or more.
    #[error("{0} bps is not below 10000 (a fee of 100% or more)")]
    TooLarge(String),
}

impl Bps {
    /// Parses a decimal number of basis points exactly (at most [`BPS_DECIMALS`] places).
    ///
    /// `"7.5"` is 75,000 units; `"0.00004"` is refused as too precise, never rounded to 0.
    pub fn parse(text: &str) -> Result<Self, DecimalError> {
        parse_fixed(text, BPS_DECIMALS).map(Self)
    }

    /// Parses a taker fee in basis points: exact to 1e-4 bps, at least 0 and below 10,000
    /// (100%).
    pub fn parse_fee(text: &str) -> Result<Self, FeeError> {
        let bps = Self::parse(text)?;
        if bps.0 >= BPS_UNITS_PER_ONE {
            return Err(FeeError::TooLarge(excerpt(text)));
        }
        Ok(bps)
    }

    /// Converts a float number of basis points, rounded to 1e-4 bps (for Rust callers and
    /// tests; the Python binding parses every bps argument exactly with [`Bps::parse`]).
    pub fn from_f64(bps: f64) -> Result<Self, DecimalError> {
        if !bps.is_finite() || !(0.0..=1e12).contains(&bps) {
            return Err(DecimalError::BadFloat(bps.to_string()));
        }
        Ok(Self((bps * 1e4).round() as u64))
    }

    /// The exact bps a float stands for, without formatting it: what [`Bps::parse`] makes of
    /// the shortest text that reads back as `bps` (Python's `repr`), when that text has at
    /// most four decimals and the float is below 10^9 bps; `None` otherwise (parse the text
    /// then, for the result or the error).
    ///
    /// Below 10^9 floats are spaced less than 10^-7 apart, so at most one multiple of 10^-4
    /// reads back as a given float, and the shortest text is that multiple when it exists.
    #[must_use]
    pub fn from_f64_exact(bps: f64) -> Option<Self> {
        if !(0.0..1e9).contains(&bps) {
            return None;
        }
        let units = (bps * 1e4).round();
        // k / 10^4 for an integer k < 2^53 is correctly rounded: the float nearest the decimal.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        // 0 <= units < 10^13
        ((units / 1e4) == bps).then_some(Self(units as u64))
    }

    /// As a float number of basis points.
    #[must_use]
    pub fn as_f64(self) -> f64 {
        self.0 as f64 / 1e4
    }

    /// The worst price (ticks) still within this many bps of `best` on a side.
    #[must_use]
    pub fn bound(self, best: u64, side: BookSide) -> u64 {
        // Usual magnitudes fit u64, where dividing by the constant is a multiplication;
        // u128 division is a library call.
        let factor = match side {
            BookSide::Ask => BPS_UNITS_PER_ONE.checked_add(self.0),
            BookSide::Bid => Some(BPS_UNITS_PER_ONE.saturating_sub(self.0)),
        };
        if let Some(product) = factor.and_then(|f| best.checked_mul(f)) {
            return match side {
                BookSide::Ask => product / BPS_UNITS_PER_ONE,
                BookSide::Bid => product.div_ceil(BPS_UNITS_PER_ONE).max(1),
            };
        }
        let best = u128::from(best);
        let one = u128::from(BPS_UNITS_PER_ONE);
        let units = u128::from(self.0);
        match side {
            BookSide::Ask => {
                let bound = best * (one + units) / one;
                u64::try_from(bound).unwrap_or(u64::MAX)
            }
            BookSide::Bid => {
                let factor = one.saturating_sub(units);
                let bound = (best * factor).div_ceil(one);
                // Never below one tick: a zero price does not exist.
                u64::try_from(bound).unwrap_or(u64::MAX).max(1)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn lv(price: u64, size: u64) -> Level {
        Level { price, size }
    }

    fn sample() -> Book {
        let mut book = Book::new(2, 8).unwrap();
        book.apply_snapshot(
            &[lv(100, 5), lv(99, 7), lv(97, 1)],
            &[lv(101, 2), lv(102, 3), lv(105, 4)],
            10,
            1,
        )
        .unwrap();
        book
    }

    #[test]
    fn snapshot_keeps_best_levels_first() {
        let book = sample();
        assert_eq!(book.bids().best(), Some(lv(100, 5)));
        assert_eq!(book.asks().best(), Some(lv(101, 2)));
        let asks: Vec<_> = book.asks().iter().collect();
        assert_eq!(asks, vec![lv(101, 2), lv(102, 3), lv(105, 4)]);
        assert_eq!(book.spread(), Some(1));
        assert_eq!(book.mid_ticks(), Some(100.5));
        assert_eq!(book.sequence(), 10);
    }

    #[test]
    fn unsorted_or_crossed_snapshot_leaves_book_unchanged() {
        let mut book = sample();
        let before = book.clone();
        let err = book.apply_snapshot(&[lv(99, 1), lv(100, 1)], &[], 11, 2);
        assert!(matches!(err, Err(BookError::Unsorted { index: 1, .. })));
        let err = book.apply_snapshot(&[lv(101, 1)], &[lv(101, 1)], 11, 2);
        assert!(matches!(
            err,
            Err(BookError::Crossed { bid: 101, ask: 101 })
        ));
        let err = book.apply_snapshot(&[lv(100, 1), lv(100, 2)], &[], 11, 2);
        assert!(matches!(err, Err(BookError::Unsorted { .. })));
        assert_eq!(book, before);
    }

    #[test]
    fn delta_sets_inserts_and_removes_levels() {
        let mut book = sample();
        book.apply_delta(
            Delta {
                side: BookSide::Bid,
                price: 98,
                size: 3,
            },
            Some(11),
            2,
        )
        .unwrap();
        book.apply_delta(
            Delta {
                side: BookSide::Ask,
                price: 101,
                size: 0,
            },
            Some(12),
            3,
        )
        .unwrap();
        book.apply_delta(
            Delta {
                side: BookSide::Ask,
                price: 103,
                size: 0,
            },
            None,
            4,
        )
        .unwrap();
        let bids: Vec<_> = book.bids().iter().map(|l| l.price).collect();
        assert_eq!(bids, vec![100, 99, 98, 97]);
        assert_eq!(book.asks().best(), Some(lv(102, 3)));
        assert_eq!(book.sequence(), 12);
        assert_eq!(book.version(), 4);
    }

    #[test]
    fn crossing_delta_batch_is_rolled_back() {
        let mut book = sample();
        let before = book.clone();
        let deltas = [
            Delta {
                side: BookSide::Ask,
                price: 101,
                size: 9,
            },
            Delta {
                side: BookSide::Bid,
                price: 100,
                size: 0,
            },
            Delta {
                side: BookSide::Bid,
                price: 102,
                size: 1,
            },
        ];
        assert!(matches!(
            book.apply_deltas(&deltas, Some(11), 2),
            Err(BookError::Crossed { bid: 102, ask: 101 })
        ));
        assert_eq!(book, before);
    }

    #[test]
    fn depth_within_bps_counts_levels_on_the_bound() {
        let mut book = Book::new(0, 0).unwrap();
        book.apply_snapshot(
            &[lv(10_000, 1), lv(9_990, 2), lv(9_989, 4)],
            &[lv(10_001, 1), lv(10_011, 2), lv(10_012, 4)],
            1,
            1,
        )
        .unwrap();
        let ten = Bps::from_f64(10.0).unwrap();
        // 10_001 * 1.001 = 10_011.001 -> 10_011 is inside, 10_012 outside.
        assert_eq!(book.depth_within_bps(BookSide::Ask, ten), 3);
        // 10_000 * 0.999 = 9_990 exactly -> on the bound.
        assert_eq!(book.depth_within_bps(BookSide::Bid, ten), 3);
    }

    fn arb_side() -> impl Strategy<Value = BookSide> {
        prop_oneof![Just(BookSide::Bid), Just(BookSide::Ask)]
    }

    /// What the binding did before the fast path: parse the float's shortest text.
    fn parsed(bps: f64) -> Option<Bps> {
        Bps::parse(&bps.to_string()).ok()
    }

    #[test]
    fn floats_that_need_their_text_are_left_to_it() {
        for bps in [
            0.00001,
            1e9,
            1e300,
            -1.0,
            f64::NAN,
            f64::INFINITY,
            0.1 + 0.2,
        ] {
            assert_eq!(Bps::from_f64_exact(bps), None, "{bps}");
        }
        assert_eq!(Bps::from_f64_exact(-0.0), Some(Bps(0)));
        assert_eq!(Bps::from_f64_exact(7.5), Some(Bps(75_000)));
        assert_eq!(Bps::from_f64_exact(0.0001), Some(Bps(1)));
    }

    proptest! {
        /// Reading a float's bps without its text agrees with parsing the text, wherever the
        /// fast path answers; and it answers for every multiple of 1e-4 below 10^9.
        #[test]
        fn float_bps_equal_their_parsed_text(units in 0u64..10_000_000_000_000, bits: u64) {
            let bps = units as f64 / 1e4;
            prop_assert_eq!(Bps::from_f64_exact(bps), Some(Bps(units)));
            prop_assert_eq!(parsed(bps), Some(Bps(units)));
            let any = f64::from_bits(bits);
            if let Some(fast) = Bps::from_f64_exact(any) {
                prop_assert_eq!(Some(fast), parsed(any));
            }
            let near = f64::from_bits(bps.to_bits() + 1);
            if let Some(fast) = Bps::from_f64_exact(near) {
                prop_assert_eq!(Some(fast), parsed(near));
            }
        }

        /// The u64 fast path of `Bps::bound` equals exact rational rounding.
        #[test]
        fn bps_bound_rounds_exactly(best in 1u64..u64::MAX, units in 0u64..200_000_000, ask: bool) {
            let one = u128::from(BPS_UNITS_PER_ONE);
            let b = u128::from(best);
            let want = if ask {
                u64::try_from(b * (one + u128::from(units)) / one).unwrap_or(u64::MAX)
            } else {
                u64::try_from((b * one.saturating_sub(u128::from(units))).div_ceil(one))
                    .unwrap_or(u64::MAX)
                    .max(1)
            };
            let side = if ask { BookSide::Ask } else { BookSide::Bid };
            prop_assert_eq!(Bps(units).bound(best, side), want);
        }

        /// The ladder agrees with a BTreeMap after any sequence of sets.
        #[test]
        fn ladder_matches_a_map_model(
            side in arb_side(),
            ops in proptest::collection::vec((1u64..60, 0u64..4), 0..200),
        ) {
            let mut ladder = Ladder::new(side);
            let mut model = BTreeMap::new();
            for (price, size) in ops {
                let old = ladder.set(price, size);
                let model_old = if size == 0 { model.remove(&price) } else { model.insert(price, size) };
                prop_assert_eq!(old, model_old.unwrap_or(0));
            }
            let got: Vec<(u64, u64)> = ladder.iter().map(|l| (l.price, l.size)).collect();
            let want: Vec<(u64, u64)> = match side {
                BookSide::Bid => model.iter().rev().map(|(&p, &s)| (p, s)).collect(),
                BookSide::Ask => model.iter().map(|(&p, &s)| (p, s)).collect(),
            };
            prop_assert_eq!(got, want);
        }

        /// Depth up to a price, capped, equals a plain sum of the model's levels whatever was
        /// queried before (the per-version cache) and after any writes (which empty it): exact
        /// below the cap, at least the cap otherwise.
        #[test]
        fn cached_depth_equals_a_plain_sum(
            side in arb_side(),
            sizes in proptest::collection::vec(1u64..u64::MAX / 2, 0..400),
            steps in proptest::collection::vec(
                (0u64..420, 0u128..u128::from(u64::MAX) * 200, 0u64..420, 0u64..4, any::<bool>()),
                1..12,
            ),
        ) {
            let mut ladder = Ladder::new(side);
            let mut model = BTreeMap::new();
            for (i, &size) in sizes.iter().enumerate() {
                let price = i as u64 + 1;
                ladder.set(price, size);
                model.insert(price, size);
            }
            let mut previous = None;
            for (limit, cap, write_price, write_size, again) in steps {
                // Some steps query the previous step's bound again, after its write or not.
                let limit = if again { previous.unwrap_or(limit) } else { limit };
                previous = Some(limit);
                let want: u128 = model
                    .iter()
                    .filter(|&(&p, _)| match side {
                        BookSide::Bid => p >= limit,
                        BookSide::Ask => p <= limit,
                    })
                    .map(|(_, &s)| u128::from(s))
                    .sum();
                // Twice: the second query finds the bound the first remembered.
                for _ in 0..2 {
                    let got = ladder.size_up_to_capped(limit, cap);
                    if want < cap {
                        prop_assert_eq!(got, want);
                    } else {
                        prop_assert!(got >= cap && got <= want, "got {} want {} cap {}", got, want, cap);
                    }
                }
                prop_assert_eq!(ladder.size_up_to(limit), want);
                let copy = ladder.clone();
                prop_assert_eq!(copy.size_up_to(limit), want);
                // Some steps query again without a write between (the remembered bound and
                // sums stand); the others write a level (which forgets them).
                if write_size < 3 {
                    let write_size = write_size * (u64::MAX / 4);
                    ladder.set(write_price + 1, write_size);
                    if write_size == 0 { model.remove(&(write_price + 1)); } else { model.insert(write_price + 1, write_size); }
                }
            }
        }

        /// A rejected delta batch never changes the book; an accepted one is never crossed.
        #[test]
        fn delta_batches_are_all_or_nothing(
            deltas in proptest::collection::vec((arb_side(), 90u64..112, 0u64..4), 0..20),
        ) {
            let mut book = sample();
            let before = book.clone();
            let deltas: Vec<Delta> = deltas
                .into_iter()
                .map(|(side, price, size)| Delta { side, price, size })
                .collect();
            match book.apply_deltas(&deltas, Some(99), 5) {
                Ok(()) => prop_assert!(book.crossing().is_none()),
                Err(_) => prop_assert_eq!(book, before),
            }
        }
    }
}
