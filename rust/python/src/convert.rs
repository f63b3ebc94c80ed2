//! Conversions between Python values and the core's exact fixed-point numbers.
//!
//! Decimal inputs are `str`, `decimal.Decimal` or `int`; floats (and bools) are refused with a
//! message that says why. Exact outputs are `decimal.Decimal`.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyFloat, PyInt, PyList, PySequence, PyString, PyTuple, PyType};
use sor_core::book::{BookSide, TakerSide};
use sor_core::decimal::{
    Quantity, format_fixed, parse_fixed, parse_fixed_wide, parse_fixed_wide_floor,
};

use crate::errors::{decimal_error, invalid};

static DECIMAL: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// The name of an input for error messages (`bids[3].price`), formatted only on error.
#[derive(Clone, Copy)]
pub struct Field<'a> {
    name: &'a str,
    index: Option<usize>,
    attr: Option<&'a str>,
}

impl<'a> Field<'a> {
    /// Element `index` of the sequence `name`, optionally one attribute of it.
    pub fn item(name: &'a str, index: usize, attr: Option<&'a str>) -> Self {
        Self {
            name,
            index: Some(index),
            attr,
        }
    }
}

impl<'a> From<&'a str> for Field<'a> {
    fn from(name: &'a str) -> Self {
        Self {
            name,
            index: None,
            attr: None,
        }
    }
}

impl std::fmt::Display for Field<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)?;
        if let Some(index) = self.index {
            write!(f, "[{index}]")?;
        }
        if let Some(attr) = self.attr {
            write!(f, ".{attr}")?;
        }
        Ok(())
    }
}

/// Runs `f` on the text of a decimal-like Python value (str, Decimal or int).
fn with_text<R>(
    field: Field<'_>,
    value: &Bound<'_, PyAny>,
    f: impl FnOnce(&str) -> PyResult<R>,
) -> PyResult<R> {
    if let Ok(text) = value.cast::<PyString>() {
        return f(text.to_str()?);
    }
    if value.is_instance_of::<PyFloat>() {
        return Err(invalid(format!(
            "{field}: floats are not accepted (inexact); pass a str or decimal.Decimal \
             (OrderBook.from_floats converts float levels explicitly)"
        )));
    }
    if value.is_instance_of::<PyBool>() {
        return Err(invalid(format!(
            "{field}: expected a decimal number, got a bool"
        )));
    }
    let decimal = DECIMAL.import(value.py(), "decimal", "Decimal")?;
    if value.is_instance_of::<PyInt>() || value.is_instance(decimal)? {
        let text = value.str()?;
        return f(text.to_str()?);
    }
    Err(invalid(format!(
        "{field}: expected str, decimal.Decimal or int, got {}",
        value.get_type().name()?
    )))
}

/// Parses a decimal-like value into units of `10^-decimals`.
pub fn fixed<'a>(
    field: impl Into<Field<'a>>,
    value: &Bound<'_, PyAny>,
    decimals: u8,
) -> PyResult<u64> {
    let field = field.into();
    with_text(field, value, |text| {
        parse_fixed(text, decimals).map_err(|err| decimal_error(field, &err))
    })
}

/// Parses a decimal-like value into units of `10^-decimals`, allowing 128-bit results
/// (for notionals, whose scale is price decimals + size decimals): every notional sor reports
/// parses back.
pub fn fixed_wide<'a>(
    field: impl Into<Field<'a>>,
    value: &Bound<'_, PyAny>,
    decimals: u8,
) -> PyResult<u128> {
    let field = field.into();
    with_text(field, value, |text| {
        parse_fixed_wide(text, decimals).map_err(|err| decimal_error(field, &err))
    })
}

/// [`fixed_wide`], rounding digits beyond `decimals` down (for balances and caps: what they
/// allow is never more than they say).
pub fn fixed_wide_floor<'a>(
    field: impl Into<Field<'a>>,
    value: &Bound<'_, PyAny>,
    decimals: u8,
) -> PyResult<u128> {
    let field = field.into();
    with_text(field, value, |text| {
        parse_fixed_wide_floor(text, decimals).map_err(|err| decimal_error(field, &err))
    })
}

/// Parses a decimal-like value keeping its own scale.
pub fn quantity<'a>(field: impl Into<Field<'a>>, value: &Bound<'_, PyAny>) -> PyResult<Quantity> {
    let field = field.into();
    with_text(field, value, |text| {
        Quantity::parse(text).map_err(|err| decimal_error(field, &err))
    })
}

/// A `decimal.Decimal` for `value * 10^-decimals`.
pub fn to_decimal(py: Python<'_>, value: u128, decimals: u8) -> PyResult<Py<PyAny>> {
    let decimal = DECIMAL.import(py, "decimal", "Decimal")?;
    Ok(decimal.call1((format_fixed(value, decimals),))?.unbind())
}

/// Parses `"bid"` / `"ask"`.
pub fn book_side<'a>(field: impl Into<Field<'a>>, value: &str) -> PyResult<BookSide> {
    match value {
        "bid" => Ok(BookSide::Bid),
        "ask" => Ok(BookSide::Ask),
        other => Err(invalid(format!(
            "{}: expected 'bid' or 'ask', got {other:?}",
            field.into()
        ))),
    }
}

/// Parses `"buy"` / `"sell"`.
pub fn taker_side(value: &str) -> PyResult<TakerSide> {
    match value {
        "buy" => Ok(TakerSide::Buy),
        "sell" => Ok(TakerSide::Sell),
        other => Err(invalid(format!(
            "side: expected 'buy' or 'sell', got {other:?}"
        ))),
    }
}

/// The Python name of a taker side.
pub fn taker_side_name(side: TakerSide) -> &'static str {
    match side {
        TakerSide::Buy => "buy",
        TakerSide::Sell => "sell",
    }
}

/// Checks a Python precision argument.
pub fn decimals(field: &str, value: i64) -> PyResult<u8> {
    u8::try_from(value)
        .ok()
        .filter(|d| *d <= sor_core::decimal::MAX_DECIMALS)
        .ok_or_else(|| {
            invalid(format!(
                "{field}: must be between 0 and {}, got {value}",
                sor_core::decimal::MAX_DECIMALS
            ))
        })
}

/// Converts a basis-point float argument, naming the field on error.
pub fn bps<'a>(field: impl Into<Field<'a>>, value: f64) -> PyResult<sor_core::Bps> {
    sor_core::Bps::from_f64(value).map_err(|_| {
        invalid(format!(
            "{}: must be a finite number >= 0, got {value}",
            field.into()
        ))
    })
}

/// Calls `f` on each item of a list or tuple (fast paths) or any other sequence; `expected`
/// describes the argument for the error when `value` is not a sequence.
pub fn for_each_item<'py>(
    value: &Bound<'py, PyAny>,
    expected: &str,
    mut f: impl FnMut(usize, Bound<'py, PyAny>) -> PyResult<()>,
) -> PyResult<()> {
    if let Ok(list) = value.cast::<PyList>() {
        for (index, item) in list.iter().enumerate() {
            f(index, item)?;
        }
    } else if let Ok(tuple) = value.cast::<PyTuple>() {
        for (index, item) in tuple.iter().enumerate() {
            f(index, item)?;
        }
    } else {
        let seq = value
            .cast::<PySequence>()
            .map_err(|_| invalid(expected.to_owned()))?;
        for index in 0..seq.len()? {
            f(index, seq.get_item(index)?)?;
        }
    }
    Ok(())
}

/// The length of a sequence argument (0 if it has none), to size buffers.
pub fn len_hint(value: &Bound<'_, PyAny>) -> usize {
    value.len().unwrap_or(0)
}

/// Nanoseconds since the Unix epoch, now.
pub fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}
