//! sor-core: the pure-Rust heart of the sor smart order router.
//!
//! Exact fixed-point order books ([`book`]), walking a side for a quantity, a notional or up to a
//! limit price ([`walk`]), fee-inclusive execution cost ([`cost`]), explainable multi-factor venue
//! scoring ([`score`]), venue trading rules in a book's units ([`rules`]), the router's one-pass
//! screen of every venue ([`route`]), the split strategy over a screen ([`split`]), lowest-cost multi-venue allocation ([`allocate`]), exchange
//! checksums ([`checksum`]), book truncation ([`depth`]) and exchange payload parsing ([`wire`]).
//! No Python here: the `sor-python` crate binds this to the `sor._core` module.

pub mod allocate;
pub mod book;
pub mod checksum;
pub mod cost;
pub mod decimal;
pub mod depth;
pub mod route;
pub mod rules;
pub mod score;
pub mod split;
pub mod walk;
pub mod wire;

pub use book::{
    BPS_DECIMALS, BPS_UNITS_PER_ONE, Book, BookError, BookSide, Bps, Delta, FeeError, Ladder,
    Level, TakerSide,
};
pub use cost::{Cost, execution_cost};
pub use decimal::{DecimalError, Quantity};
pub use walk::{Walk, WalkError, WalkLimits, affordable_lots, try_walk, walk};
