//! `KrakenBookParser`: Kraken WebSocket v2 `book` channel messages parsed in the core.

use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};
use sor_core::wire::kraken::parse_kraken_book;

use super::{DepthChanges, MarketTable, read_payload};

/// Reads Kraken v2 `book` channel messages for a set of symbols.
#[pyclass(module = "sor._core", frozen)]
pub struct KrakenBookParser {
    markets: MarketTable,
}

#[pymethods]
impl KrakenBookParser {
    #[new]
    fn py_new(markets: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(Self {
            markets: MarketTable::new(markets)?,
        })
    }

    /// Parses one payload: `(symbol, type, checksum, changes)` for a `book` message of one
    /// data item, None for another channel or a method's answer; raises `InvalidInput` for a
    /// `book` message of any other shape.
    fn parse<'py>(
        &self,
        py: Python<'py>,
        payload: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let Some(message) = read_payload(payload, |payload| {
            parse_kraken_book(payload, |name| self.markets.lookup(name))
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
                message.checksum.into_bound_py_any(py)?,
                changes.into_any(),
            ],
        )
        .map(Some)
    }

    fn __repr__(&self) -> String {
        self.markets.repr("KrakenBookParser")
    }
}
