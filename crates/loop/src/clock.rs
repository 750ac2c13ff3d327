//! The loop's clock: the real monotonic clock, or a [`ManualClock`] that
//! tests move by hand; and the two ways of saying when: a [`Delay`] and a
//! [`When`].
//!
//! Time is kept as an [`Instant`]; [`EventLoop::time`](crate::EventLoop::time)
//! shows it as asyncio's `loop.time()` does, seconds as an `f64`, counted
//! from a fixed point of this process (the first time any loop asked).

use std::cell::Cell;
use std::fmt;
use std::rc::Rc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The instant `time()` counts from: fixed for the life of the process.
pub(crate) fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// The longest delay kept as it is: about 31 years. Longer ones (and
/// infinity) are cut to it, so that no deadline overflows an `Instant`.
const LONGEST: Duration = Duration::from_secs(1 << 30);

/// `seconds` as a `Duration`: negative and NaN count as zero, anything past
/// [`LONGEST`] as `LONGEST`.
fn from_seconds(seconds: f64) -> Duration {
    if seconds.is_nan() || seconds <= 0.0 {
        Duration::ZERO
    } else if seconds >= LONGEST.as_secs_f64() {
        LONGEST
    } else {
        Duration::from_secs_f64(seconds)
    }
}

/// How long to wait: a `Duration`, or seconds as an `f64` as in asyncio
/// (`call_later(0.2, ...)`). A negative (or NaN) delay is no delay.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use asyncio_loop::Delay;
///
/// assert_eq!(Delay::from(0.25).duration(), Duration::from_millis(250));
/// assert_eq!(Delay::from(Duration::from_secs(2)).duration(), Duration::from_secs(2));
/// assert_eq!(Delay::from(-1.0).duration(), Duration::ZERO);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Delay(Duration);

impl Delay {
    /// The delay as a `Duration`.
    pub fn duration(self) -> Duration {
        self.0
    }
}

impl From<Duration> for Delay {
    fn from(duration: Duration) -> Self {
        Delay(duration.min(LONGEST))
    }
}

impl From<f64> for Delay {
    fn from(seconds: f64) -> Self {
        Delay(from_seconds(seconds))
    }
}

/// A point in the loop's time: an `Instant`, or seconds on the loop's clock
/// as an `f64`, as asyncio's `call_at(loop.time() + 0.2, ...)` gives it.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// use asyncio_loop::{EventLoop, When};
///
/// let event_loop = EventLoop::new();
/// let now = event_loop.time();
/// let soon = When::from(now + 0.5);
/// let also_soon = When::from(Instant::now() + Duration::from_millis(500));
/// # let _ = (soon, also_soon);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct When(WhenRepr);

#[derive(Clone, Copy, Debug, PartialEq)]
enum WhenRepr {
    Instant(Instant),
    Seconds(f64),
}

impl When {
    /// The point this names in the seconds of a loop's
    /// [`time()`](crate::EventLoop::time).
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_loop::When;
    ///
    /// assert_eq!(When::from(2.5).seconds(), 2.5);
    /// ```
    pub fn seconds(self) -> f64 {
        match self.0 {
            WhenRepr::Instant(_) => seconds(self.nanos()),
            WhenRepr::Seconds(seconds) => seconds,
        }
    }

    /// The point this names, in nanoseconds since the epoch.
    pub(crate) fn nanos(self) -> Nanos {
        match self.0 {
            WhenRepr::Instant(instant) => nanos(instant),
            WhenRepr::Seconds(seconds) => duration_nanos(from_seconds(seconds)),
        }
    }
}

impl From<Instant> for When {
    fn from(instant: Instant) -> Self {
        When(WhenRepr::Instant(instant))
    }
}

impl From<f64> for When {
    fn from(seconds: f64) -> Self {
        When(WhenRepr::Seconds(seconds))
    }
}

/// A point on a loop's clock: nanoseconds since the epoch (about 584 years
/// fit). Timers keep their deadlines in this form, so that a manual clock
/// never does `Instant` arithmetic and the real one does it once per read.
pub(crate) type Nanos = u64;

/// `duration` in nanoseconds, saturating.
pub(crate) fn duration_nanos(duration: Duration) -> Nanos {
    Nanos::try_from(duration.as_nanos()).unwrap_or(Nanos::MAX)
}

/// `instant` as nanoseconds since the epoch.
pub(crate) fn nanos(instant: Instant) -> Nanos {
    duration_nanos(instant.saturating_duration_since(epoch()))
}

/// Nanoseconds since the epoch as an `Instant`.
pub(crate) fn instant(nanos: Nanos) -> Instant {
    epoch() + Duration::from_nanos(nanos)
}

/// Nanoseconds since the epoch in seconds, as `time()` shows them.
pub(crate) fn seconds(nanos: Nanos) -> f64 {
    Duration::from_nanos(nanos).as_secs_f64()
}

/// A clock that moves only when it is told to: the loop's time for tests.
///
/// A loop built with [`EventLoop::with_clock`](crate::EventLoop::with_clock)
/// never sleeps for real. Its time starts at 0.0 and moves when the test
/// calls [`advance`](Self::advance), or, when the loop has nothing ready to
/// run and a timer pending, jumps straight to the earliest deadline (as
/// tokio's paused time and CPython's `TestLoop` do). So a test of timers
/// runs in no time, and its order is exact.
///
/// Cloning gives another handle to the same clock.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use asyncio_loop::{EventLoop, ManualClock};
///
/// let clock = ManualClock::new();
/// let event_loop = EventLoop::with_clock(&clock);
/// assert_eq!(event_loop.time(), 0.0);
/// let handle = event_loop.handle();
/// event_loop.call_later(3600.0, move || handle.stop()).unwrap();
/// event_loop.run_forever().unwrap(); // an hour, at once
/// assert_eq!(event_loop.time(), 3600.0);
/// clock.advance(Duration::from_millis(500));
/// assert_eq!(event_loop.time(), 3600.5);
/// ```
#[derive(Clone, Default)]
pub struct ManualClock {
    /// Time since the epoch.
    elapsed: Rc<Cell<Duration>>,
}

impl ManualClock {
    /// A clock at 0.0 seconds.
    pub fn new() -> Self {
        ManualClock::default()
    }

    /// Moves the clock forward by `by`. Timers that come due run on the
    /// loop's next iteration, as they would had the time passed.
    pub fn advance(&self, by: impl Into<Delay>) {
        let by = by.into().duration();
        self.elapsed.set(self.elapsed.get().saturating_add(by));
    }

    /// The clock's time in seconds, as the loop's `time()` shows it.
    pub fn time(&self) -> f64 {
        self.elapsed.get().as_secs_f64()
    }

    /// The clock's time as an `Instant`.
    pub fn now(&self) -> Instant {
        epoch() + self.elapsed.get()
    }

    /// The clock's time in nanoseconds since the epoch.
    pub(crate) fn now_nanos(&self) -> Nanos {
        duration_nanos(self.elapsed.get())
    }

    /// Moves the clock to `target` (nanoseconds since the epoch) if that is
    /// later than now.
    pub(crate) fn advance_to(&self, target: Nanos) {
        let target = Duration::from_nanos(target);
        if target > self.elapsed.get() {
            self.elapsed.set(target);
        }
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ManualClock({:?})", self.elapsed.get())
    }
}

/// Which clock a loop reads.
pub(crate) enum Clock {
    System,
    Manual(ManualClock),
}

impl Clock {
    /// The time now, in nanoseconds since the epoch.
    #[inline]
    pub(crate) fn now_nanos(&self) -> Nanos {
        match self {
            Clock::System => nanos(Instant::now()),
            Clock::Manual(clock) => clock.now_nanos(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_convert_both_ways_and_out_of_range_values_are_clamped() {
        assert_eq!(from_seconds(f64::NAN), Duration::ZERO);
        assert_eq!(from_seconds(-3.0), Duration::ZERO);
        assert_eq!(from_seconds(f64::INFINITY), LONGEST);
        assert_eq!(Delay::from(Duration::MAX).duration(), LONGEST);
        let at = When::from(1.5).nanos();
        assert_eq!(seconds(at), 1.5);
        assert_eq!(When::from(-1.0).nanos(), 0);
        assert_eq!(
            When::from(epoch() + Duration::from_millis(3)).nanos(),
            3_000_000
        );
        assert_eq!(nanos(instant(123_456_789)), 123_456_789);
    }

    #[test]
    fn a_manual_clock_moves_only_forward_and_only_when_told() {
        let clock = ManualClock::new();
        assert_eq!(clock.time(), 0.0);
        clock.advance(0.25);
        clock.advance(Duration::from_millis(250));
        assert_eq!(clock.time(), 0.5);
        clock.advance_to(0);
        assert_eq!(clock.time(), 0.5, "never backwards");
        clock.advance_to(2_000_000_000);
        assert_eq!(clock.time(), 2.0);
        let other = clock.clone();
        other.advance(1.0);
        assert_eq!(clock.time(), 3.0, "clones share the clock");
    }
}
