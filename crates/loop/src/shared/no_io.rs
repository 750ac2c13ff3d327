//! Where the loop has no I/O sources (not Unix): its I/O step does nothing.

use super::Shared;

impl Shared {
    #[inline]
    pub(super) fn io_waits(&self) -> bool {
        false
    }

    #[inline]
    pub(super) fn io_rechecks(&self) -> bool {
        false
    }

    pub(super) fn poll_io_now(&self) {}

    pub(super) fn queue_io(&self) {}

    pub(super) fn clear_sources(&self) {}
}
