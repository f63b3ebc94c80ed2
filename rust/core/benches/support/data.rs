//! Seeded, realistic fixtures: BTC/USDT-like books of 1,000 levels a side, Binance-style decimal
//! strings and streams of book deltas that never cross.
//!
//! Everything comes from a hand-written SplitMix64 generator with fixed seeds, so every run of the
//! benches sees exactly the same books and deltas.

use std::collections::BTreeMap;

use sor_core::{Book, BookSide, Delta, Level};

/// Decimal places of prices (BTC/USDT: 0.01 USDT tick).
pub const PRICE_DECIMALS: u8 = 2;
/// Decimal places of sizes (Binance sends sizes with 8 decimals).
pub const SIZE_DECIMALS: u8 = 8;
/// Levels on each side of a generated book.
pub const LEVELS: usize = 1_000;
/// The quantity step, in lots: 0.00001 BTC, Binance's BTC/USDT lot size.
pub const LOT_STEP: u64 = 1_000;
/// Lots in one BTC at [`SIZE_DECIMALS`].
pub const ONE_BTC: u64 = 100_000_000;
/// The mid price the generated books sit around, in ticks (65,000.00 USDT).
pub const MID_TICKS: u64 = 6_500_000;

/// A tiny, fast, seedable pseudo-random generator (SplitMix64), good enough for fixtures.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator whose whole output is determined by `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 uniformly distributed bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A uniform integer in `[0, n)` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A standard normal variate (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.unit(); // (0, 1]: ln is finite
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// An integer in `[0, max]` skewed towards 0 (log-uniform): order-book activity is
    /// concentrated at the top of the book. With `max = 50`, about 18% of draws are 0 and half
    /// are below 7.
    pub fn near_top(&mut self, max: u64) -> u64 {
        let span = (max as f64 + 1.0).ln();
        let value = (self.unit() * span).exp() as u64;
        value.saturating_sub(1).min(max)
    }

    /// A resting order size in lots: log-normal with a median of 0.02 BTC (mean about 0.06),
    /// a multiple of [`LOT_STEP`], between one lot step and 25 BTC.
    pub fn level_size(&mut self) -> u64 {
        let btc = 0.02 * (1.5 * self.normal()).exp();
        let steps = (btc * ONE_BTC as f64 / LOT_STEP as f64).round() as u64;
        steps.clamp(1, 25 * ONE_BTC / LOT_STEP) * LOT_STEP
    }
}

/// Both sides of a book as best-first level lists, in ticks and lots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookLevels {
    /// Bids, highest price first.
    pub bids: Vec<Level>,
    /// Asks, lowest price first.
    pub asks: Vec<Level>,
}

/// A BTC/USDT-like book of [`LEVELS`] levels a side around `mid_ticks`.
///
/// The spread is usually one tick; consecutive levels are one tick apart except for an
/// occasional gap of two to five ticks (about one level in twelve); sizes follow
/// [`SplitMix64::level_size`].
pub fn book_levels(seed: u64, mid_ticks: u64) -> BookLevels {
    let mut rng = SplitMix64::new(seed);
    let best_bid = mid_ticks;
    let best_ask = best_bid + if rng.chance(0.7) { 1 } else { 1 + rng.below(3) };
    let mut side = |best: u64, down: bool| {
        let mut price = best;
        let mut levels = Vec::with_capacity(LEVELS);
        for _ in 0..LEVELS {
            levels.push(Level {
                price,
                size: rng.level_size(),
            });
            let step = if rng.chance(1.0 / 12.0) {
                2 + rng.below(4)
            } else {
                1
            };
            price = if down { price - step } else { price + step };
        }
        levels
    };
    let bids = side(best_bid, true);
    let asks = side(best_ask, false);
    BookLevels { bids, asks }
}

/// A book holding `levels` at the fixture precisions.
pub fn build_book(levels: &BookLevels) -> Book {
    let mut book = Book::new(PRICE_DECIMALS, SIZE_DECIMALS).expect("fixture precisions are valid");
    book.apply_snapshot(&levels.bids, &levels.asks, 1, 1)
        .expect("generated levels are sorted, positive and not crossed");
    book
}

/// A book holding `levels` whose ladders have room for twice as many levels, as a book that
/// has been live for a while has: its arrays grew once and kept their capacity, so deltas that
/// insert levels do not measure a one-off reallocation.
pub fn warm_book(levels: &BookLevels) -> Book {
    let deeper = |side: &[Level], down: bool| -> Vec<Level> {
        let worst = side.last().map_or(MID_TICKS, |l| l.price);
        let extra = (1..=side.len() as u64).map(|i| Level {
            price: if down { worst - i } else { worst + i },
            size: LOT_STEP,
        });
        side.iter().copied().chain(extra).collect()
    };
    let mut book = build_book(&BookLevels {
        bids: deeper(&levels.bids, true),
        asks: deeper(&levels.asks, false),
    });
    book.apply_snapshot(&levels.bids, &levels.asks, 1, 1)
        .expect("generated levels are sorted, positive and not crossed");
    book
}

/// `value` (a count of `10^-decimals`) written like Binance does: always 8 decimals
/// (`6500001` at 2 decimals → `"65000.01000000"`, `1000000` at 8 → `"0.01000000"`).
pub fn binance_decimal(value: u64, decimals: u8) -> String {
    let scale = 10u64.pow(u32::from(decimals));
    let padding = 10u64.pow(u32::from(8 - decimals));
    format!("{}.{:08}", value / scale, (value % scale) * padding)
}

/// One side of a depth message as exchanges send it: `[price, size]` string pairs.
pub type StringLevels = Vec<(String, String)>;

/// The book as the bid and ask string pairs of a Binance depth snapshot.
pub fn to_strings(levels: &BookLevels) -> (StringLevels, StringLevels) {
    let side = |levels: &[Level]| {
        levels
            .iter()
            .map(|l| {
                (
                    binance_decimal(l.price, PRICE_DECIMALS),
                    binance_decimal(l.size, SIZE_DECIMALS),
                )
            })
            .collect()
    };
    (side(&levels.bids), side(&levels.asks))
}

/// The base quantity (lots) whose buy walk touches exactly `n` ask levels: all of the first
/// `n - 1` and half of the `n`-th (at least one lot).
pub fn quantity_touching(levels: &BookLevels, n: usize) -> u64 {
    assert!(
        (1..=levels.asks.len()).contains(&n),
        "need 1..={} levels",
        levels.asks.len()
    );
    let full: u64 = levels.asks[..n - 1].iter().map(|l| l.size).sum();
    full + (levels.asks[n - 1].size / 2).max(1)
}

/// How many deltas of each kind a generated stream holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeltaMix {
    /// New size for an existing level.
    pub updates: usize,
    /// A level at a price that had none.
    pub inserts: usize,
    /// Size 0 for an existing level.
    pub removals: usize,
}

/// A stream of `count` deltas for the book `levels`, as a feed would send them: about 60%
/// updates, 20% inserts and 20% removals, nine in ten within 50 levels of the best (heavily
/// skewed to the very top), never crossing the book when applied in order.
///
/// The generator tracks the book as it goes, so updates and removals always hit existing
/// levels and inserts always create new ones (new best prices inside the spread included).
pub fn delta_stream(levels: &BookLevels, count: usize, seed: u64) -> (Vec<Delta>, DeltaMix) {
    let mut rng = SplitMix64::new(seed);
    let mut bids: BTreeMap<u64, u64> = levels.bids.iter().map(|l| (l.price, l.size)).collect();
    let mut asks: BTreeMap<u64, u64> = levels.asks.iter().map(|l| (l.price, l.size)).collect();
    let mut mix = DeltaMix::default();
    let mut deltas = Vec::with_capacity(count);
    while deltas.len() < count {
        let side = if rng.chance(0.5) {
            BookSide::Bid
        } else {
            BookSide::Ask
        };
        let best_bid = bids.last_key_value().map_or(0, |(&p, _)| p);
        let best_ask = asks.first_key_value().map_or(u64::MAX, |(&p, _)| p);
        let ladder = match side {
            BookSide::Bid => &mut bids,
            BookSide::Ask => &mut asks,
        };
        let depth = if rng.chance(0.9) {
            rng.near_top(50)
        } else {
            rng.below(ladder.len() as u64)
        } as usize;
        let existing = match side {
            BookSide::Bid => ladder.keys().rev().nth(depth).copied(),
            BookSide::Ask => ladder.keys().nth(depth).copied(),
        };
        let roll = rng.unit();
        let (price, size) = if roll < 0.2 {
            // Insert: probe outward from just inside the opposite best for a free price.
            let free = (0..16).find_map(|_| {
                let offset = rng.near_top(30);
                let price = match side {
                    BookSide::Bid => best_ask.checked_sub(1 + offset)?,
                    BookSide::Ask => best_bid.checked_add(1 + offset)?,
                };
                (price > 0 && !ladder.contains_key(&price)).then_some(price)
            });
            let Some(price) = free else { continue };
            mix.inserts += 1;
            (price, rng.level_size())
        } else if roll < 0.4 && ladder.len() > LEVELS - 50 {
            let Some(price) = existing else { continue };
            mix.removals += 1;
            (price, 0)
        } else {
            let Some(price) = existing else { continue };
            mix.updates += 1;
            (price, rng.level_size())
        };
        if size == 0 {
            ladder.remove(&price);
        } else {
            ladder.insert(price, size);
        }
        deltas.push(Delta { side, price, size });
    }
    (deltas, mix)
}
