//! Shared helpers of the criterion benches: seeded realistic fixtures and the baseline
//! implementations every group compares the core against.

pub mod baseline;
pub mod data;
