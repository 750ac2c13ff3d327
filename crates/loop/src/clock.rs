//! The loop's clock: the real monotonic clock, or a [`ManualClock`] that
//! tests move by hand; and the two ways of saying when: a [`Delay`] and a
//! [`When`].
//!
//! Time is kept as an [`Instant`]; [`EventLoop::time`](crate::LoopHandle::time)
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

/// `Nanos` of the epoch itself. Points in loop time are kept as this plus
/// the nanoseconds since the epoch, so that a deadline before the epoch (a
/// negative delay on a fresh manual clock, asyncio's `now + delay`) is still
/// a point, and ordered as asyncio orders it. About 146 years fit before it.
const EPOCH_NANOS: Nanos = 1 << 62;

/// The deadline that never comes: an infinite delay, or one so long (about
/// 438 years) that no clock reaches it. A timer at `NEVER` never runs, and a
/// loop never waits for it.
pub(crate) const NEVER: Nanos = Nanos::MAX;

/// `nanos` from a signed count of nanoseconds since the epoch, clamped to
/// the points there are (the earliest, and [`NEVER`]).
fn point(since_epoch: i128) -> Nanos {
    let point = i128::from(EPOCH_NANOS).saturating_add(since_epoch);
    Nanos::try_from(point.max(0)).unwrap_or(NEVER)
}

/// How long to wait: a `Duration`, or seconds as an `f64` as in asyncio
/// (`call_later(0.2, ...)`).
///
/// As in asyncio, a deadline is `now + delay`: a negative delay names a
/// point in the past (so `call_later(-2.0, b)` runs before
/// `call_later(-1.0, a)`, both on the next iteration), and an infinite one
/// (`f64::INFINITY`, `Duration::MAX`, or anything past about 438 years)
/// never comes. A NaN delay is no delay.
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
/// assert_eq!(Delay::from(-1.0).seconds(), -1.0);
/// assert!(Delay::from(f64::INFINITY).is_infinite());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Delay {
    /// Signed nanoseconds; `i128::MAX` is infinite.
    nanos: i128,
}

impl Delay {
    /// The infinite delay.
    const INFINITE: Delay = Delay { nanos: i128::MAX };

    /// The delay as a `Duration`: zero for a negative one, `Duration::MAX`
    /// for an infinite one.
    pub fn duration(self) -> Duration {
        if self.is_infinite() {
            return Duration::MAX;
        }
        let nanos = u128::try_from(self.nanos.max(0)).unwrap_or(0);
        Duration::new(
            u64::try_from(nanos / 1_000_000_000).unwrap_or(u64::MAX),
            (nanos % 1_000_000_000) as u32,
        )
    }

    /// The delay in seconds, negative for a negative one, `f64::INFINITY`
    /// for an infinite one.
    pub fn seconds(self) -> f64 {
        if self.is_infinite() {
            f64::INFINITY
        } else {
            self.nanos as f64 / 1e9
        }
    }

    /// Whether the delay never ends.
    pub fn is_infinite(self) -> bool {
        self == Delay::INFINITE
    }

    /// Whether the delay is zero or negative: asyncio's `sleep` only yields.
    pub(crate) fn is_none(self) -> bool {
        self.nanos <= 0
    }

    /// The point this delay after `now`.
    pub(crate) fn after(self, now: Nanos) -> Nanos {
        if self.is_infinite() {
            return NEVER;
        }
        point(i128::from(now) - i128::from(EPOCH_NANOS) + self.nanos)
    }
}

impl fmt::Debug for Delay {
    /// In seconds: `Delay(0.25s)`, `Delay(-1s)`, `Delay(infs)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Delay({}s)", self.seconds())
    }
}

impl From<Duration> for Delay {
    fn from(duration: Duration) -> Self {
        match i128::try_from(duration.as_nanos()) {
            Ok(nanos) if duration != Duration::MAX => Delay { nanos },
            _ => Delay::INFINITE,
        }
    }
}

impl From<f64> for Delay {
    fn from(seconds: f64) -> Self {
        if seconds.is_nan() {
            Delay { nanos: 0 }
        } else if seconds == f64::INFINITY {
            Delay::INFINITE
        } else {
            // `as` saturates: -inf is the most negative delay there is.
            Delay {
                nanos: (seconds * 1e9) as i128,
            }
        }
    }
}

/// A point in the loop's time: an `Instant`, or seconds on the loop's clock
/// as an `f64`, as asyncio's `call_at(loop.time() + 0.2, ...)` gives it.
/// Seconds may be negative (before the epoch, which is always in the past)
/// or infinite (a point that never comes).
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
    /// [`time()`](crate::LoopHandle::time).
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

    /// The point this names.
    pub(crate) fn nanos(self) -> Nanos {
        match self.0 {
            WhenRepr::Instant(instant) => nanos(instant),
            WhenRepr::Seconds(seconds) if seconds.is_nan() => EPOCH_NANOS,
            WhenRepr::Seconds(seconds) if seconds == f64::INFINITY => NEVER,
            WhenRepr::Seconds(seconds) => point((seconds * 1e9) as i128),
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

/// A point on a loop's clock: [`EPOCH_NANOS`] plus the nanoseconds since the
/// epoch (signed), or [`NEVER`]. Timers keep their deadlines in this form, so
/// that a manual clock never does `Instant` arithmetic and the real one does
/// it once per read.
pub(crate) type Nanos = u64;

/// `instant` as a point.
pub(crate) fn nanos(instant: Instant) -> Nanos {
    let epoch = epoch();
    let since = match instant.checked_duration_since(epoch) {
        Some(after) => i128::try_from(after.as_nanos()).unwrap_or(i128::MAX),
        None => -i128::try_from(epoch.duration_since(instant).as_nanos()).unwrap_or(i128::MAX),
    };
    point(since)
}

/// A point as an `Instant` (the furthest one an `Instant` can hold, for
/// points out of its range).
pub(crate) fn instant(nanos: Nanos) -> Instant {
    let epoch = epoch();
    if nanos >= EPOCH_NANOS {
        let after = Duration::from_nanos(nanos - EPOCH_NANOS);
        epoch
            .checked_add(after)
            .unwrap_or_else(|| epoch + Duration::from_secs(1 << 30))
    } else {
        let before = Duration::from_nanos(EPOCH_NANOS - nanos);
        epoch.checked_sub(before).unwrap_or(epoch)
    }
}

/// A point in seconds since the epoch, as `time()` shows it
/// (`f64::INFINITY` for [`NEVER`]).
pub(crate) fn seconds(nanos: Nanos) -> f64 {
    if nanos == NEVER {
        return f64::INFINITY;
    }
    (i128::from(nanos) - i128::from(EPOCH_NANOS)) as f64 / 1e9
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
/// The jump waits, in real time, while an executor job (any
/// [`Completer`](crate::Completer)) is outstanding, so that work running
/// on other threads is not timed out by a jump; and
/// [`run_once(Some(t))`](crate::EventLoop::run_once) moves the clock by at
/// most `t` (zero: not at all), so a test can step time by hand with
/// `advance` and `run_once(Some(Duration::ZERO))`. A deadline that never
/// comes (an infinite delay) is never jumped to.
///
/// With I/O in flight (a reader or writer waiting on a socket, a watched
/// descriptor), a peer could still deliver something that the next
/// deadline would otherwise time out: the loop first waits for I/O for
/// [`io_grace`](Self::io_grace) of real time (100 ms unless
/// [`set_io_grace`](Self::set_io_grace) says otherwise), then jumps, as
/// trio's `MockClock.autojump_threshold` does.
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
#[derive(Clone)]
pub struct ManualClock {
    /// Time since the epoch.
    elapsed: Rc<Cell<Duration>>,
    /// How long a wait with I/O in flight lasts before a jump.
    grace: Rc<Cell<Duration>>,
}

/// [`ManualClock::io_grace`] unless set.
const DEFAULT_IO_GRACE: Duration = Duration::from_millis(100);

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock {
            elapsed: Rc::default(),
            grace: Rc::new(Cell::new(DEFAULT_IO_GRACE)),
        }
    }
}

impl ManualClock {
    /// A clock at 0.0 seconds.
    pub fn new() -> Self {
        ManualClock::default()
    }

    /// How long, in real time, a loop on this clock waits for I/O in
    /// flight before it jumps to the next deadline (100 ms by default).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use asyncio_loop::ManualClock;
    ///
    /// let clock = ManualClock::new();
    /// assert_eq!(clock.io_grace(), Duration::from_millis(100));
    /// clock.set_io_grace(Duration::from_millis(5));
    /// assert_eq!(clock.clone().io_grace(), Duration::from_millis(5));
    /// ```
    pub fn io_grace(&self) -> Duration {
        self.grace.get()
    }

    /// Sets [`io_grace`](Self::io_grace) (for every clone of this clock).
    pub fn set_io_grace(&self, grace: Duration) {
        self.grace.set(grace);
    }

    /// Moves the clock forward by `by` (a negative delay moves it not at
    /// all: it never goes back). Timers that come due run on the loop's
    /// next iteration, as they would had the time passed.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_loop::ManualClock;
    ///
    /// let clock = ManualClock::new();
    /// clock.advance(1.5);
    /// clock.advance(-1.0);
    /// assert_eq!(clock.time(), 1.5);
    /// ```
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
        instant(self.now_nanos())
    }

    /// The clock's time as a point (short of [`NEVER`], however far it
    /// was moved).
    pub(crate) fn now_nanos(&self) -> Nanos {
        let since = i128::try_from(self.elapsed.get().as_nanos()).unwrap_or(i128::MAX);
        point(since).min(NEVER - 1)
    }

    /// Moves the clock to `target` if that is later than now ([`NEVER`]
    /// is never reached).
    pub(crate) fn advance_to(&self, target: Nanos) {
        if target == NEVER || target <= EPOCH_NANOS {
            return;
        }
        let target = Duration::from_nanos(target - EPOCH_NANOS);
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
        assert_eq!(Delay::from(f64::NAN).duration(), Duration::ZERO);
        assert_eq!(Delay::from(-3.0).duration(), Duration::ZERO);
        assert_eq!(Delay::from(-3.0).seconds(), -3.0);
        assert!(Delay::from(-3.0).is_none());
        assert!(Delay::from(f64::INFINITY).is_infinite());
        assert!(Delay::from(Duration::MAX).is_infinite());
        assert_eq!(Delay::from(f64::INFINITY).duration(), Duration::MAX);
        assert_eq!(Delay::from(f64::NEG_INFINITY).after(EPOCH_NANOS), 0);
        assert_eq!(
            Delay::from(1e300).after(EPOCH_NANOS),
            NEVER,
            "past the range"
        );
        let at = When::from(1.5).nanos();
        assert_eq!(seconds(at), 1.5);
        assert_eq!(seconds(When::from(-1.0).nanos()), -1.0, "before the epoch");
        assert_eq!(When::from(f64::INFINITY).nanos(), NEVER);
        assert_eq!(seconds(NEVER), f64::INFINITY);
        assert_eq!(
            When::from(epoch() + Duration::from_millis(3)).nanos(),
            EPOCH_NANOS + 3_000_000
        );
        let point = EPOCH_NANOS + 123_456_789;
        assert_eq!(nanos(instant(point)), point);
        assert_eq!(Delay::from(-2.0).after(point), point - 2_000_000_000);
        assert!(Delay::from(-2.0).after(point) < Delay::from(-1.0).after(point));
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
        clock.advance(-1.0);
        assert_eq!(clock.time(), 0.5, "never backwards");
        clock.advance_to(EPOCH_NANOS + 2_000_000_000);
        assert_eq!(clock.time(), 2.0);
        clock.advance_to(NEVER);
        assert_eq!(clock.time(), 2.0, "never reaches never");
        let other = clock.clone();
        other.advance(1.0);
        assert_eq!(clock.time(), 3.0, "clones share the clock");
    }
}
