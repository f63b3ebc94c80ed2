//! The Python exception hierarchy and the mapping from core errors to it.
//!
//! `SorError` → `InvalidInput` (also a `ValueError`), `BookError` (also a `ValueError`),
//! `RoutingError`. Messages name the field that was wrong.

use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};
use sor_core::allocate::AllocateError;
use sor_core::book::side_name;
use sor_core::decimal::format_fixed;
use sor_core::route::ScreenError;
use sor_core::score::ScoreError;
use sor_core::walk::WalkError;
use sor_core::{BookError, DecimalError};

static SOR_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static INVALID_INPUT: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static BOOK_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static ROUTING_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// Which exception class an error maps to.
#[derive(Clone, Copy)]
pub enum Kind {
    /// Bad arguments.
    Invalid,
    /// A refused book update.
    Book,
    /// No valid route.
    Routing,
}

fn make_type<'py>(
    py: Python<'py>,
    name: &str,
    doc: &str,
    bases: Bound<'py, PyTuple>,
) -> PyResult<Bound<'py, PyType>> {
    let dict = PyDict::new(py);
    dict.set_item("__module__", "sor._core")?;
    dict.set_item("__doc__", doc)?;
    let ty = py
        .import("builtins")?
        .getattr("type")?
        .call1((name, bases, dict))?;
    Ok(ty.cast_into::<PyType>()?)
}

/// Creates the exception classes and adds them to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let base = make_type(
        py,
        "SorError",
        "Base class of every error sor raises.",
        PyTuple::new(py, [py.get_type::<PyException>()])?,
    )?;
    let value_error = py.get_type::<PyValueError>();
    let invalid = make_type(
        py,
        "InvalidInput",
        "An argument is malformed or out of range; the message names it.",
        PyTuple::new(py, [base.clone(), value_error.clone()])?,
    )?;
    let book = make_type(
        py,
        "BookError",
        "A book update was refused (unsorted, crossed); the book is unchanged.",
        PyTuple::new(py, [base.clone(), value_error])?,
    )?;
    let routing = make_type(
        py,
        "RoutingError",
        "No valid route or allocation exists for the request.",
        PyTuple::new(py, [base.clone()])?,
    )?;
    m.add("SorError", &base)?;
    m.add("InvalidInput", &invalid)?;
    m.add("BookError", &book)?;
    m.add("RoutingError", &routing)?;
    let _ = SOR_ERROR.set(py, base.unbind());
    let _ = INVALID_INPUT.set(py, invalid.unbind());
    let _ = BOOK_ERROR.set(py, book.unbind());
    let _ = ROUTING_ERROR.set(py, routing.unbind());
    Ok(())
}

/// A Python exception of the given kind with a message.
pub fn error(kind: Kind, message: impl Into<String>) -> PyErr {
    let message = message.into();
    Python::attach(|py| {
        let cell = match kind {
            Kind::Invalid => &INVALID_INPUT,
            Kind::Book => &BOOK_ERROR,
            Kind::Routing => &ROUTING_ERROR,
        };
        match cell.get(py) {
            Some(ty) => PyErr::from_type(ty.bind(py).clone(), message),
            None => PyValueError::new_err(message),
        }
    })
}

/// An `InvalidInput` error.
pub fn invalid(message: impl Into<String>) -> PyErr {
    error(Kind::Invalid, message)
}

/// An `InvalidInput` error for a field whose decimal value was refused.
pub fn decimal_error(field: impl std::fmt::Display, err: &DecimalError) -> PyErr {
    invalid(format!("{field}: {err}"))
}

/// Maps a refused book update, writing prices in quote units (`price_decimals` places).
pub fn book_error(err: &BookError, price_decimals: u8) -> PyErr {
    let price = |ticks: u64| format_fixed(u128::from(ticks), price_decimals);
    match err {
        BookError::Decimal { .. } | BookError::ZeroPrice { .. } => invalid(err.to_string()),
        BookError::Unsorted {
            side,
            index,
            price: current,
            previous,
        } => error(
            Kind::Book,
            format!(
                "{}[{index}]: levels must be strictly sorted best first, but price {} follows {}",
                side_name(*side),
                price(*current),
                price(*previous)
            ),
        ),
        BookError::Crossed { bid, ask } => error(
            Kind::Book,
            format!(
                "crossed book: best bid {} >= best ask {}",
                price(*bid),
                price(*ask)
            ),
        ),
    }
}

/// Maps a refused scoring or ranking request.
pub fn score_error(err: &ScoreError) -> PyErr {
    invalid(err.to_string())
}

/// Maps a refused screen (the order's figures or the venues' health figures).
pub fn screen_error(err: &ScreenError) -> PyErr {
    invalid(err.to_string())
}

/// Maps a refused allocation.
pub fn allocate_error(err: &AllocateError) -> PyErr {
    match err {
        AllocateError::Overflow => error(Kind::Routing, err.to_string()),
        _ => invalid(err.to_string()),
    }
}

/// Maps a refused walk, naming the argument at fault.
pub fn walk_error(err: &WalkError) -> PyErr {
    let field = match err {
        WalkError::Unbounded => "quantity, notional or limit_price",
        WalkError::ZeroQuantity => "quantity",
        WalkError::ZeroNotional => "notional",
        WalkError::TooLarge => "walk",
    };
    let reason = match err {
        WalkError::Unbounded => {
            "one is required (a walk without any bound would take the whole side)".to_owned()
        }
        WalkError::ZeroQuantity | WalkError::ZeroNotional => "must be positive".to_owned(),
        WalkError::TooLarge => err.to_string(),
    };
    invalid(format!("{field}: {reason}"))
}
