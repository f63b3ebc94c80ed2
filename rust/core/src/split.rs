//! The split strategy over a screen: the lowest-cost allocation of the whole order across the
//! venues a [`Screen`] walked, in one pass after it, on the very versions of the books it read.
//!
//! Each walkable venue (fresh book, non-empty side) is capped at its depth within the slippage
//! bound (the figure its book caches per version), within the order's limit price, its maximum
//! quantity and its balance cap, rounded down to its lot. The caps must hold the order, and
//! `min_liquidity_ratio` times it (compared exactly). Preferred venues are filled first, in
//! preference order as a group, then the others; each group is one exact
//! [`allocate`](crate::allocate::allocate). Without preferences the split never costs more than
//! the cheapest venue that qualified to take the whole order alone (exact totals compared):
//! that venue is then the whole route.

use std::cmp::Ordering;

use thiserror::Error;

use crate::allocate::{AllocateError, Part, allocate};
use crate::book::{BookSide, TakerSide};
use crate::cost::{ExactCost, exact_cost};
use crate::decimal::{Quantity, Rounding, pow10_u128, u128_to_f64};
use crate::route::{Screen, ScreenOrder, ScreenVenue, Verdict, float_order};
use crate::rules::VenueRules;

/// Why the split has the route it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitWon {
    /// Parts on several venues.
    Split,
    /// One part, on a preferred venue.
    PreferredExchange,
    /// One part: the lowest all-in cost.
    LowestCost,
}

impl SplitWon {
    /// A short, stable name (the router's reason: `"split"`, `"preferred_exchange"`,
    /// `"lowest_cost"`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Split => "split",
            Self::PreferredExchange => "preferred_exchange",
            Self::LowestCost => "lowest_cost",
        }
    }
}

/// A split of the whole order.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// The non-empty parts (`Part::index` is the input position): preferred venues first in
    /// preference order, then the larger quantity first, then by input position.
    pub parts: Vec<Part>,
    /// Input positions of the venues that qualified to take the whole order alone, best
    /// all-in total first (ties in score order), the sole venue of a one-part split left out.
    pub alternatives: Vec<usize>,
    /// Why this route.
    pub won: SplitWon,
    /// True if every group's allocation is proven optimal (see
    /// [`Allocation::proven_optimal`](crate::allocate::Allocation::proven_optimal)).
    pub proven_optimal: bool,
}

/// An exact non-negative decimal `value × 10^-scale` (a depth or a filled quantity).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amount {
    /// The digits as an integer.
    pub value: u128,
    /// The number of decimal places.
    pub scale: u8,
}

/// Why the whole order cannot be split.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SplitError {
    /// No venue's book was fresh with the side the order takes from.
    #[error("no venue has a fresh book with the side the order takes from")]
    NoVenue,
    /// The venues' caps together hold less than the order.
    #[error("insufficient depth within the bounds")]
    Depth {
        /// The caps' total, in base units.
        depth: Amount,
    },
    /// The caps hold the order but less than `min_liquidity_ratio` times it.
    #[error("depth below the minimum liquidity ratio")]
    LiquidityRatio {
        /// The caps' total, in base units.
        depth: Amount,
    },
    /// The venues' lot sizes and minimums cannot place the whole order.
    #[error("the order does not fit the venues' lot sizes and minimums")]
    Lots {
        /// The most that can be placed, in base units.
        filled: Amount,
    },
    /// An allocation was refused (precision or overflow).
    #[error(transparent)]
    Allocate(#[from] AllocateError),
}

/// Splits the order of `screen` (screened from `venues` and `order`) across its walkable
/// venues; `preferences[i]` is venue `i`'s position among the order's preferred venues
/// (empty: none are). See the module documentation.
pub fn split(
    screen: &Screen,
    venues: &[ScreenVenue<'_>],
    order: &ScreenOrder,
    preferences: &[Option<u32>],
) -> Result<Split, SplitError> {
    let preference = |i: usize| preferences.get(i).copied().flatten();
    let walkable: Vec<usize> = (0..venues.len())
        .filter(|&i| !gated(screen.verdicts[i]))
        .collect();
    if walkable.is_empty() {
        return Err(SplitError::NoVenue);
    }
    let caps: Vec<u128> = venues.iter().map(|venue| split_cap(venue, order)).collect();
    let scale = walkable
        .iter()
        .map(|&i| venues[i].book.size_decimals())
        .fold(order.quantity.scale, u8::max);
    let depth = Amount {
        value: walkable
            .iter()
            .map(|&i| rescale(caps[i], venues[i].book.size_decimals(), scale))
            .fold(0u128, u128::saturating_add),
        scale,
    };
    let amount = rescale(
        u128::from(order.quantity.mantissa),
        order.quantity.scale,
        scale,
    );
    if depth.value < amount {
        return Err(SplitError::Depth { depth });
    }
    if below_ratio(depth.value, amount, scale, order.min_liquidity_ratio) {
        return Err(SplitError::LiquidityRatio { depth });
    }
    let mut preferred: Vec<usize> = walkable
        .iter()
        .copied()
        .filter(|&i| preference(i).is_some())
        .collect();
    preferred.sort_by_key(|&i| preference(i));
    let others: Vec<usize> = walkable
        .iter()
        .copied()
        .filter(|&i| preference(i).is_none())
        .collect();
    let mut parts: Vec<Part> = Vec::new();
    let mut remaining = amount; // at `scale`
    let mut proven = true;
    for group in [&preferred, &others] {
        if remaining == 0 || group.is_empty() {
            continue;
        }
        let books: Vec<_> = group.iter().map(|&i| venues[i].book).collect();
        let rules: Vec<VenueRules> = group
            .iter()
            .map(|&i| VenueRules {
                max_quantity: Some(u64::try_from(caps[i]).unwrap_or(u64::MAX)),
                ..venues[i].rules
            })
            .collect();
        let quantity = quantity_at(remaining, scale)?;
        let allocation = allocate(&books, order.side, quantity, &rules)?;
        let filled = rescale(
            u128::from(allocation.filled.mantissa),
            allocation.filled.scale,
            scale,
        );
        remaining = remaining.saturating_sub(filled);
        proven &= allocation.proven_optimal;
        parts.extend(allocation.parts.iter().map(|part| Part {
            index: group[part.index],
            ..*part
        }));
    }
    if remaining > 0 {
        return Err(SplitError::Lots {
            filled: Amount {
                value: amount - remaining,
                scale,
            },
        });
    }
    let mut alternatives: Vec<(usize, usize)> = screen.qualified().enumerate().collect();
    let total = |i: usize| single_total(screen, venues, order.side, i);
    alternatives.sort_by(|&(rank_a, a), &(rank_b, b)| {
        compare_totals(order.side, &total(a), &total(b)).then(rank_a.cmp(&rank_b))
    });
    if preferred.is_empty()
        && let Some(&(_, cheapest)) = alternatives.first()
        && beats(
            order.side,
            &total(cheapest),
            &parts_total(&parts, venues, order.side),
        )
        && let Some(candidate) = screen.candidates.iter().find(|c| c.index == cheapest)
    {
        parts = vec![Part {
            index: cheapest,
            walk: candidate.walk,
            cost: candidate.cost,
        }];
    }
    parts.sort_by(|a, b| {
        let (pa, pb) = (preference(a.index), preference(b.index));
        pa.is_none()
            .cmp(&pb.is_none())
            .then(pa.cmp(&pb))
            .then_with(|| {
                let size =
                    |p: &Part| rescale(u128::from(p.walk.filled), book_scale(venues, p), scale);
                size(b).cmp(&size(a))
            })
            .then(a.index.cmp(&b.index))
    });
    let sole = (parts.len() == 1).then(|| parts[0].index);
    let won = match sole {
        None => SplitWon::Split,
        Some(i) if preference(i).is_some() => SplitWon::PreferredExchange,
        Some(_) => SplitWon::LowestCost,
    };
    Ok(Split {
        parts,
        alternatives: alternatives
            .into_iter()
            .map(|(_, i)| i)
            .filter(|&i| Some(i) != sole)
            .collect(),
        won,
        proven_optimal: proven,
    })
}

/// True for the screen's gate verdicts: the book is never updated, stale or empty on the side
/// the order takes from (a split leaves such a venue out).
#[must_use]
pub fn gated(verdict: Verdict) -> bool {
    matches!(
        verdict,
        Verdict::NeverUpdated | Verdict::Stale | Verdict::EmptyBook
    )
}

/// Most a venue may take in a split, in its book's lots: depth within the slippage bound and
/// within the limit price, its maximum quantity and its balance cap, rounded down to its lot.
#[must_use]
pub fn split_cap(venue: &ScreenVenue<'_>, order: &ScreenOrder) -> u128 {
    let book = venue.book;
    let side = order.side.consumes();
    let mut cap = book.depth_within_bps(side, order.max_slippage);
    if let Some(limit) = order.limit_price {
        let decimals = book.price_decimals();
        let ladder = book.ladder(side);
        let within = match side {
            // A buy's limit rounds down to the tick; past every price, all the asks are in.
            BookSide::Ask => match limit.at_scale_rounded(decimals, Rounding::Down) {
                Some(ticks) => ladder.size_up_to(u64::try_from(ticks).unwrap_or(u64::MAX)),
                None => u128::MAX,
            },
            // A sell's limit rounds up; past every price, no bid is in.
            BookSide::Bid => match limit
                .at_scale_rounded(decimals, Rounding::Up)
                .and_then(|t| u64::try_from(t).ok())
            {
                Some(ticks) => ladder.size_up_to(ticks),
                None => 0,
            },
        };
        cap = cap.min(within);
    }
    for bound in [venue.rules.max_quantity, venue.balance_cap]
        .into_iter()
        .flatten()
    {
        cap = cap.min(u128::from(bound));
    }
    let lot = u128::from(venue.rules.lot_size.max(1));
    cap - cap % lot
}

/// The size decimals of the book a part was walked on.
fn book_scale(venues: &[ScreenVenue<'_>], part: &Part) -> u8 {
    venues[part.index].book.size_decimals()
}

/// `value × 10^-from` at `to >= from` decimals, saturating.
fn rescale(value: u128, from: u8, to: u8) -> u128 {
    value.saturating_mul(pow10_u128(u32::from(to.saturating_sub(from))))
}

/// `value × 10^-scale` as a [`Quantity`] (its smallest exact scale).
fn quantity_at(mut value: u128, mut scale: u8) -> Result<Quantity, AllocateError> {
    while scale > 0 && value % 10 == 0 {
        value /= 10;
        scale -= 1;
    }
    let mantissa = u64::try_from(value).map_err(|_| AllocateError::Overflow)?;
    Ok(Quantity { mantissa, scale })
}

/// True if `depth < amount × ratio` (both at `scale`), exactly: the ratio is the shortest
/// decimal that reads back as the float (Python's `repr`), compared in integers; floats only
/// if the integers would overflow.
fn below_ratio(depth: u128, amount: u128, scale: u8, ratio: f64) -> bool {
    if ratio <= 0.0 {
        return false;
    }
    let exact = Quantity::parse(&format!("{ratio}")).ok().and_then(|r| {
        let lhs = depth.checked_mul(pow10_u128(u32::from(r.scale)))?;
        let rhs = amount.checked_mul(u128::from(r.mantissa))?;
        Some(lhs < rhs)
    });
    exact.unwrap_or_else(|| {
        let unit = 10f64.powi(-i32::from(scale));
        u128_to_f64(depth) * unit < u128_to_f64(amount) * unit * ratio
    })
}

/// An all-in total: exact when it fits, else the core's float figure.
#[derive(Debug, Clone, Copy)]
enum Total {
    Exact(ExactCost),
    Float(f64),
}

impl Total {
    fn as_f64(&self) -> f64 {
        match self {
            Self::Exact(exact) => exact.total_f64(),
            Self::Float(value) => *value,
        }
    }
}

/// The all-in total of the whole order on the qualified venue at input position `index`.
fn single_total(
    screen: &Screen,
    venues: &[ScreenVenue<'_>],
    side: TakerSide,
    index: usize,
) -> Total {
    screen.candidates.iter().find(|c| c.index == index).map_or(
        Total::Float(f64::NAN),
        |candidate| {
            part_total(
                &Part {
                    index,
                    walk: candidate.walk,
                    cost: candidate.cost,
                },
                venues,
                side,
            )
        },
    )
}

/// One part's all-in total.
fn part_total(part: &Part, venues: &[ScreenVenue<'_>], side: TakerSide) -> Total {
    let venue = &venues[part.index];
    let book = venue.book;
    exact_cost(
        &part.walk,
        side,
        venue.rules.taker_fee,
        book.price_decimals(),
        book.size_decimals(),
    )
    .map_or(Total::Float(part.cost.total), Total::Exact)
}

/// The parts' combined all-in total (exact at the finest scale when every part's fits).
fn parts_total(parts: &[Part], venues: &[ScreenVenue<'_>], side: TakerSide) -> Total {
    let totals: Vec<Total> = parts.iter().map(|p| part_total(p, venues, side)).collect();
    let exact: Option<Vec<ExactCost>> = totals
        .iter()
        .map(|t| match t {
            Total::Exact(e) => Some(*e),
            Total::Float(_) => None,
        })
        .collect();
    let float = || Total::Float(parts.iter().map(|p| p.cost.total).sum());
    let Some(exact) = exact else {
        return float();
    };
    let scale = exact.iter().map(|e| e.scale).max().unwrap_or(0);
    let sum = exact.iter().try_fold(0u128, |sum, e| {
        sum.checked_add(e.total.checked_mul(10u128.checked_pow(scale - e.scale)?)?)
    });
    sum.map_or_else(float, |total| {
        Total::Exact(ExactCost {
            fee: 0,
            total,
            scale,
        })
    })
}

/// Ascending order of two totals by what the side prefers: the lower cost of a buy first,
/// the higher proceeds of a sell first (exact when both are, floats otherwise).
fn compare_totals(side: TakerSide, a: &Total, b: &Total) -> Ordering {
    let ascending = match (a, b) {
        (Total::Exact(a), Total::Exact(b)) => {
            let scale = a.scale.max(b.scale);
            let at = |e: &ExactCost| {
                10u128
                    .checked_pow(scale - e.scale)
                    .and_then(|f| e.total.checked_mul(f))
            };
            match (at(a), at(b)) {
                (Some(x), Some(y)) => x.cmp(&y),
                _ => float_order(a.total_f64(), b.total_f64()),
            }
        }
        _ => float_order(a.as_f64(), b.as_f64()),
    };
    match side {
        TakerSide::Buy => ascending,
        TakerSide::Sell => ascending.reverse(),
    }
}

/// True if `single` is strictly better for the side than `split`.
fn beats(side: TakerSide, single: &Total, split: &Total) -> bool {
    compare_totals(side, single, split) == Ordering::Less
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::{Book, Level};
    use crate::decimal::parse_fixed;
    use crate::route::screen;
    use crate::route::tests::{NOW, order, venue};
    use crate::score::Weights;
    use proptest::prelude::*;

    /// A book of one price and one size decimal, updated at `at_ns`.
    fn book(asks: &[(&str, &str)], at_ns: u64) -> Book {
        let mut book = Book::new(1, 1).expect("decimals");
        let levels: Vec<Level> = asks
            .iter()
            .map(|(p, s)| Level {
                price: parse_fixed(p, 1).expect("price"),
                size: parse_fixed(s, 1).expect("size"),
            })
            .collect();
        book.apply_snapshot(&[], &levels, 1, at_ns)
            .expect("snapshot");
        book
    }

    fn run(
        venues: &[ScreenVenue<'_>],
        order: &ScreenOrder,
        preferences: &[Option<u32>],
    ) -> Result<Split, SplitError> {
        let screened = screen(venues, order, &Weights::DEFAULT).expect("screen");
        split(&screened, venues, order, preferences)
    }

    fn amount(value: u128, scale: u8) -> Amount {
        Amount { value, scale }
    }

    #[test]
    fn caps_take_the_least_of_depth_limit_maximum_and_balance_rounded_to_the_lot() {
        // 100 bps above 100.0 is 101.0: the 102.0 level is out of the bound.
        let b = book(&[("100.0", "1.0"), ("100.5", "2.0"), ("102.0", "9.0")], NOW);
        let mut o = order("1");
        let plain = venue(&b);
        assert_eq!(split_cap(&plain, &o), 30);
        o.limit_price = Some(Quantity::parse("100.49").expect("limit")); // rounds down to 100.4
        assert_eq!(split_cap(&plain, &o), 10);
        o.limit_price = None;
        let mut capped = venue(&b);
        capped.rules.max_quantity = Some(25);
        assert_eq!(split_cap(&capped, &o), 25);
        capped.balance_cap = Some(17);
        assert_eq!(split_cap(&capped, &o), 17);
        capped.rules.lot_size = 4;
        assert_eq!(split_cap(&capped, &o), 16);
    }

    #[test]
    fn the_caps_must_hold_the_order_and_the_minimum_multiple_of_it_exactly() {
        let a = book(&[("100.0", "0.6")], NOW);
        let b = book(&[("100.1", "0.5")], NOW);
        let venues = [venue(&a), venue(&b)];
        assert_eq!(
            run(&venues, &order("1.2"), &[]),
            Err(SplitError::Depth {
                depth: amount(11, 1)
            })
        );
        // 1.1 of depth is exactly 1.1 times a 1.0 order: not below (0.1 is not exact in binary).
        let mut o = order("1");
        o.min_liquidity_ratio = 1.1;
        assert!(run(&venues, &o, &[]).is_ok());
        o.min_liquidity_ratio = 1.1000000000000003;
        assert_eq!(
            run(&venues, &o, &[]),
            Err(SplitError::LiquidityRatio {
                depth: amount(11, 1)
            })
        );
    }

    #[test]
    fn stale_books_leave_nothing_to_split_and_lots_that_cannot_fit_say_how_much_can() {
        let old = book(&[("100.0", "5.0")], NOW - 6_000_000_000);
        assert_eq!(
            run(&[venue(&old)], &order("1"), &[]),
            Err(SplitError::NoVenue)
        );
        let b = book(&[("100.0", "5.0")], NOW);
        let mut halves = venue(&b);
        halves.rules.lot_size = 5;
        assert_eq!(
            run(&[halves], &order("1.2"), &[]),
            Err(SplitError::Lots {
                filled: amount(10, 1)
            })
        );
    }

    #[test]
    fn a_split_takes_the_cheapest_levels_and_lists_the_larger_part_first() {
        let cheap = book(&[("100.0", "0.4"), ("100.9", "5.0")], NOW);
        let next = book(&[("100.2", "5.0")], NOW);
        let dear = book(&[("100.8", "5.0")], NOW);
        let venues = [venue(&cheap), venue(&next), venue(&dear)];
        let got = run(&venues, &order("1"), &[]).expect("split");
        let parts: Vec<(usize, u64)> = got.parts.iter().map(|p| (p.index, p.walk.filled)).collect();
        assert_eq!(parts, [(1, 6), (0, 4)]);
        assert_eq!(got.won, SplitWon::Split);
        assert!(got.proven_optimal);
        // Every venue alone can take it, the cheapest alone first: 100.2, then 0.4 at 100.0
        // with 0.6 at 100.9 (100.54 on average), then 100.8.
        assert_eq!(got.alternatives, [1, 0, 2]);
    }

    #[test]
    fn preferred_venues_fill_first_and_a_sole_part_leaves_its_venue_out_of_the_alternatives() {
        let cheap = book(&[("100.0", "5.0")], NOW);
        let dear = book(&[("100.8", "5.0")], NOW);
        let venues = [venue(&cheap), venue(&dear)];
        let got = run(&venues, &order("1"), &[None, Some(0)]).expect("split");
        let parts: Vec<(usize, u64)> = got.parts.iter().map(|p| (p.index, p.walk.filled)).collect();
        assert_eq!(parts, [(1, 10)]);
        assert_eq!(got.won, SplitWon::PreferredExchange);
        assert_eq!(got.alternatives, [0]);
        let plain = run(&venues, &order("1"), &[]).expect("split");
        assert_eq!(plain.won, SplitWon::LowestCost);
        assert_eq!(plain.alternatives, [1]);
        // The preferred venue is short: the rest goes to the others.
        let short = book(&[("100.8", "0.3")], NOW);
        let venues = [venue(&cheap), venue(&short)];
        let got = run(&venues, &order("1"), &[None, Some(0)]).expect("split");
        let parts: Vec<(usize, u64)> = got.parts.iter().map(|p| (p.index, p.walk.filled)).collect();
        assert_eq!(parts, [(1, 3), (0, 7)]);
    }

    /// Random asks: (price offset in ticks from 1000.0, size in lots) per level.
    fn levels() -> impl Strategy<Value = Vec<(u64, u64)>> {
        proptest::collection::vec((0u64..40, 1u64..30), 1..5)
    }

    proptest! {
        #[test]
        fn a_split_places_exactly_the_order_within_every_cap_and_never_costs_more_than_a_single(
            books in proptest::collection::vec(levels(), 1..5),
            quantity in 1u64..80,
            lots in proptest::collection::vec(1u64..4, 5),
        ) {
            let built: Vec<Book> = books
                .iter()
                .map(|levels| {
                    let mut book = Book::new(1, 1).expect("decimals");
                    let mut asks: Vec<Level> = levels
                        .iter()
                        .map(|&(offset, size)| Level { price: 10_000 + offset, size })
                        .collect();
                    asks.sort_by_key(|l| l.price);
                    asks.dedup_by_key(|l| l.price);
                    book.apply_snapshot(&[], &asks, 1, NOW).expect("snapshot");
                    book
                })
                .collect();
            let venues: Vec<ScreenVenue<'_>> = built
                .iter()
                .zip(&lots)
                .map(|(b, &lot)| {
                    let mut v = venue(b);
                    v.rules.lot_size = lot;
                    v
                })
                .collect();
            let o = ScreenOrder { quantity: Quantity { mantissa: quantity, scale: 1 }, ..order("1") };
            let screened = screen(&venues, &o, &Weights::DEFAULT).expect("screen");
            let Ok(got) = split(&screened, &venues, &o, &[]) else {
                return Ok(());
            };
            let placed: u64 = got.parts.iter().map(|p| p.walk.filled).sum();
            prop_assert_eq!(placed, quantity);
            for part in &got.parts {
                let venue = &venues[part.index];
                prop_assert!(u128::from(part.walk.filled) <= split_cap(venue, &o));
                prop_assert_eq!(part.walk.filled % venue.rules.lot_size, 0);
            }
            let total = parts_total(&got.parts, &venues, o.side);
            for index in screened.qualified() {
                let single = single_total(&screened, &venues, o.side, index);
                prop_assert_ne!(compare_totals(o.side, &single, &total), Ordering::Less);
            }
        }
    }
}
