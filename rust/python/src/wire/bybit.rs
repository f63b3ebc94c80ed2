//! `BybitOrderbookParser`: Bybit v5 `orderbook.{depth}.{symbol}` messages parsed in the core.

use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};
use sor_core::wire::bybit::parse_bybit_orderbook;

use super::{DepthChanges, MarketTable, read_payload};

/// Reads Bybit v5 `orderbook.{depth}.{symbol}` messages for a set of topics.
#[pyclass(module = "sor._core", frozen)]
pub struct BybitOrderbookParser {
    markets: MarketTable,
}

#[pymethods]
impl BybitOrderbookParser {
    #[new]
    fn py_new(markets: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(Self {
            markets: MarketTable::new(markets)?,
        })
    }

    /// Parses one payload: `(symbol, type, u, changes)` for an orderbook message, None for a
    /// JSON object without a topic; raises `InvalidInput` for anything else.
    fn parse<'py>(
        &self,
        py: Python<'py>,
        payload: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let Some(message) = read_payload(payload, |payload| {
            parse_bybit_orderbook(payload, |name| self.markets.lookup(name))
        })?
        else {
            return Ok(None);
        };
        let changes = DepthChanges::new_bound(py, message.changes)?;
        PyTuple::new(
            py,
            [
                message.market.bind(py).clone().into_any(),
                PyString::intern(py, message.kind.as_str()).into_any(),
                message.update_id.into_bound_py_any(py)?,
                changes.into_any(),
            ],
        )
        .map(Some)
    }

    fn __repr__(&self) -> String {
        self.markets.repr("BybitOrderbookParser")
    }
}
