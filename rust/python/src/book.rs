//! The `OrderBook` and `Level` classes.
//!
//! # Threads
//!
//! An `OrderBook` is shared by the feed that writes it and the readers that walk it, some of
//! them with the GIL released (`walk_many`, `allocate_many`, `screen_batch`). It holds its book
//! copy-on-write: `Mutex<Arc<Book>>`. A reader takes a snapshot (clones the `Arc` under the
//! mutex, a few nanoseconds) and computes on that one version however long it takes, with or
//! without the GIL; a writer mutates the book in place when no snapshot of it is out, and
//! otherwise first copies it (`Arc::make_mut`), so a writer never waits for a reader and a
//! reader never sees a write half-done. The mutex is only ever held for an `Arc` clone or one
//! all-or-nothing core mutation, and never while Python code runs. It is taken with `try_lock`
//! first; if another thread holds it, the wait happens with the GIL released, so no thread
//! blocks on it while holding the GIL. A poisoned mutex (a panic while it was held: none is
//! known, the core's mutations validate everything before they change anything) is taken over
//! as it is, since the book it holds is still a whole version.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};

use numpy::{PyArrayMethods, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::{PySequence, PyString, PyTuple};
use sor_core::book::{Book, BookSide, Delta, Level as CoreLevel};
use sor_core::decimal::fixed_from_f64;
use sor_core::walk::{WalkLimits, affordable_lots_up_to, try_walk};

use crate::convert::{
    Field, book_side, decimals, fee_bps, fixed, fixed_wide, float, for_each_item, funds_wide_floor,
    items, len_hint, now_ns, opt_uint, taker_side, to_decimal, uint,
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

/// An exact order book for one market on one venue, safe to share between threads.
#[pyclass(module = "sor._core", frozen)]
pub struct OrderBook {
    /// The current version of the book, shared copy-on-write with the readers' snapshots.
    book: Mutex<Arc<Book>>,
    /// Decimal places of prices (fixed for the book's life).
    price_decimals: u8,
    /// Decimal places of sizes (fixed for the book's life).
    size_decimals: u8,
}

/// Locks `book` waiting as long as it takes (call it with the GIL released); a poisoned lock
/// is taken over (see the module's doc).
fn lock_blocking(book: &Mutex<Arc<Book>>) -> MutexGuard<'_, Arc<Book>> {
    book.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A snapshot of each book, in order: one consistent version of each for one computation.
pub(crate) fn snapshots(py: Python<'_>, books: &[PyRef<'_, OrderBook>]) -> Vec<Arc<Book>> {
    books.iter().map(|b| b.snapshot(py)).collect()
}

/// [`snapshots`] of books held across calls (a prepared venue set, a screen request).
pub(crate) fn held_snapshots(py: Python<'_>, books: &[Py<OrderBook>]) -> Vec<Arc<Book>> {
    books.iter().map(|b| b.get().snapshot(py)).collect()
}

/// Runs `read` (pure Rust, no Python) over the current version of each of `books`, in order:
/// under their locks when every one is free, which takes no snapshot (a reference count's two
/// atomic writes per book saved), else over snapshots (waiting for a writer without holding
/// any other book's lock). For the calls that hold the GIL throughout; a computation that
/// releases it takes snapshots ([`held_snapshots`]).
pub(crate) fn read_books<'a, R>(
    py: Python<'_>,
    books: impl ExactSizeIterator<Item = &'a OrderBook> + Clone,
    read: impl FnOnce(&[&Book]) -> R,
) -> R {
    let mut guards = Vec::with_capacity(books.len());
    for book in books.clone() {
        match book.book.try_lock() {
            Ok(guard) => guards.push(guard),
            Err(TryLockError::Poisoned(poisoned)) => guards.push(poisoned.into_inner()),
            // A writer holds it (or the same book is listed twice): snapshots instead.
            Err(TryLockError::WouldBlock) => {
                drop(guards);
                let snapshots: Vec<Arc<Book>> = books.map(|b| b.snapshot(py)).collect();
                let refs: Vec<&Book> = snapshots.iter().map(|b| &**b).collect();
                return read(&refs);
            }
        }
    }
    let refs: Vec<&Book> = guards.iter().map(|guard| &***guard).collect();
    read(&refs)
}

impl OrderBook {
    fn from_book(book: Book) -> Self {
        Self {
            price_decimals: book.price_decimals(),
            size_decimals: book.size_decimals(),
            book: Mutex::new(Arc::new(book)),
        }
    }

    /// Decimal places of prices and sizes (fixed for the book's life).
    pub(crate) fn decimals(&self) -> (u8, u8) {
        (self.price_decimals, self.size_decimals)
    }

    /// A book starting at `snapshot` (shared until either side is written).
    pub(crate) fn from_snapshot(snapshot: Arc<Book>) -> Self {
        Self {
            price_decimals: snapshot.price_decimals(),
            size_decimals: snapshot.size_decimals(),
            book: Mutex::new(snapshot),
        }
    }

    /// The current version of the book, which no write will change: clone of the `Arc` under
    /// the lock, waiting with the GIL released if a writer holds it.
    pub(crate) fn snapshot(&self, py: Python<'_>) -> Arc<Book> {
        match self.book.try_lock() {
            Ok(guard) => Arc::clone(&guard),
            Err(TryLockError::Poisoned(poisoned)) => Arc::clone(&poisoned.into_inner()),
            Err(TryLockError::WouldBlock) => py.detach(|| Arc::clone(&lock_blocking(&self.book))),
        }
    }

    /// Runs `read` (pure Rust, no Python, short) on the current version of the book under its
    /// lock: no snapshot is taken, which saves the reference count's two atomic writes of a
    /// one-off read. Waits with the GIL released if a writer holds the lock.
    fn read<R>(&self, py: Python<'_>, read: impl FnOnce(&Book) -> R) -> R {
        match self.book.try_lock() {
            Ok(guard) => read(&guard),
            Err(TryLockError::Poisoned(poisoned)) => read(&poisoned.into_inner()),
            Err(TryLockError::WouldBlock) => read(&self.snapshot(py)),
        }
    }

    /// Runs one mutation (pure Rust, no Python) on the book under the lock, copying the book
    /// first if a reader holds a snapshot of it.
    fn write<R>(&self, py: Python<'_>, mutate: impl FnOnce(&mut Book) -> R) -> R {
        let mut guard = loop {
            match self.book.try_lock() {
                Ok(guard) => break guard,
                Err(TryLockError::Poisoned(poisoned)) => break poisoned.into_inner(),
                // Wait for the holder without the GIL, then try again with it.
                Err(TryLockError::WouldBlock) => py.detach(|| drop(lock_blocking(&self.book))),
            }
        };
        mutate(Arc::make_mut(&mut guard))
    }

    fn level(&self, level: CoreLevel) -> Level {
        Level {
            price_ticks: level.price,
            size_lots: level.size,
            price_decimals: self.price_decimals,
            size_decimals: self.size_decimals,
        }
    }

    fn parse_levels(&self, name: &str, levels: &Bound<'_, PyAny>) -> PyResult<Vec<CoreLevel>> {
        let mut out = Vec::with_capacity(len_hint(levels));
        let (pd, sd) = (self.price_decimals, self.size_decimals);
        let expected = || format!("{name}: expected a sequence of (price, size) pairs");
        for_each_item(levels, expected, |index, item| {
            let (price, size) = pair(name, index, &item)?;
            out.push(CoreLevel {
                price: fixed(Field::item(name, index, Some("price")), &price, pd)?,
                size: fixed(Field::item(name, index, Some("size")), &size, sd)?,
            });
            Ok(())
        })?;
        Ok(out)
    }

    fn side_arg(side: &Bound<'_, PyAny>) -> PyResult<BookSide> {
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
    fn py_new(
        price_decimals: &Bound<'_, PyAny>,
        size_decimals: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let pd = decimals("price_decimals", price_decimals)?;
        let sd = decimals("size_decimals", size_decimals)?;
        let book = Book::new(pd, sd).map_err(|err| decimal_error("decimals", &err))?;
        Ok(Self::from_book(book))
    }

    #[staticmethod]
    #[pyo3(
        signature = (bids, asks, price_decimals, size_decimals, sequence = None),
        text_signature = "(bids, asks, price_decimals, size_decimals, sequence=0)"
    )]
    fn from_floats(
        bids: &Bound<'_, PyAny>,
        asks: &Bound<'_, PyAny>,
        price_decimals: &Bound<'_, PyAny>,
        size_decimals: &Bound<'_, PyAny>,
        sequence: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let pd = decimals("price_decimals", price_decimals)?;
        let sd = decimals("size_decimals", size_decimals)?;
        let sequence = opt_uint("sequence", sequence)?.unwrap_or(0);
        let mut book = Book::new(pd, sd).map_err(|err| decimal_error("decimals", &err))?;
        let convert = |name: &str, levels: &Bound<'_, PyAny>| -> PyResult<Vec<CoreLevel>> {
            items(name, levels)?
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    let (price, size) = pair(name, i, item)?;
                    let price_field = Field::item(name, i, Some("price"));
                    let size_field = Field::item(name, i, Some("size"));
                    Ok(CoreLevel {
                        price: fixed_from_f64(float(price_field, &price)?, pd)
                            .map_err(|e| decimal_error(price_field, &e))?,
                        size: fixed_from_f64(float(size_field, &size)?, sd)
                            .map_err(|e| decimal_error(size_field, &e))?,
                    })
                })
                .collect()
        };
        let bids = convert("bids", bids)?;
        let asks = convert("asks", asks)?;
        book.apply_snapshot(&bids, &asks, sequence, now_ns())
            .map_err(|e| book_error(&e, pd))?;
        Ok(Self::from_book(book))
    }

    #[getter]
    fn price_decimals(&self) -> u8 {
        self.price_decimals
    }
    #[getter]
    fn size_decimals(&self) -> u8 {
        self.size_decimals
    }
    #[getter]
    fn sequence(&self, py: Python<'_>) -> u64 {
        self.read(py, Book::sequence)
    }
    #[getter]
    fn updated_at_ns(&self, py: Python<'_>) -> u64 {
        self.read(py, Book::updated_at_ns)
    }
    #[getter]
    fn version(&self, py: Python<'_>) -> u64 {
        self.read(py, Book::version)
    }

    #[pyo3(
        signature = (bids, asks, sequence = None, timestamp_ns = None),
        text_signature = "($self, bids, asks, sequence=0, timestamp_ns=None)"
    )]
    fn apply_snapshot(
        &self,
        py: Python<'_>,
        bids: &Bound<'_, PyAny>,
        asks: &Bound<'_, PyAny>,
        sequence: Option<&Bound<'_, PyAny>>,
        timestamp_ns: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let sequence = opt_uint("sequence", sequence)?.unwrap_or(0);
        let timestamp_ns: Option<u64> = opt_uint("timestamp_ns", timestamp_ns)?;
        let bids = self.parse_levels("bids", bids)?;
        let asks = self.parse_levels("asks", asks)?;
        let timestamp_ns = timestamp_ns.unwrap_or_else(now_ns);
        self.write(py, |book| {
            book.apply_snapshot(&bids, &asks, sequence, timestamp_ns)
        })
        .map_err(|e| book_error(&e, self.price_decimals))
    }

    #[pyo3(signature = (side, price, size, sequence = None, timestamp_ns = None))]
    fn apply_delta(
        &self,
        py: Python<'_>,
        side: &Bound<'_, PyAny>,
        price: &Bound<'_, PyAny>,
        size: &Bound<'_, PyAny>,
        sequence: Option<&Bound<'_, PyAny>>,
        timestamp_ns: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let sequence = opt_uint("sequence", sequence)?;
        let timestamp_ns: Option<u64> = opt_uint("timestamp_ns", timestamp_ns)?;
        let delta = Delta {
            side: Self::side_arg(side)?,
            price: fixed("price", price, self.price_decimals)?,
            size: fixed("size", size, self.size_decimals)?,
        };
        let timestamp_ns = timestamp_ns.unwrap_or_else(now_ns);
        self.write(py, |book| book.apply_delta(delta, sequence, timestamp_ns))
            .map_err(|e| book_error(&e, self.price_decimals))
    }

    #[pyo3(signature = (deltas, sequence = None, timestamp_ns = None))]
    fn apply_deltas(
        &self,
        py: Python<'_>,
        deltas: &Bound<'_, PyAny>,
        sequence: Option<&Bound<'_, PyAny>>,
        timestamp_ns: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let sequence = opt_uint("sequence", sequence)?;
        let timestamp_ns = opt_uint("timestamp_ns", timestamp_ns)?.unwrap_or_else(now_ns);
        if let Ok(changes) = deltas.cast::<crate::wire::DepthChanges>() {
            // Parsed from the exchange's payload already (sor._core.BinanceDepthParser).
            let changes = changes.get();
            return self
                .write(py, |book| {
                    crate::wire::apply_changes(book, changes, sequence, timestamp_ns)
                })
                .map_err(|e| book_error(&e, self.price_decimals));
        }
        let mut parsed = Vec::with_capacity(len_hint(deltas));
        let (pd, sd) = (self.price_decimals, self.size_decimals);
        let expected = "deltas: expected a sequence of (side, price, size) tuples";
        for_each_item(
            deltas,
            || expected,
            |index, item| {
                let tuple = item
                    .cast::<PyTuple>()
                    .ok()
                    .filter(|t| t.len() == 3)
                    .ok_or_else(|| {
                        invalid(format!(
                            "deltas[{index}]: expected a (side, price, size) tuple"
                        ))
                    })?;
                parsed.push(Delta {
                    side: book_side(
                        Field::item("deltas", index, Some("side")),
                        &tuple.get_item(0)?,
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
            },
        )?;
        self.write(py, |book| {
            book.apply_deltas(&parsed, sequence, timestamp_ns)
        })
        .map_err(|e| book_error(&e, pd))
    }

    #[pyo3(signature = (sides, prices, sizes, sequence = None, timestamp_ns = None))]
    #[allow(clippy::too_many_arguments)]
    fn apply_deltas_array(
        &self,
        py: Python<'_>,
        sides: &Bound<'_, PyAny>,
        prices: &Bound<'_, PyAny>,
        sizes: &Bound<'_, PyAny>,
        sequence: Option<&Bound<'_, PyAny>>,
        timestamp_ns: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let sequence = opt_uint("sequence", sequence)?;
        let timestamp_ns: Option<u64> = opt_uint("timestamp_ns", timestamp_ns)?;
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
        let timestamp_ns = timestamp_ns.unwrap_or_else(now_ns);
        self.write(py, |book| {
            book.apply_deltas(&parsed, sequence, timestamp_ns)
        })
        .map_err(|e| book_error(&e, self.price_decimals))
    }

    #[pyo3(signature = (timestamp_ns = None))]
    fn clear(&self, py: Python<'_>, timestamp_ns: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let timestamp_ns = opt_uint("timestamp_ns", timestamp_ns)?.unwrap_or_else(now_ns);
        self.write(py, |book| book.clear(timestamp_ns));
        Ok(())
    }

    fn best_bid(&self, py: Python<'_>) -> Option<Level> {
        self.read(py, |book| book.bids().best())
            .map(|l| self.level(l))
    }

    fn best_ask(&self, py: Python<'_>) -> Option<Level> {
        self.read(py, |book| book.asks().best())
            .map(|l| self.level(l))
    }

    fn spread(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.read(py, Book::spread)
            .map(|s| to_decimal(py, u128::from(s), self.price_decimals))
            .transpose()
    }

    fn mid(&self, py: Python<'_>) -> Option<f64> {
        self.read(py, Book::mid_ticks)
            .map(|m| m / 10f64.powi(i32::from(self.price_decimals)))
    }

    fn depth_within_bps(
        &self,
        py: Python<'_>,
        side: &Bound<'_, PyAny>,
        bps: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let side = Self::side_arg(side)?;
        let bps = crate::convert::bps("bps", bps)?;
        let depth = self.read(py, |book| book.depth_within_bps(side, bps));
        to_decimal(py, depth, self.size_decimals)
    }

    /// Total size on a side at prices at least as good as `price` (exact, however deep).
    fn depth_up_to(
        &self,
        py: Python<'_>,
        side: &Bound<'_, PyAny>,
        price: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let side = Self::side_arg(side)?;
        let ticks = fixed("price", price, self.price_decimals)?;
        let depth = self.read(py, |book| book.ladder(side).size_up_to(ticks));
        to_decimal(py, depth, self.size_decimals)
    }

    #[pyo3(signature = (side, n = None))]
    fn levels(
        &self,
        py: Python<'_>,
        side: &Bound<'_, PyAny>,
        n: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Vec<Level>> {
        let side = Self::side_arg(side)?;
        let take = opt_uint::<usize>("n", n)?.unwrap_or(usize::MAX);
        let book = self.snapshot(py);
        Ok(book
            .ladder(side)
            .iter()
            .take(take)
            .map(|l| self.level(l))
            .collect())
    }

    fn level_count(&self, py: Python<'_>, side: &Bound<'_, PyAny>) -> PyResult<usize> {
        let side = Self::side_arg(side)?;
        Ok(self.read(py, |book| book.ladder(side).len()))
    }

    fn is_crossed(&self, py: Python<'_>) -> bool {
        self.read(py, |book| book.crossing().is_some())
    }

    /// The Kraken Spot WebSocket v2 book checksum (CRC32 of the top 10 levels), unsigned.
    fn kraken_checksum(&self, py: Python<'_>) -> u32 {
        sor_core::checksum::kraken_checksum(&self.snapshot(py))
    }

    /// The OKX order book checksum (CRC32 of the top 25 levels interleaved), signed.
    fn okx_checksum(&self, py: Python<'_>) -> i32 {
        sor_core::checksum::okx_checksum(&self.snapshot(py))
    }

    /// Removes the levels beyond the best `depth` of each side; returns how many were removed.
    fn truncate(&self, py: Python<'_>, depth: &Bound<'_, PyAny>) -> PyResult<usize> {
        let depth = uint("depth", depth)?;
        Ok(self.write(py, |book| sor_core::depth::truncate(book, depth)))
    }

    fn price_to_ticks(&self, price: &Bound<'_, PyAny>) -> PyResult<u64> {
        fixed("price", price, self.price_decimals)
    }

    fn size_to_lots(&self, size: &Bound<'_, PyAny>) -> PyResult<u64> {
        fixed("size", size, self.size_decimals)
    }

    #[pyo3(signature = (side, quantity = None, *, notional = None, limit_price = None))]
    fn walk(
        &self,
        py: Python<'_>,
        side: &Bound<'_, PyAny>,
        quantity: Option<&Bound<'_, PyAny>>,
        notional: Option<&Bound<'_, PyAny>>,
        limit_price: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<WalkResult> {
        let side = taker_side(side)?;
        let (pd, sd) = (self.price_decimals, self.size_decimals);
        let limits = WalkLimits {
            quantity: quantity.map(|q| fixed("quantity", q, sd)).transpose()?,
            notional: notional
                .map(|n| fixed_wide("notional", n, pd + sd))
                .transpose()?,
            limit_price: limit_price
                .map(|p| fixed("limit_price", p, pd))
                .transpose()?,
        };
        let walked = self
            .read(py, |book| {
                try_walk(book.ladder(side.consumes()), side, &limits)
            })
            .map_err(|e| walk_error(&e))?;
        Ok(WalkResult::new(walked, side, pd, sd))
    }

    fn cost(
        &self,
        py: Python<'_>,
        side: &Bound<'_, PyAny>,
        quantity: &Bound<'_, PyAny>,
        taker_fee_bps: &Bound<'_, PyAny>,
    ) -> PyResult<ExecutionCost> {
        let fee = fee_bps("taker_fee_bps", taker_fee_bps)?;
        let result = self.walk(py, side, Some(quantity), None, None)?;
        Ok(result.cost(fee))
    }

    /// Most base quantity `funds` of quote buys from the asks with the taker fee on top (whole
    /// lots; funds finer than the book's notional unit are rounded down, funds past 2^128 - 1
    /// units read as that), or None when the asks run out first. With `at_most` (base units,
    /// rounded up to the book's lot), counting stops there: it is returned when the funds buy
    /// at least that much.
    #[pyo3(signature = (funds, taker_fee_bps, at_most = None))]
    fn affordable(
        &self,
        py: Python<'_>,
        funds: &Bound<'_, PyAny>,
        taker_fee_bps: &Bound<'_, PyAny>,
        at_most: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Option<Py<PyAny>>> {
        let fee = fee_bps("taker_fee_bps", taker_fee_bps)?;
        let (pd, sd) = (self.price_decimals, self.size_decimals);
        let funds = funds_wide_floor("funds", funds, pd + sd)?;
        let at_most = match at_most {
            None => None,
            Some(value) => crate::convert::quantity("at_most", value)?
                .at_scale_rounded(sd, sor_core::decimal::Rounding::Up)
                // Beyond any count of lots: no bound.
                .and_then(|lots| u64::try_from(lots).ok()),
        };
        self.read(py, |book| {
            affordable_lots_up_to(book.asks(), funds, fee, at_most)
        })
        .map(|lots| to_decimal(py, u128::from(lots), sd))
        .transpose()
    }

    /// An independent copy: it shares the current version until either book is written.
    fn copy(&self, py: Python<'_>) -> Self {
        Self::from_snapshot(self.snapshot(py))
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> bool {
        match other.cast::<OrderBook>() {
            Ok(other) => {
                let (a, b) = (self.snapshot(py), other.get().snapshot(py));
                a.price_decimals() == b.price_decimals()
                    && a.size_decimals() == b.size_decimals()
                    && a.bids() == b.bids()
                    && a.asks() == b.asks()
            }
            Err(_) => false,
        }
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let fmt = |l: Option<CoreLevel>, d: u8| {
            l.map_or("None".to_owned(), |l| {
                sor_core::decimal::format_fixed(u128::from(l.price), d)
            })
        };
        let book = self.snapshot(py);
        let pd = self.price_decimals;
        format!(
            "OrderBook(bids={} levels, asks={} levels, best_bid={}, best_ask={}, sequence={})",
            book.bids().len(),
            book.asks().len(),
            fmt(book.bids().best(), pd),
            fmt(book.asks().best(), pd),
            book.sequence()
        )
    }
}
