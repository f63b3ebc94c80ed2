//! The `BinanceDepthParser` and `DepthChanges` classes: exchange payloads parsed in the core.

use std::collections::HashMap;

use pyo3::prelude::*;
use pyo3::types::{PyIterator, PyList, PySlice, PyString, PyTuple};
use pyo3::{IntoPyObjectExt, intern};
use sor_core::book::{Book, BookSide};
use sor_core::wire::{ChangeBatch, Precision, parse_binance_depth_update};

use crate::errors::invalid;

/// Book changes parsed from one exchange message: a read-only sequence of
/// `(side, price, size)` tuples of the exchange's strings, already parsed at a precision.
#[pyclass(module = "sor._core", frozen, sequence)]
pub struct DepthChanges {
    pub(crate) batch: ChangeBatch,
}

impl DepthChanges {
    fn item<'py>(&self, py: Python<'py>, index: usize) -> PyResult<Bound<'py, PyTuple>> {
        let (side, price, size) = self
            .batch
            .text(index)
            .ok_or_else(|| pyo3::exceptions::PyIndexError::new_err("index out of range"))?;
        let side = match side {
            BookSide::Bid => intern!(py, "bid"),
            BookSide::Ask => intern!(py, "ask"),
        };
        PyTuple::new(
            py,
            [
                side.clone().into_any(),
                PyString::new(py, price).into_any(),
                PyString::new(py, size).into_any(),
            ],
        )
    }

    fn to_list<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let items = (0..self.batch.len())
            .map(|index| self.item(py, index))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, items)
    }
}

#[pymethods]
impl DepthChanges {
    /// Decimal places the prices were parsed at.
    #[getter]
    fn price_decimals(&self) -> u8 {
        self.batch.precision().price_decimals
    }

    /// Decimal places the sizes were parsed at.
    #[getter]
    fn size_decimals(&self) -> u8 {
        self.batch.precision().size_decimals
    }

    fn __len__(&self) -> usize {
        self.batch.len()
    }

    fn __getitem__<'py>(
        &self,
        py: Python<'py>,
        index: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if let Ok(slice) = index.cast::<PySlice>() {
            // A slice is a list, as slicing the list this replaces would give.
            return self.to_list(py)?.as_any().get_item(slice);
        }
        let index: isize = index.extract()?;
        let len = isize::try_from(self.batch.len())
            .map_err(|_| invalid("DepthChanges: too many changes"))?;
        let resolved = if index < 0 { index + len } else { index };
        let position = usize::try_from(resolved)
            .map_err(|_| pyo3::exceptions::PyIndexError::new_err("index out of range"))?;
        Ok(self.item(py, position)?.into_any())
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyIterator>> {
        self.to_list(py)?.into_any().try_iter()
    }

    fn __reversed__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.to_list(py)?.call_method0(intern!(py, "__reversed__"))
    }

    fn __contains__(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<bool> {
        self.to_list(py)?.contains(value)
    }

    /// The position of the first change equal to `value` (ValueError if there is none).
    #[pyo3(signature = (value, start = 0, stop = None))]
    fn index(
        &self,
        py: Python<'_>,
        value: &Bound<'_, PyAny>,
        start: isize,
        stop: Option<isize>,
    ) -> PyResult<usize> {
        let stop = stop.unwrap_or(isize::MAX);
        self.to_list(py)?
            .call_method1(intern!(py, "index"), (value, start, stop))?
            .extract()
    }

    /// How many changes are equal to `value`.
    fn count(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<usize> {
        self.to_list(py)?
            .call_method1(intern!(py, "count"), (value,))?
            .extract()
    }

    fn __eq__<'py>(&self, py: Python<'py>, other: &Bound<'py, PyAny>) -> PyResult<Py<PyAny>> {
        if let Ok(other) = other.cast::<DepthChanges>() {
            let equal = self.batch.texts().eq(other.get().batch.texts());
            return equal.into_py_any(py);
        }
        if other.is_instance_of::<PyList>() {
            return self.to_list(py)?.eq(other)?.into_py_any(py);
        }
        Ok(py.NotImplemented())
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("DepthChanges({})", self.to_list(py)?.repr()?))
    }
}

/// Applies `changes` to `book`, all or nothing (the fast path of `OrderBook.apply_deltas`;
/// pure Rust, run under the book's lock).
pub fn apply_changes(
    book: &mut Book,
    changes: &DepthChanges,
    sequence: Option<u64>,
    timestamp_ns: u64,
) -> Result<(), sor_core::book::BookError> {
    changes.batch.apply_to(book, sequence, timestamp_ns)
}

/// Reads Binance spot `depthUpdate` payloads for a set of markets.
#[pyclass(module = "sor._core", frozen)]
pub struct BinanceDepthParser {
    markets: HashMap<String, (Py<PyString>, Precision)>,
}

#[pymethods]
impl BinanceDepthParser {
    #[new]
    fn py_new(markets: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(Self {
            markets: crate::convert::markets(markets)?,
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
        let payload = crate::convert::bytes("payload", payload)?;
        let markets = &self.markets;
        let update = parse_binance_depth_update(payload, |exchange_symbol| {
            markets
                .get(exchange_symbol)
                .map(|(symbol, precision)| (symbol, *precision))
        })
        .map_err(|err| invalid(err.to_string()))?;
        let Some(update) = update else {
            return Ok(None);
        };
        let changes = Bound::new(
            py,
            DepthChanges {
                batch: update.changes,
            },
        )?;
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
        let mut symbols: Vec<&str> = self.markets.keys().map(String::as_str).collect();
        symbols.sort_unstable();
        format!("BinanceDepthParser({})", symbols.join(", "))
    }
}

/// Adds the classes to the module; `DepthChanges` is registered as a
/// `collections.abc.Sequence`, which it implements.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<DepthChanges>()?;
    m.add_class::<BinanceDepthParser>()?;
    let py = m.py();
    py.import("collections.abc")?
        .getattr("Sequence")?
        .call_method1("register", (py.get_type::<DepthChanges>(),))?;
    Ok(())
}
