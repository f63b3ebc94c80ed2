//! Conversions between Python values and the core's types.
//!
//! Every argument of `sor._core` arrives here as a Python object and leaves as a core type or
//! an `InvalidInput` naming the argument: PyO3's own extraction (which raises a bare
//! `TypeError`, `OverflowError` or `UnicodeEncodeError` without the argument's name) is used
//! only inside these helpers, and every message that quotes an input cuts it with
//! [`excerpt`].
//!
//! Decimal inputs are `str`, `decimal.Decimal` or `int`; floats (and bools) are refused with a
//! message that says why. Basis points (fees, slippage and depth bounds) are `str`, `Decimal`,
//! `int` or `float` (read as the shortest decimal that prints as it), exact to 1e-4 bps or
//! refused. Exact outputs are `decimal.Decimal`.

use pyo3::exceptions::PyOverflowError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyFloat, PyInt, PyList, PySequence, PyString, PyTuple, PyType};
use sor_core::Bps;
use sor_core::book::{BookSide, TakerSide};
use sor_core::decimal::{
    Quantity, excerpt, format_fixed, parse_fixed, parse_fixed_wide, parse_fixed_wide_floor,
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

/// How an error message shows a Python value: its `repr`, cut by [`excerpt`] (an int too
/// large to print says how many bits it has).
pub fn describe(value: &Bound<'_, PyAny>) -> String {
    match value.repr() {
        Ok(repr) => match repr.to_str() {
            Ok(text) => excerpt(text),
            Err(_) => format!("a {} that is not valid text", type_name(value)),
        },
        Err(_) => match value.call_method0("bit_length") {
            Ok(bits) => format!("an int of {bits} bits"),
            Err(_) => format!("a {}", type_name(value)),
        },
    }
}

/// The name of a value's type, for error messages.
pub fn type_name(value: &Bound<'_, PyAny>) -> String {
    value
        .get_type()
        .name()
        .map_or_else(|_| "object".to_owned(), |n| n.to_string())
}

/// The UTF-8 text of a `str`, or an error naming the field (a lone surrogate cannot be encoded).
fn utf8<'a>(field: Field<'_>, text: &'a Bound<'_, PyString>) -> PyResult<&'a str> {
    text.to_str().map_err(|_| {
        invalid(format!(
            "{field}: not valid text (it holds a lone surrogate)"
        ))
    })
}

/// The text of a `str` argument, or an error naming the field.
pub fn text<'a, 'f>(field: impl Into<Field<'f>>, value: &'a Bound<'_, PyAny>) -> PyResult<&'a str> {
    let field = field.into();
    match value.cast::<PyString>() {
        Ok(text) => utf8(field, text),
        Err(_) => Err(invalid(format!(
            "{field}: expected a str, got {}",
            type_name(value)
        ))),
    }
}

/// Runs `f` on the text of a decimal-like Python value (str, Decimal or int).
fn with_text<R>(
    field: Field<'_>,
    value: &Bound<'_, PyAny>,
    f: impl FnOnce(&str) -> PyResult<R>,
) -> PyResult<R> {
    if let Ok(text) = value.cast::<PyString>() {
        return f(utf8(field, text)?);
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
    if value.is_instance_of::<PyInt>() {
        // str() of an int beyond Python's digit limit raises; no int that large fits anyway.
        return match value.extract::<i128>() {
            Ok(int) => f(&int.to_string()),
            Err(_) if value.lt(0)? => {
                Err(invalid(format!("{field}: {} is negative", describe(value))))
            }
            Err(_) => Err(invalid(format!(
                "{field}: {} is too large",
                describe(value)
            ))),
        };
    }
    let decimal = DECIMAL.import(value.py(), "decimal", "Decimal")?;
    if value.is_instance(decimal)? {
        let text = value.str()?;
        return f(utf8(field, &text)?);
    }
    Err(invalid(format!(
        "{field}: expected str, decimal.Decimal or int, got {}",
        type_name(value)
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

/// [`fixed_wide`] for a balance or cap: digits beyond `decimals` are rounded down, and a value
/// past `u128::MAX` units (more than any book holds) is read as `u128::MAX`, less than it is,
/// so a cap computed from it never allows more than the balance pays for.
pub fn funds_wide_floor<'a>(
    field: impl Into<Field<'a>>,
    value: &Bound<'_, PyAny>,
    decimals: u8,
) -> PyResult<u128> {
    let field = field.into();
    with_text(field, value, |text| {
        match parse_fixed_wide_floor(text, decimals) {
            Err(sor_core::DecimalError::Overflow { .. }) => Ok(u128::MAX),
            other => other.map_err(|err| decimal_error(field, &err)),
        }
    })
}

/// A balance cap (base units) in a book's lots, by the core's rule
/// ([`sor_core::rules::balance_cap_lots`]: rounded down, `None` when it binds nothing).
pub fn balance_cap<'a>(
    field: impl Into<Field<'a>>,
    value: &Bound<'_, PyAny>,
    size_decimals: u8,
) -> PyResult<Option<u64>> {
    let field = field.into();
    with_text(field, value, |text| {
        sor_core::rules::balance_cap_lots(text, size_decimals)
            .map_err(|err| decimal_error(field, &err))
    })
}

/// Parses a decimal-like value keeping its own scale.
pub fn quantity<'a>(field: impl Into<Field<'a>>, value: &Bound<'_, PyAny>) -> PyResult<Quantity> {
    let field = field.into();
    with_text(field, value, |text| {
        Quantity::parse(text).map_err(|err| decimal_error(field, &err))
    })
}

/// Runs `f` on the exact decimal text of a basis-point value: str, `Decimal`, int, or a float
/// read as the shortest decimal that prints as it (`7.5`, `0.1`; never its binary expansion).
fn with_bps_text<R>(
    field: Field<'_>,
    value: &Bound<'_, PyAny>,
    f: impl FnOnce(&str) -> PyResult<R>,
) -> PyResult<R> {
    if let Ok(float) = value.cast::<PyFloat>() {
        // Rust writes the shortest text that reads back as the same float, as repr() does.
        return f(&float.value().to_string());
    }
    with_text(field, value, f)
}

/// The bps of a float argument read without formatting it (see [`Bps::from_f64_exact`]);
/// `None` for anything else, or a float that needs its text.
fn float_bps(value: &Bound<'_, PyAny>) -> Option<Bps> {
    let float = value.cast::<PyFloat>().ok()?;
    Bps::from_f64_exact(float.value())
}

/// A number of basis points (a slippage or depth bound): exact to 1e-4 bps and >= 0, or
/// refused.
pub fn bps<'a>(field: impl Into<Field<'a>>, value: &Bound<'_, PyAny>) -> PyResult<Bps> {
    if let Some(bps) = float_bps(value) {
        return Ok(bps);
    }
    let field = field.into();
    with_bps_text(field, value, |text| {
        Bps::parse(text).map_err(|err| invalid(format!("{field}: {err} (bps are exact to 1e-4)")))
    })
}

/// A taker fee in basis points: exact to 1e-4 bps, at least 0 and below 10,000 (100%), or
/// refused.
pub fn fee_bps<'a>(field: impl Into<Field<'a>>, value: &Bound<'_, PyAny>) -> PyResult<Bps> {
    if let Some(fee) = float_bps(value).filter(|fee| fee.0 < sor_core::BPS_UNITS_PER_ONE) {
        return Ok(fee);
    }
    let field = field.into();
    with_bps_text(field, value, |text| {
        Bps::parse_fee(text).map_err(|err| invalid(format!("{field}: {err}")))
    })
}

/// A `decimal.Decimal` for `value * 10^-decimals`.
pub fn to_decimal(py: Python<'_>, value: u128, decimals: u8) -> PyResult<Py<PyAny>> {
    let decimal = DECIMAL.import(py, "decimal", "Decimal")?;
    Ok(decimal.call1((format_fixed(value, decimals),))?.unbind())
}

/// Parses `"bid"` / `"ask"`.
pub fn book_side<'a>(field: impl Into<Field<'a>>, value: &Bound<'_, PyAny>) -> PyResult<BookSide> {
    let field = field.into();
    match text(field, value)? {
        "bid" => Ok(BookSide::Bid),
        "ask" => Ok(BookSide::Ask),
        other => Err(invalid(format!(
            "{field}: expected 'bid' or 'ask', got {:?}",
            excerpt(other)
        ))),
    }
}

/// Parses `"buy"` / `"sell"` (the argument `side`).
pub fn taker_side(value: &Bound<'_, PyAny>) -> PyResult<TakerSide> {
    match text("side", value)? {
        "buy" => Ok(TakerSide::Buy),
        "sell" => Ok(TakerSide::Sell),
        other => Err(invalid(format!(
            "side: expected 'buy' or 'sell', got {:?}",
            excerpt(other)
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

/// Checks a Python precision argument (an int from 0 to 18).
pub fn decimals(field: &str, value: &Bound<'_, PyAny>) -> PyResult<u8> {
    let max = sor_core::decimal::MAX_DECIMALS;
    let out_of_range = || {
        invalid(format!(
            "{field}: must be between 0 and {max}, got {}",
            describe(value)
        ))
    };
    let int: u64 = uint(field, value).map_err(|_| out_of_range())?;
    u8::try_from(int)
        .ok()
        .filter(|d| *d <= max)
        .ok_or_else(out_of_range)
}

/// The largest value of an unsigned integer type, for messages.
pub trait Bounded: TryFrom<u64> {
    /// `Self::MAX` as u64.
    const MAX_U64: u64;
}

impl Bounded for u64 {
    const MAX_U64: u64 = u64::MAX;
}

impl Bounded for u32 {
    const MAX_U64: u64 = u32::MAX as u64;
}

impl Bounded for usize {
    const MAX_U64: u64 = usize::MAX as u64;
}

/// A non-negative integer argument (an `int`, or any object with `__index__` such as a numpy
/// integer; never a bool or a float) that fits `T`.
pub fn uint<'a, T: Bounded>(field: impl Into<Field<'a>>, value: &Bound<'_, PyAny>) -> PyResult<T> {
    let field = field.into();
    let range = || {
        invalid(format!(
            "{field}: must be an int between 0 and {}, got {}",
            T::MAX_U64,
            describe(value)
        ))
    };
    if value.is_instance_of::<PyBool>() {
        return Err(invalid(format!("{field}: expected an int, got a bool")));
    }
    match value.extract::<u64>() {
        Ok(int) => T::try_from(int).map_err(|_| range()),
        Err(err) if err.is_instance_of::<PyOverflowError>(value.py()) => Err(range()),
        Err(_) => Err(invalid(format!(
            "{field}: expected an int, got {}",
            type_name(value)
        ))),
    }
}

/// An optional [`uint`] argument (`None` = absent).
pub fn opt_uint<'a, T: Bounded>(
    field: impl Into<Field<'a>>,
    value: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<T>> {
    value.map(|v| uint(field, v)).transpose()
}

/// A real-number argument: `float`, `int` or `decimal.Decimal` (never a bool or a str), as
/// f64. Range checks are the core's.
pub fn float<'a>(field: impl Into<Field<'a>>, value: &Bound<'_, PyAny>) -> PyResult<f64> {
    let field = field.into();
    if let Ok(float) = value.cast::<PyFloat>() {
        return Ok(float.value());
    }
    let expected = || {
        invalid(format!(
            "{field}: expected a number (float, int or decimal.Decimal), got {}",
            type_name(value)
        ))
    };
    if value.is_instance_of::<PyBool>() || value.is_instance_of::<PyString>() {
        return Err(expected());
    }
    value.extract::<f64>().map_err(|err| {
        if err.is_instance_of::<PyOverflowError>(value.py()) {
            invalid(format!("{field}: {} is too large", describe(value)))
        } else {
            expected()
        }
    })
}

/// A sequence of real numbers ([`float`] each), items named `field[i]`.
pub fn floats(field: &str, value: &Bound<'_, PyAny>) -> PyResult<Vec<f64>> {
    let mut out = Vec::with_capacity(len_hint(value));
    for (index, item) in items(field, value)?.iter().enumerate() {
        out.push(float(Field::item(field, index, None), item)?);
    }
    Ok(out)
}

/// The items of a sequence argument (a `str` is refused, not read as characters).
pub fn items<'py>(field: &str, value: &Bound<'py, PyAny>) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let expected = || {
        format!(
            "{field}: expected a sequence (list or tuple), got {}",
            type_name(value)
        )
    };
    if value.is_instance_of::<PyString>() {
        return Err(invalid(expected()));
    }
    let mut out = Vec::with_capacity(len_hint(value));
    for_each_item(value, expected, |_, item| {
        out.push(item);
        Ok(())
    })?;
    Ok(out)
}

/// An instance of the pyclass `T` (`class` is its Python name), or an error naming the field.
pub fn instance<'a, 'py, T: pyo3::PyClass>(
    field: impl Into<Field<'a>>,
    class: &str,
    value: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, T>> {
    value.cast::<T>().cloned().map_err(|_| {
        invalid(format!(
            "{}: expected a {class}, got {}",
            field.into(),
            type_name(value)
        ))
    })
}

/// A sequence of instances of the pyclass `T`, items named `field[i]`.
pub fn instances<'py, T: pyo3::PyClass>(
    field: &str,
    class: &str,
    value: &Bound<'py, PyAny>,
) -> PyResult<Vec<Bound<'py, T>>> {
    items(field, value)?
        .iter()
        .enumerate()
        .map(|(index, item)| instance(Field::item(field, index, None), class, item))
        .collect()
}

/// Calls `f` on each item of a list or tuple (fast paths) or any other sequence; `expected`
/// describes the argument for the error when `value` is not a sequence (written only then).
pub fn for_each_item<'py, M: Into<String>>(
    value: &Bound<'py, PyAny>,
    expected: impl FnOnce() -> M,
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
            .map_err(|_| invalid(expected().into()))?;
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

/// Cuts a text to what an error message quotes (its first 40 characters, `...` and its
/// length when longer): the one rule for every message that quotes an input, Rust or Python.
#[pyfunction]
#[pyo3(name = "excerpt")]
pub fn excerpt_py(text: &Bound<'_, PyAny>) -> PyResult<String> {
    let value = text;
    match value.cast::<PyString>() {
        Ok(s) => Ok(match s.to_str() {
            Ok(t) => excerpt(t),
            // A lone surrogate: cut its repr instead, which is always valid text.
            Err(_) => excerpt(s.repr()?.to_str()?),
        }),
        Err(_) => Err(invalid(format!(
            "text: expected a str, got {}",
            type_name(value)
        ))),
    }
}

/// Each exchange name's unified symbol (interned) and precision, for the payload parsers.
pub type Markets = std::collections::HashMap<String, (Py<PyString>, sor_core::wire::Precision)>;

/// The `markets` argument of the payload parsers: a dict of exchange name to
/// `(symbol, price_decimals, size_decimals)`; errors name the entry.
pub fn markets(value: &Bound<'_, PyAny>) -> PyResult<Markets> {
    let dict = value.cast::<pyo3::types::PyDict>().map_err(|_| {
        invalid(format!(
            "markets: expected a dict of name -> (symbol, price_decimals, size_decimals), got {}",
            type_name(value)
        ))
    })?;
    let mut out = Markets::with_capacity(dict.len());
    for (key, entry) in dict.iter() {
        let name = text("markets: a key", &key)?.to_owned();
        let field = |what: &str| format!("markets[{:?}]{what}", excerpt(&name));
        let parts = items(&field(""), &entry)?;
        let [symbol, price_decimals, size_decimals] = parts.as_slice() else {
            return Err(invalid(format!(
                "{}: expected (symbol, price_decimals, size_decimals), got {} items",
                field(""),
                parts.len()
            )));
        };
        let symbol = text(field(".symbol").as_str(), symbol)?;
        let precision = sor_core::wire::Precision::new(
            decimals(&field(".price_decimals"), price_decimals)?,
            decimals(&field(".size_decimals"), size_decimals)?,
        )
        .map_err(|err| decimal_error(field(".precision"), &err))?;
        out.insert(
            name,
            (PyString::intern(value.py(), symbol).unbind(), precision),
        );
    }
    Ok(out)
}

/// The bytes of a `bytes` argument (a payload), or an error naming it.
pub fn bytes<'a>(field: &str, value: &'a Bound<'_, PyAny>) -> PyResult<&'a [u8]> {
    value
        .cast::<pyo3::types::PyBytes>()
        .map(|b| b.as_bytes())
        .map_err(|_| invalid(format!("{field}: expected bytes, got {}", type_name(value))))
}
