//! Exchange payloads parsed in the core: `DepthChanges` (what every parser returns), the market
//! table every parser looks its names up in, `split_sides`, and one module per exchange's parser.

mod binance;
mod bybit;
mod coinbase;
mod kraken;
mod okx;

use pyo3::prelude::*;
use pyo3::types::{PyIterator, PyList, PySlice, PyString, PyTuple};
use pyo3::{IntoPyObjectExt, intern};
use sor_core::book::{Book, BookSide};
use sor_core::wire::{ChangeBatch, Precision};

use crate::convert::Markets;
use crate::errors::invalid;

/// Book changes parsed from one exchange message: a read-only sequence of
/// `(side, price, size)` tuples of the exchange's strings, already parsed at a precision.
#[pyclass(module = "sor._core", frozen, sequence)]
pub struct DepthChanges {
    pub(crate) batch: ChangeBatch,
}

impl DepthChanges {
    /// `batch` as a Python object.
    pub(crate) fn new_bound(py: Python<'_>, batch: ChangeBatch) -> PyResult<Bound<'_, Self>> {
        Bound::new(py, Self { batch })
    }

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

/// Parses `payload` (bytes) with `parse`: `None` for a message that is not the parser's, the
/// parser's error as `InvalidInput` (nothing is returned then).
pub(crate) fn read_payload<T, E: std::fmt::Display>(
    payload: &Bound<'_, PyAny>,
    parse: impl FnOnce(&[u8]) -> Result<Option<T>, E>,
) -> PyResult<Option<T>> {
    parse(crate::convert::bytes("payload", payload)?).map_err(|err| invalid(err.to_string()))
}

/// A parser's markets: the exchange's name of each (`BTCUSDT`, `BTC-USD`, a topic) to the
/// unified symbol it reports and the precision its levels are parsed at.
pub(crate) struct MarketTable(Markets);

impl MarketTable {
    /// The `markets` argument of a parser's constructor; errors name the entry.
    pub(crate) fn new(markets: &Bound<'_, PyAny>) -> PyResult<Self> {
        crate::convert::markets(markets).map(Self)
    }

    /// The symbol and precision of the market the exchange calls `name`.
    pub(crate) fn lookup(&self, name: &str) -> Option<(&Py<PyString>, Precision)> {
        self.0
            .get(name)
            .map(|(symbol, precision)| (symbol, *precision))
    }

    /// `class(name, ...)`, the names sorted.
    pub(crate) fn repr(&self, class: &str) -> String {
        let mut names: Vec<&str> = self.0.keys().map(String::as_str).collect();
        names.sort_unstable();
        format!("{class}({})", names.join(", "))
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

/// Adds `DepthChanges` (registered as a `collections.abc.Sequence`, which it implements), the
/// parsers and `split_sides` to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<DepthChanges>()?;
    m.add_class::<binance::BinanceDepthParser>()?;
    m.add_class::<coinbase::CoinbaseLevel2Parser>()?;
    m.add_class::<okx::OkxBooksParser>()?;
    m.add_class::<kraken::KrakenBookParser>()?;
    m.add_class::<bybit::BybitOrderbookParser>()?;
    m.add_function(wrap_pyfunction!(split_sides, m)?)?;
    let py = m.py();
    py.import("collections.abc")?
        .getattr("Sequence")?
        .call_method1("register", (py.get_type::<DepthChanges>(),))?;
    Ok(())
}
