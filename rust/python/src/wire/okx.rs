//! `OkxBooksParser`: OKX v5 `books` channel pushes parsed in the core.

use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};
use sor_core::wire::okx::parse_okx_books;

use super::{DepthChanges, MarketTable, read_payload};

/// Reads OKX v5 `books` channel pushes for a set of instruments.
#[pyclass(module = "sor._core", frozen)]
pub struct OkxBooksParser {
    markets: MarketTable,
}

#[pymethods]
impl OkxBooksParser {
    #[new]
    fn py_new(markets: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(Self {
            markets: MarketTable::new(markets)?,
        })
    }

    /// Parses one payload: `(symbol, action, seqId, prevSeqId, checksum, changes)` for a
    /// `books` push of one entry, None for an event; raises `InvalidInput` for anything else.
    fn parse<'py>(
        &self,
        py: Python<'py>,
        payload: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let Some(push) = read_payload(payload, |payload| {
            parse_okx_books(payload, |name| self.markets.lookup(name))
        })?
        else {
            return Ok(None);
        };
        let changes = DepthChanges::new_bound(py, push.changes)?;
        PyTuple::new(
            py,
            [
                push.market.bind(py).clone().into_any(),
                PyString::intern(py, push.action.as_str()).into_any(),
                push.seq_id.into_bound_py_any(py)?,
                push.prev_seq_id.into_bound_py_any(py)?,
                push.checksum.into_bound_py_any(py)?,
                changes.into_any(),
            ],
        )
        .map(Some)
    }

    fn __repr__(&self) -> String {
        self.markets.repr("OkxBooksParser")
    }
}
