//! Reading a run's trace (`trace.jsonl`) back, one typed record at a time: the same types the
//! simulator writes (`crate::sim::trace`).

use super::ReportError;
pub use crate::sim::trace::{TraceEvent, TraceRecord};
use std::path::Path;

/// Calls `each` with every record of the trace at `path`, in file order.
pub fn for_each_record(path: &Path, each: impl FnMut(TraceRecord)) -> Result<(), ReportError> {
    crate::sim::trace::for_each_record(path, each).map_err(|e| ReportError::new(path, e.0))
}
