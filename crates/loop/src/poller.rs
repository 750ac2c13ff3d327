//! The loop's OS wait: mio's `Poll` (epoll, kqueue, IOCP), the `Waker` that
//! other threads notify it through, and on Linux a timerfd for deadlines.
//!
//! Why mio: a wait costs one system call. `epoll_wait` returns for the
//! waker's eventfd (edge-triggered, so nothing re-arms it) or for the
//! timerfd; `polling`, used before, re-armed its own timerfd and its
//! notifier around every wait, five system calls in all, which the wake-up
//! latency showed (`docs/benchmarks.md`, history of 2026-12-02). mio is also
//! what tokio waits in, and the I/O that comes later registers its sources
//! with the same `Registry`.
//!
//! Why a timerfd: epoll's timeout is in milliseconds (mio rounds it up), so
//! a timer would run up to a millisecond late. The timerfd keeps the
//! deadline to the microsecond, and it is armed only when the deadline
//! changes: waiting again for the same deadline, or with none while none is
//! armed, costs no extra call. Elsewhere, or if the timerfd cannot be made,
//! the deadline goes to mio as its timeout, as asyncio rounds it for
//! `select`.

use std::io;
use std::time::{Duration, Instant};

use mio::event::Event;
use mio::{Events, Poll, Token, Waker};

use crate::sources::{READABLE, READ_CLOSED, WRITABLE, WRITE_CLOSED};

/// The waker's token.
const NOTIFY: Token = Token(0);
/// The timerfd's token.
#[cfg(target_os = "linux")]
const TIMER: Token = Token(1);

/// What other threads notify a waiting loop through.
pub(crate) type Notifier = Waker;

/// The loop thread's side of the wait.
pub(crate) struct Poller {
    poll: Poll,
    events: Events,
    /// The I/O events of the last poll not yet taken: token and readiness.
    io: Vec<(usize, u8)>,
    /// Whether `events` has grown to its I/O capacity.
    grown: bool,
    #[cfg(target_os = "linux")]
    timer: Option<timer::Timer>,
}

/// Events one poll can return once I/O sources exist (tokio's default);
/// before, only the notifier and the timer can fire.
const IO_EVENTS: usize = 1024;

impl Poller {
    /// A poller and the notifier that interrupts its waits.
    pub(crate) fn new() -> io::Result<(Poller, Notifier)> {
        let poll = Poll::new()?;
        let notifier = Waker::new(poll.registry(), NOTIFY)?;
        #[cfg(target_os = "linux")]
        let timer = timer::Timer::new()
            .and_then(|timer| {
                timer.register(poll.registry(), TIMER)?;
                Ok(timer)
            })
            .ok();
        let poller = Poller {
            poll,
            events: Events::with_capacity(16),
            io: Vec::new(),
            grown: false,
            #[cfg(target_os = "linux")]
            timer,
        };
        Ok((poller, notifier))
    }

    /// Blocks until `deadline` (or for ever), a notification, or an event;
    /// may return early (the caller looks again).
    pub(crate) fn wait(&mut self, deadline: Option<Instant>) {
        if deadline.is_some_and(|deadline| deadline <= Instant::now()) {
            return;
        }
        #[cfg(target_os = "linux")]
        let timeout = match &mut self.timer {
            Some(timer) => match timer.arm(deadline) {
                Ok(()) => None,
                // The timerfd failed: let epoll keep the deadline instead.
                Err(_) => remaining(deadline),
            },
            None => remaining(deadline),
        };
        #[cfg(not(target_os = "linux"))]
        let timeout = remaining(deadline);
        self.poll(timeout);
    }

    /// Polls without waiting, for I/O events (asyncio polls with a zero
    /// timeout when callbacks are ready).
    pub(crate) fn poll_now(&mut self) {
        self.poll(Some(Duration::ZERO));
    }

    fn poll(&mut self, timeout: Option<Duration>) {
        // An error (EINTR, say) is an early return.
        let _ = self.poll.poll(&mut self.events, timeout);
        for event in self.events.iter() {
            match event.token() {
                NOTIFY => {}
                #[cfg(target_os = "linux")]
                TIMER => {
                    if let Some(timer) = &mut self.timer {
                        timer.fired();
                    }
                }
                Token(token) => self.io.push((token, readiness(event))),
            }
        }
    }

    /// The I/O events of the polls since they were last cleared, in the
    /// order the OS reported them (the caller clears them, keeping the
    /// buffer: no allocation per poll).
    pub(crate) fn events_mut(&mut self) -> &mut Vec<(usize, u8)> {
        &mut self.io
    }

    /// Registers `fd` under `token` for both directions (edge-triggered).
    #[cfg(unix)]
    pub(crate) fn register(&mut self, fd: std::os::fd::RawFd, token: usize) -> io::Result<()> {
        use mio::Interest;
        if !self.grown {
            self.grown = true;
            self.events = Events::with_capacity(IO_EVENTS);
        }
        self.poll.registry().register(
            &mut mio::unix::SourceFd(&fd),
            Token(token),
            Interest::READABLE | Interest::WRITABLE,
        )
    }

    /// Deregisters `fd` (an error, such as a descriptor closed meanwhile,
    /// is the caller's to ignore).
    #[cfg(unix)]
    pub(crate) fn deregister(&mut self, fd: std::os::fd::RawFd) -> io::Result<()> {
        self.poll
            .registry()
            .deregister(&mut mio::unix::SourceFd(&fd))
    }
}

/// An event's readiness bits. As asyncio's selector reads epoll's, an
/// error makes both directions ready, so that the operation that then
/// runs reports it; a closed side (the peer's FIN, a hang-up, an error) is
/// a bit of its own, which operations do not clear (tokio keeps its
/// `READ_CLOSED` the same way): after a short read that drained the data,
/// the FIN that came with it is still there to read.
fn readiness(event: &Event) -> u8 {
    let mut bits = 0;
    if event.is_readable() {
        bits |= READABLE;
    }
    if event.is_writable() {
        bits |= WRITABLE;
    }
    if event.is_read_closed() || event.is_error() {
        bits |= READ_CLOSED;
    }
    if event.is_write_closed() || event.is_error() {
        bits |= WRITE_CLOSED;
    }
    bits
}

/// The time left until `deadline`, for mio's timeout.
fn remaining(deadline: Option<Instant>) -> Option<Duration> {
    deadline.map(|deadline| deadline.saturating_duration_since(Instant::now()))
}

#[cfg(target_os = "linux")]
mod timer {
    //! A `CLOCK_MONOTONIC` timerfd (the clock `Instant` reads on Linux).

    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::time::Instant;

    use mio::unix::SourceFd;
    use mio::{Interest, Registry, Token};

    pub(super) struct Timer {
        fd: OwnedFd,
        /// The deadline it is armed for, if any.
        armed: Option<Instant>,
    }

    impl Timer {
        pub(super) fn new() -> io::Result<Timer> {
            // SAFETY: a plain system call with constant arguments; it returns
            // a new descriptor or -1.
            let fd = unsafe {
                libc::timerfd_create(
                    libc::CLOCK_MONOTONIC,
                    libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
                )
            };
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: `fd` was just returned open by `timerfd_create`, and
            // nothing else owns it.
            let fd = unsafe { OwnedFd::from_raw_fd(fd) };
            Ok(Timer { fd, armed: None })
        }

        pub(super) fn register(&self, registry: &Registry, token: Token) -> io::Result<()> {
            registry.register(
                &mut SourceFd(&self.fd.as_raw_fd()),
                token,
                Interest::READABLE,
            )
        }

        /// Arms the timer for `deadline`, or disarms it for `None`, unless it
        /// is armed so already.
        pub(super) fn arm(&mut self, deadline: Option<Instant>) -> io::Result<()> {
            if self.armed == deadline {
                return Ok(());
            }
            let value = match deadline {
                // A zero value would disarm it: a deadline now or past is a
                // nanosecond away.
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    libc::timespec {
                        tv_sec: left.as_secs().min(i64::MAX as u64) as libc::time_t,
                        tv_nsec: left.subsec_nanos().max(u32::from(left.is_zero())) as _,
                    }
                }
                None => libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                },
            };
            let spec = libc::itimerspec {
                it_interval: libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                },
                it_value: value,
            };
            // SAFETY: `fd` is an open timerfd; `spec` is a valid, readable
            // `itimerspec`, and the old value is not asked for (null).
            let status = unsafe {
                libc::timerfd_settime(self.fd.as_raw_fd(), 0, &spec, std::ptr::null_mut())
            };
            if status < 0 {
                self.armed = None;
                return Err(io::Error::last_os_error());
            }
            self.armed = deadline;
            Ok(())
        }

        /// The timer expired: read its count (which clears it) and note it is
        /// no longer armed.
        pub(super) fn fired(&mut self) {
            let mut count = 0u64;
            // SAFETY: `fd` is an open, non-blocking timerfd; `count` is eight
            // writable bytes, which is what a timerfd read writes. A failed
            // read (nothing to read) changes nothing.
            let _ = unsafe {
                libc::read(
                    self.fd.as_raw_fd(),
                    std::ptr::addr_of_mut!(count).cast(),
                    std::mem::size_of::<u64>(),
                )
            };
            self.armed = None;
        }
    }
}

// Real clocks and real system calls: a few, with generous bounds (a loaded
// machine can only make a wait longer). Miri cannot make a poller.
#[cfg(all(test, not(miri)))]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_wait_ends_once_its_deadline_passes() {
        let (mut poller, _notifier) = Poller::new().unwrap();
        for delay in [Duration::from_micros(300), Duration::from_millis(20)] {
            let start = Instant::now();
            let deadline = start + delay;
            // Early returns are allowed; the caller waits again.
            while Instant::now() < deadline {
                poller.wait(Some(deadline));
            }
            assert!(start.elapsed() < delay + Duration::from_secs(2));
        }
        // A deadline already past returns at once.
        let start = Instant::now();
        poller.wait(Some(start));
        assert!(start.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn a_notification_ends_a_wait_and_a_later_deadline_gives_way_to_an_earlier_one() {
        let (mut poller, notifier) = Poller::new().unwrap();
        let notifier = std::sync::Arc::new(notifier);
        let remote = std::sync::Arc::clone(&notifier);
        let waker = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            remote.wake().unwrap();
        });
        // Armed for an hour, woken after 20 ms.
        let start = Instant::now();
        poller.wait(Some(start + Duration::from_secs(3600)));
        assert!(start.elapsed() < Duration::from_secs(60));
        waker.join().unwrap();
        // The timer is re-armed for the earlier deadline, not left at an hour.
        let start = Instant::now();
        let deadline = start + Duration::from_millis(20);
        while Instant::now() < deadline {
            poller.wait(Some(deadline));
        }
        assert!(start.elapsed() < Duration::from_secs(60));
        // And with no deadline, only a notification ends the wait.
        notifier.wake().unwrap();
        poller.wait(None);
    }
}
