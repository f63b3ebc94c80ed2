//! `CoinbaseLevel2Parser`: Coinbase Advanced Trade `level2` payloads parsed in the core.

use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use pyo3::{IntoPyObjectExt, intern};
use sor_core::wire::coinbase::{Level2Kind, parse_coinbase_level2};

use super::{DepthChanges, MarketTable, read_payload};

/// Reads Coinbase Advanced Trade `level2` payloads for a set of markets.
#[pyclass(module = "sor._core", frozen)]
pub struct CoinbaseLevel2Parser {
    markets: MarketTable,
}

#[pymethods]
impl CoinbaseLevel2Parser {
    #[new]
    fn py_new(markets: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(Self {
            markets: MarketTable::new(markets)?,
        })
    }

    /// Parses one payload: `(sequence_num, [(symbol, kind, changes), ...])` for an `l2_data`
    /// message, None for any other JSON object; raises `InvalidInput` naming the field and
    /// value for a malformed one (nothing is returned then).
    fn parse<'py>(
        &self,
        py: Python<'py>,
        payload: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let Some(message) = read_payload(payload, |payload| {
            parse_coinbase_level2(payload, |product| self.markets.lookup(product))
        })?
        else {
            return Ok(None);
        };
        let events = message
            .events
            .into_iter()
            .map(|event| {
                let kind = match event.kind {
                    Level2Kind::Snapshot => intern!(py, "snapshot"),
                    Level2Kind::Update => intern!(py, "update"),
                };
                let changes = DepthChanges::new_bound(py, event.changes)?;
                PyTuple::new(
                    py,
                    [
                        event.market.bind(py).clone().into_any(),
                        kind.clone().into_any(),
                        changes.into_any(),
                    ],
                )
            })
            .collect::<PyResult<Vec<_>>>()?;
        PyTuple::new(
            py,
            [
                message.sequence_num.into_bound_py_any(py)?,
                PyList::new(py, events)?.into_any(),
            ],
        )
        .map(Some)
    }

    fn __repr__(&self) -> String {
        self.markets.repr("CoinbaseLevel2Parser")
    }
}
