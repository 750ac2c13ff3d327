//! The order of a protocol's calls as a checked state machine (IO9):
//! `connection_made`, then any number of `data_received` (or
//! `get_buffer`/`buffer_updated`), then at most one `eof_received`, then
//! exactly one `connection_lost`; `pause_writing`/`resume_writing` only
//! between `connection_made` and `connection_lost`.
//!
//! The transport asks [`Phase::enter`] before every call and makes the call
//! only if it is allowed, so a protocol never sees an order asyncio would
//! not give it, whatever path through the transport led there.

/// Where a connection is in its protocol's life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Before `connection_made`.
    Starting,
    /// After `connection_made`: data may come.
    Made,
    /// After `eof_received`: no more data.
    Eof,
    /// `connection_lost` was called, or the connection ended before it was
    /// made (then the protocol gets no call at all).
    Lost,
}

/// A call of the protocol, by what it means for the order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Call {
    /// `connection_made`.
    Made,
    /// `data_received`, or `get_buffer` and `buffer_updated`.
    Data,
    /// `eof_received`.
    Eof,
    /// `pause_writing` or `resume_writing`.
    Flow,
    /// `connection_lost`.
    Lost,
}

impl Phase {
    /// The phase after `call`, or `None` if `call` is not allowed now.
    pub(crate) fn after(self, call: Call) -> Option<Phase> {
        match (self, call) {
            (Phase::Starting, Call::Made) => Some(Phase::Made),
            (Phase::Made, Call::Data | Call::Flow) => Some(Phase::Made),
            (Phase::Made, Call::Eof) => Some(Phase::Eof),
            (Phase::Eof, Call::Flow) => Some(Phase::Eof),
            (Phase::Made | Phase::Eof, Call::Lost) => Some(Phase::Lost),
            _ => None,
        }
    }

    /// Moves to the phase after `call` and says whether the call may be
    /// made; a call out of order leaves the phase as it is.
    pub(crate) fn enter(&mut self, call: Call) -> bool {
        match self.after(call) {
            Some(next) => {
                *self = next;
                true
            }
            None => false,
        }
    }

    /// Whether `connection_lost` was called or can no longer be.
    pub(crate) fn is_lost(self) -> bool {
        self == Phase::Lost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CALLS: [Call; 5] = [Call::Made, Call::Data, Call::Eof, Call::Flow, Call::Lost];

    /// Whether `calls` is an order asyncio's `Protocol` docstring allows:
    /// `made data* eof? lost`, with flow calls anywhere after `made` and
    /// before `lost`. Written apart from `Phase` so the two check each
    /// other.
    fn allowed(calls: &[Call]) -> bool {
        let Some((Call::Made, rest)) = calls.split_first() else {
            return calls.is_empty();
        };
        let lost_at = rest.iter().position(|call| *call == Call::Lost);
        if let Some(at) = lost_at {
            if at + 1 != rest.len() {
                return false;
            }
        }
        let middle: Vec<Call> = rest
            .iter()
            .copied()
            .filter(|call| !matches!(call, Call::Flow | Call::Lost))
            .collect();
        let eofs = middle.iter().filter(|call| **call == Call::Eof).count();
        let data_after_eof = middle
            .iter()
            .skip_while(|call| **call != Call::Eof)
            .any(|call| *call == Call::Data);
        !middle.contains(&Call::Made) && eofs <= 1 && !data_after_eof
    }

    /// Every sequence of up to five calls: the phase admits exactly the
    /// orders asyncio allows.
    #[test]
    fn the_phase_admits_exactly_asyncios_orders() {
        let mut sequences: Vec<Vec<Call>> = vec![Vec::new()];
        let mut frontier = sequences.clone();
        for _ in 0..5 {
            frontier = frontier
                .iter()
                .flat_map(|sequence| {
                    CALLS.iter().map(move |call| {
                        let mut next = sequence.clone();
                        next.push(*call);
                        next
                    })
                })
                .collect();
            sequences.extend(frontier.iter().cloned());
        }
        let mut checked = 0;
        for sequence in &sequences {
            let mut phase = Phase::Starting;
            let admitted = sequence.iter().all(|call| phase.enter(*call));
            assert_eq!(admitted, allowed(sequence), "{sequence:?}");
            checked += 1;
        }
        assert_eq!(checked, 1 + 5 + 25 + 125 + 625 + 3125);
    }

    #[test]
    fn a_refused_call_leaves_the_phase() {
        let mut phase = Phase::Starting;
        assert!(!phase.enter(Call::Data));
        assert_eq!(phase, Phase::Starting);
        assert!(phase.enter(Call::Made));
        assert!(phase.enter(Call::Eof));
        assert!(!phase.enter(Call::Data));
        assert!(!phase.enter(Call::Eof));
        assert!(phase.enter(Call::Lost));
        assert!(phase.is_lost());
        assert!(!phase.enter(Call::Lost));
        assert!(!phase.enter(Call::Flow));
    }
}
