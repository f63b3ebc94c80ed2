//! Scoring and the best-execution ranking: `Weights`, `FactorScores`, `VenueScore`,
//! `Candidate`, `Ranking`, `score()` and `rank_venues()`.

use pyo3::prelude::*;
use sor_core::book::TakerSide;
use sor_core::score::{self as core_score, Factors, Score, VenueInput};

use crate::book::{OrderBook, snapshots};
use crate::convert::{Field, bps, taker_side};
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
    #[pyo3(signature = (price = 0.4, liquidity = 0.3, latency = 0.2, reliability = 0.1))]
    fn py_new(price: f64, liquidity: f64, latency: f64, reliability: f64) -> PyResult<Self> {
        let weights = core_score::Weights::new(Factors {
            price,
            liquidity,
            latency,
            reliability,
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
    factors: Vec<(f64, f64, f64, f64)>,
    weights: Option<Weights>,
) -> PyResult<Vec<VenueScore>> {
    let raw: Vec<Factors> = factors
        .into_iter()
        .map(|(price, liquidity, latency, reliability)| Factors {
            price,
            liquidity,
            latency,
            reliability,
        })
        .collect();
    let weights = weights.map_or(core_score::Weights::DEFAULT, |w| w.weights);
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
    taker_fee_bps: f64,
}

impl Candidate {
    /// A core candidate for Python, at the precision of the book it was walked on.
    pub(crate) fn new(
        candidate: core_score::Candidate,
        side: TakerSide,
        book: &sor_core::Book,
        taker_fee_bps: f64,
    ) -> Self {
        Self {
            candidate,
            side,
            price_decimals: book.price_decimals(),
            size_decimals: book.size_decimals(),
            taker_fee_bps,
        }
    }

    /// The core's candidate.
    pub(crate) fn core(&self) -> &core_score::Candidate {
        &self.candidate
    }

    /// Position of the venue in the input.
    pub(crate) fn position(&self) -> usize {
        self.candidate.index
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
            taker_fee_bps: self.taker_fee_bps,
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
    candidates: Vec<Candidate>,
}

#[pymethods]
impl Ranking {
    #[getter]
    fn best(&self) -> Option<usize> {
        self.candidates
            .first()
            .filter(|c| c.candidate.eligible)
            .map(|c| c.candidate.index)
    }
    #[getter]
    fn candidates(&self) -> Vec<Candidate> {
        self.candidates.clone()
    }
    fn __len__(&self) -> usize {
        self.candidates.len()
    }
    fn __repr__(&self) -> String {
        let order: Vec<String> = self
            .candidates
            .iter()
            .map(|c| c.candidate.index.to_string())
            .collect();
        let best = self.best().map_or("None".to_owned(), |b| b.to_string());
        format!("Ranking(best={best}, order=[{}])", order.join(", "))
    }
}

/// The best-execution ranking of several venues for one order, in one call.
#[pyfunction]
#[pyo3(signature = (books, side, quantity, taker_fees_bps, latencies_ms, reliabilities, weights = None, max_slippage_bps = 100.0))]
#[allow(clippy::too_many_arguments)]
pub fn rank_venues(
    py: Python<'_>,
    books: Vec<PyRef<'_, OrderBook>>,
    side: &str,
    quantity: &Bound<'_, PyAny>,
    taker_fees_bps: Vec<f64>,
    latencies_ms: Vec<f64>,
    reliabilities: Vec<f64>,
    weights: Option<Weights>,
    max_slippage_bps: f64,
) -> PyResult<Ranking> {
    let side = taker_side(side)?;
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
    for (index, ((&fee, &latency_ms), &reliability)) in taker_fees_bps
        .iter()
        .zip(&latencies_ms)
        .zip(&reliabilities)
        .enumerate()
    {
        venues.push(VenueInput {
            taker_fee: bps(Field::item("taker_fees_bps", index, None), fee)?,
            latency_ms,
            reliability,
        });
    }
    let snapshots = snapshots(py, &books);
    let refs: Vec<&sor_core::Book> = snapshots.iter().map(|b| &**b).collect();
    let weights = weights.map_or(core_score::Weights::DEFAULT, |w| w.weights);
    let max_slippage = bps("max_slippage_bps", max_slippage_bps)?;
    let ranked = core_score::rank_venues(&refs, side, qty, &venues, &weights, max_slippage)
        .map_err(|e| score_error(&e))?;
    Ok(Ranking {
        candidates: ranked
            .into_iter()
            .map(|candidate| {
                let book = refs[candidate.index];
                Candidate {
                    side,
                    price_decimals: book.price_decimals(),
                    size_decimals: book.size_decimals(),
                    taker_fee_bps: taker_fees_bps[candidate.index],
                    candidate,
                }
            })
            .collect(),
    })
}
