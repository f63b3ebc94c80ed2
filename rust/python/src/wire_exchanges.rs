//! The `OkxBooksParser` and `BybitOrderbookParser` classes and `split_sides`: OKX and Bybit
//! order book payloads parsed in the core into `DepthChanges`.

use std::collections::HashMap;

use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple};
use sor_core::book::BookSide;
use sor_core::wire::Precision;
use sor_core::wire_bybit::parse_bybit_orderbook;
use sor_core::wire_okx::parse_okx_books;

use crate::convert::decimals;
use crate::errors::{decimal_error, invalid};
use crate::wire::DepthChanges;

/// Each exchange name's unified symbol (interned) and precision.
type Markets = HashMap<String, (Py<PyString>, Precision)>;

fn markets(py: Python<'_>, markets: HashMap<String, (String, i64, i64)>) -> PyResult<Markets> {
    let mut out = HashMap::with_capacity(markets.len());
    for (name, (symbol, price_decimals, size_decimals)) in markets {
        let field = |what: &str| format!("markets[{name:?}].{what}");
        let precision = Precision::new(
            decimals(&field("price_decimals"), price_decimals)?,
            decimals(&field("size_decimals"), size_decimals)?,
        )
        .map_err(|err| decimal_error(field("precision"), &err))?;
        out.insert(name, (PyString::intern(py, &symbol).unbind(), precision));
    }
    Ok(out)
}

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
    fn py_new(py: Python<'_>, markets: HashMap<String, (String, i64, i64)>) -> PyResult<Self> {
        Ok(Self {
            markets: self::markets(py, markets)?,
        })
    }

    /// Parses one payload: `(symbol, action, seqId, prevSeqId, checksum, changes)` for a
    /// `books` push of one entry, None for an event; raises `InvalidInput` for anything else.
    fn parse<'py>(&self, py: Python<'py>, payload: &[u8]) -> PyResult<Option<Bound<'py, PyTuple>>> {
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
    fn py_new(py: Python<'_>, markets: HashMap<String, (String, i64, i64)>) -> PyResult<Self> {
        Ok(Self {
            markets: self::markets(py, markets)?,
        })
    }

    /// Parses one payload: `(symbol, type, u, changes)` for an orderbook message, None for a
    /// JSON object without a topic; raises `InvalidInput` for anything else.
    fn parse<'py>(&self, py: Python<'py>, payload: &[u8]) -> PyResult<Option<Bound<'py, PyTuple>>> {
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
    changes: &DepthChanges,
) -> PyResult<(Bound<'py, PyList>, Bound<'py, PyList>)> {
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
