//! The failures badge in every page's header: how many messages failed and
//! how many jobs wait in the dead-letter queue, beside the "Failures" link.
//! The figures come from the dashboard's snapshot (`dashboard::badge`); a
//! web built without the operator's side has no link and no badge.

/// The header's figures; zero when not known (the badge is then hidden).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Badge {
    /// Messages whose status is `fail`.
    pub failed: u64,
    /// Jobs in the dead-letter queue.
    pub dead_letters: u64,
}
