//! The split strategy's result (`Split`), made by a screen with `ranking="split"` in the same
//! call, on the versions of the books the screen read.

use pyo3::prelude::*;
use sor_core::Book;
use sor_core::book::{Bps, TakerSide};
use sor_core::split::{self as core_split, Amount, SplitError};

use crate::allocation::AllocationPart;
use crate::convert::{Field, items, to_decimal, uint};
use crate::errors::allocate_error;

/// The whole order split across the screened venues, or why it cannot be (`refusal`).
#[pyclass(module = "sor._core", frozen)]
pub struct Split {
    /// The parts, each at its book's precision with its venue's fee.
    parts: Vec<AllocationPart>,
    alternatives: Vec<usize>,
    reason: Option<&'static str>,
    proven_optimal: bool,
    refusal: Option<&'static str>,
    figure: Option<Amount>,
}

impl Split {
    /// The Python result of the core's split over `books` (the screen's snapshots) with the
    /// venues' taker `fees`; an allocation the core refused (precision, overflow) is an error.
    pub(crate) fn new(
        outcome: Result<core_split::Split, SplitError>,
        side: TakerSide,
        books: &[&Book],
        fees: &[Bps],
    ) -> PyResult<Self> {
        let refused = |refusal: &'static str, figure: Option<Amount>| Self {
            parts: Vec::new(),
            alternatives: Vec::new(),
            reason: None,
            proven_optimal: false,
            refusal: Some(refusal),
            figure,
        };
        match outcome {
            Ok(split) => Ok(Self {
                parts: split
                    .parts
                    .iter()
                    .map(|part| {
                        AllocationPart::new(part, side, books[part.index], fees[part.index])
                    })
                    .collect(),
                alternatives: split.alternatives,
                reason: Some(split.won.name()),
                proven_optimal: split.proven_optimal,
                refusal: None,
                figure: None,
            }),
            Err(SplitError::NoVenue) => Ok(refused("no_venue", None)),
            Err(SplitError::Depth { depth }) => Ok(refused("depth", Some(depth))),
            Err(SplitError::LiquidityRatio { depth }) => {
                Ok(refused("liquidity_ratio", Some(depth)))
            }
            Err(SplitError::Lots { filled }) => Ok(refused("lots", Some(filled))),
            Err(SplitError::Allocate(error)) => Err(allocate_error(&error)),
        }
    }
}

#[pymethods]
impl Split {
    /// The parts (`index`: the venue's input position): preferred venues first in preference
    /// order, then the larger quantity first, then by input position. Empty when refused.
    #[getter]
    fn parts(&self) -> Vec<AllocationPart> {
        self.parts.clone()
    }
    /// Input positions of the venues that qualified to take the whole order alone, best
    /// all-in total first, the sole venue of a one-part split left out.
    #[getter]
    fn alternatives(&self) -> Vec<usize> {
        self.alternatives.clone()
    }
    /// Why this route: `"split"`, `"preferred_exchange"` or `"lowest_cost"` (`None` when
    /// refused).
    #[getter]
    fn reason(&self) -> Option<&'static str> {
        self.reason
    }
    /// True if every allocation made is proven optimal.
    #[getter]
    fn proven_optimal(&self) -> bool {
        self.proven_optimal
    }
    /// Why the order cannot be split (`None`: it is): `"no_venue"` (no fresh book with the
    /// side the order takes from), `"depth"` (the caps hold less than the order),
    /// `"liquidity_ratio"` (less than the minimum multiple of it), `"lots"` (lot sizes and
    /// minimums cannot place it all).
    #[getter]
    fn refusal(&self) -> Option<&'static str> {
        self.refusal
    }
    /// The refusal's figure in base units: the caps' total depth (`"depth"`,
    /// `"liquidity_ratio"`) or the most that can be placed (`"lots"`).
    #[getter]
    fn figure(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.figure
            .map(|amount| to_decimal(py, amount.value, amount.scale))
            .transpose()
    }
    fn __repr__(&self) -> String {
        match self.refusal {
            Some(refusal) => format!("Split(refusal={refusal:?})"),
            None => format!(
                "Split(parts={}, reason={:?}, proven_optimal={})",
                self.parts.len(),
                self.reason.unwrap_or_default(),
                if self.proven_optimal { "True" } else { "False" }
            ),
        }
    }
}

/// The optional `preferences` argument: one entry per venue, its position among the order's
/// preferred venues or `None`.
pub(crate) fn preferences_arg(
    value: Option<&Bound<'_, PyAny>>,
    venues: usize,
) -> PyResult<Vec<Option<u32>>> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(Vec::new());
    };
    let entries = items("preferences", value)?;
    if entries.len() != venues {
        return Err(crate::errors::invalid(format!(
            "preferences: expected one entry per book ({venues}), got {}",
            entries.len()
        )));
    }
    entries
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            if entry.is_none() {
                Ok(None)
            } else {
                uint(Field::item("preferences", i, None), entry).map(Some)
            }
        })
        .collect()
}
