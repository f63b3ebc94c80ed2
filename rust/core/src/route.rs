//! The router's single-venue screen: which venues can take a whole order on their own, under
//! every constraint, ranked by the best-execution score — in one pass over the books.
//!
//! The Python router gates venues on what does not depend on the books (exclusions, market
//! status, health, latency) and hands the rest here. For each venue [`screen`] checks, in this
//! order, the book's freshness, that the side the order takes from is not empty, the order's
//! amount against the venue's lot size, minimum, maximum and balance cap; then ranks the venues
//! that passed with [`rank_venues`](crate::score::rank_venues) (so the score is normalised over exactly those) and checks
//! each walk: complete, within the limit price, within the slippage bound, deep enough
//! (liquidity ratio), and worth at least the minimum notional. Every venue gets a [`Verdict`];
//! the ones that qualify are the candidates a single-venue strategy orders.

use thiserror::Error;

use std::cell::Cell;
use std::cmp::Ordering;

use crate::book::{Book, Bps, TakerSide};
use crate::cost::exact_cost;
use crate::decimal::{Quantity, Rounding, to_f64_rounded, u128_to_f64};
use crate::rules::VenueRules;
use crate::score::{Candidate, ScoreError, VenueInput, Weights, rank_with};

/// Why an order cannot be screened at all.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ScreenError {
    /// The order's quantity is zero.
    #[error("quantity: must be positive")]
    ZeroQuantity,
    /// The minimum liquidity ratio is negative or not finite.
    #[error("min_liquidity_ratio: expected a finite number >= 0, got {0}")]
    BadLiquidityRatio(f64),
    /// A venue's health figures or the weights are out of range.
    #[error(transparent)]
    Score(#[from] ScoreError),
}

/// Why a venue can or cannot take the whole order on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// It can: every check passed.
    Qualified,
    /// The book was never updated (no snapshot yet).
    NeverUpdated,
    /// The book is older than the staleness limit.
    Stale,
    /// The side the order takes from has no levels.
    EmptyBook,
    /// The amount is not a multiple of the venue's lot size.
    LotSize,
    /// The amount is below the venue's minimum quantity.
    BelowMinimum,
    /// The amount is above the venue's maximum quantity.
    AboveMaximum,
    /// The amount is above what the venue's balance allows.
    Balance,
    /// The book does not hold the whole amount.
    Incomplete,
    /// Filling the amount takes prices past the order's limit price.
    LimitPrice,
    /// Filling the amount reaches past the slippage bound.
    Slippage,
    /// Depth within the slippage bound is below the minimum multiple of the amount.
    LiquidityScore,
    /// The fill's notional is below the venue's minimum notional.
    BelowMinNotional,
}

impl Verdict {
    /// A short, stable name (`"qualified"`, `"stale"`, `"lot_size"`, ...).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Qualified => "qualified",
            Self::NeverUpdated => "never_updated",
            Self::Stale => "stale",
            Self::EmptyBook => "empty_book",
            Self::LotSize => "lot_size",
            Self::BelowMinimum => "below_minimum",
            Self::AboveMaximum => "above_maximum",
            Self::Balance => "balance",
            Self::Incomplete => "insufficient_liquidity",
            Self::LimitPrice => "limit_price",
            Self::Slippage => "slippage",
            Self::LiquidityScore => "liquidity_score",
            Self::BelowMinNotional => "below_min_notional",
        }
    }
}

/// How a single-venue strategy orders the venues that qualify (ties keep the best-execution
/// score's order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Ranking {
    /// By the composite best-execution score.
    #[default]
    BestExecution,
    /// By latency, lowest first.
    LowestLatency,
    /// By the whole depth within the slippage bound, deepest first (exact sizes).
    BestLiquidity,
    /// By the all-in total (the float nearest the exact fee-inclusive total): the lowest cost
    /// of a buy, the highest proceeds of a sell.
    CostOptimization,
}

impl Ranking {
    /// The ranking of a strategy's name (`"best_execution"`, `"lowest_latency"`,
    /// `"best_liquidity"`, `"cost_optimization"`; `"split"` screens by the score too).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "best_execution" | "split" => Some(Self::BestExecution),
            "lowest_latency" => Some(Self::LowestLatency),
            "best_liquidity" => Some(Self::BestLiquidity),
            "cost_optimization" => Some(Self::CostOptimization),
            _ => None,
        }
    }
}

/// Why the first venue of a ranking won.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Won {
    /// It is the only venue that qualified.
    OnlyVenue,
    /// Best score, and also the best fee-inclusive price.
    BestPrice,
    /// Best score, won on liquidity, latency or reliability over a better price.
    BestScore,
    /// The lowest latency.
    LowestLatency,
    /// The most depth within the slippage bound.
    BestLiquidity,
    /// The lowest all-in cost (highest proceeds).
    LowestCost,
}

impl Won {
    /// A short, stable name (the router's reason: `"best_price"`, `"only_venue"`, ...).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::OnlyVenue => "only_venue",
            Self::BestPrice => "best_price",
            Self::BestScore => "best_score",
            Self::LowestLatency => "lowest_latency",
            Self::BestLiquidity => "best_liquidity",
            Self::LowestCost => "lowest_cost",
        }
    }
}

/// One venue to screen: its book, market rules (at the book's precision), balance cap and
/// health figures.
#[derive(Debug, Clone, Copy)]
pub struct ScreenVenue<'a> {
    /// The venue's book for the order's symbol.
    pub book: &'a Book,
    /// Taker fee, lot size, minimum quantity and notional, and the market's maximum quantity
    /// (`max_quantity`), all in the book's units.
    pub rules: VenueRules,
    /// Most the balance allows, in the book's lots (`None`: no cap).
    pub balance_cap: Option<u64>,
    /// Latency EMA in milliseconds (>= 0).
    pub latency_ms: f64,
    /// Share of successful requests, in [0, 1].
    pub reliability: f64,
}

/// The order and the constraints it is screened under.
#[derive(Debug, Clone, Copy)]
pub struct ScreenOrder {
    /// Buy (takes asks) or sell (takes bids).
    pub side: TakerSide,
    /// Base quantity (exact decimal).
    pub quantity: Quantity,
    /// The bound on the worst price taken, versus the best.
    pub max_slippage: Bps,
    /// The order's limit price (exact decimal), if any.
    pub limit_price: Option<Quantity>,
    /// Depth within the slippage bound must be at least this multiple of the quantity.
    pub min_liquidity_ratio: f64,
    /// The time the decision is made, in nanoseconds since the epoch.
    pub now_ns: u64,
    /// A book not updated for longer than this is stale.
    pub max_age_ns: u64,
    /// How the qualified venues are ordered ([`Screen::ordered`]).
    pub ranking: Ranking,
}

/// What [`screen`] found.
#[derive(Debug, Clone)]
pub struct Screen {
    /// One verdict per input venue, by input position.
    pub verdicts: Vec<Verdict>,
    /// The venues that passed the pre-walk checks, walked, scored and ranked best first
    /// (`Candidate::index` is the input position); qualified or not, see `verdicts`.
    pub candidates: Vec<Candidate>,
    /// Input positions of the qualified venues in the order's ranking, best first.
    pub ordered: Vec<usize>,
    /// Why `ordered[0]` won (`None` when nothing qualified).
    pub won: Option<Won>,
}

impl Screen {
    /// Input positions of the qualified venues, best score first.
    pub fn qualified(&self) -> impl Iterator<Item = usize> + '_ {
        self.candidates
            .iter()
            .map(|c| c.index)
            .filter(|&i| self.verdicts[i] == Verdict::Qualified)
    }

    /// True if the venue at input position `index` qualified with the best raw price factor
    /// (the best fee-inclusive price) among the qualified venues: the best-execution reason
    /// "best price" holds for it.
    #[must_use]
    pub fn has_best_price(&self, index: usize) -> bool {
        if self.verdicts.get(index) != Some(&Verdict::Qualified) {
            return false;
        }
        let qualified = self
            .candidates
            .iter()
            .filter(|c| self.verdicts[c.index] == Verdict::Qualified);
        let best = qualified.clone().map(|c| c.raw.price).reduce(f64::max);
        let own = qualified
            .clone()
            .find(|c| c.index == index)
            .map(|c| c.raw.price);
        matches!((best, own), (Some(best), Some(own)) if own >= best)
    }
}

/// The verdict on a venue before its book is walked (freshness, empty side, amount rules).
fn pre_walk(venue: &ScreenVenue<'_>, order: &ScreenOrder) -> Verdict {
    let book = venue.book;
    let updated = book.updated_at_ns();
    if updated == 0 {
        return Verdict::NeverUpdated;
    }
    if order.now_ns.saturating_sub(updated) > order.max_age_ns {
        return Verdict::Stale;
    }
    if book.ladder(order.side.consumes()).is_empty() {
        return Verdict::EmptyBook;
    }
    let Some(lots) = order.quantity.at_scale(book.size_decimals()) else {
        return Verdict::LotSize; // finer than the book, so finer than any lot
    };
    let rules = &venue.rules;
    if lots % rules.lot_size.max(1) != 0 {
        return Verdict::LotSize;
    }
    if lots < rules.min_quantity {
        return Verdict::BelowMinimum;
    }
    if rules.max_quantity.is_some_and(|max| lots > max) {
        return Verdict::AboveMaximum;
    }
    if venue.balance_cap.is_some_and(|cap| lots > cap) {
        return Verdict::Balance;
    }
    Verdict::Qualified
}

/// The verdict on a walked candidate (depth, limit price, slippage, liquidity, notional).
fn post_walk(candidate: &Candidate, venue: &ScreenVenue<'_>, order: &ScreenOrder) -> Verdict {
    let walk = &candidate.walk;
    if !walk.complete {
        return Verdict::Incomplete;
    }
    if let Some(limit) = order.limit_price {
        let decimals = venue.book.price_decimals();
        let beyond = match order.side {
            // Buys may pay up to the limit: compare with the limit rounded down to the tick.
            TakerSide::Buy => limit
                .at_scale_rounded(decimals, Rounding::Down)
                .is_some_and(|ticks| u128::from(walk.worst_price) > ticks),
            TakerSide::Sell => limit
                .at_scale_rounded(decimals, Rounding::Up)
                .is_none_or(|ticks| u128::from(walk.worst_price) < ticks),
        };
        if beyond {
            return Verdict::LimitPrice;
        }
    }
    if !candidate.eligible {
        return Verdict::Slippage;
    }
    if candidate.liquidity_ratio < order.min_liquidity_ratio {
        return Verdict::LiquidityScore;
    }
    if walk.notional < venue.rules.min_notional {
        return Verdict::BelowMinNotional;
    }
    Verdict::Qualified
}

/// Screens every venue for the whole order (see the module documentation).
///
/// Errors on an order that cannot be screened (a zero quantity, a minimum liquidity ratio that
/// is negative or not finite) and on bad health figures (a latency or reliability out of range).
pub fn screen(
    venues: &[ScreenVenue<'_>],
    order: &ScreenOrder,
    weights: &Weights,
) -> Result<Screen, ScreenError> {
    if order.quantity.mantissa == 0 {
        return Err(ScreenError::ZeroQuantity);
    }
    if !order.min_liquidity_ratio.is_finite() || order.min_liquidity_ratio < 0.0 {
        return Err(ScreenError::BadLiquidityRatio(order.min_liquidity_ratio));
    }
    let mut verdicts: Vec<Verdict> = venues.iter().map(|v| pre_walk(v, order)).collect();
    let passed: Vec<usize> = (0..venues.len())
        .filter(|&i| verdicts[i] == Verdict::Qualified)
        .collect();
    if passed.is_empty() {
        return Ok(Screen {
            verdicts,
            candidates: Vec::new(),
            ordered: Vec::new(),
            won: None,
        });
    }
    let mut candidates = rank_with(
        passed.len(),
        |k| {
            let venue = &venues[passed[k]];
            let input = VenueInput {
                taker_fee: venue.rules.taker_fee,
                latency_ms: venue.latency_ms,
                reliability: venue.reliability,
            };
            (venue.book, input)
        },
        order.side,
        order.quantity,
        weights,
        order.max_slippage,
    )
    .map_err(|error| match error {
        ScoreError::BadVenue { index, message } => ScoreError::BadVenue {
            index: passed[index],
            message,
        },
        other => other,
    })?;
    for candidate in &mut candidates {
        let index = passed[candidate.index];
        candidate.index = index;
        candidate.score.index = index;
        verdicts[index] = post_walk(candidate, &venues[index], order);
    }
    let mut screened = Screen {
        verdicts,
        candidates,
        ordered: Vec::new(),
        won: None,
    };
    (screened.ordered, screened.won) = rank(&screened, venues, order);
    Ok(screened)
}

/// The qualified venues of `screen` in `order.ranking`'s order (ties in score order), and why
/// the first won.
fn rank(
    screen: &Screen,
    venues: &[ScreenVenue<'_>],
    order: &ScreenOrder,
) -> (Vec<usize>, Option<Won>) {
    let mut ordered: Vec<usize> = screen.qualified().collect();
    let won = match (ordered.first(), order.ranking) {
        (None, _) => return (ordered, None),
        _ if ordered.len() == 1 => Won::OnlyVenue,
        (Some(&first), Ranking::BestExecution) => {
            if screen.has_best_price(first) {
                Won::BestPrice
            } else {
                Won::BestScore
            }
        }
        (_, Ranking::LowestLatency) => {
            // A stable sort keeps the score order among equal keys.
            ordered.sort_by(|&a, &b| float_order(venues[a].latency_ms, venues[b].latency_ms));
            Won::LowestLatency
        }
        (_, Ranking::BestLiquidity) => {
            let consumed = order.side.consumes();
            let mut depth: Vec<(usize, u128)> = ordered
                .iter()
                .map(|&i| {
                    (
                        i,
                        venues[i]
                            .book
                            .depth_within_bps(consumed, order.max_slippage),
                    )
                })
                .collect();
            depth.sort_by_key(|entry| std::cmp::Reverse(entry.1));
            ordered = depth.into_iter().map(|(i, _)| i).collect();
            Won::BestLiquidity
        }
        (_, Ranking::CostOptimization) => {
            // The qualified candidates in score order: what `ordered` holds, with their walks.
            let sign = if order.side == TakerSide::Buy {
                1.0
            } else {
                -1.0
            };
            let mut totals: Vec<CostKey<'_>> = screen
                .candidates
                .iter()
                .filter(|c| screen.verdicts[c.index] == Verdict::Qualified)
                .map(|c| CostKey::new(c, &venues[c.index], order.side, sign))
                .collect();
            // A stable sort keeps the score order among equal totals.
            totals.sort_by(CostKey::cmp);
            ordered = totals.into_iter().map(|key| key.index).collect();
            Won::LowestCost
        }
    };
    (ordered, Some(won))
}

/// One qualified candidate as the cost ranking compares it: the float nearest its exact
/// fee-inclusive total (the core's float figure when the exact one does not fit 128 bits),
/// signed so that lower ranks first. Rounding the exact total correctly is slow (its text
/// parsed) when it has more digits than a float holds, so it is done only for the totals
/// whose quick estimate is too close to another's to order them: the order is the one the
/// correctly rounded floats give.
struct CostKey<'a> {
    index: usize,
    sign: f64,
    /// The exact total (digits, scale), if it fits.
    exact: Option<(u128, u32)>,
    /// The total within a few units in the last place: the exact digits over the power of
    /// ten, each rounded once (or the core's float figure).
    estimate: f64,
    /// The correctly rounded total, once worked out (NaN: not yet).
    rounded: Cell<f64>,
    candidate: &'a Candidate,
}

impl<'a> CostKey<'a> {
    fn new(candidate: &'a Candidate, venue: &ScreenVenue<'_>, side: TakerSide, sign: f64) -> Self {
        let book = venue.book;
        let exact = exact_cost(
            &candidate.walk,
            side,
            venue.rules.taker_fee,
            book.price_decimals(),
            book.size_decimals(),
        )
        .map(|cost| (cost.total, cost.scale));
        let estimate = exact.map_or(candidate.cost.total, |(total, scale)| {
            u128_to_f64(total) / 10f64.powi(scale as i32)
        });
        Self {
            index: candidate.index,
            sign,
            exact,
            estimate: sign * estimate,
            rounded: Cell::new(f64::NAN),
            candidate,
        }
    }

    /// The signed, correctly rounded total.
    fn rounded(&self) -> f64 {
        let known = self.rounded.get();
        if !known.is_nan() {
            return known;
        }
        let value = self.sign
            * self
                .exact
                .map_or(self.candidate.cost.total, |(total, scale)| {
                    to_f64_rounded(total, scale)
                });
        self.rounded.set(value);
        value
    }

    /// The order of the correctly rounded totals: the estimates' where they are far enough
    /// apart that rounding cannot reorder them (each estimate is within two units in the last
    /// place of the exact total, the rounded float within half of one), else the rounded
    /// floats'.
    fn cmp(a: &Self, b: &Self) -> Ordering {
        let gap = (a.estimate - b.estimate).abs();
        let unit = a.estimate.abs().max(b.estimate.abs()) * f64::EPSILON;
        if gap > 16.0 * unit {
            float_order(a.estimate, b.estimate)
        } else {
            float_order(a.rounded(), b.rounded())
        }
    }
}

/// Ascending order of finite floats (equal values, `-0.0` and `0.0` included, tie).
pub(crate) fn float_order(a: f64, b: f64) -> Ordering {
    a.partial_cmp(&b).unwrap_or(Ordering::Equal)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::book::Level;
    use crate::decimal::parse_fixed;

    /// The test clock: every fresh book was updated then.
    pub(crate) const NOW: u64 = 1_000_000_000_000;

    fn book(asks: &[(&str, &str)], bids: &[(&str, &str)], at_ns: u64) -> Book {
        let mut book = Book::new(1, 1).expect("decimals");
        let levels = |side: &[(&str, &str)]| -> Vec<Level> {
            side.iter()
                .map(|(p, s)| Level {
                    price: parse_fixed(p, 1).expect("price"),
                    size: parse_fixed(s, 1).expect("size"),
                })
                .collect()
        };
        book.apply_snapshot(&levels(bids), &levels(asks), 1, at_ns)
            .expect("snapshot");
        book
    }

    fn rules(lot: u64) -> VenueRules {
        VenueRules {
            taker_fee: Bps::from_f64(10.0).expect("bps"),
            lot_size: lot,
            min_quantity: 0,
            min_notional: 0,
            max_quantity: None,
        }
    }

    /// A venue of 10 bps fees, lots of one unit, no minimums or caps, 20 ms, fully reliable.
    pub(crate) fn venue(book: &Book) -> ScreenVenue<'_> {
        ScreenVenue {
            book,
            rules: rules(1),
            balance_cap: None,
            latency_ms: 20.0,
            reliability: 1.0,
        }
    }

    /// A best-execution buy of `quantity` within 100 bps, no limit or minimum ratio, at NOW.
    pub(crate) fn order(quantity: &str) -> ScreenOrder {
        ScreenOrder {
            ranking: Ranking::BestExecution,
            side: TakerSide::Buy,
            quantity: Quantity::parse(quantity).expect("quantity"),
            max_slippage: Bps::from_f64(100.0).expect("bps"),
            limit_price: None,
            min_liquidity_ratio: 0.0,
            now_ns: NOW,
            max_age_ns: 5_000_000_000,
        }
    }

    fn verdicts(venues: &[ScreenVenue<'_>], order: &ScreenOrder) -> Vec<Verdict> {
        screen(venues, order, &Weights::DEFAULT)
            .expect("screen")
            .verdicts
    }

    #[test]
    fn each_ranking_orders_the_qualified_venues_and_says_why_the_first_won() {
        // cheap: best price, thin; deep: dearer, deepest; fast: dearest, lowest latency.
        let cheap = book(
            &[("100.0", "1.0"), ("100.1", "1.0")],
            &[("99.0", "1.0")],
            NOW,
        );
        let deep = book(
            &[("100.2", "9.0"), ("100.3", "9.0")],
            &[("99.0", "1.0")],
            NOW,
        );
        let fast = book(&[("100.4", "3.0")], &[("99.0", "1.0")], NOW);
        let mut venues = [venue(&cheap), venue(&deep), venue(&fast)];
        venues[2].latency_ms = 1.0;
        let ranked = |ranking: Ranking| {
            let screened = screen(
                &venues,
                &ScreenOrder {
                    ranking,
                    ..order("1")
                },
                &Weights::DEFAULT,
            )
            .expect("screen");
            (screened.ordered, screened.won)
        };
        let (by_score, won) = ranked(Ranking::BestExecution);
        assert_eq!(by_score.len(), 3);
        let expected = if by_score[0] == 0 {
            Won::BestPrice
        } else {
            Won::BestScore
        };
        assert_eq!(won, Some(expected));
        // Equal latencies keep the score's order.
        let mut fastest_first = vec![2];
        fastest_first.extend(by_score.iter().copied().filter(|&i| i != 2));
        assert_eq!(
            ranked(Ranking::LowestLatency),
            (fastest_first, Some(Won::LowestLatency))
        );
        assert_eq!(
            ranked(Ranking::BestLiquidity),
            (vec![1, 2, 0], Some(Won::BestLiquidity))
        );
        assert_eq!(
            ranked(Ranking::CostOptimization),
            (vec![0, 1, 2], Some(Won::LowestCost))
        );
        let sell = |ranking: Ranking| {
            let order = ScreenOrder {
                ranking,
                side: TakerSide::Sell,
                ..order("1")
            };
            screen(&venues, &order, &Weights::DEFAULT)
                .expect("screen")
                .won
        };
        assert_eq!(sell(Ranking::CostOptimization), Some(Won::LowestCost));
        let alone = screen(
            &venues[..1],
            &ScreenOrder {
                ranking: Ranking::LowestLatency,
                ..order("1")
            },
            &Weights::DEFAULT,
        )
        .expect("screen");
        assert_eq!((alone.ordered, alone.won), (vec![0], Some(Won::OnlyVenue)));
        let none = screen(&venues, &order("100"), &Weights::DEFAULT).expect("screen");
        assert_eq!((none.ordered, none.won), (vec![], None));
    }

    #[test]
    fn a_fresh_deep_book_qualifies_and_ranks() {
        let deep = book(
            &[("100.0", "5.0"), ("100.1", "5.0")],
            &[("99.9", "1.0")],
            NOW,
        );
        let dear = book(
            &[("100.5", "5.0"), ("100.6", "5.0")],
            &[("99.9", "1.0")],
            NOW,
        );
        let screen = screen(
            &[venue(&dear), venue(&deep)],
            &order("1"),
            &Weights::DEFAULT,
        )
        .expect("screen");
        assert_eq!(screen.verdicts, [Verdict::Qualified, Verdict::Qualified]);
        assert_eq!(screen.qualified().collect::<Vec<_>>(), [1, 0]);
        assert_eq!(screen.candidates[0].score.index, 1);
    }

    #[test]
    fn the_best_price_is_the_best_fee_inclusive_price_among_the_qualified() {
        let cheap_but_stale = book(&[("99.0", "5.0")], &[], NOW - 6_000_000_000);
        let best = book(&[("100.0", "5.0")], &[], NOW);
        let tied = book(&[("100.0", "5.0")], &[], NOW);
        let dear = book(&[("100.5", "5.0")], &[], NOW);
        let venues = [
            venue(&cheap_but_stale),
            venue(&best),
            venue(&tied),
            venue(&dear),
        ];
        let screen = screen(&venues, &order("1"), &Weights::DEFAULT).expect("screen");
        assert!(!screen.has_best_price(0), "not qualified");
        assert!(screen.has_best_price(1));
        assert!(screen.has_best_price(2), "a tie is the best price too");
        assert!(!screen.has_best_price(3));
        assert!(!screen.has_best_price(4), "no such venue");
        let nothing = screen_fn(&[venue(&cheap_but_stale)], &order("1"));
        assert!(!nothing.has_best_price(0));
    }

    fn screen_fn(venues: &[ScreenVenue<'_>], order: &ScreenOrder) -> Screen {
        screen(venues, order, &Weights::DEFAULT).expect("screen")
    }

    #[test]
    fn an_order_that_cannot_be_screened_is_refused_before_any_walk() {
        let b = book(&[("100.0", "5.0")], &[], NOW);
        assert_eq!(
            screen(&[venue(&b)], &order("0"), &Weights::DEFAULT).map(|_| ()),
            Err(ScreenError::ZeroQuantity)
        );
        for ratio in [-1.0, f64::NAN, f64::INFINITY] {
            let mut o = order("1");
            o.min_liquidity_ratio = ratio;
            let err = screen(&[venue(&b)], &o, &Weights::DEFAULT).map(|_| ());
            assert!(
                matches!(err, Err(ScreenError::BadLiquidityRatio(_))),
                "{ratio}: {err:?}"
            );
        }
    }

    #[test]
    fn freshness_and_empty_sides_are_checked_before_the_walk() {
        let never = book(&[("100.0", "5.0")], &[], 0);
        let old = book(&[("100.0", "5.0")], &[], NOW - 6_000_000_000);
        let no_asks = book(&[], &[("99.0", "1.0")], NOW);
        let screen = screen(
            &[venue(&never), venue(&old), venue(&no_asks)],
            &order("1"),
            &Weights::DEFAULT,
        )
        .expect("screen");
        assert_eq!(
            screen.verdicts,
            [Verdict::NeverUpdated, Verdict::Stale, Verdict::EmptyBook]
        );
        assert!(screen.candidates.is_empty());
    }

    #[test]
    fn amount_rules_use_the_book_units() {
        let b = book(&[("100.0", "50.0")], &[], NOW);
        let mut lot = venue(&b);
        lot.rules.lot_size = 5; // 0.5
        let mut min = venue(&b);
        min.rules.min_quantity = 20; // 2.0
        let mut max = venue(&b);
        max.rules.max_quantity = Some(5);
        let mut balance = venue(&b);
        balance.balance_cap = Some(9);
        assert_eq!(
            verdicts(&[lot, min, max, balance], &order("1.2")),
            [
                Verdict::LotSize,
                Verdict::BelowMinimum,
                Verdict::AboveMaximum,
                Verdict::Balance
            ]
        );
        // Finer than the book's precision: no lot can hold it.
        assert_eq!(verdicts(&[venue(&b)], &order("1.25")), [Verdict::LotSize]);
    }

    #[test]
    fn walk_checks_in_order() {
        let thin = book(&[("100.0", "0.5")], &[], NOW);
        let steep = book(&[("100.0", "0.5"), ("102.0", "5.0")], &[], NOW);
        let shallow = book(&[("100.0", "1.0"), ("100.1", "0.5")], &[], NOW);
        let small = book(&[("100.0", "50.0")], &[], NOW);
        let mut min_notional = venue(&small);
        min_notional.rules.min_notional = 10_001 * 100; // 100.01 quote at 2 decimals
        let mut o = order("1");
        o.min_liquidity_ratio = 2.0;
        assert_eq!(
            verdicts(
                &[venue(&thin), venue(&steep), venue(&shallow), min_notional],
                &o
            ),
            [
                Verdict::Incomplete,
                Verdict::Slippage,
                Verdict::LiquidityScore,
                Verdict::BelowMinNotional
            ]
        );
    }

    #[test]
    fn limit_prices_round_inwards() {
        let b = book(
            &[("100.0", "0.5"), ("100.1", "5.0")],
            &[("99.9", "0.5"), ("99.8", "5.0")],
            NOW,
        );
        let mut buy = order("1");
        buy.limit_price = Some(Quantity::parse("100.09").expect("limit"));
        assert_eq!(verdicts(&[venue(&b)], &buy), [Verdict::LimitPrice]);
        buy.limit_price = Some(Quantity::parse("100.1").expect("limit"));
        assert_eq!(verdicts(&[venue(&b)], &buy), [Verdict::Qualified]);
        let mut sell = order("1");
        sell.side = TakerSide::Sell;
        sell.limit_price = Some(Quantity::parse("99.81").expect("limit"));
        assert_eq!(verdicts(&[venue(&b)], &sell), [Verdict::LimitPrice]);
        sell.limit_price = Some(Quantity::parse("99.8").expect("limit"));
        assert_eq!(verdicts(&[venue(&b)], &sell), [Verdict::Qualified]);
    }

    #[test]
    fn scores_are_normalised_over_the_venues_that_passed_the_amount_checks() {
        let a = book(&[("100.0", "50.0")], &[], NOW);
        let b = book(&[("100.2", "50.0")], &[], NOW);
        let mut blocked = venue(&a);
        blocked.balance_cap = Some(0);
        let screened =
            screen(&[blocked, venue(&b)], &order("1"), &Weights::DEFAULT).expect("screen");
        let alone = screen(&[venue(&b)], &order("1"), &Weights::DEFAULT).expect("screen");
        assert_eq!(screened.candidates.len(), 1);
        assert_eq!(screened.candidates[0].index, 1);
        assert_eq!(
            screened.candidates[0].score.total,
            alone.candidates[0].score.total
        );
    }

    proptest::proptest! {
        /// The cost ranking orders the qualified venues as their correctly rounded exact
        /// totals do (ties in score order), whether the quick estimates decide or the
        /// rounding must: totals of many more digits than a float holds, fees one unit apart.
        #[test]
        fn cost_ranking_orders_by_the_correctly_rounded_exact_totals(
            venues in proptest::collection::vec(
                (0u64..3, 1u64..1_000_000_000, 0u64..2, 0u64..1_000),
                2..8,
            ),
            sell in proptest::bool::ANY,
        ) {
            let books: Vec<Book> = venues
                .iter()
                .map(|&(step, size, _, _)| {
                    let mut book = Book::new(8, 8).expect("decimals");
                    let best = 6_500_000_000_000 + step;
                    let asks = [Level { price: best, size }, Level { price: best + 1, size: 10 * size }];
                    let bids = [Level { price: best - 2 - step, size }, Level { price: best - 3 - step, size: 10 * size }];
                    book.apply_snapshot(&bids, &asks, 1, NOW).expect("snapshot");
                    book
                })
                .collect();
            let screened: Vec<ScreenVenue<'_>> = books
                .iter()
                .zip(&venues)
                .map(|(book, &(_, _, fee_step, fee_units))| ScreenVenue {
                    rules: VenueRules {
                        taker_fee: Bps(100_000 + fee_step + fee_units * 1_000),
                        ..rules(1)
                    },
                    ..venue(book)
                })
                .collect();
            let side = if sell { TakerSide::Sell } else { TakerSide::Buy };
            let order = ScreenOrder {
                ranking: Ranking::CostOptimization,
                side,
                ..order("0.00000001")
            };
            let screen = screen(&screened, &order, &Weights::DEFAULT).expect("screen");
            let sign = if sell { -1.0 } else { 1.0 };
            let total = |index: usize| {
                let candidate = screen.candidates.iter().find(|c| c.index == index).expect("walked");
                let book = screened[index].book;
                let exact = exact_cost(
                    &candidate.walk,
                    side,
                    screened[index].rules.taker_fee,
                    book.price_decimals(),
                    book.size_decimals(),
                )
                .expect("fits");
                sign * to_f64_rounded(exact.total, exact.scale)
            };
            let mut want: Vec<usize> = screen.qualified().collect();
            want.sort_by(|&a, &b| float_order(total(a), total(b)));
            proptest::prop_assert_eq!(&screen.ordered, &want);
        }
    }
}
