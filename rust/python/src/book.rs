//! The `OrderBook` and `Level` classes.

use numpy::{PyArrayMethods, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::{PySequence, PyString, PyTuple};
use sor_core::book::{Book, BookSide, Delta, Level as CoreLevel};
use sor_core::decimal::fixed_from_f64;
use sor_core::walk::{WalkLimits, affordable_lots, try_walk};

use crate::convert::{
    Field, book_side, bps, decimals, fixed, fixed_wide, fixed_wide_floor, for_each_item, len_hint,
    now_ns, taker_side, to_decimal,
};
use crate::errors::{book_error, decimal_error, invalid, walk_error};
use crate::results::{ExecutionCost, WalkResult};

/// One price level of a book.
#[pyclass(module = "sor._core", frozen, eq, hash)]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Level {
    price_ticks: u64,
    size_lots: u64,
    price_decimals: u8,
    size_decimals: u8,
}

#[pymethods]
impl Level {
    #[getter]
    fn price(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_decimal(py, u128::from(self.price_ticks), self.price_decimals)
    }
    #[getter]
    fn size(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_decimal(py, u128::from(self.size_lots), self.size_decimals)
    }
    #[getter]
    fn price_ticks(&self) -> u64 {
        self.price_ticks
    }
    #[getter]
    fn size_lots(&self) -> u64 {
        self.size_lots
    }
    fn __repr__(&self) -> String {
        format!(
            "Level(price={}, size={})",
            sor_core::decimal::format_fixed(u128::from(self.price_ticks), self.price_decimals),
            sor_core::decimal::format_fixed(u128::from(self.size_lots), self.size_decimals),
        )
    }
}

/// An exact order book for one market on one venue.
#[pyclass(module = "sor._core")]
#[derive(Clone)]
pub struct OrderBook {
    pub(crate) book: Book,
}

impl OrderBook {
    fn level(&self, level: CoreLevel) -> Level {
        Level {
            price_ticks: level.price,
            size_lots: level.size,
            price_decimals: self.book.price_decimals(),
            size_decimals: self.book.size_decimals(),
        }
    }

    fn parse_levels(&self, name: &str, levels: &Bound<'_, PyAny>) -> PyResult<Vec<CoreLevel>> {
        let mut out = Vec::with_capacity(len_hint(levels));
        let (pd, sd) = (self.book.price_decimals(), self.book.size_decimals());
        let expected = format!("{name}: expected a sequence of (price, size) pairs");
        for_each_item(levels, &expected, |index, item| {
            let (price, size) = pair(name, index, &item)?;
            out.push(CoreLevel {
                price: fixed(Field::item(name, index, Some("price")), &price, pd)?,
                size: fixed(Field::item(name, index, Some("size")), &size, sd)?,
            });
            Ok(())
        })?;
        Ok(out)
    }

    fn side_arg(side: &str) -> PyResult<BookSide> {
        book_side("side", side)
    }
}

/// A read-only view of a one-dimensional numpy array of `T`, or an error naming the argument
/// and the dtype it needs.
fn array<'py, T: numpy::Element>(
    name: &str,
    dtype: &str,
    value: &Bound<'py, PyAny>,
) -> PyResult<PyReadonlyArray1<'py, T>> {
    value
        .cast::<numpy::PyArray1<T>>()
        .map(|a| a.readonly())
        .map_err(|_| {
            invalid(format!(
                "{name}: expected a one-dimensional numpy array of {dtype}"
            ))
        })
}

/// Splits a 2-item sequence into its items, naming the offending element if it is not one.
fn pair<'py>(
    name: &str,
    index: usize,
    item: &Bound<'py, PyAny>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    if let Ok(tuple) = item.cast::<PyTuple>()
        && tuple.len() == 2
    {
        return Ok((tuple.get_item(0)?, tuple.get_item(1)?));
    }
    let seq = item
        .cast::<PySequence>()
        .ok()
        .filter(|s| s.len().ok() == Some(2) && !item.is_instance_of::<PyString>())
        .ok_or_else(|| invalid(format!("{name}[{index}]: expected a (price, size) pair")))?;
    Ok((seq.get_item(0)?, seq.get_item(1)?))
}

#[pymethods]
impl OrderBook {
    #[new]
    fn py_new(price_decimals: i64, size_decimals: i64) -> PyResult<Self> {
        let pd = decimals("price_decimals", price_decimals)?;
        let sd = decimals("size_decimals", size_decimals)?;
        let book = Book::new(pd, sd).map_err(|err| decimal_error("decimals", &err))?;
        Ok(Self { book })
    }

    #[staticmethod]
    #[pyo3(signature = (bids, asks, price_decimals, size_decimals, sequence = 0))]
    fn from_floats(
        bids: Vec<(f64, f64)>,
        asks: Vec<(f64, f64)>,
        price_decimals: i64,
        size_decimals: i64,
        sequence: u64,
    ) -> PyResult<Self> {
        let mut this = Self::py_new(price_decimals, size_decimals)?;
        let (pd, sd) = (this.book.price_decimals(), this.book.size_decimals());
        let convert = |name: &str, levels: &[(f64, f64)]| -> PyResult<Vec<CoreLevel>> {
            levels
                .iter()
                .enumerate()
                .map(|(i, &(price, size))| {
                    Ok(CoreLevel {
                        price: fixed_from_f64(price, pd)
                            .map_err(|e| decimal_error(Field::item(name, i, Some("price")), &e))?,
                        size: fixed_from_f64(size, sd)
                            .map_err(|e| decimal_error(Field::item(name, i, Some("size")), &e))?,
                    })
                })
                .collect()
        };
        let bids = convert("bids", &bids)?;
        let asks = convert("asks", &asks)?;
        this.book
            .apply_snapshot(&bids, &asks, sequence, now_ns())
            .map_err(|e| book_error(&e, pd))?;
        Ok(this)
    }

    #[getter]
    fn price_decimals(&self) -> u8 {
        self.book.price_decimals()
    }
    #[getter]
    fn size_decimals(&self) -> u8 {
        self.book.size_decimals()
    }
    #[getter]
    fn sequence(&self) -> u64 {
        self.book.sequence()
    }
    #[getter]
    fn updated_at_ns(&self) -> u64 {
        self.book.updated_at_ns()
    }
    #[getter]
    fn version(&self) -> u64 {
        self.book.version()
    }

    #[pyo3(signature = (bids, asks, sequence = 0, timestamp_ns = None))]
    fn apply_snapshot(
        &mut self,
        bids: &Bound<'_, PyAny>,
        asks: &Bound<'_, PyAny>,
        sequence: u64,
        timestamp_ns: Option<u64>,
    ) -> PyResult<()> {
        let bids = self.parse_levels("bids", bids)?;
        let asks = self.parse_levels("asks", asks)?;
        self.book
            .apply_snapshot(&bids, &asks, sequence, timestamp_ns.unwrap_or_else(now_ns))
            .map_err(|e| book_error(&e, self.book.price_decimals()))
    }

    #[pyo3(signature = (side, price, size, sequence = None, timestamp_ns = None))]
    fn apply_delta(
        &mut self,
        side: &str,
        price: &Bound<'_, PyAny>,
        size: &Bound<'_, PyAny>,
        sequence: Option<u64>,
        timestamp_ns: Option<u64>,
    ) -> PyResult<()> {
        let delta = Delta {
            side: Self::side_arg(side)?,
            price: fixed("price", price, self.book.price_decimals())?,
            size: fixed("size", size, self.book.size_decimals())?,
        };
        self.book
            .apply_delta(delta, sequence, timestamp_ns.unwrap_or_else(now_ns))
            .map_err(|e| book_error(&e, self.book.price_decimals()))
    }

    #[pyo3(signature = (deltas, sequence = None, timestamp_ns = None))]
    fn apply_deltas(
        &mut self,
        deltas: &Bound<'_, PyAny>,
        sequence: Option<u64>,
        timestamp_ns: Option<u64>,
    ) -> PyResult<()> {
        if let Ok(changes) = deltas.cast::<crate::wire::DepthChanges>() {
            // Parsed from the exchange's payload already (sor._core.BinanceDepthParser).
            let changes = changes.get();
            return crate::wire::apply_changes(&mut self.book, changes, sequence, timestamp_ns);
        }
        let mut parsed = Vec::with_capacity(len_hint(deltas));
        let (pd, sd) = (self.book.price_decimals(), self.book.size_decimals());
        let expected = "deltas: expected a sequence of (side, price, size) tuples";
        for_each_item(deltas, expected, |index, item| {
            let tuple = item
                .cast::<PyTuple>()
                .ok()
                .filter(|t| t.len() == 3)
                .ok_or_else(|| {
                    invalid(format!(
                        "deltas[{index}]: expected a (side, price, size) tuple"
                    ))
                })?;
            let side_obj = tuple.get_item(0)?;
            let side_text = side_obj
                .cast::<PyString>()
                .map_err(|_| invalid(format!("deltas[{index}].side: expected 'bid' or 'ask'")))?;
            parsed.push(Delta {
                side: book_side(
                    Field::item("deltas", index, Some("side")),
                    side_text.to_str()?,
                )?,
                price: fixed(
                    Field::item("deltas", index, Some("price")),
                    &tuple.get_item(1)?,
                    pd,
                )?,
                size: fixed(
                    Field::item("deltas", index, Some("size")),
                    &tuple.get_item(2)?,
                    sd,
                )?,
            });
            Ok(())
        })?;
        self.book
            .apply_deltas(&parsed, sequence, timestamp_ns.unwrap_or_else(now_ns))
            .map_err(|e| book_error(&e, self.book.price_decimals()))
    }

    #[pyo3(signature = (sides, prices, sizes, sequence = None, timestamp_ns = None))]
    fn apply_deltas_array(
        &mut self,
        sides: &Bound<'_, PyAny>,
        prices: &Bound<'_, PyAny>,
        sizes: &Bound<'_, PyAny>,
        sequence: Option<u64>,
        timestamp_ns: Option<u64>,
    ) -> PyResult<()> {
        let sides = array::<u8>("sides", "uint8", sides)?;
        let prices = array::<u64>("prices", "uint64", prices)?;
        let sizes = array::<u64>("sizes", "uint64", sizes)?;
        let contiguous = |name: &str| invalid(format!("{name}: array must be contiguous"));
        let sides = sides.as_slice().map_err(|_| contiguous("sides"))?;
        let prices = prices.as_slice().map_err(|_| contiguous("prices"))?;
        let sizes = sizes.as_slice().map_err(|_| contiguous("sizes"))?;
        if sides.len() != prices.len() || sides.len() != sizes.len() {
            return Err(invalid(format!(
                "sides, prices and sizes must have the same length, got {}, {} and {}",
                sides.len(),
                prices.len(),
                sizes.len()
            )));
        }
        let mut parsed = Vec::with_capacity(sides.len());
        for (index, ((&side, &price), &size)) in sides.iter().zip(prices).zip(sizes).enumerate() {
            let side = match side {
                0 => BookSide::Bid,
                1 => BookSide::Ask,
                other => {
                    return Err(invalid(format!(
                        "sides[{index}]: expected 0 (bid) or 1 (ask), got {other}"
                    )));
                }
            };
            parsed.push(Delta { side, price, size });
        }
        self.book
            .apply_deltas(&parsed, sequence, timestamp_ns.unwrap_or_else(now_ns))
            .map_err(|e| book_error(&e, self.book.price_decimals()))
    }

    #[pyo3(signature = (timestamp_ns = None))]
    fn clear(&mut self, timestamp_ns: Option<u64>) {
        self.book.clear(timestamp_ns.unwrap_or_else(now_ns));
    }

    fn best_bid(&self) -> Option<Level> {
        self.book.bids().best().map(|l| self.level(l))
    }

    fn best_ask(&self) -> Option<Level> {
        self.book.asks().best().map(|l| self.level(l))
    }

    fn spread(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.book
            .spread()
            .map(|s| to_decimal(py, u128::from(s), self.book.price_decimals()))
            .transpose()
    }

    fn mid(&self) -> Option<f64> {
        self.book
            .mid_ticks()
            .map(|m| m / 10f64.powi(i32::from(self.book.price_decimals())))
    }

    fn depth_within_bps(&self, py: Python<'_>, side: &str, bps: f64) -> PyResult<Py<PyAny>> {
        let side = Self::side_arg(side)?;
        let depth = self
            .book
            .depth_within_bps(side, crate::convert::bps("bps", bps)?);
        to_decimal(py, depth, self.book.size_decimals())
    }

    /// Total size on a side at prices at least as good as `price` (exact, however deep).
    fn depth_up_to(
        &self,
        py: Python<'_>,
        side: &str,
        price: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let side = Self::side_arg(side)?;
        let ticks = fixed("price", price, self.book.price_decimals())?;
        let depth = self.book.ladder(side).size_up_to(ticks);
        to_decimal(py, depth, self.book.size_decimals())
    }

    #[pyo3(signature = (side, n = None))]
    fn levels(&self, side: &str, n: Option<usize>) -> PyResult<Vec<Level>> {
        let ladder = self.book.ladder(Self::side_arg(side)?);
        let take = n.unwrap_or(usize::MAX);
        Ok(ladder.iter().take(take).map(|l| self.level(l)).collect())
    }

    fn level_count(&self, side: &str) -> PyResult<usize> {
        Ok(self.book.ladder(Self::side_arg(side)?).len())
    }

    fn is_crossed(&self) -> bool {
        self.book.crossing().is_some()
    }

    /// The Kraken Spot WebSocket v2 book checksum (CRC32 of the top 10 levels), unsigned.
    fn kraken_checksum(&self) -> u32 {
        sor_core::checksum::kraken_checksum(&self.book)
    }

    /// The OKX order book checksum (CRC32 of the top 25 levels interleaved), signed.
    fn okx_checksum(&self) -> i32 {
        sor_core::checksum::okx_checksum(&self.book)
    }

    /// Removes the levels beyond the best `depth` of each side; returns how many were removed.
    fn truncate(&mut self, depth: usize) -> usize {
        sor_core::depth::truncate(&mut self.book, depth)
    }

    fn price_to_ticks(&self, price: &Bound<'_, PyAny>) -> PyResult<u64> {
        fixed("price", price, self.book.price_decimals())
    }

    fn size_to_lots(&self, size: &Bound<'_, PyAny>) -> PyResult<u64> {
        fixed("size", size, self.book.size_decimals())
    }

    #[pyo3(signature = (side, quantity = None, *, notional = None, limit_price = None))]
    fn walk(
        &self,
        side: &str,
        quantity: Option<&Bound<'_, PyAny>>,
        notional: Option<&Bound<'_, PyAny>>,
        limit_price: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<WalkResult> {
        let side = taker_side(side)?;
        let (pd, sd) = (self.book.price_decimals(), self.book.size_decimals());
        let limits = WalkLimits {
            quantity: quantity.map(|q| fixed("quantity", q, sd)).transpose()?,
            notional: notional
                .map(|n| fixed_wide("notional", n, pd + sd))
                .transpose()?,
            limit_price: limit_price
                .map(|p| fixed("limit_price", p, pd))
                .transpose()?,
        };
        let walked = try_walk(self.book.ladder(side.consumes()), side, &limits)
            .map_err(|e| walk_error(&e))?;
        Ok(WalkResult::new(walked, side, pd, sd))
    }

    fn cost(
        &self,
        side: &str,
        quantity: &Bound<'_, PyAny>,
        taker_fee_bps: f64,
    ) -> PyResult<ExecutionCost> {
        let fee = bps("taker_fee_bps", taker_fee_bps)?;
        let result = self.walk(side, Some(quantity), None, None)?;
        Ok(result.cost(fee))
    }

    /// Most base quantity `funds` of quote buys from the asks with the taker fee on top (whole
    /// lots; funds finer than the book's notional unit are rounded down), or None when the asks
    /// run out first.
    fn affordable(
        &self,
        py: Python<'_>,
        funds: &Bound<'_, PyAny>,
        taker_fee_bps: f64,
    ) -> PyResult<Option<Py<PyAny>>> {
        let fee = bps("taker_fee_bps", taker_fee_bps)?;
        let (pd, sd) = (self.book.price_decimals(), self.book.size_decimals());
        let funds = fixed_wide_floor("funds", funds, pd + sd)?;
        affordable_lots(self.book.asks(), funds, fee)
            .map(|lots| to_decimal(py, u128::from(lots), sd))
            .transpose()
    }

    fn copy(&self) -> Self {
        self.clone()
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        match other.cast::<OrderBook>() {
            Ok(other) => {
                let other = other.borrow();
                let (a, b) = (&self.book, &other.book);
                a.price_decimals() == b.price_decimals()
                    && a.size_decimals() == b.size_decimals()
                    && a.bids() == b.bids()
                    && a.asks() == b.asks()
            }
            Err(_) => false,
        }
    }

    fn __repr__(&self) -> String {
        let fmt = |l: Option<CoreLevel>, d: u8| {
            l.map_or("None".to_owned(), |l| {
                sor_core::decimal::format_fixed(u128::from(l.price), d)
            })
        };
        let pd = self.book.price_decimals();
        format!(
            "OrderBook(bids={} levels, asks={} levels, best_bid={}, best_ask={}, sequence={})",
            self.book.bids().len(),
            self.book.asks().len(),
            fmt(self.book.bids().best(), pd),
            fmt(self.book.asks().best(), pd),
            self.book.sequence()
        )
    }
}
