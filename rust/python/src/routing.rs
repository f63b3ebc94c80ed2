//! The router's single-venue screen (`screen_venues`) and its result (`Screen`).

use std::sync::Arc;

use pyo3::prelude::*;
use sor_core::Book;
use sor_core::book::TakerSide;
use sor_core::route::{self as core_route, ScreenOrder, ScreenVenue, Verdict};
use sor_core::score::Weights as CoreWeights;

use crate::allocation::VenueRules;
use crate::book::{OrderBook, snapshots};
use crate::convert::{Field, bps, taker_side};
use crate::errors::{invalid, score_error};
use crate::scoring::{Candidate, Weights};

/// What `screen_venues` found: a verdict per venue, the ranked candidates, the books' state.
#[pyclass(module = "sor._core", frozen)]
pub struct Screen {
    verdicts: Vec<Verdict>,
    /// Ranked candidates (walked venues), best first.
    candidates: Vec<Candidate>,
    /// Position in `candidates` of each input venue, if it was walked.
    position: Vec<Option<usize>>,
    versions: Vec<u64>,
    updated_at_ns: Vec<u64>,
    /// The version of each input book that was screened (what the rest of a decision reads).
    books: Vec<Arc<Book>>,
}

#[pymethods]
impl Screen {
    /// One verdict name per input venue (`"qualified"`, `"stale"`, `"lot_size"`, ...).
    #[getter]
    fn verdicts(&self) -> Vec<&'static str> {
        self.verdicts.iter().map(|v| v.name()).collect()
    }
    /// Input positions of the qualified venues, best composite score first.
    #[getter]
    fn qualified(&self) -> Vec<usize> {
        self.candidates
            .iter()
            .map(Candidate::position)
            .filter(|&i| self.verdicts[i] == Verdict::Qualified)
            .collect()
    }
    /// True if the venue at input position `index` qualified with the best raw price factor
    /// (the best fee-inclusive price) among the qualified venues.
    fn has_best_price(&self, index: usize) -> bool {
        let price = |i: usize| self.position[i].map(|p| self.candidates[p].core().raw.price);
        let qualified = |i: &usize| self.verdicts[*i] == Verdict::Qualified;
        match (0..self.verdicts.len())
            .filter(qualified)
            .filter_map(price)
            .reduce(f64::max)
        {
            Some(best) => {
                index < self.verdicts.len()
                    && qualified(&index)
                    && price(index).is_some_and(|p| p >= best)
            }
            None => false,
        }
    }
    /// The walked venues (qualified or not), best composite score first.
    #[getter]
    fn candidates(&self) -> Vec<Candidate> {
        self.candidates.clone()
    }
    /// The candidate of the venue at input position `index`, if it was walked.
    fn candidate(&self, index: usize) -> Option<Candidate> {
        self.position
            .get(index)
            .copied()
            .flatten()
            .map(|p| self.candidates[p].clone())
    }
    /// Each input book's `version` when it was screened.
    #[getter]
    fn versions(&self) -> Vec<u64> {
        self.versions.clone()
    }
    /// Each input book's `updated_at_ns` when it was screened.
    #[getter]
    fn updated_at_ns(&self) -> Vec<u64> {
        self.updated_at_ns.clone()
    }
    /// The input book at position `index` as it was screened: a copy that later writes to the
    /// book do not change, so the rest of a decision reads the version the screen walked.
    fn book(&self, index: usize) -> PyResult<OrderBook> {
        self.books
            .get(index)
            .map(|b| OrderBook::from_snapshot(Arc::clone(b)))
            .ok_or_else(|| {
                invalid(format!(
                    "index: expected a position below {}, got {index}",
                    self.books.len()
                ))
            })
    }
    fn __len__(&self) -> usize {
        self.verdicts.len()
    }
    fn __repr__(&self) -> String {
        format!(
            "Screen(verdicts=[{}], qualified={:?})",
            self.verdicts
                .iter()
                .map(|v| v.name())
                .collect::<Vec<_>>()
                .join(", "),
            self.qualified()
        )
    }
}

fn same_length(name: &str, len: usize, expected: usize) -> PyResult<()> {
    if len == expected {
        Ok(())
    } else {
        Err(invalid(format!(
            "{name}: expected one entry per book ({expected}), got {len}"
        )))
    }
}

/// One order's screen request, as Python passes it (everything but the clock).
type Request<'py> = (
    Vec<PyRef<'py, OrderBook>>,
    String,
    Bound<'py, PyAny>,
    Vec<VenueRules>,
    Vec<f64>,
    Vec<f64>,
    Option<Vec<Option<Bound<'py, PyAny>>>>,
    Option<Weights>,
    f64,
    Option<Bound<'py, PyAny>>,
    f64,
);

/// A request converted to the core's types (the books borrowed from their snapshots).
struct Prepared<'a> {
    venues: Vec<ScreenVenue<'a>>,
    order: ScreenOrder,
    weights: CoreWeights,
    fees_bps: Vec<f64>,
}

/// The venues of a screen, borrowed (the books are snapshots: one version each).
struct VenueArgs<'a> {
    books: &'a [Arc<Book>],
    rules: &'a [VenueRules],
    latencies_ms: &'a [f64],
    reliabilities: &'a [f64],
}

/// The order of a screen, as Python passes it.
struct OrderArgs<'a, 'py> {
    side: &'a str,
    quantity: &'a Bound<'py, PyAny>,
    balance_caps: Option<&'a [Option<Bound<'py, PyAny>>]>,
    weights: Option<Weights>,
    max_slippage_bps: f64,
    limit_price: Option<&'a Bound<'py, PyAny>>,
    min_liquidity_ratio: f64,
}

/// Converts one request over `books`, the snapshots of its books; errors name the argument.
fn prepare<'a>(
    request: &'a Request<'_>,
    books: &'a [Arc<Book>],
    now_ns: u64,
    max_age_ns: u64,
) -> PyResult<Prepared<'a>> {
    let (
        _,
        side,
        quantity,
        rules,
        latencies_ms,
        reliabilities,
        balance_caps,
        weights,
        max_slippage_bps,
        limit_price,
        min_liquidity_ratio,
    ) = request;
    prepare_parts(
        &VenueArgs {
            books,
            rules,
            latencies_ms,
            reliabilities,
        },
        &OrderArgs {
            side,
            quantity,
            balance_caps: balance_caps.as_deref(),
            weights: *weights,
            max_slippage_bps: *max_slippage_bps,
            limit_price: limit_price.as_ref(),
            min_liquidity_ratio: *min_liquidity_ratio,
        },
        now_ns,
        max_age_ns,
    )
}

/// Converts one screen's venues and order; errors name the argument.
fn prepare_parts<'a>(
    venue_args: &VenueArgs<'a>,
    order_args: &OrderArgs<'_, '_>,
    now_ns: u64,
    max_age_ns: u64,
) -> PyResult<Prepared<'a>> {
    let VenueArgs {
        books,
        rules,
        latencies_ms,
        reliabilities,
    } = *venue_args;
    let OrderArgs {
        side,
        quantity,
        balance_caps,
        weights,
        max_slippage_bps,
        limit_price,
        min_liquidity_ratio,
    } = *order_args;
    let side: TakerSide = taker_side(side)?;
    let n = books.len();
    same_length("rules", rules.len(), n)?;
    same_length("latencies_ms", latencies_ms.len(), n)?;
    same_length("reliabilities", reliabilities.len(), n)?;
    if let Some(caps) = balance_caps {
        same_length("balance_caps", caps.len(), n)?;
    }
    if !min_liquidity_ratio.is_finite() || min_liquidity_ratio < 0.0 {
        return Err(invalid(format!(
            "min_liquidity_ratio: expected a finite number >= 0, got {min_liquidity_ratio}"
        )));
    }
    let order = ScreenOrder {
        side,
        quantity: crate::convert::quantity("quantity", quantity)?,
        max_slippage: bps("max_slippage_bps", max_slippage_bps)?,
        limit_price: limit_price
            .map(|p| crate::convert::quantity("limit_price", p))
            .transpose()?,
        min_liquidity_ratio,
        now_ns,
        max_age_ns,
    };
    if order.quantity.mantissa == 0 {
        return Err(invalid("quantity: must be positive"));
    }
    let mut venues = Vec::with_capacity(n);
    for (index, book) in books.iter().enumerate() {
        let book: &Book = book;
        let balance_cap = match balance_caps.and_then(|caps| caps[index].as_ref()) {
            None => None,
            Some(cap) => {
                // Rounded down to the book's lots: a cap never allows more than it says. A cap
                // past u64::MAX lots binds no quantity, so it is no cap.
                let field = Field::item("balance_caps", index, None);
                let lots = crate::convert::fixed_wide_floor(field, cap, book.size_decimals())?;
                u64::try_from(lots).ok()
            }
        };
        venues.push(ScreenVenue {
            book,
            rules: rules[index].for_book(index, book)?,
            balance_cap,
            latency_ms: latencies_ms[index],
            reliability: reliabilities[index],
        });
    }
    Ok(Prepared {
        venues,
        order,
        weights: weights.map_or(CoreWeights::DEFAULT, |w| w.weights),
        fees_bps: rules.iter().map(|r| r.taker_fee.as_f64()).collect(),
    })
}

/// The Python result of one screen (its `books` are set by the caller, once `prepared`, which
/// borrows them, is gone).
fn wrap(prepared: &Prepared<'_>, screened: core_route::Screen) -> Screen {
    let n = prepared.venues.len();
    let mut position = vec![None; n];
    for (p, candidate) in screened.candidates.iter().enumerate() {
        position[candidate.index] = Some(p);
    }
    let side = prepared.order.side;
    let candidates = screened
        .candidates
        .into_iter()
        .map(|c| {
            let index = c.index;
            Candidate::new(
                c,
                side,
                prepared.venues[index].book,
                prepared.fees_bps[index],
            )
        })
        .collect();
    Screen {
        verdicts: screened.verdicts,
        candidates,
        position,
        versions: prepared.venues.iter().map(|v| v.book.version()).collect(),
        updated_at_ns: prepared
            .venues
            .iter()
            .map(|v| v.book.updated_at_ns())
            .collect(),
        books: Vec::new(),
    }
}

/// The venues of a symbol as the router screens them again and again: books, rules and health
/// figures, converted once.
#[pyclass(module = "sor._core", frozen)]
pub struct VenueSet {
    books: Vec<Py<OrderBook>>,
    rules: Vec<VenueRules>,
    latencies_ms: Vec<f64>,
    reliabilities: Vec<f64>,
}

#[pymethods]
impl VenueSet {
    #[new]
    fn py_new(
        books: Vec<Py<OrderBook>>,
        rules: Vec<VenueRules>,
        latencies_ms: Vec<f64>,
        reliabilities: Vec<f64>,
    ) -> PyResult<Self> {
        let n = books.len();
        same_length("rules", rules.len(), n)?;
        same_length("latencies_ms", latencies_ms.len(), n)?;
        same_length("reliabilities", reliabilities.len(), n)?;
        Ok(Self {
            books,
            rules,
            latencies_ms,
            reliabilities,
        })
    }
    fn __len__(&self) -> usize {
        self.books.len()
    }
}

/// `screen_venues` over a prepared `VenueSet`.
#[pyfunction]
#[pyo3(signature = (venues, side, quantity, balance_caps, weights, max_slippage_bps, limit_price, min_liquidity_ratio, now_ns, max_age_ns))]
#[allow(clippy::too_many_arguments)]
pub fn screen_set<'py>(
    py: Python<'py>,
    venues: &VenueSet,
    side: &str,
    quantity: &Bound<'py, PyAny>,
    balance_caps: Option<Vec<Option<Bound<'py, PyAny>>>>,
    weights: Option<Weights>,
    max_slippage_bps: f64,
    limit_price: Option<&Bound<'py, PyAny>>,
    min_liquidity_ratio: f64,
    now_ns: u64,
    max_age_ns: u64,
) -> PyResult<Screen> {
    let books: Vec<Arc<Book>> = venues.books.iter().map(|b| b.get().snapshot(py)).collect();
    let prepared = prepare_parts(
        &VenueArgs {
            books: &books,
            rules: &venues.rules,
            latencies_ms: &venues.latencies_ms,
            reliabilities: &venues.reliabilities,
        },
        &OrderArgs {
            side,
            quantity,
            balance_caps: balance_caps.as_deref(),
            weights,
            max_slippage_bps,
            limit_price,
            min_liquidity_ratio,
        },
        now_ns,
        max_age_ns,
    )?;
    let screened = core_route::screen(&prepared.venues, &prepared.order, &prepared.weights)
        .map_err(|e| score_error(&e))?;
    let screen = wrap(&prepared, screened);
    Ok(Screen { books, ..screen })
}

/// Which venues can take the whole order on their own, under every constraint, ranked.
#[pyfunction]
#[pyo3(signature = (books, side, quantity, rules, latencies_ms, reliabilities, balance_caps, weights, max_slippage_bps, limit_price, min_liquidity_ratio, now_ns, max_age_ns))]
#[allow(clippy::too_many_arguments)]
pub fn screen_venues<'py>(
    py: Python<'py>,
    books: Vec<PyRef<'py, OrderBook>>,
    side: String,
    quantity: Bound<'py, PyAny>,
    rules: Vec<VenueRules>,
    latencies_ms: Vec<f64>,
    reliabilities: Vec<f64>,
    balance_caps: Option<Vec<Option<Bound<'py, PyAny>>>>,
    weights: Option<Weights>,
    max_slippage_bps: f64,
    limit_price: Option<Bound<'py, PyAny>>,
    min_liquidity_ratio: f64,
    now_ns: u64,
    max_age_ns: u64,
) -> PyResult<Screen> {
    let request: Request<'py> = (
        books,
        side,
        quantity,
        rules,
        latencies_ms,
        reliabilities,
        balance_caps,
        weights,
        max_slippage_bps,
        limit_price,
        min_liquidity_ratio,
    );
    let books = snapshots(py, &request.0);
    let prepared = prepare(&request, &books, now_ns, max_age_ns)?;
    let screened = core_route::screen(&prepared.venues, &prepared.order, &prepared.weights)
        .map_err(|e| score_error(&e))?;
    let screen = wrap(&prepared, screened);
    Ok(Screen { books, ..screen })
}

/// Screens several orders in one call (each request holds `screen_venues`' arguments up to
/// `min_liquidity_ratio`), without holding the GIL while the books are walked. Every book is
/// snapshotted once before anything else: the whole batch sees one version of each book.
#[pyfunction]
pub fn screen_batch<'py>(
    py: Python<'py>,
    requests: Vec<Request<'py>>,
    now_ns: u64,
    max_age_ns: u64,
) -> PyResult<Vec<Screen>> {
    let books: Vec<Vec<Arc<Book>>> = requests.iter().map(|r| snapshots(py, &r.0)).collect();
    let prepared = requests
        .iter()
        .zip(&books)
        .enumerate()
        .map(|(i, (request, books))| {
            prepare(request, books, now_ns, max_age_ns)
                .map_err(|e| invalid(format!("requests[{i}]: {}", e.value(py))))
        })
        .collect::<PyResult<Vec<_>>>()?;
    let screened = py.detach(|| {
        prepared
            .iter()
            .map(|p| core_route::screen(&p.venues, &p.order, &p.weights))
            .collect::<Vec<_>>()
    });
    let screens = prepared
        .iter()
        .zip(screened)
        .enumerate()
        .map(|(i, (p, s))| {
            s.map(|s| wrap(p, s))
                .map_err(|e| invalid(format!("requests[{i}]: {e}")))
        })
        .collect::<PyResult<Vec<_>>>()?;
    drop(prepared);
    Ok(screens
        .into_iter()
        .zip(books)
        .map(|(screen, books)| Screen { books, ..screen })
        .collect())
}
