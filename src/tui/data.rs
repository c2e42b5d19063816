//! The workbench's data: what the one pipeline opened, with the pivot index built off the UI
//! thread. Read-only once loaded (the case's allow-list re-marks findings in place).

/// What loading produced (the one pipeline's `Investigation`), with the pivot index.
#[derive(Debug)]
pub struct Investigation {
    pub opened: crate::investigation::Investigation,
    /// Events by pivot field value, so a pivot costs its matches, not a scan of every event.
    pub pivots: crate::pivot::PivotIndex,
}

impl Investigation {
    /// Builds the pivot index (call off the UI thread: it reads every event once).
    pub fn new(opened: crate::investigation::Investigation) -> Self {
        let pivots = crate::pivot::PivotIndex::build(&opened.store);
        Investigation { opened, pivots }
    }
}

impl std::ops::Deref for Investigation {
    type Target = crate::investigation::Investigation;
    fn deref(&self) -> &Self::Target {
        &self.opened
    }
}

impl std::ops::DerefMut for Investigation {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.opened
    }
}
