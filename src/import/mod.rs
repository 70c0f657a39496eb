//! The import engine, free of HTTP and storage: the `importRequest` model, row sources, mapping
//! rows to record drafts, value coercion, write planning and row errors.

pub mod apply;
pub mod cells;
pub mod coerce;
pub mod encoding;
#[cfg(test)]
mod fuzz;
mod identity;
pub mod links;
pub mod mapping;
pub mod properties;
pub mod request;
pub mod row_error;
pub mod sheet;
pub mod source;

pub use request::{ColumnMapping, ImportRequest, Operation};
pub use row_error::{ErrorType, RowError};

/// HubSpot's import lifecycle: STARTED → PROCESSING → DONE | FAILED | CANCELED.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportState {
    Started,
    Processing,
    Done,
    Failed,
    Canceled,
    Deferred,
}

impl ImportState {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportState::Started => "STARTED",
            ImportState::Processing => "PROCESSING",
            ImportState::Done => "DONE",
            ImportState::Failed => "FAILED",
            ImportState::Canceled => "CANCELED",
            ImportState::Deferred => "DEFERRED",
        }
    }

    pub const ALL: [ImportState; 6] = [
        ImportState::Started,
        ImportState::Processing,
        ImportState::Done,
        ImportState::Failed,
        ImportState::Canceled,
        ImportState::Deferred,
    ];

    pub fn parse(s: &str) -> Option<ImportState> {
        ImportState::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// States from which a cancel is still possible (HubSpot: STARTED, PROCESSING, DEFERRED).
    pub const CANCELABLE: [&'static str; 3] = ["STARTED", "PROCESSING", "DEFERRED"];

    /// States an import never leaves.
    pub const FINISHED: [&'static str; 3] = ["DONE", "FAILED", "CANCELED"];

    pub fn is_finished(self) -> bool {
        matches!(
            self,
            ImportState::Done | ImportState::Failed | ImportState::Canceled
        )
    }
}
