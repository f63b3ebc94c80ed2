//! The `OkxBooksParser` and `BybitOrderbookParser` classes and `split_sides`: OKX and Bybit
//! order book payloads parsed in the core into `DepthChanges`.

use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple};
use sor_core::book::BookSide;
use sor_core::wire::Precision;
use sor_core::wire_bybit::parse_bybit_orderbook;
use sor_core::wire_okx::parse_okx_books;

use crate::convert::Markets;
use crate::errors::invalid;
use crate::wire::DepthChanges;

fn lookup<'m>(markets: &'m Markets) -> impl FnOnce(&str) -> Option<(&'m Py<PyString>, Precision)> {
    move |name| {
        markets
            .get(name)
            .map(|(symbol, precision)| (symbol, *precision))
    }
}

fn names_repr(class: &str, markets: &Markets) -> String {
    let mut names: Vec<&str> = markets.keys().map(String::as_str).collect();
    names.sort_unstable();
    format!("{class}({})", names.join(", "))
}

/// Reads OKX v5 `books` channel pushes for a set of instruments.
#[pyclass(module = "sor._core", frozen)]
pub struct OkxBooksParser {
    markets: Markets,
}

#[pymethods]
impl OkxBooksParser {
    #[new]
    fn py_new(markets: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(Self {
            markets: crate::convert::markets(markets)?,
        })
    }

    /// Parses one payload: `(symbol, action, seqId, prevSeqId, checksum, changes)` for a
    /// `books` push of one entry, None for an event; raises `InvalidInput` for anything else.
    fn parse<'py>(
        &self,
        py: Python<'py>,
        payload: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let payload = crate::convert::bytes("payload", payload)?;
        let push = parse_okx_books(payload, lookup(&self.markets))
            .map_err(|err| invalid(err.to_string()))?;
        let Some(push) = push else {
            return Ok(None);
        };
        let changes = Bound::new(
            py,
            DepthChanges {
                batch: push.changes,
            },
        )?;
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
        names_repr("OkxBooksParser", &self.markets)
    }
}

/// Reads Bybit v5 `orderbook.{depth}.{symbol}` messages for a set of topics.
#[pyclass(module = "sor._core", frozen)]
pub struct BybitOrderbookParser {
    markets: Markets,
}

#[pymethods]
impl BybitOrderbookParser {
    #[new]
    fn py_new(markets: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(Self {
            markets: crate::convert::markets(markets)?,
        })
    }

    /// Parses one payload: `(symbol, type, u, changes)` for an orderbook message, None for a
    /// JSON object without a topic; raises `InvalidInput` for anything else.
    fn parse<'py>(
        &self,
        py: Python<'py>,
        payload: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let payload = crate::convert::bytes("payload", payload)?;
        let message = parse_bybit_orderbook(payload, lookup(&self.markets))
            .map_err(|err| invalid(err.to_string()))?;
        let Some(message) = message else {
            return Ok(None);
        };
        let changes = Bound::new(
            py,
            DepthChanges {
                batch: message.changes,
            },
        )?;
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
        names_repr("BybitOrderbookParser", &self.markets)
    }
}

/// The bids and the asks of `changes` as lists of `(price, size)` tuples, in message order.
#[pyfunction]
pub fn split_sides<'py>(
    py: Python<'py>,
    changes: &Bound<'py, PyAny>,
) -> PyResult<(Bound<'py, PyList>, Bound<'py, PyList>)> {
    let changes = crate::convert::instance::<DepthChanges>("changes", "DepthChanges", changes)?;
    let changes = changes.get();
    let bids = PyList::empty(py);
    let asks = PyList::empty(py);
    for (side, price, size) in changes.batch.texts() {
        let level = PyTuple::new(py, [PyString::new(py, price), PyString::new(py, size)])?;
        match side {
            BookSide::Bid => bids.append(level)?,
            BookSide::Ask => asks.append(level)?,
        }
    }
    Ok((bids, asks))
}

/// Adds the classes and `split_sides` to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<OkxBooksParser>()?;
    m.add_class::<BybitOrderbookParser>()?;
    m.add_function(wrap_pyfunction!(split_sides, m)?)?;
    Ok(())
}
