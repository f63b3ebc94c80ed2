//! A venue's trading rules for one market: as the exchange states them ([`MarketRules`], in
//! decimal base and quote units) and in the integer units of one book ([`VenueRules`]), which
//! the screen ([`crate::route`]) and the allocation ([`crate::allocate`]) read.
//!
//! Converting is where the rounding policy lives, always in the direction that keeps a rule
//! strict: a minimum quantity or notional is rounded *up* to the book's units (a part meeting
//! it meets the exchange's minimum), a maximum quantity or a balance cap *down* (a part under
//! it never exceeds what the exchange or the balance allows). A lot size must be exact.

use thiserror::Error;

use crate::book::{Book, Bps};
use crate::decimal::{DecimalError, Quantity, Rounding, parse_fixed_wide_floor};
use crate::walk::affordable_lots_up_to;

/// A venue's trading rules for one market, in the units of its book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VenueRules {
    /// Taker fee.
    pub taker_fee: Bps,
    /// Quantity step, in the book's lots (>= 1): every part is a multiple of it.
    pub lot_size: u64,
    /// Smallest quantity the venue accepts, in the book's lots (0 = none).
    pub min_quantity: u64,
    /// Smallest notional the venue accepts, in units of `10^-(price_decimals + size_decimals)`
    /// quote (0 = none).
    pub min_notional: u128,
    /// Most this venue may take, in the book's lots (e.g. what the balance allows); `None` = no cap.
    pub max_quantity: Option<u64>,
}

/// A market's rules as the exchange states them: exact decimals in base units (quantities) and
/// quote units (notional), independent of any book's precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarketRules {
    /// Taker fee.
    pub taker_fee: Bps,
    /// Quantity step in base units (`None`: the book's lot).
    pub lot_size: Option<Quantity>,
    /// Smallest quantity in base units (0 = none).
    pub min_quantity: Quantity,
    /// Smallest notional in quote units (0 = none).
    pub min_notional: Quantity,
    /// Most one order may take, in base units (`None`: no maximum).
    pub max_quantity: Option<Quantity>,
}

/// Why a market's rules cannot be used (at all, or in the units of a given book).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RulesError {
    /// The lot size is zero.
    #[error("lot_size: must be positive")]
    ZeroLot,
    /// The lot size has digits beyond the book's size precision.
    #[error("lot_size: finer than the book's size precision ({size_decimals} decimals)")]
    LotTooFine {
        /// The book's size decimals.
        size_decimals: u8,
    },
    /// A figure does not fit the book's integer units.
    #[error("{field}: too large")]
    TooLarge {
        /// Which rule (`"min_quantity"`, `"min_notional"`, `"max_quantity"`).
        field: &'static str,
    },
}

/// No quantity and no notional: the default of a minimum.
const ZERO: Quantity = Quantity {
    mantissa: 0,
    scale: 0,
};

/// `lot`, if it can be a lot size (it is positive).
pub fn check_lot_size(lot: Quantity) -> Result<Quantity, RulesError> {
    if lot.mantissa == 0 {
        Err(RulesError::ZeroLot)
    } else {
        Ok(lot)
    }
}

impl MarketRules {
    /// Rules from their parts (`None` minimums are zero); a zero lot size is refused.
    pub fn new(
        taker_fee: Bps,
        lot_size: Option<Quantity>,
        min_quantity: Option<Quantity>,
        min_notional: Option<Quantity>,
        max_quantity: Option<Quantity>,
    ) -> Result<Self, RulesError> {
        Ok(Self {
            taker_fee,
            lot_size: lot_size.map(check_lot_size).transpose()?,
            min_quantity: min_quantity.unwrap_or(ZERO),
            min_notional: min_notional.unwrap_or(ZERO),
            max_quantity,
        })
    }
}

impl VenueRules {
    /// `market`'s rules in the units of a book with `price_decimals` and `size_decimals`:
    /// minimums rounded up, the maximum rounded down (a maximum past `u64::MAX` lots is
    /// `u64::MAX`), the lot size exact (see the module documentation).
    pub fn for_book(
        market: &MarketRules,
        price_decimals: u8,
        size_decimals: u8,
    ) -> Result<Self, RulesError> {
        let too_large = |field| RulesError::TooLarge { field };
        let lot_size = match market.lot_size {
            None => 1,
            Some(lot) => lot
                .at_scale(size_decimals)
                .ok_or(RulesError::LotTooFine { size_decimals })?,
        };
        if lot_size == 0 {
            return Err(RulesError::ZeroLot);
        }
        let min_quantity = market
            .min_quantity
            .at_scale_rounded(size_decimals, Rounding::Up)
            .and_then(|v| u64::try_from(v).ok())
            .ok_or_else(|| too_large("min_quantity"))?;
        let min_notional = market
            .min_notional
            .at_scale_rounded(price_decimals + size_decimals, Rounding::Up)
            .ok_or_else(|| too_large("min_notional"))?;
        let max_quantity = market
            .max_quantity
            .map(|q| {
                q.at_scale_rounded(size_decimals, Rounding::Down)
                    .map(|v| u64::try_from(v).unwrap_or(u64::MAX))
                    .ok_or_else(|| too_large("max_quantity"))
            })
            .transpose()?;
        Ok(Self {
            taker_fee: market.taker_fee,
            lot_size,
            min_quantity,
            min_notional,
            max_quantity,
        })
    }
}

/// The most lots (`10^-size_decimals` base units) a balance of `balance` base units allows, a
/// decimal text rounded down (a cap never allows more than it says); `None` when it binds no
/// quantity (more than `u64::MAX` lots). Errors on text that is not a non-negative decimal.
pub fn balance_cap_lots(balance: &str, size_decimals: u8) -> Result<Option<u64>, DecimalError> {
    match parse_fixed_wide_floor(balance, size_decimals) {
        Ok(lots) => Ok(u64::try_from(lots).ok()),
        Err(DecimalError::Overflow { .. }) => Ok(None),
        Err(err) => Err(err),
    }
}

/// A buy's balance cap: the most lots (multiples of `rules.lot_size`) that quote `funds` (in
/// units of `10^-(price_decimals + size_decimals)` quote) pay for from `book`'s asks with
/// `rules.taker_fee` on top, counted no further than `up_to` when given (rounded up to the
/// book's lot: a larger cap binds nothing), or `None` when no cap binds
/// ([`affordable_lots_up_to`]).
#[must_use]
pub fn funds_cap_lots(
    book: &Book,
    rules: &VenueRules,
    funds: u128,
    up_to: Option<Quantity>,
) -> Option<u64> {
    let at_most = up_to.and_then(|quantity| {
        quantity
            .at_scale_rounded(book.size_decimals(), Rounding::Up)
            .and_then(|lots| u64::try_from(lots).ok())
    });
    let lots = affordable_lots_up_to(book.asks(), funds, rules.taker_fee, at_most)?;
    Some(lots - lots % rules.lot_size.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(text: &str) -> Quantity {
        Quantity::parse(text).expect("quantity")
    }

    fn market(lot: Option<&str>, min: &str, notional: &str, max: Option<&str>) -> MarketRules {
        MarketRules::new(
            Bps(0),
            lot.map(q),
            Some(q(min)),
            Some(q(notional)),
            max.map(q),
        )
        .expect("rules")
    }

    #[test]
    fn minimums_round_up_and_maximums_round_down_to_the_book() {
        let rules = VenueRules::for_book(
            &market(Some("0.01"), "0.015", "10.00001", Some("2.349")),
            2,
            2,
        )
        .expect("rules");
        assert_eq!(rules.lot_size, 1);
        assert_eq!(rules.min_quantity, 2);
        assert_eq!(rules.min_notional, 100_001);
        assert_eq!(rules.max_quantity, Some(234));
    }

    #[test]
    fn a_lot_must_be_positive_and_exact_at_the_book() {
        assert_eq!(
            MarketRules::new(Bps(0), Some(q("0")), None, None, None),
            Err(RulesError::ZeroLot)
        );
        assert_eq!(
            VenueRules::for_book(&market(Some("0.001"), "0", "0", None), 2, 2),
            Err(RulesError::LotTooFine { size_decimals: 2 })
        );
        let none = VenueRules::for_book(&market(None, "0", "0", None), 2, 8).expect("rules");
        assert_eq!(none.lot_size, 1);
    }

    #[test]
    fn figures_past_the_books_units_are_too_large_or_bind_nothing() {
        let huge = "18446744073709551615";
        assert_eq!(
            VenueRules::for_book(&market(None, huge, "0", None), 2, 8),
            Err(RulesError::TooLarge {
                field: "min_quantity"
            })
        );
        let max = VenueRules::for_book(&market(None, "0", "0", Some(huge)), 2, 8).expect("rules");
        assert_eq!(max.max_quantity, Some(u64::MAX));
    }

    #[test]
    fn balance_caps_round_down_and_huge_ones_are_no_cap() {
        assert_eq!(balance_cap_lots("1.239", 2), Ok(Some(123)));
        assert_eq!(balance_cap_lots("0", 2), Ok(Some(0)));
        assert_eq!(balance_cap_lots("1e30", 8), Ok(None));
        assert_eq!(balance_cap_lots("1e60", 8), Ok(None));
        assert!(matches!(
            balance_cap_lots("-1", 2),
            Err(DecimalError::Negative(_))
        ));
    }
}
