//! The deterministic core: virtual time, seeded random streams, the event queue and the trace.
//!
//! Invariant: this module knows no protocol, no network and no scenario. Everything here is
//! generic and could drive any discrete-event simulation.

pub mod queue;
pub mod rng;
pub mod time;
pub mod trace;

pub use queue::EventQueue;
pub use rng::SimRng;
pub use time::{
    duration_ns, format_nanos, format_nanos_exact, parse_duration, Nanos, MICROSECOND, MILLISECOND,
    SECOND,
};
pub use trace::{TraceHash, TraceWriter};
