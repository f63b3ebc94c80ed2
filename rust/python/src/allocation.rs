//! Multi-venue allocation and the batch entry points: `VenueRules`, `AllocationPart`,
//! `Allocation`, `allocate()`, `allocate_many()` and `walk_many()`.

use std::sync::Arc;

use pyo3::prelude::*;
use sor_core::allocate as core_allocate;
use sor_core::book::{Book, Bps, TakerSide};
use sor_core::decimal::Quantity;
use sor_core::rules::{MarketRules, VenueRules as CoreRules, check_lot_size};
use sor_core::walk::{WalkLimits, walk};

use crate::book::{OrderBook, snapshots};
use crate::convert::{Field, fee_bps, fixed, instances, items, quantity, taker_side, to_decimal};
use crate::errors::{allocate_error, invalid};
use crate::results::{ExecutionCost, WalkResult};

/// A venue's trading rules for one market (quantities in base units, notional in quote).
#[pyclass(module = "sor._core", frozen, from_py_object)]
#[derive(Clone, Copy)]
pub struct VenueRules {
    market: MarketRules,
}

impl VenueRules {
    /// The taker fee.
    pub(crate) fn taker_fee(&self) -> Bps {
        self.market.taker_fee
    }

    /// These rules in the units of one book; `index` names the venue in errors.
    pub(crate) fn for_book(&self, index: usize, book: &Book) -> PyResult<CoreRules> {
        CoreRules::for_book(&self.market, book.price_decimals(), book.size_decimals())
            .map_err(|e| invalid(format!("rules[{index}].{e}")))
    }

    /// These rules in the units of a book of these decimals, if they fit them.
    pub(crate) fn at_decimals(
        &self,
        (price_decimals, size_decimals): (u8, u8),
    ) -> Option<CoreRules> {
        CoreRules::for_book(&self.market, price_decimals, size_decimals).ok()
    }
}

fn quantity_decimal(py: Python<'_>, q: Quantity) -> PyResult<Py<PyAny>> {
    to_decimal(py, u128::from(q.mantissa), q.scale)
}

#[pymethods]
impl VenueRules {
    #[new]
    #[pyo3(
        signature = (taker_fee_bps = None, lot_size = None, min_quantity = None, min_notional = None, max_quantity = None),
        text_signature = "(taker_fee_bps=0.0, lot_size=None, min_quantity=None, min_notional=None, max_quantity=None)"
    )]
    fn py_new(
        taker_fee_bps: Option<&Bound<'_, PyAny>>,
        lot_size: Option<&Bound<'_, PyAny>>,
        min_quantity: Option<&Bound<'_, PyAny>>,
        min_notional: Option<&Bound<'_, PyAny>>,
        max_quantity: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        // The lot size is checked first, as it always was: its error wins over the others.
        let lot_size = lot_size
            .map(|v| quantity("lot_size", v))
            .transpose()?
            .map(check_lot_size)
            .transpose()
            .map_err(|e| invalid(e.to_string()))?;
        let market = MarketRules::new(
            taker_fee_bps
                .map(|fee| fee_bps("taker_fee_bps", fee))
                .transpose()?
                .unwrap_or(Bps(0)),
            lot_size,
            min_quantity
                .map(|v| quantity("min_quantity", v))
                .transpose()?,
            min_notional
                .map(|v| quantity("min_notional", v))
                .transpose()?,
            max_quantity
                .map(|v| quantity("max_quantity", v))
                .transpose()?,
        );
        Ok(Self {
            market: market.map_err(|e| invalid(e.to_string()))?,
        })
    }
    #[getter]
    fn taker_fee_bps(&self) -> f64 {
        self.market.taker_fee.as_f64()
    }
    #[getter]
    fn lot_size(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.market
            .lot_size
            .map(|q| quantity_decimal(py, q))
            .transpose()
    }
    #[getter]
    fn min_quantity(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        quantity_decimal(py, self.market.min_quantity)
    }
    #[getter]
    fn min_notional(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        quantity_decimal(py, self.market.min_notional)
    }
    #[getter]
    fn max_quantity(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.market
            .max_quantity
            .map(|q| quantity_decimal(py, q))
            .transpose()
    }
    fn __repr__(&self) -> String {
        let show = |q: Option<Quantity>| {
            q.map_or("None".to_owned(), |q| {
                sor_core::decimal::format_fixed(u128::from(q.mantissa), q.scale)
            })
        };
        format!(
            "VenueRules(taker_fee_bps={}, lot_size={}, min_quantity={}, min_notional={}, max_quantity={})",
            self.market.taker_fee.as_f64(),
            show(self.market.lot_size),
            show(Some(self.market.min_quantity)),
            show(Some(self.market.min_notional)),
            show(self.market.max_quantity)
        )
    }
}

/// One venue's share of an allocation.
#[pyclass(module = "sor._core", frozen)]
#[derive(Clone)]
pub struct AllocationPart {
    index: usize,
    cost: ExecutionCost,
}

impl AllocationPart {
    /// A core part for Python, at the precision of the book it was walked on, with its fee.
    pub(crate) fn new(
        part: &core_allocate::Part,
        side: TakerSide,
        book: &Book,
        taker_fee: Bps,
    ) -> Self {
        Self {
            index: part.index,
            cost: ExecutionCost {
                walk: WalkResult::new(part.walk, side, book.price_decimals(), book.size_decimals()),
                cost: part.cost,
                taker_fee,
            },
        }
    }
}

#[pymethods]
impl AllocationPart {
    #[getter]
    fn index(&self) -> usize {
        self.index
    }
    #[getter]
    fn quantity(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let walk = &self.cost.walk;
        to_decimal(py, u128::from(walk.walk.filled), walk.size_decimals)
    }
    #[getter]
    fn walk(&self) -> WalkResult {
        self.cost.walk.clone()
    }
    #[getter]
    fn cost(&self) -> ExecutionCost {
        self.cost.clone()
    }
    fn __repr__(&self) -> String {
        let walk = &self.cost.walk;
        format!(
            "AllocationPart(index={}, quantity={}, total={})",
            self.index,
            sor_core::decimal::format_fixed(u128::from(walk.walk.filled), walk.size_decimals),
            self.cost.cost.total
        )
    }
}

/// An order split across venues for the lowest total all-in cost.
#[pyclass(module = "sor._core", frozen)]
pub struct Allocation {
    parts: Vec<AllocationPart>,
    requested: Quantity,
    filled: Quantity,
    unfilled: Quantity,
    total: f64,
    proven_optimal: bool,
}

#[pymethods]
impl Allocation {
    #[getter]
    fn parts(&self) -> Vec<AllocationPart> {
        self.parts.clone()
    }
    #[getter]
    fn requested(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        quantity_decimal(py, self.requested)
    }
    #[getter]
    fn filled(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        quantity_decimal(py, self.filled)
    }
    #[getter]
    fn unfilled(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        quantity_decimal(py, self.unfilled)
    }
    #[getter]
    fn complete(&self) -> bool {
        self.unfilled.mantissa == 0
    }
    #[getter]
    fn total(&self) -> f64 {
        self.total
    }
    #[getter]
    fn proven_optimal(&self) -> bool {
        self.proven_optimal
    }
    fn __repr__(&self) -> String {
        let show = |q: Quantity| sor_core::decimal::format_fixed(u128::from(q.mantissa), q.scale);
        format!(
            "Allocation(parts={}, filled={}, unfilled={}, total={}, proven_optimal={})",
            self.parts.len(),
            show(self.filled),
            show(self.unfilled),
            self.total,
            if self.proven_optimal { "True" } else { "False" }
        )
    }
}

/// The `books` argument: a sequence of `OrderBook`s, items named `books[i]`.
pub(crate) fn book_refs<'py>(value: &Bound<'py, PyAny>) -> PyResult<Vec<Bound<'py, OrderBook>>> {
    instances::<OrderBook>("books", "OrderBook", value)
}

/// Borrows each book for reading.
pub(crate) fn borrow<'py>(books: &[Bound<'py, OrderBook>]) -> Vec<PyRef<'py, OrderBook>> {
    books.iter().map(Bound::borrow).collect()
}

/// The `rules` argument: a sequence of `VenueRules`, items named `rules[i]`.
pub(crate) fn venue_rules(value: &Bound<'_, PyAny>) -> PyResult<Vec<VenueRules>> {
    Ok(instances::<VenueRules>("rules", "VenueRules", value)?
        .iter()
        .map(|r| *r.get())
        .collect())
}

/// Everything `allocate` needs, converted from Python while the GIL is held (the books are
/// borrowed from their snapshots: one version each).
struct Prepared<'a> {
    books: Vec<&'a Book>,
    rules: Vec<CoreRules>,
    fees: Vec<Bps>,
}

fn prepare<'a>(books: &'a [Arc<Book>], rules: &[VenueRules]) -> PyResult<Prepared<'a>> {
    if books.len() != rules.len() {
        return Err(invalid(format!(
            "books and rules must have the same length, got {} and {}",
            books.len(),
            rules.len()
        )));
    }
    let books: Vec<&Book> = books.iter().map(|b| &**b).collect();
    let core_rules = books
        .iter()
        .zip(rules)
        .enumerate()
        .map(|(index, (book, rule))| rule.for_book(index, book))
        .collect::<PyResult<Vec<_>>>()?;
    let fees = rules.iter().map(VenueRules::taker_fee).collect();
    Ok(Prepared {
        books,
        rules: core_rules,
        fees,
    })
}

fn wrap(
    result: core_allocate::Allocation,
    requested: Quantity,
    side: TakerSide,
    prepared: &Prepared<'_>,
) -> Allocation {
    let parts = result
        .parts
        .iter()
        .map(|part| {
            AllocationPart::new(
                part,
                side,
                prepared.books[part.index],
                prepared.fees[part.index],
            )
        })
        .collect();
    Allocation {
        parts,
        requested,
        filled: result.filled,
        unfilled: result.unfilled,
        total: result.total,
        proven_optimal: result.proven_optimal,
    }
}

/// Splits one order across books for the lowest total all-in cost.
#[pyfunction]
pub fn allocate(
    py: Python<'_>,
    books: &Bound<'_, PyAny>,
    side: &Bound<'_, PyAny>,
    quantity: &Bound<'_, PyAny>,
    rules: &Bound<'_, PyAny>,
) -> PyResult<Allocation> {
    let books = book_refs(books)?;
    let books = borrow(&books);
    let side = taker_side(side)?;
    let rules = venue_rules(rules)?;
    let requested = crate::convert::quantity("quantity", quantity)?;
    let books = snapshots(py, &books);
    let prepared = prepare(&books, &rules)?;
    let result = core_allocate::allocate(&prepared.books, side, requested, &prepared.rules)
        .map_err(|e| allocate_error(&e))?;
    Ok(wrap(result, requested, side, &prepared))
}

/// Allocates each quantity across the same books, without holding the GIL.
#[pyfunction]
pub fn allocate_many(
    py: Python<'_>,
    books: &Bound<'_, PyAny>,
    side: &Bound<'_, PyAny>,
    quantities: &Bound<'_, PyAny>,
    rules: &Bound<'_, PyAny>,
) -> PyResult<Vec<Allocation>> {
    let books = book_refs(books)?;
    let books = borrow(&books);
    let side = taker_side(side)?;
    let quantities = items("quantities", quantities)?;
    let rules = venue_rules(rules)?;
    let requested = quantities
        .iter()
        .enumerate()
        .map(|(i, q)| crate::convert::quantity(Field::item("quantities", i, None), q))
        .collect::<PyResult<Vec<_>>>()?;
    let books = snapshots(py, &books);
    let prepared = prepare(&books, &rules)?;
    let results = py.detach(|| {
        requested
            .iter()
            .map(|&q| core_allocate::allocate(&prepared.books, side, q, &prepared.rules))
            .collect::<Vec<_>>()
    });
    results
        .into_iter()
        .zip(requested)
        .enumerate()
        .map(|(i, (result, q))| {
            result
                .map(|r| wrap(r, q, side, &prepared))
                .map_err(|e| invalid(format!("quantities[{i}]: {e}")))
        })
        .collect()
}

/// Walks `books[i]` for `quantities[i]`, without holding the GIL.
#[pyfunction]
pub fn walk_many(
    py: Python<'_>,
    books: &Bound<'_, PyAny>,
    side: &Bound<'_, PyAny>,
    quantities: &Bound<'_, PyAny>,
) -> PyResult<Vec<WalkResult>> {
    let books = book_refs(books)?;
    let books = borrow(&books);
    let side = taker_side(side)?;
    let quantities = items("quantities", quantities)?;
    if books.len() != quantities.len() {
        return Err(invalid(format!(
            "books and quantities must have the same length, got {} and {}",
            books.len(),
            quantities.len()
        )));
    }
    let refs = snapshots(py, &books);
    let lots = refs
        .iter()
        .zip(&quantities)
        .enumerate()
        .map(|(i, (book, q))| {
            let field = Field::item("quantities", i, None);
            match fixed(field, q, book.size_decimals())? {
                0 => Err(invalid(format!("{field}: must be positive"))),
                lots => Ok(lots),
            }
        })
        .collect::<PyResult<Vec<u64>>>()?;
    let walks = py.detach(|| {
        refs.iter()
            .zip(&lots)
            .map(|(book, &lots)| {
                let limits = WalkLimits {
                    quantity: Some(lots),
                    ..WalkLimits::default()
                };
                walk(book.ladder(side.consumes()), side, &limits)
            })
            .collect::<Vec<_>>()
    });
    Ok(walks
        .into_iter()
        .zip(&refs)
        .map(|(w, book)| WalkResult::new(w, side, book.price_decimals(), book.size_decimals()))
        .collect())
}
