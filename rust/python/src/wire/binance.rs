//! `BinanceDepthParser`: Binance spot `depthUpdate` payloads parsed in the core.

use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use sor_core::wire::parse_binance_depth_update;

use super::{DepthChanges, MarketTable, read_payload};

/// Reads Binance spot `depthUpdate` payloads for a set of markets.
#[pyclass(module = "sor._core", frozen)]
pub struct BinanceDepthParser {
    markets: MarketTable,
}

#[pymethods]
impl BinanceDepthParser {
    #[new]
    fn py_new(markets: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(Self {
            markets: MarketTable::new(markets)?,
        })
    }

    /// Parses one payload of the diff-depth stream: `(symbol, U, u, changes)` for a
    /// `depthUpdate` event, None for any other JSON object; raises `InvalidInput` naming the
    /// field and value for a malformed event (nothing is returned then).
    fn parse<'py>(
        &self,
        py: Python<'py>,
        payload: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let Some(update) = read_payload(payload, |payload| {
            parse_binance_depth_update(payload, |name| self.markets.lookup(name))
        })?
        else {
            return Ok(None);
        };
        let changes = DepthChanges::new_bound(py, update.changes)?;
        PyTuple::new(
            py,
            [
                update.market.bind(py).clone().into_any(),
                update.first_update_id.into_bound_py_any(py)?,
                update.final_update_id.into_bound_py_any(py)?,
                changes.into_any(),
            ],
        )
        .map(Some)
    }

    fn __repr__(&self) -> String {
        self.markets.repr("BinanceDepthParser")
    }
}
