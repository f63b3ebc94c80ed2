//! Scoring and the best-execution ranking: `Weights`, `FactorScores`, `VenueScore`,
//! `Candidate`, `Ranking`, `score()` and `rank_venues()`.

use pyo3::prelude::*;
use sor_core::book::TakerSide;
use sor_core::score::{self as core_score, Factors, Score, VenueInput};

use crate::book::{OrderBook, read_books};
use crate::convert::{Field, bps, fee_bps, float, floats, instance, instances, items, taker_side};
use crate::errors::{invalid, score_error};
use crate::results::{ExecutionCost, WalkResult};

/// Scoring weights (any non-negative values, scaled to sum to 1).
#[pyclass(module = "sor._core", frozen, from_py_object)]
#[derive(Clone, Copy)]
pub struct Weights {
    pub(crate) weights: core_score::Weights,
}

#[pymethods]
impl Weights {
    #[new]
    #[pyo3(
        signature = (price = None, liquidity = None, latency = None, reliability = None),
        text_signature = "(price=0.4, liquidity=0.3, latency=0.2, reliability=0.1)"
    )]
    fn py_new(
        price: Option<&Bound<'_, PyAny>>,
        liquidity: Option<&Bound<'_, PyAny>>,
        latency: Option<&Bound<'_, PyAny>>,
        reliability: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let default = core_score::Weights::DEFAULT.factors();
        let weight = |name: &str, value: Option<&Bound<'_, PyAny>>, default: f64| {
            value.map_or(Ok(default), |v| float(name, v))
        };
        let weights = core_score::Weights::new(Factors {
            price: weight("price", price, default.price)?,
            liquidity: weight("liquidity", liquidity, default.liquidity)?,
            latency: weight("latency", latency, default.latency)?,
            reliability: weight("reliability", reliability, default.reliability)?,
        })
        .map_err(|e| score_error(&e))?;
        Ok(Self { weights })
    }
    #[getter]
    fn price(&self) -> f64 {
        self.weights.factors().price
    }
    #[getter]
    fn liquidity(&self) -> f64 {
        self.weights.factors().liquidity
    }
    #[getter]
    fn latency(&self) -> f64 {
        self.weights.factors().latency
    }
    #[getter]
    fn reliability(&self) -> f64 {
        self.weights.factors().reliability
    }
    fn __repr__(&self) -> String {
        let f = self.weights.factors();
        format!(
            "Weights(price={}, liquidity={}, latency={}, reliability={})",
            f.price, f.liquidity, f.latency, f.reliability
        )
    }
}

/// One number per scoring factor.
#[pyclass(module = "sor._core", frozen)]
#[derive(Clone, Copy)]
pub struct FactorScores {
    factors: Factors,
}

#[pymethods]
impl FactorScores {
    #[getter]
    fn price(&self) -> f64 {
        self.factors.price
    }
    #[getter]
    fn liquidity(&self) -> f64 {
        self.factors.liquidity
    }
    #[getter]
    fn latency(&self) -> f64 {
        self.factors.latency
    }
    #[getter]
    fn reliability(&self) -> f64 {
        self.factors.reliability
    }
    fn __repr__(&self) -> String {
        let f = self.factors;
        format!(
            "FactorScores(price={:.6}, liquidity={:.6}, latency={:.6}, reliability={:.6})",
            f.price, f.liquidity, f.latency, f.reliability
        )
    }
}

/// A candidate's score and how each factor contributed to it.
#[pyclass(module = "sor._core", frozen)]
#[derive(Clone, Copy)]
pub struct VenueScore {
    score: Score,
}

#[pymethods]
impl VenueScore {
    #[getter]
    fn index(&self) -> usize {
        self.score.index
    }
    #[getter]
    fn total(&self) -> f64 {
        self.score.total
    }
    #[getter]
    fn normalised(&self) -> FactorScores {
        FactorScores {
            factors: self.score.normalised,
        }
    }
    #[getter]
    fn contributions(&self) -> FactorScores {
        FactorScores {
            factors: self.score.contributions,
        }
    }
    fn __repr__(&self) -> String {
        format!(
            "VenueScore(index={}, total={:.6})",
            self.score.index, self.score.total
        )
    }
}

/// Scores `(price, liquidity, latency, reliability)` rows (higher is better), best first.
#[pyfunction]
#[pyo3(signature = (factors, weights = None))]
pub fn score(
    factors: &Bound<'_, PyAny>,
    weights: Option<&Bound<'_, PyAny>>,
) -> PyResult<Vec<VenueScore>> {
    let raw: Vec<Factors> = items("factors", factors)?
        .iter()
        .enumerate()
        .map(|(index, row)| {
            let row = items(&format!("factors[{index}]"), row)?;
            if row.len() != 4 {
                return Err(invalid(format!(
                    "factors[{index}]: expected (price, liquidity, latency, reliability), got {} items",
                    row.len()
                )));
            }
            let name = format!("factors[{index}]");
            let factor = |i: usize| float(Field::item(&name, i, None), &row[i]);
            Ok(Factors {
                price: factor(0)?,
                liquidity: factor(1)?,
                latency: factor(2)?,
                reliability: factor(3)?,
            })
        })
        .collect::<PyResult<_>>()?;
    let weights = weights_arg(weights)?;
    let scores = core_score::score(&raw, &weights).map_err(|e| score_error(&e))?;
    Ok(scores
        .into_iter()
        .map(|score| VenueScore { score })
        .collect())
}

/// One venue evaluated for an order by `rank_venues`.
#[pyclass(module = "sor._core", frozen)]
#[derive(Clone)]
pub struct Candidate {
    candidate: core_score::Candidate,
    side: TakerSide,
    price_decimals: u8,
    size_decimals: u8,
    taker_fee: sor_core::Bps,
}

/// The optional `weights` argument (`None` = the default weights).
pub(crate) fn weights_arg(value: Option<&Bound<'_, PyAny>>) -> PyResult<core_score::Weights> {
    match value {
        None => Ok(core_score::Weights::DEFAULT),
        Some(w) => Ok(instance::<Weights>("weights", "Weights", w)?.get().weights),
    }
}

impl Candidate {
    /// A core candidate for Python, at the precision of the book it was walked on.
    pub(crate) fn new(
        candidate: core_score::Candidate,
        side: TakerSide,
        (price_decimals, size_decimals): (u8, u8),
        taker_fee: sor_core::Bps,
    ) -> Self {
        Self {
            candidate,
            side,
            price_decimals,
            size_decimals,
            taker_fee,
        }
    }

    fn walk_result(&self) -> WalkResult {
        WalkResult::new(
            self.candidate.walk,
            self.side,
            self.price_decimals,
            self.size_decimals,
        )
    }
}

#[pymethods]
impl Candidate {
    #[getter]
    fn index(&self) -> usize {
        self.candidate.index
    }
    #[getter]
    fn walk(&self) -> WalkResult {
        self.walk_result()
    }
    #[getter]
    fn cost(&self) -> ExecutionCost {
        ExecutionCost {
            walk: self.walk_result(),
            cost: self.candidate.cost,
            taker_fee: self.taker_fee,
        }
    }
    #[getter]
    fn liquidity_ratio(&self) -> f64 {
        self.candidate.liquidity_ratio
    }
    #[getter]
    fn eligible(&self) -> bool {
        self.candidate.eligible
    }
    #[getter]
    fn raw(&self) -> FactorScores {
        FactorScores {
            factors: self.candidate.raw,
        }
    }
    #[getter]
    fn score(&self) -> VenueScore {
        VenueScore {
            score: self.candidate.score,
        }
    }
    fn __repr__(&self) -> String {
        format!(
            "Candidate(index={}, eligible={}, score={:.6}, effective_price={})",
            self.candidate.index,
            if self.candidate.eligible {
                "True"
            } else {
                "False"
            },
            self.candidate.score.total,
            self.candidate
                .cost
                .effective_price
                .map_or("None".to_owned(), |p| p.to_string())
        )
    }
}

/// Venues ranked for one order, best first (eligible venues before the others).
#[pyclass(module = "sor._core", frozen)]
pub struct Ranking {
    /// The core's candidates, best first.
    ranked: Vec<core_score::Candidate>,
    side: TakerSide,
    /// Each input venue's book precision and taker fee: what its candidate is read with.
    venues: Vec<((u8, u8), sor_core::Bps)>,
}

impl Ranking {
    fn candidate(&self, candidate: &core_score::Candidate) -> Candidate {
        let (decimals, taker_fee) = self.venues[candidate.index];
        Candidate::new(*candidate, self.side, decimals, taker_fee)
    }
}

#[pymethods]
impl Ranking {
    #[getter]
    fn best(&self) -> Option<usize> {
        self.ranked.first().filter(|c| c.eligible).map(|c| c.index)
    }
    #[getter]
    fn candidates(&self) -> Vec<Candidate> {
        self.ranked.iter().map(|c| self.candidate(c)).collect()
    }
    fn __len__(&self) -> usize {
        self.ranked.len()
    }
    fn __repr__(&self) -> String {
        let order: Vec<String> = self.ranked.iter().map(|c| c.index.to_string()).collect();
        let best = self.best().map_or("None".to_owned(), |b| b.to_string());
        format!("Ranking(best={best}, order=[{}])", order.join(", "))
    }
}

/// `rank_venues`' default bound: 100 bps, in units of 1e-4 bps.
const DEFAULT_MAX_SLIPPAGE_UNITS: u64 = 1_000_000;

/// The best-execution ranking of several venues for one order, in one call.
#[pyfunction]
#[pyo3(
    signature = (books, side, quantity, taker_fees_bps, latencies_ms, reliabilities, weights = None, max_slippage_bps = None),
    text_signature = "(books, side, quantity, taker_fees_bps, latencies_ms, reliabilities, weights=None, max_slippage_bps=100.0)"
)]
#[allow(clippy::too_many_arguments)]
pub fn rank_venues(
    py: Python<'_>,
    books: &Bound<'_, PyAny>,
    side: &Bound<'_, PyAny>,
    quantity: &Bound<'_, PyAny>,
    taker_fees_bps: &Bound<'_, PyAny>,
    latencies_ms: &Bound<'_, PyAny>,
    reliabilities: &Bound<'_, PyAny>,
    weights: Option<&Bound<'_, PyAny>>,
    max_slippage_bps: Option<&Bound<'_, PyAny>>,
) -> PyResult<Ranking> {
    let books = instances::<OrderBook>("books", "OrderBook", books)?;
    let books: Vec<PyRef<'_, OrderBook>> = books.iter().map(|b| b.borrow()).collect();
    let side = taker_side(side)?;
    let taker_fees_bps = items("taker_fees_bps", taker_fees_bps)?;
    let latencies_ms = floats("latencies_ms", latencies_ms)?;
    let reliabilities = floats("reliabilities", reliabilities)?;
    let qty = crate::convert::quantity("quantity", quantity)?;
    let n = books.len();
    if taker_fees_bps.len() != n || latencies_ms.len() != n || reliabilities.len() != n {
        return Err(invalid(format!(
            "books, taker_fees_bps, latencies_ms and reliabilities must have the same length, got {n}, {}, {} and {}",
            taker_fees_bps.len(),
            latencies_ms.len(),
            reliabilities.len()
        )));
    }
    let mut venues = Vec::with_capacity(n);
    for (index, ((fee, &latency_ms), &reliability)) in taker_fees_bps
        .iter()
        .zip(&latencies_ms)
        .zip(&reliabilities)
        .enumerate()
    {
        let taker_fee = fee_bps(Field::item("taker_fees_bps", index, None), fee)?;
        venues.push(VenueInput {
            taker_fee,
            latency_ms,
            reliability,
        });
    }
    let args = ranking_args(weights, max_slippage_bps)?;
    read_books(py, books.iter().map(|b| &**b), |books| {
        ranking(books, side, qty, &venues, args)
    })
}

/// A ranking's optional arguments: the weights and the slippage bound (default 100 bps).
pub(crate) fn ranking_args(
    weights: Option<&Bound<'_, PyAny>>,
    max_slippage_bps: Option<&Bound<'_, PyAny>>,
) -> PyResult<(core_score::Weights, sor_core::Bps)> {
    let weights = weights_arg(weights)?;
    let max_slippage = match max_slippage_bps {
        None => sor_core::Bps(DEFAULT_MAX_SLIPPAGE_UNITS),
        Some(value) => bps("max_slippage_bps", value)?,
    };
    Ok((weights, max_slippage))
}

/// The core's ranking of `books` for the order, as Python's `Ranking`; `venues` holds each
/// book's taker fee and health figures. Pure Rust: it may run under the books' locks.
pub(crate) fn ranking(
    books: &[&sor_core::Book],
    side: TakerSide,
    quantity: sor_core::Quantity,
    venues: &[VenueInput],
    (weights, max_slippage): (core_score::Weights, sor_core::Bps),
) -> PyResult<Ranking> {
    let ranked = core_score::rank_venues(books, side, quantity, venues, &weights, max_slippage)
        .map_err(|e| score_error(&e))?;
    Ok(Ranking {
        ranked,
        side,
        venues: books
            .iter()
            .zip(venues)
            .map(|(book, venue)| {
                let decimals = (book.price_decimals(), book.size_decimals());
                (decimals, venue.taker_fee)
            })
            .collect(),
    })
}
