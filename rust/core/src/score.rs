//! Explainable venue scoring: per-factor scores, normalised across candidates, weighted.
//!
//! Every factor is turned into a "higher is better" raw value, min-max normalised to `[0, 1]`
//! across the candidates (all equal → 1 for everyone), multiplied by its weight (weights are
//! scaled to sum to 1). The result keeps every factor's normalised value and contribution, so a
//! ranking can always be explained.

use thiserror::Error;

use crate::book::{Book, Bps, TakerSide};
use crate::cost::{Cost, execution_cost};
use crate::decimal::{Quantity, u128_to_f64};
use crate::walk::{Walk, WalkLimits, walk};

/// One value per scoring factor.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Factors {
    /// Price / all-in cost.
    pub price: f64,
    /// Depth available for the order.
    pub liquidity: f64,
    /// Round-trip latency to the venue.
    pub latency: f64,
    /// Share of requests to the venue that succeed.
    pub reliability: f64,
}

impl Factors {
    fn named(&self) -> [(&'static str, f64); 4] {
        [
            ("price", self.price),
            ("liquidity", self.liquidity),
            ("latency", self.latency),
            ("reliability", self.reliability),
        ]
    }

    fn from_array(values: [f64; 4]) -> Self {
        Self {
            price: values[0],
            liquidity: values[1],
            latency: values[2],
            reliability: values[3],
        }
    }

    fn to_array(self) -> [f64; 4] {
        [self.price, self.liquidity, self.latency, self.reliability]
    }
}

/// Factor weights, validated: finite, non-negative, not all zero. Scaled to sum to 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weights(Factors);

impl Weights {
    /// The defaults from the requirements: price 0.4, liquidity 0.3, latency 0.2, reliability 0.1.
    pub const DEFAULT: Weights = Weights(Factors {
        price: 0.4,
        liquidity: 0.3,
        latency: 0.2,
        reliability: 0.1,
    });

    /// Validates weights and scales them to sum to 1.
    pub fn new(weights: Factors) -> Result<Self, ScoreError> {
        for (name, value) in weights.named() {
            if !value.is_finite() || value < 0.0 {
                return Err(ScoreError::BadWeight { name, value });
            }
        }
        // Scale by the largest weight first so that huge weights cannot overflow the sum.
        let largest = weights.to_array().into_iter().fold(0.0, f64::max);
        if largest <= 0.0 {
            return Err(ScoreError::ZeroWeights);
        }
        let scaled = weights.to_array().map(|w| w / largest);
        let sum: f64 = scaled.iter().sum();
        Ok(Self(Factors::from_array(scaled.map(|w| w / sum))))
    }

    /// The weights, scaled to sum to 1.
    #[must_use]
    pub fn factors(&self) -> Factors {
        self.0
    }
}

impl Default for Weights {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Why scoring or ranking refused its input.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ScoreError {
    /// A weight is negative or not finite.
    #[error("weight {name} must be a finite number >= 0, got {value}")]
    BadWeight {
        /// The factor.
        name: &'static str,
        /// The value given.
        value: f64,
    },
    /// Every weight is zero.
    #[error("at least one weight must be positive")]
    ZeroWeights,
    /// A raw factor value is not finite.
    #[error("candidate {index}: factor {name} must be finite, got {value}")]
    BadFactor {
        /// Position of the candidate in the input.
        index: usize,
        /// The factor.
        name: &'static str,
        /// The value given.
        value: f64,
    },
    /// A venue's latency or reliability is out of range.
    #[error("venue {index}: {message}")]
    BadVenue {
        /// Position of the venue in the input.
        index: usize,
        /// What is wrong.
        message: String,
    },
    /// The order quantity cannot be expressed at a venue's size precision.
    #[error(
        "venue {index}: quantity has more decimals than the book's size precision ({decimals})"
    )]
    QuantityPrecision {
        /// Position of the venue in the input.
        index: usize,
        /// The book's size decimals.
        decimals: u8,
    },
    /// The order quantity is zero.
    #[error("quantity must be positive")]
    ZeroQuantity,
    /// Books and venue inputs have different lengths.
    #[error("{books} books but {venues} venue inputs")]
    LengthMismatch {
        /// Number of books.
        books: usize,
        /// Number of venue inputs.
        venues: usize,
    },
}

/// Factor ranges narrower than this fraction of the values are float noise and count as ties.
pub const RELATIVE_TIE: f64 = 1e-12;

/// One candidate's score: the total, each factor normalised to `[0, 1]`, and each factor's
/// weighted contribution (the contributions sum to the total).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score {
    /// Position of the candidate in the input.
    pub index: usize,
    /// Weighted sum of the normalised factors, in `[0, 1]`.
    pub total: f64,
    /// Each factor min-max normalised across the candidates, in `[0, 1]`.
    pub normalised: Factors,
    /// Each factor's weight times its normalised value.
    pub contributions: Factors,
}

/// Scores candidates whose raw factors are "higher is better", normalising over the candidates
/// selected by `in_range` (all of them if none is selected; values outside are clamped).
///
/// Returns one score per candidate, in input order.
pub fn score_with_range(
    raw: &[Factors],
    weights: &Weights,
    in_range: impl Fn(usize) -> bool,
) -> Result<Vec<Score>, ScoreError> {
    let normaliser = Normaliser::over(raw.len(), |i| raw[i], in_range)?;
    Ok(raw
        .iter()
        .enumerate()
        .map(|(index, factors)| normaliser.score(index, factors, weights))
        .collect())
}

/// The ranges the factors are min-max normalised over: the lowest and highest value of each
/// factor among the candidates in range (all of them if none is).
struct Normaliser {
    low: [f64; 4],
    high: [f64; 4],
}

impl Normaliser {
    /// The ranges over the `count` candidates whose factors `raw` gives; refuses a factor
    /// that is not finite.
    fn over(
        count: usize,
        raw: impl Fn(usize) -> Factors,
        in_range: impl Fn(usize) -> bool,
    ) -> Result<Self, ScoreError> {
        for index in 0..count {
            for (name, value) in raw(index).named() {
                if !value.is_finite() {
                    return Err(ScoreError::BadFactor { index, name, value });
                }
            }
        }
        let any_in_range = (0..count).any(&in_range);
        let mut low = [f64::INFINITY; 4];
        let mut high = [f64::NEG_INFINITY; 4];
        for index in 0..count {
            if any_in_range && !in_range(index) {
                continue;
            }
            for (k, value) in raw(index).to_array().into_iter().enumerate() {
                low[k] = low[k].min(value);
                high[k] = high[k].max(value);
            }
        }
        Ok(Self { low, high })
    }

    /// The score of the candidate at `index` with `factors`.
    fn score(&self, index: usize, factors: &Factors, weights: &Weights) -> Score {
        let (low, high) = (&self.low, &self.high);
        let w = weights.factors().to_array();
        let values = factors.to_array();
        let normalised: [f64; 4] = std::array::from_fn(|k| {
            // Halving is exact and keeps differences of huge values finite.
            let span = high[k] * 0.5 - low[k] * 0.5;
            // Spans within float rounding of the values (e.g. one all-in price computed at
            // two precisions) are ties, not a best and a worst.
            let magnitude = high[k].abs().max(low[k].abs()) * 0.5;
            if span > magnitude * RELATIVE_TIE {
                ((values[k] * 0.5 - low[k] * 0.5) / span).clamp(0.0, 1.0)
            } else {
                1.0
            }
        });
        let contributions: [f64; 4] = std::array::from_fn(|k| w[k] * normalised[k]);
        Score {
            index,
            total: contributions.iter().sum(),
            normalised: Factors::from_array(normalised),
            contributions: Factors::from_array(contributions),
        }
    }
}

/// Scores candidates whose raw factors are "higher is better"; returns them best first
/// (ties keep input order).
pub fn score(raw: &[Factors], weights: &Weights) -> Result<Vec<Score>, ScoreError> {
    let mut scores = score_with_range(raw, weights, |_| true)?;
    scores.sort_by(|a, b| b.total.total_cmp(&a.total).then(a.index.cmp(&b.index)));
    Ok(scores)
}

/// The liquidity ratio at which depth stops counting: a book holding ten times the order within
/// the slippage bound is as liquid as any deeper one for that order. (It also bounds the work:
/// depth is summed from the best level only until it reaches the cap.)
pub const LIQUIDITY_RATIO_CAP: u128 = 10;

/// What the ranking needs to know about a venue besides its book.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VenueInput {
    /// Taker fee.
    pub taker_fee: Bps,
    /// Recent round-trip latency, in milliseconds.
    pub latency_ms: f64,
    /// Share of recent requests that succeeded, in `[0, 1]`.
    pub reliability: f64,
}

/// One venue evaluated for an order: the walk, its cost, its factors and its score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// Position of the venue in the input.
    pub index: usize,
    /// The walk of the venue's book for the order's quantity.
    pub walk: Walk,
    /// The fee-inclusive cost of that walk.
    pub cost: Cost,
    /// Depth within the slippage bound divided by the order quantity (2.0 = twice the order),
    /// capped at [`LIQUIDITY_RATIO_CAP`].
    pub liquidity_ratio: f64,
    /// True if the book fills the whole order within the slippage bound.
    pub eligible: bool,
    /// The raw, higher-is-better factor values that were scored.
    pub raw: Factors,
    /// The score.
    pub score: Score,
}

/// The best-execution ranking in one call: walks every book for the order, prices it with the
/// venue's fee, measures liquidity within `max_slippage`, and scores price (effective price),
/// liquidity (depth ratio), latency and reliability. Normalisation is over the eligible venues
/// (complete fill within the slippage bound); eligible venues rank first, best first.
pub fn rank_venues(
    books: &[&Book],
    side: TakerSide,
    quantity: Quantity,
    venues: &[VenueInput],
    weights: &Weights,
    max_slippage: Bps,
) -> Result<Vec<Candidate>, ScoreError> {
    if books.len() != venues.len() {
        return Err(ScoreError::LengthMismatch {
            books: books.len(),
            venues: venues.len(),
        });
    }
    rank_with(
        books.len(),
        |i| (books[i], venues[i]),
        side,
        quantity,
        weights,
        max_slippage,
    )
}

/// [`rank_venues`] over the `count` venues that `venue` gives (its book and inputs by
/// position): what the router's screen calls on the venues that passed its checks, without
/// gathering them first.
pub(crate) fn rank_with<'b>(
    count: usize,
    venue: impl Fn(usize) -> (&'b Book, VenueInput),
    side: TakerSide,
    quantity: Quantity,
    weights: &Weights,
    max_slippage: Bps,
) -> Result<Vec<Candidate>, ScoreError> {
    if quantity.mantissa == 0 {
        return Err(ScoreError::ZeroQuantity);
    }
    let mut candidates = Vec::with_capacity(count);
    for index in 0..count {
        let (book, venue) = venue(index);
        candidates.push(evaluate(index, book, &venue, side, quantity, max_slippage)?);
    }
    let normaliser = Normaliser::over(
        candidates.len(),
        |i| candidates[i].raw,
        |i| candidates[i].eligible,
    )?;
    for candidate in &mut candidates {
        candidate.score = normaliser.score(candidate.index, &candidate.raw, weights);
    }
    // Sorted as positions, then gathered once: a candidate is a few hundred bytes, which an
    // insertion sort of twenty would move a hundred times over.
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&candidates[a], &candidates[b]);
        b.eligible
            .cmp(&a.eligible)
            .then(b.score.total.total_cmp(&a.score.total))
            .then(b.raw.price.total_cmp(&a.raw.price))
            .then(a.index.cmp(&b.index))
    });
    Ok(order.into_iter().map(|i| candidates[i]).collect())
}

/// One venue walked for the order, priced, its depth measured and its raw factors set (its
/// score is set by the caller, once every venue's factors are known).
fn evaluate(
    index: usize,
    book: &Book,
    venue: &VenueInput,
    side: TakerSide,
    quantity: Quantity,
    max_slippage: Bps,
) -> Result<Candidate, ScoreError> {
    if !venue.latency_ms.is_finite() || venue.latency_ms < 0.0 {
        return Err(ScoreError::BadVenue {
            index,
            message: format!(
                "latency_ms must be finite and >= 0, got {}",
                venue.latency_ms
            ),
        });
    }
    if !(0.0..=1.0).contains(&venue.reliability) {
        return Err(ScoreError::BadVenue {
            index,
            message: format!("reliability must be in [0, 1], got {}", venue.reliability),
        });
    }
    let lots = quantity
        .at_scale(book.size_decimals())
        .ok_or(ScoreError::QuantityPrecision {
            index,
            decimals: book.size_decimals(),
        })?;
    let ladder = book.ladder(side.consumes());
    let limits = WalkLimits {
        quantity: Some(lots),
        ..WalkLimits::default()
    };
    let walked = walk(ladder, side, &limits);
    let cost = execution_cost(
        &walked,
        side,
        venue.taker_fee,
        book.price_decimals(),
        book.size_decimals(),
    );
    let cap = u128::from(lots) * LIQUIDITY_RATIO_CAP;
    // The slippage bound serves both the depth and the eligibility check.
    let bound =
        (walked.best_price > 0).then(|| max_slippage.bound(walked.best_price, side.consumes()));
    let depth = bound.map_or(0, |b| ladder.size_up_to_capped(b, cap).min(cap));
    let liquidity_ratio = u128_to_f64(depth) / lots as f64;
    let within_slippage = walked.filled > 0
        && bound.is_some_and(|b| match side {
            TakerSide::Buy => walked.worst_price <= b,
            TakerSide::Sell => walked.worst_price >= b,
        });
    let eligible = walked.complete && within_slippage;
    // A walk that filled nothing has no price; it is never eligible, and its factor stays
    // the 0 it always was so the ranking of the others does not change.
    let effective = cost.effective_price.unwrap_or(0.0);
    let price = match side {
        TakerSide::Buy => -effective,
        TakerSide::Sell => effective,
    };
    let factors = Factors {
        price,
        liquidity: liquidity_ratio,
        latency: -venue.latency_ms,
        reliability: venue.reliability,
    };
    Ok(Candidate {
        index,
        walk: walked,
        cost,
        liquidity_ratio,
        eligible,
        raw: factors,
        score: Score {
            index,
            total: 0.0,
            normalised: Factors::default(),
            contributions: Factors::default(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::Level;

    fn factors(price: f64, liquidity: f64, latency: f64, reliability: f64) -> Factors {
        Factors {
            price,
            liquidity,
            latency,
            reliability,
        }
    }

    #[test]
    fn contributions_sum_to_total_and_best_ranks_first() {
        let raw = [
            factors(-101.0, 2.0, -40.0, 0.99),
            factors(-100.0, 1.0, -80.0, 0.95),
        ];
        let scores = score(&raw, &Weights::DEFAULT).unwrap();
        // Venue 1: best price (0.4). Venue 0: best liquidity, latency, reliability (0.6).
        assert_eq!(scores[0].index, 0);
        assert!((scores[0].total - 0.6).abs() < 1e-12);
        assert!((scores[1].total - 0.4).abs() < 1e-12);
        for s in &scores {
            let c = s.contributions;
            assert!((c.price + c.liquidity + c.latency + c.reliability - s.total).abs() < 1e-12);
        }
    }

    #[test]
    fn equal_candidates_all_score_one_and_weights_are_scaled() {
        let weights = Weights::new(factors(2.0, 0.0, 0.0, 2.0)).unwrap();
        assert_eq!(weights.factors(), factors(0.5, 0.0, 0.0, 0.5));
        let scores = score(&[factors(1.0, 1.0, 1.0, 1.0); 3], &weights).unwrap();
        assert!(scores.iter().all(|s| (s.total - 1.0).abs() < 1e-12));
        assert_eq!(
            scores.iter().map(|s| s.index).collect::<Vec<_>>(),
            vec![0, 1, 2]
        );
    }

    #[test]
    fn bad_weights_and_factors_are_refused_by_name() {
        assert!(matches!(
            Weights::new(factors(-1.0, 0.0, 0.0, 1.0)),
            Err(ScoreError::BadWeight { name: "price", .. })
        ));
        assert_eq!(
            Weights::new(Factors::default()),
            Err(ScoreError::ZeroWeights)
        );
        assert!(matches!(
            score(&[factors(f64::NAN, 0.0, 0.0, 0.0)], &Weights::DEFAULT),
            Err(ScoreError::BadFactor {
                index: 0,
                name: "price",
                ..
            })
        ));
    }

    fn book(ask: u64, size: u64) -> Book {
        let mut book = Book::new(0, 0).unwrap();
        book.apply_snapshot(
            &[Level {
                price: ask - 1,
                size: 100,
            }],
            &[
                Level { price: ask, size },
                Level {
                    price: ask + 1,
                    size: 100,
                },
            ],
            1,
            1,
        )
        .unwrap();
        book
    }

    #[test]
    fn rank_puts_eligible_venues_first_and_explains_the_pick() {
        let thin = book(100, 1);
        let cheap = book(100, 10);
        let dear = book(110, 10);
        let venue = VenueInput {
            taker_fee: Bps(0),
            latency_ms: 10.0,
            reliability: 1.0,
        };
        let ranking = rank_venues(
            &[&thin, &cheap, &dear],
            TakerSide::Buy,
            Quantity::parse("5").unwrap(),
            &[venue; 3],
            &Weights::DEFAULT,
            Bps::from_f64(50.0).unwrap(),
        )
        .unwrap();
        let order: Vec<usize> = ranking.iter().map(|c| c.index).collect();
        // The thin book needs the 101 level (100 bps away): not eligible at 50 bps.
        assert_eq!(order, vec![1, 2, 0]);
        assert!(!ranking[2].eligible);
        assert!((ranking[0].score.contributions.price - 0.4).abs() < 1e-12);
        assert_eq!(ranking[1].score.contributions.price, 0.0);
    }
}
