//! Walking one side of a book: what a taker order of a given size would fill, and at what price.

use thiserror::Error;

use crate::book::{BPS_UNITS_PER_ONE, BookSide, Bps, Ladder, TakerSide};
use crate::decimal::{to_f64, u128_to_f64};

/// What a walk should stop at. Every bound that is set applies; the first reached stops the walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WalkLimits {
    /// Stop after this many lots of base quantity.
    pub quantity: Option<u64>,
    /// Stop before spending (or receiving) more than this notional, in units of
    /// `10^-(price_decimals + size_decimals)` quote.
    pub notional: Option<u128>,
    /// Do not take levels priced worse than this (ticks).
    pub limit_price: Option<u64>,
}

/// Why [`try_walk`] refused a walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum WalkError {
    /// No quantity, notional or limit price: the walk would take the whole side.
    #[error(
        "a walk needs a quantity, a notional or a limit price (without one it takes the whole side)"
    )]
    Unbounded,
    /// A quantity of zero lots.
    #[error("quantity must be positive")]
    ZeroQuantity,
    /// A notional of zero.
    #[error("notional must be positive")]
    ZeroNotional,
    /// The fill within the bounds is more than `u64::MAX` lots (or its notional more than
    /// `u128::MAX` units): too large to report exactly.
    #[error(
        "the side holds more than {} lots within these bounds, more than a walk can report; bound it with a quantity",
        u64::MAX
    )]
    TooLarge,
}

/// The outcome of a walk, in exact integers at the book's precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Walk {
    /// Base quantity filled, in lots.
    pub filled: u64,
    /// Quote notional of the fill, in units of `10^-(price_decimals + size_decimals)`.
    pub notional: u128,
    /// Best price of the side when the walk started, in ticks (0 if the side was empty).
    pub best_price: u64,
    /// Price of the last level taken from, in ticks (0 if nothing filled).
    pub worst_price: u64,
    /// Number of levels taken from, including a partly taken last level.
    pub levels: u32,
    /// True if a quantity or notional target was reached (always true for a limit-only walk).
    ///
    /// A quantity target is reached when that many lots were filled. A notional target is
    /// reached when it was spent exactly, or when the walk stopped at a level that is still in
    /// the book (partly taken, or past the limit price) because one more lot there would cost
    /// more than the notional left. A side that runs out before the target is reached is
    /// incomplete, however little notional is left; so is a walk the limit price stopped while
    /// the next level was still affordable.
    pub complete: bool,
}

impl Walk {
    /// Average fill price as a float in quote units (`None` if nothing filled).
    #[must_use]
    pub fn average_price(&self, price_decimals: u8) -> Option<f64> {
        self.average_ticks()
            .map(|ticks| ticks / 10f64.powi(i32::from(price_decimals)))
    }

    /// Average fill price in ticks, as a float (`None` if nothing filled).
    #[must_use]
    pub fn average_ticks(&self) -> Option<f64> {
        (self.filled > 0).then(|| u128_to_f64(self.notional) / self.filled as f64)
    }

    /// Slippage of the average price versus the best price, in basis points (`None` if nothing
    /// filled; never negative for a real walk: buys pay up, sells receive less).
    #[must_use]
    pub fn slippage_bps(&self, side: TakerSide) -> Option<f64> {
        if self.best_price == 0 {
            return None;
        }
        let best = self.best_price as f64;
        let avg = self.average_ticks()?;
        let diff = match side {
            TakerSide::Buy => avg - best,
            TakerSide::Sell => best - avg,
        };
        Some((diff / best * 1e4).max(0.0))
    }

    /// Notional as a float in quote units.
    #[must_use]
    pub fn notional_f64(&self, price_decimals: u8, size_decimals: u8) -> f64 {
        to_f64(self.notional, price_decimals + size_decimals)
    }
}

/// Walks a ladder from its best level until a limit is reached or the ladder runs out.
///
/// The walk every router path takes, bounded by a quantity: then nothing can overflow (the fill
/// is at most the quantity) and the result is exact. Levels priced worse than `limit_price`
/// are never touched. A notional target takes whole lots only, never spending more than the
/// target. Without any bound the whole ladder is taken. Without a quantity, a fill that would
/// pass `u64::MAX` lots stops, exactly, before the level that would overflow and is reported
/// incomplete; [`try_walk`] refuses it (and unbounded or zero targets) instead.
#[must_use]
pub fn walk(ladder: &Ladder, side: TakerSide, limits: &WalkLimits) -> Walk {
    debug_assert_eq!(side.consumes(), ladder.side());
    if let (Some(quantity), None, None) = (limits.quantity, limits.notional, limits.limit_price) {
        return match ladder.side() {
            BookSide::Bid => walk_quantity::<false>(ladder, quantity),
            BookSide::Ask => walk_quantity::<true>(ladder, quantity),
        };
    }
    walk_general(ladder, side, limits).unwrap_or_else(|prefix| prefix)
}

/// [`walk`] for a request from outside: refuses a walk with no bound at all, a zero quantity or
/// notional, and a fill too large to report exactly ([`WalkError`]).
pub fn try_walk(ladder: &Ladder, side: TakerSide, limits: &WalkLimits) -> Result<Walk, WalkError> {
    if limits.quantity == Some(0) {
        return Err(WalkError::ZeroQuantity);
    }
    if limits.notional == Some(0) {
        return Err(WalkError::ZeroNotional);
    }
    if limits.quantity.is_some() {
        return Ok(walk(ladder, side, limits));
    }
    if limits.notional.is_none() && limits.limit_price.is_none() {
        return Err(WalkError::Unbounded);
    }
    walk_general(ladder, side, limits).map_err(|_| WalkError::TooLarge)
}

/// Most whole lots `funds` of quote buy from an ask ladder with the taker fee on top, or
/// `None` when no cap binds: the asks run out first (their depth, not the funds, is the limit)
/// or the funds pay for more lots than any quantity can hold.
///
/// `funds` is in units of `10^-(price_decimals + size_decimals)` quote. The fill's notional
/// `n` satisfies `n * (1 + fee) <= funds` exactly (integer arithmetic, no float).
#[must_use]
pub fn affordable_lots(asks: &Ladder, funds: u128, taker_fee: Bps) -> Option<u64> {
    affordable_lots_up_to(asks, funds, taker_fee, None)
}

/// [`affordable_lots`] counting no further than `at_most` lots (`None`: no bound): the walk
/// stops there, so a cap that only matters up to an order's quantity costs a walk of that
/// quantity, not of every level the funds could pay for. `Some(at_most)` says the funds buy
/// at least that many (and the asks hold them).
#[must_use]
pub fn affordable_lots_up_to(
    asks: &Ladder,
    funds: u128,
    taker_fee: Bps,
    at_most: Option<u64>,
) -> Option<u64> {
    let one = u128::from(BPS_UNITS_PER_ONE);
    let with_fee = one + u128::from(taker_fee.0);
    // floor(funds * one / with_fee) without overflowing: one <= with_fee, and the remainder
    // is below with_fee (at most ~1e16), so both terms fit.
    let budget = funds / with_fee * one + funds % with_fee * one / with_fee;
    if budget == 0 {
        return Some(0);
    }
    let limits = WalkLimits {
        notional: Some(budget),
        quantity: at_most,
        ..WalkLimits::default()
    };
    match walk_general(asks, TakerSide::Buy, &limits) {
        Ok(walked) if walked.complete => Some(walked.filled),
        _ => None,
    }
}

/// The common case of [`walk`]: a base quantity only, with the side fixed at compile time.
#[inline]
fn walk_quantity<const ASK: bool>(ladder: &Ladder, quantity: u64) -> Walk {
    let (keys, sizes) = ladder.raw();
    // book::key_price spelled out with the side known at compile time: calling it here made
    // the 500-level walk ~50% slower in criterion (the match was not folded into the loop).
    let price_of = |key: u64| if ASK { !key } else { key };
    let mut out = Walk {
        best_price: keys.last().map_or(0, |&k| price_of(k)),
        ..Walk::default()
    };
    if quantity == 0 {
        out.complete = true;
        return out;
    }
    let mut remaining = quantity;
    let mut notional: u128 = 0;
    let mut levels: u32 = 0;
    for (&key, &size) in keys.iter().zip(sizes).rev() {
        let price = price_of(key);
        levels += 1;
        if size >= remaining {
            notional += u128::from(price) * u128::from(remaining);
            remaining = 0;
            out.worst_price = price;
            break;
        }
        notional += u128::from(price) * u128::from(size);
        remaining -= size;
        out.worst_price = price;
    }
    out.filled = quantity - remaining;
    out.notional = notional;
    out.levels = levels;
    out.complete = remaining == 0;
    out
}

/// [`walk`] with any combination of quantity, notional and limit price.
///
/// `Err` carries the exact walk of the levels taken before the one whose lots (or notional)
/// would no longer fit the result's integers, marked incomplete. That cannot happen with a
/// quantity bound: the fill is at most the quantity and each level's notional fits `u128`.
fn walk_general(ladder: &Ladder, side: TakerSide, limits: &WalkLimits) -> Result<Walk, Walk> {
    let mut out = Walk {
        best_price: ladder.best().map_or(0, |l| l.price),
        ..Walk::default()
    };
    let targeted = limits.quantity.is_some() || limits.notional.is_some();
    if limits.quantity == Some(0) || limits.notional == Some(0) {
        out.complete = true;
        return Ok(out);
    }
    let mut remaining_qty = limits.quantity;
    let mut remaining_notional = limits.notional;
    // True when the target, not the end of the side or the limit price, stopped the walk.
    let mut reached = false;
    for level in ladder.iter() {
        if let Some(limit) = limits.limit_price {
            let worse = match side {
                TakerSide::Buy => level.price > limit,
                TakerSide::Sell => level.price < limit,
            };
            if worse {
                // The limit stopped the walk; the target was reached anyway if not even one
                // lot of this level would fit the notional left.
                reached = remaining_notional.is_some_and(|n| n < u128::from(level.price));
                break;
            }
        }
        let price = u128::from(level.price);
        let mut take = remaining_qty.map_or(level.size, |q| level.size.min(q));
        if let Some(notional) = remaining_notional {
            // Whole lots only: the largest quantity whose notional fits (below `take`, so u64).
            let fits = notional / price;
            if fits < u128::from(take) {
                take = fits as u64;
            }
        }
        if take > 0 {
            let cost = price * u128::from(take);
            let (Some(filled), Some(notional)) =
                (out.filled.checked_add(take), out.notional.checked_add(cost))
            else {
                out.complete = false;
                return Err(out);
            };
            out.filled = filled;
            out.notional = notional;
            out.worst_price = level.price;
            out.levels += 1;
            if let Some(q) = remaining_qty.as_mut() {
                *q -= take;
            }
            if let Some(n) = remaining_notional.as_mut() {
                *n -= cost;
            }
        }
        // Levels are taken in price order and none is skipped: the walk ends at the first level
        // it does not take whole, because the quantity or the notional ran out there.
        if take < level.size {
            reached = true;
            break;
        }
    }
    out.complete =
        !targeted || reached || remaining_qty == Some(0) || remaining_notional == Some(0);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::{Book, Level};
    use proptest::prelude::*;

    fn book(asks: &[(u64, u64)]) -> Book {
        let mut book = Book::new(0, 0).unwrap();
        let asks: Vec<Level> = asks
            .iter()
            .map(|&(price, size)| Level { price, size })
            .collect();
        book.apply_snapshot(
            &[Level {
                price: 99,
                size: 10,
            }],
            &asks,
            1,
            1,
        )
        .unwrap();
        book
    }

    fn qty(q: u64) -> WalkLimits {
        WalkLimits {
            quantity: Some(q),
            ..WalkLimits::default()
        }
    }

    #[test]
    fn walk_fills_across_levels_and_reports_average_and_worst() {
        let book = book(&[(100, 2), (101, 3), (105, 10)]);
        let w = walk(book.asks(), TakerSide::Buy, &qty(4));
        assert_eq!(
            (w.filled, w.notional, w.worst_price, w.levels, w.complete),
            (4, 402, 101, 2, true)
        );
        assert!((w.average_price(0).unwrap() - 100.5).abs() < 1e-12);
        assert!((w.slippage_bps(TakerSide::Buy).unwrap() - 50.0).abs() < 1e-9);
    }

    #[test]
    fn walk_reports_partial_fill_when_book_is_thin() {
        let book = book(&[(100, 2), (101, 3)]);
        let w = walk(book.asks(), TakerSide::Buy, &qty(10));
        assert_eq!(
            (w.filled, w.notional, w.levels, w.complete),
            (5, 503, 2, false)
        );
    }

    #[test]
    fn notional_walk_takes_whole_lots_without_overspending() {
        let book = book(&[(100, 2), (101, 3)]);
        let w = walk(
            book.asks(),
            TakerSide::Buy,
            &WalkLimits {
                notional: Some(350),
                ..WalkLimits::default()
            },
        );
        assert_eq!((w.filled, w.notional, w.complete), (3, 301, true));
    }

    #[test]
    fn sell_notional_walk_continues_into_cheaper_levels() {
        let mut book = Book::new(0, 0).unwrap();
        let bids = [Level { price: 2, size: 1 }, Level { price: 1, size: 1 }];
        book.apply_snapshot(&bids, &[], 1, 1).unwrap();
        let limits = WalkLimits {
            notional: Some(3),
            ..WalkLimits::default()
        };
        let w = walk(book.bids(), TakerSide::Sell, &limits);
        assert_eq!(
            (w.filled, w.notional, w.levels, w.complete),
            (2, 3, 2, true)
        );
    }

    #[test]
    fn limit_price_stops_before_worse_levels() {
        let book = book(&[(100, 2), (101, 3), (102, 1)]);
        let w = walk(
            book.asks(),
            TakerSide::Buy,
            &WalkLimits {
                quantity: Some(10),
                limit_price: Some(101),
                ..WalkLimits::default()
            },
        );
        assert_eq!((w.filled, w.worst_price, w.complete), (5, 101, false));
        let w = walk(
            book.asks(),
            TakerSide::Buy,
            &WalkLimits {
                limit_price: Some(101),
                ..WalkLimits::default()
            },
        );
        assert_eq!((w.filled, w.complete), (5, true));
    }

    #[test]
    fn sell_walk_consumes_bids_downward() {
        let mut book = Book::new(0, 0).unwrap();
        let bids = [
            Level {
                price: 100,
                size: 1,
            },
            Level { price: 90, size: 1 },
        ];
        book.apply_snapshot(&bids, &[], 1, 1).unwrap();
        let w = walk(book.bids(), TakerSide::Sell, &qty(2));
        assert_eq!((w.notional, w.best_price, w.worst_price), (190, 100, 90));
        assert!((w.slippage_bps(TakerSide::Sell).unwrap() - 500.0).abs() < 1e-9);
    }

    fn notional(n: u128) -> WalkLimits {
        WalkLimits {
            notional: Some(n),
            ..WalkLimits::default()
        }
    }

    #[test]
    fn notional_walk_that_runs_out_of_book_is_incomplete() {
        // The book holds 100 of the 199 asked: the 99 left is less than a lot at 100, but the
        // book ran out, so the target was not reached.
        let mut book = Book::new(0, 0).unwrap();
        book.apply_snapshot(
            &[],
            &[Level {
                price: 100,
                size: 1,
            }],
            1,
            1,
        )
        .unwrap();
        let w = walk(book.asks(), TakerSide::Buy, &notional(199));
        assert_eq!((w.filled, w.notional, w.complete), (1, 100, false));
        // Spending the notional exactly as the book runs out reaches the target.
        let w = walk(book.asks(), TakerSide::Buy, &notional(100));
        assert_eq!((w.filled, w.notional, w.complete), (1, 100, true));
    }

    #[test]
    fn notional_walk_stopped_by_the_limit_is_complete_only_if_the_next_lot_is_unaffordable() {
        let book = book(&[(100, 2), (150, 3)]);
        let bounded = |n: u128| WalkLimits {
            notional: Some(n),
            limit_price: Some(120),
            ..WalkLimits::default()
        };
        // 249 left 49 after the 100s: a lot at 150 would not fit anyway.
        let w = walk(book.asks(), TakerSide::Buy, &bounded(249));
        assert_eq!((w.filled, w.notional, w.complete), (2, 200, true));
        // 400 left 200: the limit, not the notional, stopped the walk.
        let w = walk(book.asks(), TakerSide::Buy, &bounded(400));
        assert_eq!((w.filled, w.notional, w.complete), (2, 200, false));
    }

    fn huge_side() -> Book {
        let mut book = Book::new(0, 0).unwrap();
        let size = 10_000_000_000_000_000_000; // 1e19: two levels hold more than u64::MAX lots
        book.apply_snapshot(
            &[],
            &[Level { price: 1, size }, Level { price: 2, size }],
            1,
            1,
        )
        .unwrap();
        book
    }

    #[test]
    fn walk_of_more_lots_than_u64_holds_is_refused_never_saturated() {
        let book = huge_side();
        let limit = WalkLimits {
            limit_price: Some(2),
            ..WalkLimits::default()
        };
        assert_eq!(
            try_walk(book.asks(), TakerSide::Buy, &limit),
            Err(WalkError::TooLarge)
        );
        // The infallible walk reports the exact prefix it could hold, as incomplete.
        let w = walk(book.asks(), TakerSide::Buy, &limit);
        assert_eq!(
            (w.filled, w.notional, w.levels, w.complete),
            (
                10_000_000_000_000_000_000,
                10_000_000_000_000_000_000,
                1,
                false
            )
        );
        let wide = notional(30_000_000_000_000_000_000);
        assert_eq!(
            try_walk(book.asks(), TakerSide::Buy, &wide),
            Err(WalkError::TooLarge)
        );
        // Bounded by what fits, the same side walks exactly.
        let fits = notional(26_000_000_000_000_000_000);
        let w = try_walk(book.asks(), TakerSide::Buy, &fits).unwrap();
        assert_eq!(
            (w.filled, w.notional, w.complete),
            (18_000_000_000_000_000_000, 26_000_000_000_000_000_000, true)
        );
        let q = try_walk(book.asks(), TakerSide::Buy, &qty(u64::MAX)).unwrap();
        assert_eq!(q.filled, u64::MAX);
        assert!(q.complete);
    }

    #[test]
    fn try_walk_refuses_unbounded_and_zero_targets() {
        let book = book(&[(100, 2)]);
        let asks = book.asks();
        assert_eq!(
            try_walk(asks, TakerSide::Buy, &WalkLimits::default()),
            Err(WalkError::Unbounded)
        );
        assert_eq!(
            try_walk(asks, TakerSide::Buy, &qty(0)),
            Err(WalkError::ZeroQuantity)
        );
        assert_eq!(
            try_walk(asks, TakerSide::Buy, &notional(0)),
            Err(WalkError::ZeroNotional)
        );
        assert_eq!(try_walk(asks, TakerSide::Buy, &qty(1)).unwrap().filled, 1);
    }

    #[test]
    fn nothing_filled_has_no_average_price_or_slippage() {
        let w = Walk::default();
        assert_eq!(w.average_price(2), None);
        assert_eq!(w.slippage_bps(TakerSide::Buy), None);
    }

    #[test]
    fn affordable_lots_pays_the_fee_on_top_in_exact_integers() {
        let book = book(&[(100, 2), (101, 3)]);
        let fee = Bps::from_f64(100.0).unwrap(); // 1%
        // 302.01 / 1.01 = 299.02...: 2 at 100 = 200, one at 101 = 301 > 299 -> 2 lots.
        assert_eq!(affordable_lots(book.asks(), 302, fee), Some(2));
        // 305 / 1.01 = 301.98...: 3 lots for 301, the fourth would cost 402.
        assert_eq!(affordable_lots(book.asks(), 305, fee), Some(3));
        assert_eq!(affordable_lots(book.asks(), 304, fee), Some(2));
        assert_eq!(affordable_lots(book.asks(), 301, Bps(0)), Some(3));
        assert_eq!(affordable_lots(book.asks(), 0, fee), Some(0));
        // More funds than the book is worth: the depth, not the funds, limits.
        assert_eq!(affordable_lots(book.asks(), 1_000_000, fee), None);
        assert_eq!(affordable_lots(book.asks(), u128::MAX, Bps(u64::MAX)), None);
    }

    proptest! {
        /// A bound on the count changes nothing below it: the capped count is the uncapped
        /// one when that is below the bound, the bound when the funds (or, with funds to
        /// spare, the asks) reach it, and `None` only when the asks run out first.
        #[test]
        fn affordable_lots_up_to_a_bound_is_the_count_capped_there(
            asks in proptest::collection::vec((100u64..150, 1u64..20), 0..12),
            funds in 0u128..40_000,
            fee in 0u64..2_000_000,
            at_most in 0u64..150,
        ) {
            let mut levels: Vec<(u64, u64)> = asks;
            levels.sort_unstable();
            levels.dedup_by_key(|l| l.0);
            let book = book(&levels);
            let fee = Bps(fee);
            let total: u64 = levels.iter().map(|l| l.1).sum();
            let capped = affordable_lots_up_to(book.asks(), funds, fee, Some(at_most));
            let want = match affordable_lots(book.asks(), funds, fee) {
                Some(lots) => Some(lots.min(at_most)),
                None if total >= at_most => Some(at_most),
                None => None,
            };
            prop_assert_eq!(capped, want);
            prop_assert_eq!(affordable_lots_up_to(book.asks(), funds, fee, None), affordable_lots(book.asks(), funds, fee));
        }

        /// `affordable_lots` is the largest whole number of lots whose notional plus fee fits
        /// the funds (brute force over every quantity), or `None` when the book runs out first.
        #[test]
        fn affordable_lots_is_the_most_the_funds_pay_for(
            sizes in proptest::collection::vec(1u64..20, 1..8),
            funds in 0u128..10_000,
            fee_units in prop_oneof![Just(0u64), 0u64..5_000_000],
        ) {
            let asks: Vec<(u64, u64)> = sizes.iter().enumerate().map(|(i, &s)| (100 + 7 * i as u64, s)).collect();
            let book = book(&asks);
            let total: u64 = sizes.iter().sum();
            let pays = |lots: u64| {
                let n = walk(book.asks(), TakerSide::Buy, &qty(lots)).notional;
                n * (u128::from(BPS_UNITS_PER_ONE) + u128::from(fee_units)) <= funds * u128::from(BPS_UNITS_PER_ONE)
            };
            let most = (0..=total).rev().find(|&lots| pays(lots)).unwrap_or(0);
            let got = affordable_lots(book.asks(), funds, Bps(fee_units));
            if most == total {
                // The whole side is affordable: no cap binds (or the funds are spent exactly).
                prop_assert!(got.is_none() || got == Some(total));
            } else {
                prop_assert_eq!(got, Some(most));
            }
        }

        /// Complete notional walks could not take one more lot where they stopped; incomplete
        /// ones ran out of book or were stopped by the limit with a lot still affordable.
        #[test]
        fn notional_walk_is_complete_exactly_when_its_target_binds(
            sizes in proptest::collection::vec(1u64..20, 0..8),
            target in 1u128..20_000,
            limit in proptest::option::of(95u64..160),
        ) {
            let asks: Vec<(u64, u64)> = sizes.iter().enumerate().map(|(i, &s)| (100 + 7 * i as u64, s)).collect();
            let book = book(&asks);
            let limits = WalkLimits { notional: Some(target), limit_price: limit, ..WalkLimits::default() };
            let w = try_walk(book.asks(), TakerSide::Buy, &limits).unwrap();
            let left = target - w.notional;
            // The first level not taken whole, if the book has one.
            let mut rest = w.filled;
            let next = asks.iter().find_map(|&(price, size)| {
                if rest >= size { rest -= size; None } else { Some(price) }
            });
            let want = left == 0 || next.is_some_and(|price| left < u128::from(price));
            prop_assert_eq!(w.complete, want);
            if let (Some(price), Some(limit)) = (next, limit) {
                if price <= limit {
                    // Inside the limit the walk stops only where the notional runs out.
                    prop_assert!(w.complete);
                }
            }
        }

        /// The quantity fast path and the general walk agree on both sides.
        #[test]
        fn quantity_fast_path_matches_general_walk(
            sizes in proptest::collection::vec(1u64..50, 0..40),
            want in 0u64..2_000,
        ) {
            let levels: Vec<Level> = sizes.iter().enumerate().map(|(i, &size)| Level { price: 100 + i as u64, size }).collect();
            let mut bids = levels.clone();
            for (i, level) in bids.iter_mut().enumerate() {
                level.price = 99 - i as u64;
            }
            let mut book = Book::new(0, 0).unwrap();
            book.apply_snapshot(&bids, &levels, 1, 1).unwrap();
            for (side, ladder) in [(TakerSide::Buy, book.asks()), (TakerSide::Sell, book.bids())] {
                let fast = walk(ladder, side, &qty(want));
                let general = walk_general(ladder, side, &qty(want)).expect("a quantity walk fits");
                prop_assert_eq!(fast, general);
            }
        }

        /// A walk never reports more than the book holds or was asked for, and its notional is
        /// the exact sum over the levels it took.
        #[test]
        fn walk_never_exceeds_book_or_request(
            sizes in proptest::collection::vec(1u64..50, 1..40),
            want in 0u64..2_000,
        ) {
            let asks: Vec<(u64, u64)> = sizes.iter().enumerate().map(|(i, &s)| (100 + i as u64, s)).collect();
            let book = book(&asks);
            let total: u64 = sizes.iter().sum();
            let w = walk(book.asks(), TakerSide::Buy, &qty(want));
            prop_assert_eq!(w.filled, want.min(total));
            prop_assert_eq!(w.complete, want <= total);
            let mut left = want;
            let mut notional = 0u128;
            for &(price, size) in &asks {
                let take = size.min(left);
                notional += u128::from(price) * u128::from(take);
                left -= take;
            }
            prop_assert_eq!(w.notional, notional);
        }
    }
}
