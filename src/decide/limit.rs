//! Whether a hit the visitor policy counts may make a new counter: the
//! server-wide `--max-counters` first, then the client's
//! `--new-counters-per-hour` (`clients.rs`). The rate limit per client is
//! `Clients::may_count`. Pure: the caller passes the counts and the
//! client's budget, and acts on the answer (metrics, log, proxy hint).

/// What the limits say about a hit that would make a new counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewCounter {
    Allowed,
    /// `--max-counters` counters exist already.
    MaxCounters,
    /// The client made its `--new-counters-per-hour` this hour.
    NewCounters,
}

impl NewCounter {
    /// The `reason` label of the not-counted metric.
    pub fn label(self) -> &'static str {
        match self {
            NewCounter::Allowed => "",
            NewCounter::MaxCounters => "max_counters",
            NewCounter::NewCounters => "new_counters",
        }
    }
}

/// `max`: `--max-counters` (0: no limit); `counters`: how many exist.
/// `client_may` takes one from the client's hourly budget, so it is asked
/// only when the server-wide limit lets the hit through.
pub fn new_counter(max: u64, counters: u64, client_may: impl FnOnce() -> bool) -> NewCounter {
    if max > 0 && counters >= max {
        NewCounter::MaxCounters
    } else if client_may() {
        NewCounter::Allowed
    } else {
        NewCounter::NewCounters
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_limit_asks_only_the_client() {
        assert_eq!(new_counter(0, u64::MAX, || true), NewCounter::Allowed);
        assert_eq!(new_counter(0, 5, || false), NewCounter::NewCounters);
    }

    #[test]
    fn max_counters_refuses_without_taking_from_the_clients_budget() {
        let mut asked = false;
        let verdict = new_counter(3, 3, || {
            asked = true;
            true
        });
        assert_eq!(verdict, NewCounter::MaxCounters);
        assert!(!asked);
        assert_eq!(new_counter(3, 4, || true), NewCounter::MaxCounters);
    }

    #[test]
    fn below_max_counters_the_clients_budget_decides() {
        assert_eq!(new_counter(3, 2, || true), NewCounter::Allowed);
        assert_eq!(new_counter(3, 2, || false), NewCounter::NewCounters);
    }

    #[test]
    fn labels_name_the_limit() {
        assert_eq!(NewCounter::MaxCounters.label(), "max_counters");
        assert_eq!(NewCounter::NewCounters.label(), "new_counters");
    }
}
