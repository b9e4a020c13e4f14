//! The nemesis: a Jepsen-style fault test of our own. A seeded [`schedule`]
//! of faults (kill -9, SIGSTOP, partitions, wiped disks, leader transfers,
//! membership changes, restarts), the [`history`] that real Kafka clients
//! print while it runs, and the [`checker`] that judges it (every
//! acknowledged record stored exactly once and in order, no offset given to
//! two records, committed offsets never going backwards). [`clients`] runs
//! `kafka/tests/clients/nemesis.py` for longer than an ordinary script.

pub mod checker;
pub mod clients;
pub mod history;
pub mod inject;
pub mod schedule;

pub use checker::{check, Verdict};
pub use history::{Event, History};
pub use schedule::{Fault, Schedule, Step};
