//! All-in execution cost: what a walk costs (or yields) once the venue's taker fee is added.

use crate::book::{BPS_DECIMALS, BPS_UNITS_PER_ONE, Bps, TakerSide};
use crate::decimal::to_f64_rounded;
use crate::walk::Walk;

/// The cost of executing a walk as a taker, in quote units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cost {
    /// The taker fee paid, in quote units.
    pub fee: f64,
    /// For a buy, notional plus fee (what is paid); for a sell, notional minus fee (what is
    /// received). In quote units.
    pub total: f64,
    /// `total / filled`: the price per unit of base once fees are included, in quote units
    /// (`None` if nothing filled).
    pub effective_price: Option<f64>,
}

/// Fee-inclusive cost of a walk on a book with the given precisions and taker fee.
#[must_use]
pub fn execution_cost(
    walk: &Walk,
    side: TakerSide,
    taker_fee: Bps,
    price_decimals: u8,
    size_decimals: u8,
) -> Cost {
    let notional = walk.notional_f64(price_decimals, size_decimals);
    let fee = notional * taker_fee.0 as f64 / BPS_UNITS_PER_ONE as f64;
    let total = match side {
        TakerSide::Buy => notional + fee,
        TakerSide::Sell => notional - fee,
    };
    let filled = walk.filled as f64 / 10f64.powi(i32::from(size_decimals));
    let effective_price = (walk.filled > 0).then(|| total / filled);
    Cost {
        fee,
        total,
        effective_price,
    }
}

/// A walk's fee and fee-inclusive total as exact integers of `10^-scale` quote units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExactCost {
    /// The taker fee paid.
    pub fee: u128,
    /// Notional plus fee (a buy) or minus fee (a sell).
    pub total: u128,
    /// Decimal places: price decimals + size decimals + 8 (the fee's units of one whole).
    pub scale: u32,
}

impl ExactCost {
    /// The fee in quote units, the float nearest the exact value.
    #[must_use]
    pub fn fee_f64(&self) -> f64 {
        to_f64_rounded(self.fee, self.scale)
    }

    /// The total in quote units, the float nearest the exact value.
    #[must_use]
    pub fn total_f64(&self) -> f64 {
        to_f64_rounded(self.total, self.scale)
    }
}

/// The exact fee and total of a walk (see [`execution_cost`]), or `None` if they do not fit
/// in 128 bits (or a sell's fee exceeds its notional).
#[must_use]
pub fn exact_cost(
    walk: &Walk,
    side: TakerSide,
    taker_fee: Bps,
    price_decimals: u8,
    size_decimals: u8,
) -> Option<ExactCost> {
    let one = u128::from(BPS_UNITS_PER_ONE);
    let units = u128::from(taker_fee.0);
    let fee = walk.notional.checked_mul(units)?;
    let gross = walk.notional.checked_mul(one)?;
    let total = match side {
        TakerSide::Buy => gross.checked_add(fee)?,
        TakerSide::Sell => gross.checked_sub(fee)?,
    };
    Some(ExactCost {
        fee,
        total,
        scale: u32::from(price_decimals) + u32::from(size_decimals) + 2 * u32::from(BPS_DECIMALS),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buy_pays_fee_on_top_and_sell_receives_less() {
        let walk = Walk {
            filled: 200,
            notional: 2_000_000,
            best_price: 10_000,
            worst_price: 10_000,
            levels: 1,
            complete: true,
        };
        // 2 base at 100.00 quote = 200 quote; 10 bps fee = 0.2 quote.
        let fee = Bps::from_f64(10.0).unwrap();
        let buy = execution_cost(&walk, TakerSide::Buy, fee, 2, 2);
        assert!((buy.fee - 0.2).abs() < 1e-12);
        assert!((buy.total - 200.2).abs() < 1e-9);
        assert!((buy.effective_price.unwrap() - 100.1).abs() < 1e-9);
        let sell = execution_cost(&walk, TakerSide::Sell, fee, 2, 2);
        assert!((sell.total - 199.8).abs() < 1e-9);
        assert!((sell.effective_price.unwrap() - 99.9).abs() < 1e-9);
    }

    #[test]
    fn nothing_filled_has_no_effective_price() {
        let cost = execution_cost(&Walk::default(), TakerSide::Buy, Bps(0), 2, 2);
        assert_eq!(
            (cost.fee, cost.total, cost.effective_price),
            (0.0, 0.0, None)
        );
    }

    #[test]
    fn exact_cost_keeps_a_fee_of_a_ten_thousandth_of_a_basis_point() {
        let walk = Walk {
            filled: 100,
            notional: 1_000_000,
            best_price: 10_000,
            worst_price: 10_000,
            levels: 1,
            complete: true,
        };
        // 100 quote at 0.0001 bps = 1e-6 quote, exactly.
        let exact = exact_cost(&walk, TakerSide::Buy, Bps::parse("0.0001").unwrap(), 2, 2).unwrap();
        assert_eq!((exact.fee, exact.scale), (1_000_000, 12));
        assert_eq!(exact.fee_f64(), 1e-6);
        assert_eq!(exact.total_f64(), 100.000001);
        let sell = exact_cost(&walk, TakerSide::Sell, Bps::parse("7.5").unwrap(), 2, 2).unwrap();
        assert_eq!(sell.total_f64(), 99.925);
    }
}
