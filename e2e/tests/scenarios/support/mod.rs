//! Helpers of the end-to-end scenarios (`tests/scenarios/main.rs`).

pub mod chronik;
pub mod faults;
pub mod kafka;
pub mod quorum;
pub mod settings;
