//! The router's single-venue screen (`screen_venues`) and its result (`Screen`).

use std::sync::Arc;

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyString;
use sor_core::Book;
use sor_core::book::TakerSide;
use sor_core::route::{self as core_route, Ranking, ScreenError, ScreenOrder, ScreenVenue};
use sor_core::rules::{VenueRules as CoreRules, funds_cap_lots};
use sor_core::score::{VenueInput, Weights as CoreWeights};
use sor_core::split::{self as core_split, SplitError};

use crate::allocation::{VenueRules, book_refs, venue_rules};
use crate::book::{OrderBook, held_snapshots, read_books};
use crate::convert::{
    Field, bps, float, floats, funds_wide_floor, instance, items, taker_side, to_decimal, uint,
};
use crate::errors::{invalid, screen_error};
use crate::scoring::{self, Candidate, ranking, ranking_args, weights_arg};
use crate::split::{Split, preferences_arg};

/// What `screen_venues` found: a verdict per venue, the ranked candidates, the books' state.
#[pyclass(module = "sor._core", frozen)]
pub struct Screen {
    /// The core's screen: verdicts and the ranked candidates it answers questions about.
    screen: core_route::Screen,
    /// The order's side, and each input venue's taker fee: what a candidate is read with.
    side: TakerSide,
    fees: Vec<sor_core::Bps>,
    /// What the rest of a decision reads of each input book as it was screened.
    books: Vec<Screened>,
    /// The split of the order over these books, when the screen was for the split strategy.
    split: Option<Py<Split>>,
    /// Each input venue's balance cap in its book's lots, as the screen applied it (empty:
    /// none had one).
    caps: Vec<Option<u64>>,
}

/// One input book as it was screened: its version and update time (what a decision's cache
/// and explanation read) and its precision. The screen keeps these rather than the book's
/// version itself, which would make the next write to the book copy it while the screen lives.
#[derive(Debug, Clone, Copy)]
struct Screened {
    version: u64,
    updated_at_ns: u64,
    decimals: (u8, u8),
}

impl Screened {
    fn of(book: &Book) -> Self {
        Self {
            version: book.version(),
            updated_at_ns: book.updated_at_ns(),
            decimals: (book.price_decimals(), book.size_decimals()),
        }
    }
}

impl Screen {
    /// A core candidate as Python reads it: at its book's precision, with its fee.
    fn python_candidate(&self, candidate: &sor_core::score::Candidate) -> Candidate {
        let index = candidate.index;
        Candidate::new(
            *candidate,
            self.side,
            self.books[index].decimals,
            self.fees[index],
        )
    }
}

#[pymethods]
impl Screen {
    /// One verdict name per input venue (`"qualified"`, `"stale"`, `"lot_size"`, ...).
    #[getter]
    fn verdicts(&self) -> Vec<&'static str> {
        self.screen.verdicts.iter().map(|v| v.name()).collect()
    }
    /// Input positions of the qualified venues, best composite score first.
    #[getter]
    fn qualified(&self) -> Vec<usize> {
        self.screen.qualified().collect()
    }
    /// Input positions of the qualified venues in the order's ranking (its strategy's
    /// order), best first.
    #[getter]
    fn ordered(&self) -> Vec<usize> {
        self.screen.ordered.clone()
    }
    /// Why the first of `ordered` won (`"best_price"`, `"best_score"`, `"only_venue"`,
    /// `"lowest_latency"`, `"best_liquidity"`, `"lowest_cost"`); `None` if none qualified.
    #[getter]
    fn reason<'py>(&self, py: Python<'py>) -> Option<&Bound<'py, PyString>> {
        self.screen.won.map(|won| won_name(py, won))
    }
    /// The split strategy's route over the screened books (made in the same call), when the
    /// screen's ranking was `"split"`; `None` otherwise.
    #[getter]
    fn split(&self, py: Python<'_>) -> Option<Py<Split>> {
        self.split.as_ref().map(|s| s.clone_ref(py))
    }
    /// True if the venue at input position `index` qualified with the best raw price factor
    /// (the best fee-inclusive price) among the qualified venues.
    fn has_best_price(&self, index: &Bound<'_, PyAny>) -> PyResult<bool> {
        let index: usize = uint("index", index)?;
        Ok(self.screen.has_best_price(index))
    }
    /// The walked venues (qualified or not), best composite score first.
    #[getter]
    fn candidates(&self) -> Vec<Candidate> {
        self.screen
            .candidates
            .iter()
            .map(|c| self.python_candidate(c))
            .collect()
    }
    /// The candidate of the venue at input position `index`, if it was walked.
    fn candidate(&self, index: &Bound<'_, PyAny>) -> PyResult<Option<Candidate>> {
        let index: usize = uint("index", index)?;
        Ok(self
            .screen
            .candidates
            .iter()
            .find(|c| c.index == index)
            .map(|c| self.python_candidate(c)))
    }
    /// Each input book's `version` when it was screened.
    #[getter]
    fn versions(&self) -> Vec<u64> {
        self.books.iter().map(|b| b.version).collect()
    }
    /// Each input book's `updated_at_ns` when it was screened.
    #[getter]
    fn updated_at_ns(&self) -> Vec<u64> {
        self.books.iter().map(|b| b.updated_at_ns).collect()
    }
    /// Each input venue's balance cap (base units) as the screen applied it: the one given,
    /// or for a buy with quote funds what they paid for at the screened book's prices (the
    /// lower of the two when both were given); `None` where none bound.
    #[getter]
    fn balance_caps(&self, py: Python<'_>) -> PyResult<Vec<Option<Py<PyAny>>>> {
        self.books
            .iter()
            .enumerate()
            .map(|(index, book)| {
                self.caps
                    .get(index)
                    .copied()
                    .flatten()
                    .map(|lots| to_decimal(py, u128::from(lots), book.decimals.1))
                    .transpose()
            })
            .collect()
    }
    fn __len__(&self) -> usize {
        self.screen.verdicts.len()
    }
    fn __repr__(&self) -> String {
        format!(
            "Screen(verdicts=[{}], qualified={:?})",
            self.screen
                .verdicts
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

/// One order's screen over its venues (`screen_venues`' arguments but the clock), by name: what
/// `screen_batch` and `ScreenRequest.screen` take. The venues' sequences are converted once,
/// here; the order's figures when it is screened (errors name the argument either way).
#[pyclass(module = "sor._core", frozen)]
pub struct ScreenRequest {
    venues: RequestVenues,
    side: Py<PyAny>,
    quantity: Py<PyAny>,
    balance_caps: Option<Py<PyAny>>,
    weights: Option<Py<PyAny>>,
    max_slippage_bps: Py<PyAny>,
    limit_price: Option<Py<PyAny>>,
    min_liquidity_ratio: Py<PyAny>,
    strategy: Strategy,
    preferences: Vec<Option<u32>>,
    quote_funds: Option<Py<PyAny>>,
}

/// The venues of a request: sequences converted for it, or a prepared `VenueSet`.
enum RequestVenues {
    Lists {
        books: Vec<Py<OrderBook>>,
        rules: Vec<VenueRules>,
        latencies_ms: Vec<f64>,
        reliabilities: Vec<f64>,
    },
    Set(Py<VenueSet>),
}

impl RequestVenues {
    fn books(&self) -> &[Py<OrderBook>] {
        match self {
            Self::Lists { books, .. } => books,
            Self::Set(set) => &set.get().books,
        }
    }
}

#[pymethods]
impl ScreenRequest {
    #[new]
    #[pyo3(signature = (books, side, quantity, rules, latencies_ms, reliabilities, *, max_slippage_bps, min_liquidity_ratio, balance_caps=None, weights=None, limit_price=None, ranking=None, preferences=None))]
    #[allow(clippy::too_many_arguments)]
    fn py_new(
        books: &Bound<'_, PyAny>,
        side: &Bound<'_, PyAny>,
        quantity: &Bound<'_, PyAny>,
        rules: &Bound<'_, PyAny>,
        latencies_ms: &Bound<'_, PyAny>,
        reliabilities: &Bound<'_, PyAny>,
        max_slippage_bps: &Bound<'_, PyAny>,
        min_liquidity_ratio: &Bound<'_, PyAny>,
        balance_caps: Option<&Bound<'_, PyAny>>,
        weights: Option<&Bound<'_, PyAny>>,
        limit_price: Option<&Bound<'_, PyAny>>,
        ranking: Option<&Bound<'_, PyAny>>,
        preferences: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let books: Vec<Py<OrderBook>> = book_refs(books)?.into_iter().map(Bound::unbind).collect();
        let preferences = preferences_arg(preferences, books.len())?;
        let venues = RequestVenues::Lists {
            books,
            rules: venue_rules(rules)?,
            latencies_ms: floats("latencies_ms", latencies_ms)?,
            reliabilities: floats("reliabilities", reliabilities)?,
        };
        let order = OrderArgs {
            side,
            quantity,
            balance_caps,
            weights,
            max_slippage_bps,
            limit_price,
            min_liquidity_ratio,
            strategy: ranking_arg(ranking)?,
            quote_funds: None,
        };
        Ok(Self::holding(venues, &order, preferences))
    }

    /// A request over a prepared `VenueSet` (its venues converted once), with `screen_set`'s
    /// order arguments (`quote_funds` included).
    #[staticmethod]
    #[pyo3(signature = (venues, side, quantity, *, max_slippage_bps, min_liquidity_ratio, balance_caps=None, weights=None, limit_price=None, ranking=None, preferences=None, quote_funds=None))]
    #[allow(clippy::too_many_arguments)]
    fn over(
        venues: &Bound<'_, PyAny>,
        side: &Bound<'_, PyAny>,
        quantity: &Bound<'_, PyAny>,
        max_slippage_bps: &Bound<'_, PyAny>,
        min_liquidity_ratio: &Bound<'_, PyAny>,
        balance_caps: Option<&Bound<'_, PyAny>>,
        weights: Option<&Bound<'_, PyAny>>,
        limit_price: Option<&Bound<'_, PyAny>>,
        ranking: Option<&Bound<'_, PyAny>>,
        preferences: Option<&Bound<'_, PyAny>>,
        quote_funds: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let set = instance::<VenueSet>("venues", "VenueSet", venues)?;
        let preferences = preferences_arg(preferences, set.get().books.len())?;
        let order = OrderArgs {
            side,
            quantity,
            balance_caps,
            weights,
            max_slippage_bps,
            limit_price,
            min_liquidity_ratio,
            strategy: ranking_arg(ranking)?,
            quote_funds,
        };
        Ok(Self::holding(
            RequestVenues::Set(set.clone().unbind()),
            &order,
            preferences,
        ))
    }

    /// This request's screen at `now_ns`, books older than `max_age_ns` being stale.
    fn screen(
        &self,
        py: Python<'_>,
        now_ns: &Bound<'_, PyAny>,
        max_age_ns: &Bound<'_, PyAny>,
    ) -> PyResult<Screen> {
        let now_ns: u64 = uint("now_ns", now_ns)?;
        let max_age_ns: u64 = uint("max_age_ns", max_age_ns)?;
        let snapshots = self.snapshots(py);
        let books: Vec<&Book> = snapshots.iter().map(|b| &**b).collect();
        let prepared = self.prepare(py, &books, now_ns, max_age_ns)?;
        let outcome = run(&prepared).map_err(|e| screen_error(&e))?;
        finish(outcome, prepared.reading(), &books)?.into_screen(py)
    }

    fn __len__(&self) -> usize {
        self.venues.books().len()
    }
}

impl ScreenRequest {
    /// A request holding `venues` and the order's arguments (converted when it is screened).
    fn holding(
        venues: RequestVenues,
        order: &OrderArgs<'_, '_>,
        preferences: Vec<Option<u32>>,
    ) -> Self {
        let unbound = |v: &Bound<'_, PyAny>| v.clone().unbind();
        let present = |v: Option<&Bound<'_, PyAny>>| v.filter(|v| !v.is_none()).map(unbound);
        Self {
            venues,
            side: unbound(order.side),
            quantity: unbound(order.quantity),
            balance_caps: present(order.balance_caps),
            weights: present(order.weights),
            max_slippage_bps: unbound(order.max_slippage_bps),
            limit_price: present(order.limit_price),
            min_liquidity_ratio: unbound(order.min_liquidity_ratio),
            strategy: order.strategy,
            preferences,
            quote_funds: present(order.quote_funds),
        }
    }

    /// One snapshot of each of the request's books: the version its screen reads.
    fn snapshots(&self, py: Python<'_>) -> Vec<Arc<Book>> {
        held_snapshots(py, self.venues.books())
    }

    /// Converts the request over `books`, the snapshots of its books.
    fn prepare<'a>(
        &'a self,
        py: Python<'_>,
        books: &'a [&'a Book],
        now_ns: u64,
        max_age_ns: u64,
    ) -> PyResult<Prepared<'a>> {
        let bind = |v: &Py<PyAny>| v.bind(py).clone();
        let (side, quantity) = (bind(&self.side), bind(&self.quantity));
        let balance_caps = self.balance_caps.as_ref().map(bind);
        let weights = self.weights.as_ref().map(bind);
        let max_slippage_bps = bind(&self.max_slippage_bps);
        let limit_price = self.limit_price.as_ref().map(bind);
        let min_liquidity_ratio = bind(&self.min_liquidity_ratio);
        let quote_funds = self.quote_funds.as_ref().map(bind);
        let order = convert_order(
            &OrderArgs {
                side: &side,
                quantity: &quantity,
                balance_caps: balance_caps.as_ref(),
                weights: weights.as_ref(),
                max_slippage_bps: &max_slippage_bps,
                limit_price: limit_price.as_ref(),
                min_liquidity_ratio: &min_liquidity_ratio,
                strategy: self.strategy,
                quote_funds: quote_funds.as_ref(),
            },
            books
                .iter()
                .map(|b| (b.price_decimals(), b.size_decimals())),
            now_ns,
            max_age_ns,
        )?;
        let venues = match &self.venues {
            RequestVenues::Lists {
                rules,
                latencies_ms,
                reliabilities,
                ..
            } => VenueArgs {
                books,
                rules,
                latencies_ms,
                reliabilities,
                preferences: &self.preferences,
                scaled: &[],
            },
            RequestVenues::Set(set) => {
                let set = set.get();
                VenueArgs {
                    books,
                    rules: &set.rules,
                    latencies_ms: &set.latencies_ms,
                    reliabilities: &set.reliabilities,
                    preferences: &self.preferences,
                    scaled: &set.scaled,
                }
            }
        };
        assemble(&venues, order)
    }
}

/// What a screen is for: the single-venue ranking, and whether the split is made too.
#[derive(Debug, Clone, Copy, Default)]
struct Strategy {
    ranking: Ranking,
    split: bool,
}

/// The optional `ranking` argument: a strategy's name (`None`: best execution).
fn ranking_arg(value: Option<&Bound<'_, PyAny>>) -> PyResult<Strategy> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(Strategy::default());
    };
    let name = value.cast::<pyo3::types::PyString>().ok().and_then(|s| {
        let name = s.to_str().ok()?;
        Ranking::from_name(name).map(|ranking| Strategy {
            ranking,
            split: name == "split",
        })
    });
    name.ok_or_else(|| {
        invalid(format!(
            "ranking: expected best_execution, lowest_latency, best_liquidity, \
             cost_optimization or split, got {}",
            crate::convert::describe(value)
        ))
    })
}

/// A request converted to the core's types (the books borrowed from their snapshots).
struct Prepared<'a> {
    venues: Vec<ScreenVenue<'a>>,
    order: ScreenOrder,
    weights: CoreWeights,
    fees: Vec<sor_core::Bps>,
    /// Split the order too, with these preferences (see [`core_split::split`]).
    split: bool,
    preferences: &'a [Option<u32>],
}

/// What a screen's results are read with: the order's side, the venues' taker fees and the
/// balance caps applied (empty: none).
type Reading = (TakerSide, Vec<sor_core::Bps>, Vec<Option<u64>>);

impl Prepared<'_> {
    /// What the screen's results are read with.
    fn reading(self) -> Reading {
        let caps = if self.venues.iter().any(|v| v.balance_cap.is_some()) {
            self.venues.iter().map(|v| v.balance_cap).collect()
        } else {
            Vec::new()
        };
        (self.order.side, self.fees, caps)
    }
}

/// What the core found for one prepared screen: the screen, and the split when asked for.
type Outcome = (
    core_route::Screen,
    Option<Result<core_split::Split, SplitError>>,
);

/// The core's screen of `prepared`, then its split over the same books when asked for.
fn run(prepared: &Prepared<'_>) -> Result<Outcome, ScreenError> {
    let screened = core_route::screen(&prepared.venues, &prepared.order, &prepared.weights)?;
    let split = prepared.split.then(|| {
        core_split::split(
            &screened,
            &prepared.venues,
            &prepared.order,
            prepared.preferences,
        )
    });
    Ok((screened, split))
}

/// The venues of a screen, borrowed (one version of each book: a snapshot, or the book under
/// its lock).
struct VenueArgs<'a> {
    books: &'a [&'a Book],
    rules: &'a [VenueRules],
    latencies_ms: &'a [f64],
    reliabilities: &'a [f64],
    /// Each venue's position among the order's preferred venues (empty: none).
    preferences: &'a [Option<u32>],
    /// Each venue's rules already in its book's units, where they were converted once (empty:
    /// none; `None`: convert them now, which names what does not fit).
    scaled: &'a [Option<CoreRules>],
}

/// The order of a screen, as Python passes it.
struct OrderArgs<'a, 'py> {
    side: &'a Bound<'py, PyAny>,
    quantity: &'a Bound<'py, PyAny>,
    balance_caps: Option<&'a Bound<'py, PyAny>>,
    weights: Option<&'a Bound<'py, PyAny>>,
    max_slippage_bps: &'a Bound<'py, PyAny>,
    limit_price: Option<&'a Bound<'py, PyAny>>,
    min_liquidity_ratio: &'a Bound<'py, PyAny>,
    strategy: Strategy,
    /// Each venue's quote balance, for a buy's cap (see [`screen_set`]).
    quote_funds: Option<&'a Bound<'py, PyAny>>,
}

/// The order of a screen converted to the core's types, with each venue's balance cap in its
/// book's lots: everything of a screen that reads Python objects, done before its books are
/// read.
struct OrderParts {
    order: ScreenOrder,
    balance_caps: Vec<Option<u64>>,
    /// A buy's quote funds per venue, in units of its book's notional (empty: none).
    quote_funds: Vec<Option<u128>>,
    weights: CoreWeights,
    split: bool,
}

/// Converts one screen's order; `decimals` gives each venue's book precision, prices and sizes
/// (fixed for a book's life). Errors name the argument.
fn convert_order(
    order_args: &OrderArgs<'_, '_>,
    decimals: impl ExactSizeIterator<Item = (u8, u8)> + Clone,
    now_ns: u64,
    max_age_ns: u64,
) -> PyResult<OrderParts> {
    let OrderArgs {
        side,
        quantity,
        balance_caps,
        weights,
        max_slippage_bps,
        limit_price,
        min_liquidity_ratio,
        strategy,
        quote_funds,
    } = *order_args;
    let side: TakerSide = taker_side(side)?;
    let n = decimals.len();
    let balance_caps = match balance_caps {
        None => Vec::new(),
        Some(caps) => {
            let caps = items("balance_caps", caps)?;
            same_length("balance_caps", caps.len(), n)?;
            caps.iter()
                .zip(decimals.clone())
                .enumerate()
                .map(|(index, (cap, (_, size_decimals)))| {
                    if cap.is_none() {
                        return Ok(None);
                    }
                    let field = Field::item("balance_caps", index, None);
                    crate::convert::balance_cap(field, cap, size_decimals)
                })
                .collect::<PyResult<_>>()?
        }
    };
    // Funds cap buys only: a sell's are not read.
    let quote_funds = match quote_funds {
        Some(funds) if side == TakerSide::Buy => {
            let funds = items("quote_funds", funds)?;
            same_length("quote_funds", funds.len(), n)?;
            funds
                .iter()
                .zip(decimals)
                .enumerate()
                .map(|(index, (funds, (price_decimals, size_decimals)))| {
                    if funds.is_none() {
                        return Ok(None);
                    }
                    let field = Field::item("quote_funds", index, None);
                    funds_wide_floor(field, funds, price_decimals + size_decimals).map(Some)
                })
                .collect::<PyResult<_>>()?
        }
        _ => Vec::new(),
    };
    let min_liquidity_ratio = float("min_liquidity_ratio", min_liquidity_ratio)?;
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
        ranking: strategy.ranking,
    };
    Ok(OrderParts {
        order,
        balance_caps,
        quote_funds,
        weights: weights_arg(weights)?,
        split: strategy.split,
    })
}

/// One screen's venues and converted order, as the core takes them. Pure Rust (no Python
/// object is read or made): it may run under the books' locks.
fn assemble<'a>(venue_args: &VenueArgs<'a>, order: OrderParts) -> PyResult<Prepared<'a>> {
    let VenueArgs {
        books,
        rules,
        latencies_ms,
        reliabilities,
        preferences,
        scaled,
    } = *venue_args;
    let n = books.len();
    same_length("rules", rules.len(), n)?;
    same_length("latencies_ms", latencies_ms.len(), n)?;
    same_length("reliabilities", reliabilities.len(), n)?;
    let mut venues = Vec::with_capacity(n);
    for (index, &book) in books.iter().enumerate() {
        let rules = match scaled.get(index).copied().flatten() {
            Some(scaled) => scaled,
            None => rules[index].for_book(index, book)?,
        };
        let given = order.balance_caps.get(index).copied().flatten();
        let paid_for = order
            .quote_funds
            .get(index)
            .copied()
            .flatten()
            // A single-venue screen counts no further than the order; a split's depth check
            // reads caps beyond it.
            .and_then(|funds| {
                let up_to = (!order.split).then_some(order.order.quantity);
                funds_cap_lots(book, &rules, funds, up_to)
            });
        venues.push(ScreenVenue {
            book,
            rules,
            balance_cap: match (given, paid_for) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (cap, None) | (None, cap) => cap,
            },
            latency_ms: latencies_ms[index],
            reliability: reliabilities[index],
        });
    }
    Ok(Prepared {
        venues,
        order: order.order,
        weights: order.weights,
        fees: rules.iter().map(VenueRules::taker_fee).collect(),
        split: order.split,
        preferences,
    })
}

/// [`core_route::Won::name`] as an interned Python string: the router reads it on every
/// decision.
fn won_name(py: Python<'_>, won: core_route::Won) -> &Bound<'_, PyString> {
    use core_route::Won;
    let name = match won {
        Won::OnlyVenue => intern!(py, "only_venue"),
        Won::BestPrice => intern!(py, "best_price"),
        Won::BestScore => intern!(py, "best_score"),
        Won::LowestLatency => intern!(py, "lowest_latency"),
        Won::BestLiquidity => intern!(py, "best_liquidity"),
        Won::LowestCost => intern!(py, "lowest_cost"),
    };
    debug_assert_eq!(name.to_str().ok(), Some(won.name()));
    name
}

/// A screen's result before any Python object is made: the core's screen, its split (when
/// made) at the books' precision, and what a decision reads of each book.
struct Finished {
    screen: core_route::Screen,
    side: TakerSide,
    fees: Vec<sor_core::Bps>,
    books: Vec<Screened>,
    split: Option<Split>,
    caps: Vec<Option<u64>>,
}

/// The result of one screen over `books` (the versions it read), with the order's side and the
/// venues' taker fees. Pure Rust: it may run under the books' locks.
fn finish(
    (screened, split): Outcome,
    (side, fees, caps): Reading,
    books: &[&Book],
) -> PyResult<Finished> {
    let split = split
        .map(|outcome| Split::new(outcome, side, books, &fees))
        .transpose()?;
    Ok(Finished {
        screen: screened,
        side,
        fees,
        books: books.iter().map(|book| Screened::of(book)).collect(),
        split,
        caps,
    })
}

impl Finished {
    /// The Python result (its split a Python object of its own).
    fn into_screen(self, py: Python<'_>) -> PyResult<Screen> {
        Ok(Screen {
            screen: self.screen,
            side: self.side,
            fees: self.fees,
            books: self.books,
            split: self.split.map(|split| Py::new(py, split)).transpose()?,
            caps: self.caps,
        })
    }
}

/// The venues of a symbol as the router screens them again and again: books, rules and health
/// figures, converted once (`screen_set`, `rank_set`). The books are the live objects: each
/// call reads their current version.
#[pyclass(module = "sor._core", frozen)]
pub struct VenueSet {
    books: Vec<Py<OrderBook>>,
    rules: Vec<VenueRules>,
    /// `rules` in the units of each book (whose decimals never change), where they fit.
    scaled: Vec<Option<CoreRules>>,
    latencies_ms: Vec<f64>,
    reliabilities: Vec<f64>,
    /// Each venue's taker fee and health figures, as a ranking reads them (`rank_set`).
    inputs: Vec<VenueInput>,
}

#[pymethods]
impl VenueSet {
    #[new]
    fn py_new(
        books: &Bound<'_, PyAny>,
        rules: &Bound<'_, PyAny>,
        latencies_ms: &Bound<'_, PyAny>,
        reliabilities: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let books: Vec<Py<OrderBook>> = book_refs(books)?.into_iter().map(Bound::unbind).collect();
        let rules = venue_rules(rules)?;
        let latencies_ms = floats("latencies_ms", latencies_ms)?;
        let reliabilities = floats("reliabilities", reliabilities)?;
        let n = books.len();
        same_length("rules", rules.len(), n)?;
        same_length("latencies_ms", latencies_ms.len(), n)?;
        same_length("reliabilities", reliabilities.len(), n)?;
        let scaled = books
            .iter()
            .zip(&rules)
            .map(|(book, rules)| rules.at_decimals(book.get().decimals()))
            .collect();
        let inputs = rules
            .iter()
            .zip(&latencies_ms)
            .zip(&reliabilities)
            .map(|((rules, &latency_ms), &reliability)| VenueInput {
                taker_fee: rules.taker_fee(),
                latency_ms,
                reliability,
            })
            .collect();
        Ok(Self {
            books,
            rules,
            scaled,
            latencies_ms,
            reliabilities,
            inputs,
        })
    }
    fn __len__(&self) -> usize {
        self.books.len()
    }
}

/// `rank_venues` over a prepared `VenueSet`: its rules' taker fees and its health figures (the
/// other rules do not rank, as in `rank_venues`).
#[pyfunction]
#[pyo3(
    signature = (venues, side, quantity, weights = None, max_slippage_bps = None),
    text_signature = "(venues, side, quantity, weights=None, max_slippage_bps=100.0)"
)]
pub fn rank_set(
    py: Python<'_>,
    venues: &Bound<'_, PyAny>,
    side: &Bound<'_, PyAny>,
    quantity: &Bound<'_, PyAny>,
    weights: Option<&Bound<'_, PyAny>>,
    max_slippage_bps: Option<&Bound<'_, PyAny>>,
) -> PyResult<scoring::Ranking> {
    let venues = instance::<VenueSet>("venues", "VenueSet", venues)?;
    let venues = venues.get();
    let side = taker_side(side)?;
    let quantity = crate::convert::quantity("quantity", quantity)?;
    let args = ranking_args(weights, max_slippage_bps)?;
    read_books(py, venues.books.iter().map(Py::get), |books| {
        ranking(books, side, quantity, &venues.inputs, args)
    })
}

/// `screen_venues` over a prepared `VenueSet`.
#[pyfunction]
#[pyo3(signature = (venues, side, quantity, balance_caps, weights, max_slippage_bps, limit_price, min_liquidity_ratio, now_ns, max_age_ns, ranking=None, preferences=None, quote_funds=None))]
#[allow(clippy::too_many_arguments)]
pub fn screen_set<'py>(
    py: Python<'py>,
    venues: &Bound<'py, PyAny>,
    side: &Bound<'py, PyAny>,
    quantity: &Bound<'py, PyAny>,
    balance_caps: Option<&Bound<'py, PyAny>>,
    weights: Option<&Bound<'py, PyAny>>,
    max_slippage_bps: &Bound<'py, PyAny>,
    limit_price: Option<&Bound<'py, PyAny>>,
    min_liquidity_ratio: &Bound<'py, PyAny>,
    now_ns: &Bound<'py, PyAny>,
    max_age_ns: &Bound<'py, PyAny>,
    ranking: Option<&Bound<'py, PyAny>>,
    preferences: Option<&Bound<'py, PyAny>>,
    quote_funds: Option<&Bound<'py, PyAny>>,
) -> PyResult<Screen> {
    let venues = instance::<VenueSet>("venues", "VenueSet", venues)?;
    let venues = venues.get();
    let preferences = preferences_arg(preferences, venues.books.len())?;
    let now_ns: u64 = uint("now_ns", now_ns)?;
    let max_age_ns: u64 = uint("max_age_ns", max_age_ns)?;
    let order = convert_order(
        &OrderArgs {
            side,
            quantity,
            balance_caps,
            weights,
            max_slippage_bps,
            limit_price,
            min_liquidity_ratio,
            strategy: ranking_arg(ranking)?,
            quote_funds: quote_funds.filter(|funds| !funds.is_none()),
        },
        venues.books.iter().map(|b| b.get().decimals()),
        now_ns,
        max_age_ns,
    )?;
    // The books are read under their locks when all are free: no snapshot is taken, and the
    // screen keeps only what a decision reads of them.
    let finished = read_books(py, venues.books.iter().map(Py::get), |books| {
        let prepared = assemble(
            &VenueArgs {
                books,
                rules: &venues.rules,
                latencies_ms: &venues.latencies_ms,
                reliabilities: &venues.reliabilities,
                preferences: &preferences,
                scaled: &venues.scaled,
            },
            order,
        )?;
        let outcome = run(&prepared).map_err(|e| screen_error(&e))?;
        finish(outcome, prepared.reading(), books)
    })?;
    finished.into_screen(py)
}

/// Which venues can take the whole order on their own, under every constraint, ranked.
#[pyfunction]
#[pyo3(signature = (books, side, quantity, rules, latencies_ms, reliabilities, balance_caps, weights, max_slippage_bps, limit_price, min_liquidity_ratio, now_ns, max_age_ns, ranking=None, preferences=None))]
#[allow(clippy::too_many_arguments)]
pub fn screen_venues<'py>(
    py: Python<'py>,
    books: &Bound<'py, PyAny>,
    side: &Bound<'py, PyAny>,
    quantity: &Bound<'py, PyAny>,
    rules: &Bound<'py, PyAny>,
    latencies_ms: &Bound<'py, PyAny>,
    reliabilities: &Bound<'py, PyAny>,
    balance_caps: Option<&Bound<'py, PyAny>>,
    weights: Option<&Bound<'py, PyAny>>,
    max_slippage_bps: &Bound<'py, PyAny>,
    limit_price: Option<&Bound<'py, PyAny>>,
    min_liquidity_ratio: &Bound<'py, PyAny>,
    now_ns: &Bound<'py, PyAny>,
    max_age_ns: &Bound<'py, PyAny>,
    ranking: Option<&Bound<'py, PyAny>>,
    preferences: Option<&Bound<'py, PyAny>>,
) -> PyResult<Screen> {
    let request = ScreenRequest::py_new(
        books,
        side,
        quantity,
        rules,
        latencies_ms,
        reliabilities,
        max_slippage_bps,
        min_liquidity_ratio,
        balance_caps,
        weights,
        limit_price,
        ranking,
        preferences,
    )?;
    request.screen(py, now_ns, max_age_ns)
}

/// Screens several orders in one call (`ScreenRequest`s), without holding the GIL while the
/// books are walked. Every book is snapshotted once before anything else: the whole batch sees
/// one version of each book.
#[pyfunction]
pub fn screen_batch<'py>(
    py: Python<'py>,
    requests: &Bound<'py, PyAny>,
    now_ns: &Bound<'py, PyAny>,
    max_age_ns: &Bound<'py, PyAny>,
) -> PyResult<Vec<Screen>> {
    let now_ns: u64 = uint("now_ns", now_ns)?;
    let max_age_ns: u64 = uint("max_age_ns", max_age_ns)?;
    let in_request = |i: usize, e: PyErr| invalid(format!("requests[{i}]: {}", e.value(py)));
    let requests = items("requests", requests)?
        .iter()
        .enumerate()
        .map(|(i, r)| {
            instance::<ScreenRequest>(Field::item("requests", i, None), "ScreenRequest", r)
        })
        .collect::<PyResult<Vec<_>>>()?;
    let requests: Vec<&ScreenRequest> = requests.iter().map(Bound::get).collect();
    let snapshots: Vec<Vec<Arc<Book>>> = requests.iter().map(|r| r.snapshots(py)).collect();
    let books: Vec<Vec<&Book>> = snapshots
        .iter()
        .map(|books| books.iter().map(|b| &**b).collect())
        .collect();
    let prepared = requests
        .iter()
        .zip(&books)
        .enumerate()
        .map(|(i, (request, books))| {
            request
                .prepare(py, books, now_ns, max_age_ns)
                .map_err(|e| in_request(i, e))
        })
        .collect::<PyResult<Vec<_>>>()?;
    let outcomes = py.detach(|| prepared.iter().map(run).collect::<Vec<_>>());
    outcomes
        .into_iter()
        .zip(prepared)
        .zip(&books)
        .enumerate()
        .map(|(i, ((outcome, prepared), books))| {
            let outcome = outcome.map_err(|e| invalid(format!("requests[{i}]: {e}")))?;
            finish(outcome, prepared.reading(), books)
                .and_then(|finished| finished.into_screen(py))
                .map_err(|e| in_request(i, e))
        })
        .collect()
}
