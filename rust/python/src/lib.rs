//! `sor._core`: the Python binding of sor-core. Conversions and error mapping only; every
//! decision lives in the core crate.

mod allocation;
mod book;
mod convert;
mod errors;
mod results;
mod routing;
mod scoring;
mod split;
mod wire;

use pyo3::prelude::*;

/// The core's allocations (screens, walks, parsed batches: a dozen small vectors per decision)
/// go to mimalloc, whose thread-local free lists took about a tenth off the core's 5-venue
/// screen against glibc's malloc (README, dependencies). Python's own objects still come from
/// Python's allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The Rust core of sor: exact order books, walking, cost, scoring and allocation.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    // The cap on the liquidity factor, which the router's settings also bound
    // `min_liquidity_score` by: one figure, the core's.
    #[allow(clippy::cast_precision_loss)] // 10 is exact in f64
    m.add(
        "LIQUIDITY_RATIO_CAP",
        sor_core::score::LIQUIDITY_RATIO_CAP as f64,
    )?;
    m.add_class::<book::Level>()?;
    m.add_class::<book::OrderBook>()?;
    m.add_class::<results::WalkResult>()?;
    m.add_class::<results::ExecutionCost>()?;
    m.add_class::<scoring::Weights>()?;
    m.add_class::<scoring::FactorScores>()?;
    m.add_class::<scoring::VenueScore>()?;
    m.add_class::<scoring::Candidate>()?;
    m.add_class::<scoring::Ranking>()?;
    m.add_class::<allocation::VenueRules>()?;
    m.add_class::<allocation::AllocationPart>()?;
    m.add_class::<allocation::Allocation>()?;
    m.add_function(wrap_pyfunction!(results::execution_cost_of, m)?)?;
    m.add_function(wrap_pyfunction!(convert::excerpt_py, m)?)?;
    m.add_function(wrap_pyfunction!(scoring::score, m)?)?;
    m.add_function(wrap_pyfunction!(scoring::rank_venues, m)?)?;
    m.add_function(wrap_pyfunction!(allocation::allocate, m)?)?;
    m.add_function(wrap_pyfunction!(allocation::allocate_many, m)?)?;
    m.add_function(wrap_pyfunction!(allocation::walk_many, m)?)?;
    wire::register(m)?;
    m.add_class::<routing::Screen>()?;
    m.add_class::<split::Split>()?;
    m.add_function(wrap_pyfunction!(routing::screen_venues, m)?)?;
    m.add_class::<routing::ScreenRequest>()?;
    m.add_function(wrap_pyfunction!(routing::screen_batch, m)?)?;
    m.add_class::<routing::VenueSet>()?;
    m.add_function(wrap_pyfunction!(routing::screen_set, m)?)?;
    m.add_function(wrap_pyfunction!(routing::rank_set, m)?)?;
    Ok(())
}
