//! Multi-venue allocation: split one order across several books for the lowest total all-in
//! cost, respecting each venue's lot size, minimum quantity, minimum notional and cap.

use thiserror::Error;

use crate::book::{Book, Bps, TakerSide};
use crate::cost::Cost;
use crate::decimal::Quantity;
use crate::walk::Walk;

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

/// One venue's share of an allocation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Part {
    /// Position of the venue in the input.
    pub index: usize,
    /// The walk of the venue's book for this part's quantity (quantity in the book's lots).
    pub walk: Walk,
    /// The fee-inclusive cost of this part.
    pub cost: Cost,
}

/// The result of an allocation.
#[derive(Debug, Clone, PartialEq)]
pub struct Allocation {
    /// The non-empty parts, by venue index.
    pub parts: Vec<Part>,
    /// Quantity placed across all parts.
    pub filled: Quantity,
    /// Quantity that could not be placed (0 when complete).
    pub unfilled: Quantity,
    /// Sum of the parts' fee-inclusive totals, in quote units (paid for a buy, received for a sell).
    pub total: f64,
}

impl Allocation {
    /// True if the whole order was placed.
    #[must_use]
    pub fn complete(&self) -> bool {
        self.unfilled.mantissa == 0
    }
}

/// Why an allocation was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AllocateError {
    /// Books and rules have different lengths.
    #[error("{books} books but {rules} venue rules")]
    LengthMismatch {
        /// Number of books.
        books: usize,
        /// Number of rules.
        rules: usize,
    },
    /// The order quantity is zero.
    #[error("quantity must be positive")]
    ZeroQuantity,
    /// A venue's lot size is zero.
    #[error("venue {index}: lot size must be positive")]
    ZeroLot {
        /// Position of the venue.
        index: usize,
    },
    /// Precisions too fine to combine exactly (more than 18 decimals in common).
    #[error("venue {index}: precision too fine to combine with the order ({decimals} decimals)")]
    Precision {
        /// Position of the venue.
        index: usize,
        /// The decimals needed.
        decimals: u8,
    },
    /// An intermediate value overflowed 128 bits.
    #[error("values too large to allocate exactly")]
    Overflow,
}

/// Splits `quantity` (base units) across `books` for the lowest total all-in cost (a buy) or the
/// highest total proceeds net of fees (a sell).
pub fn allocate(
    books: &[&Book],
    side: TakerSide,
    quantity: Quantity,
    rules: &[VenueRules],
) -> Result<Allocation, AllocateError> {
    let _ = (books, side, quantity, rules);
    Err(AllocateError::Overflow)
}
