//! Frozen result classes: `WalkResult` and `ExecutionCost`.

use pyo3::prelude::*;
use sor_core::book::TakerSide;
use sor_core::cost::{Cost, exact_cost, execution_cost};
use sor_core::walk::Walk;

use crate::convert::{fee_bps, instance, taker_side_name, to_decimal};

/// What walking one side of a book filled.
#[pyclass(module = "sor._core", frozen)]
#[derive(Clone)]
pub struct WalkResult {
    pub(crate) walk: Walk,
    pub(crate) side: TakerSide,
    pub(crate) price_decimals: u8,
    pub(crate) size_decimals: u8,
}

impl WalkResult {
    /// Wraps a core walk with what is needed to interpret it.
    pub fn new(walk: Walk, side: TakerSide, price_decimals: u8, size_decimals: u8) -> Self {
        Self {
            walk,
            side,
            price_decimals,
            size_decimals,
        }
    }

    /// The fee-inclusive cost of this walk.
    pub fn cost(&self, fee: sor_core::Bps) -> ExecutionCost {
        ExecutionCost {
            cost: execution_cost(
                &self.walk,
                self.side,
                fee,
                self.price_decimals,
                self.size_decimals,
            ),
            taker_fee: fee,
            walk: self.clone(),
        }
    }

    fn price(&self, py: Python<'_>, ticks: u64) -> PyResult<Option<Py<PyAny>>> {
        if ticks == 0 {
            return Ok(None);
        }
        to_decimal(py, u128::from(ticks), self.price_decimals).map(Some)
    }
}

#[pymethods]
impl WalkResult {
    #[getter]
    fn side(&self) -> &'static str {
        taker_side_name(self.side)
    }
    #[getter]
    fn filled(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_decimal(py, u128::from(self.walk.filled), self.size_decimals)
    }
    #[getter]
    fn filled_lots(&self) -> u64 {
        self.walk.filled
    }
    #[getter]
    fn notional(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_decimal(
            py,
            self.walk.notional,
            self.price_decimals + self.size_decimals,
        )
    }
    #[getter]
    fn notional_raw(&self) -> u128 {
        self.walk.notional
    }
    #[getter]
    fn average_price(&self) -> Option<f64> {
        self.walk.average_price(self.price_decimals)
    }
    #[getter]
    fn best_price(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.price(py, self.walk.best_price)
    }
    #[getter]
    fn worst_price(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.price(py, self.walk.worst_price)
    }
    #[getter]
    fn levels_consumed(&self) -> u32 {
        self.walk.levels
    }
    #[getter]
    fn slippage_bps(&self) -> Option<f64> {
        self.walk.slippage_bps(self.side)
    }
    #[getter]
    fn complete(&self) -> bool {
        self.walk.complete
    }
    #[getter]
    fn price_decimals(&self) -> u8 {
        self.price_decimals
    }
    #[getter]
    fn size_decimals(&self) -> u8 {
        self.size_decimals
    }
    fn __repr__(&self) -> String {
        format!(
            "WalkResult(side={:?}, filled={}, average_price={}, levels_consumed={}, slippage_bps={}, complete={})",
            self.side(),
            sor_core::decimal::format_fixed(u128::from(self.walk.filled), self.size_decimals),
            self.average_price()
                .map_or("None".to_owned(), |p| p.to_string()),
            self.walk.levels,
            self.slippage_bps()
                .map_or("None".to_owned(), |s| format!("{s:.4}")),
            if self.walk.complete { "True" } else { "False" },
        )
    }
}

/// A walk priced with the venue's taker fee.
#[pyclass(module = "sor._core", frozen)]
#[derive(Clone)]
pub struct ExecutionCost {
    pub(crate) walk: WalkResult,
    pub(crate) cost: Cost,
    pub(crate) taker_fee: sor_core::Bps,
}

impl ExecutionCost {
    /// The exact fee and total, if they fit in 128 bits.
    fn exact(&self) -> Option<sor_core::cost::ExactCost> {
        let walk = &self.walk;
        exact_cost(
            &walk.walk,
            walk.side,
            self.taker_fee,
            walk.price_decimals,
            walk.size_decimals,
        )
    }
}

#[pymethods]
impl ExecutionCost {
    #[getter]
    fn walk(&self) -> WalkResult {
        self.walk.clone()
    }
    #[getter]
    fn taker_fee_bps(&self) -> f64 {
        self.taker_fee.as_f64()
    }
    /// The float nearest the exact fee (the core's f64 figure if it does not fit 128 bits).
    #[getter]
    fn fee(&self) -> f64 {
        self.exact().map_or(self.cost.fee, |e| e.fee_f64())
    }
    /// The float nearest the exact total.
    #[getter]
    fn total(&self) -> f64 {
        self.exact().map_or(self.cost.total, |e| e.total_f64())
    }
    #[getter]
    fn effective_price(&self) -> Option<f64> {
        self.cost.effective_price
    }
    fn __repr__(&self) -> String {
        format!(
            "ExecutionCost(total={}, fee={}, effective_price={}, taker_fee_bps={})",
            self.total(),
            self.fee(),
            self.cost
                .effective_price
                .map_or("None".to_owned(), |p| p.to_string()),
            self.taker_fee.as_f64()
        )
    }
}

/// The fee-inclusive cost of a walk.
#[pyfunction(name = "execution_cost")]
pub fn execution_cost_of(
    walk: &Bound<'_, PyAny>,
    taker_fee_bps: &Bound<'_, PyAny>,
) -> PyResult<ExecutionCost> {
    let walk = instance::<WalkResult>("walk", "WalkResult", walk)?;
    Ok(walk.get().cost(fee_bps("taker_fee_bps", taker_fee_bps)?))
}
