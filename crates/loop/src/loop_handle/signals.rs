//! Unix signals on the loop: asyncio's `add_signal_handler` and
//! `remove_signal_handler` (`unix_events.py`), on the loop's public I/O API.
//!
//! A handled signal has a socket pair: the process-wide signal action
//! (`signal-hook`'s, async-signal-safe: one non-blocking `send` of one
//! byte) writes to one end, and the other end is a [`Registered`] source of
//! the loop whose reader callback queues the user's callback with
//! `call_soon`, once per byte, as asyncio's self-pipe reader does. So the
//! callback runs on the loop's thread, in a later iteration, never inside
//! the signal handler (IO63).
//!
//! The signal's OS handler, once installed, stays for the life of the
//! process (`signal-hook-registry` cannot take it back); what removal
//! restores is the signal's *effect*: a second, permanent action runs the
//! default disposition (terminate, stop, ignore) whenever no loop handles
//! the signal, so a removed `SIGINT` handler leaves Ctrl-C ending the
//! process, as asyncio's `SIG_DFL` does.
//!
//! State: this thread's handlers, by signal (a `thread_local!`, since
//! loops and their sources are of one thread), and, process-wide, which
//! loop handles each signal and each signal's default switch.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use signal_hook::SigId;

use super::LoopHandle;
use crate::error::SignalProblem;
use crate::{LoopError, Registered};

/// A user's signal callback, shared by the handler and the calls it queued.
type Callback = Rc<RefCell<Box<dyn FnMut()>>>;

/// One handled signal on this thread's loop.
struct Installed {
    loop_id: u64,
    signal: i32,
    /// The reading end of the signal's socket pair.
    source: Registered<UnixStream>,
    /// The action that writes to the other end.
    action: SigId,
    callback: Callback,
}

impl Drop for Installed {
    fn drop(&mut self) {
        // The default first, then no more bytes: a signal that comes in
        // between ends the process as it would with no handler at all.
        let mut process = process();
        if let Some(default) = process.defaults.get(&self.signal) {
            default.store(true, Ordering::SeqCst);
        }
        process.owners.remove(&self.signal);
        drop(process);
        signal_hook::low_level::unregister(self.action);
    }
}

thread_local! {
    /// This thread's handled signals.
    static INSTALLED: RefCell<HashMap<i32, Installed>> = RefCell::new(HashMap::new());
}

/// Which loop handles each signal, and each signal's default switch (true
/// while no loop handles it), for the whole process.
struct Process {
    owners: BTreeMap<i32, u64>,
    defaults: BTreeMap<i32, Arc<AtomicBool>>,
}

static PROCESS: Mutex<Process> = Mutex::new(Process {
    owners: BTreeMap::new(),
    defaults: BTreeMap::new(),
});

fn process() -> MutexGuard<'static, Process> {
    // No user code and no panic runs under this lock, so a poisoned lock
    // still holds consistent data.
    PROCESS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Removes this thread's handler of `signal` if loop `loop_id` installed
/// it (any loop's when `None`), dropping it outside the table's borrow:
/// its source's callback, whose drop comes here again, finds nothing.
fn uninstall(signal: i32, loop_id: Option<u64>) -> bool {
    let removed = INSTALLED
        .try_with(|installed| {
            let mut installed = installed.try_borrow_mut().ok()?;
            match installed.get(&signal) {
                Some(entry) if loop_id.map_or(true, |id| entry.loop_id == id) => {
                    installed.remove(&signal)
                }
                _ => None,
            }
        })
        .ok()
        .flatten();
    let found = removed.is_some();
    drop(removed);
    found
}

/// Owned by a handler's reader callback: when the loop drops that callback
/// (it closed), the handler is removed and the signal's default restored.
struct CloseGuard {
    signal: i32,
    loop_id: u64,
}

impl Drop for CloseGuard {
    fn drop(&mut self) {
        uninstall(self.signal, Some(self.loop_id));
    }
}

/// Whether the OS has signal number `signal` (Python's `valid_signals()`:
/// on Linux 1-31 and the real-time ones, not the two glibc keeps).
fn valid(signal: i32) -> bool {
    if (1..32).contains(&signal) {
        return true;
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    return (libc::SIGRTMIN()..=libc::SIGRTMAX()).contains(&signal);
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    false
}

/// Checks `signal` as asyncio's `_check_signal` does, and refuses what no
/// handler may catch: `SIGKILL` and `SIGSTOP` (the OS), and `SIGSEGV`,
/// `SIGILL`, `SIGFPE` (a handler that returns from those would loop on
/// the faulting instruction; asyncio lets them be set).
fn check(signal: i32) -> Result<(), LoopError> {
    if !valid(signal) {
        return Err(LoopError::refused_signal(signal, SignalProblem::Invalid));
    }
    if signal_hook::consts::FORBIDDEN.contains(&signal) {
        return Err(LoopError::refused_signal(
            signal,
            SignalProblem::Uncatchable,
        ));
    }
    Ok(())
}

/// Reads what the signal's socket holds and queues one call of the
/// callback per byte (one byte per delivery; deliveries the kernel merged
/// are one).
fn deliver(handle: &LoopHandle, signal: i32) {
    let mut bytes = [0; 64];
    loop {
        let read = INSTALLED.with(|installed| {
            let installed = installed.borrow();
            let entry = installed.get(&signal)?;
            let read = entry
                .source
                .try_read_with(|socket| (&mut &*socket).read(&mut bytes));
            Some((read, Rc::clone(&entry.callback)))
        });
        let Some((Ok(count), callback)) = read else {
            return;
        };
        if count == 0 {
            return;
        }
        for _ in 0..count {
            let callback = Rc::clone(&callback);
            let queued = handle.call_soon(move || {
                // A callback that removes or replaces its own handler
                // runs to its end first: the borrow is only this call's.
                if let Ok(mut callback) = callback.try_borrow_mut() {
                    callback();
                }
            });
            if queued.is_err() {
                return;
            }
        }
    }
}

impl LoopHandle {
    /// Calls `callback` on the loop whenever the process receives `signal`
    /// (asyncio's `add_signal_handler`): as an ordinary callback, queued
    /// when the loop sees the signal and run in a later iteration, never
    /// inside the OS signal handler. A handler the loop had for `signal`
    /// is replaced. Arguments are bound by capture.
    ///
    /// Signals are the process's: `signal` is handled by one loop at a
    /// time, on whichever thread runs it (asyncio requires the main
    /// thread; any thread may install here, and the signal may arrive on
    /// any thread). Two deliveries before the loop reads them may be one
    /// (the kernel merges pending standard signals). After
    /// [`remove_signal_handler`](Self::remove_signal_handler), or when the
    /// loop closes, the signal has its default effect again (Ctrl-C ends
    /// the process), except `SIGPIPE`, which Rust programs ignore and which
    /// is ignored again. That default effect comes from an action of ours
    /// that stays registered for the signal, so a handler another library
    /// registers for the same signal later (tokio's `signal`) does not
    /// stop it: use one or the other for a given signal.
    ///
    /// # Errors
    ///
    /// [`LoopErrorKind::Signal`](crate::LoopErrorKind::Signal) for a number
    /// that is no signal (asyncio's `ValueError`), for `SIGKILL`, `SIGSTOP`,
    /// `SIGSEGV`, `SIGILL` and `SIGFPE` (asyncio's `RuntimeError('sig 9
    /// cannot be caught')`), and for a signal another loop handles;
    /// [`is_closed`](LoopError::is_closed) on a closed loop; the OS error
    /// if no socket pair can be made.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_loop::EventLoop;
    ///
    /// let event_loop = EventLoop::new();
    /// let handle = event_loop.handle();
    /// let stopper = handle.clone();
    /// event_loop
    ///     .add_signal_handler(libc::SIGUSR1, move || {
    ///         println!("got SIGUSR1");
    ///         stopper.stop();
    ///     })
    ///     .unwrap();
    /// signal_hook::low_level::raise(libc::SIGUSR1).unwrap();
    /// event_loop.run_forever().unwrap();
    /// assert!(event_loop.remove_signal_handler(libc::SIGUSR1).unwrap());
    /// ```
    pub fn add_signal_handler<F: FnMut() + 'static>(
        &self,
        signal: i32,
        callback: F,
    ) -> Result<(), LoopError> {
        self.add_handler(signal, Box::new(callback), false)
    }

    /// [`add_signal_handler`](Self::add_signal_handler); a `background`
    /// handler does not keep the loop from being stuck (`run`'s SIGINT).
    pub(crate) fn add_handler(
        &self,
        signal: i32,
        callback: Box<dyn FnMut()>,
        background: bool,
    ) -> Result<(), LoopError> {
        check(signal)?;
        let loop_id = match self.id() {
            Some(id) if !self.is_closed() => id,
            _ => return Err(LoopError::closed()),
        };
        // A new callback in a new cell: the old one may be running (a
        // handler that replaces itself), and calls already queued keep it,
        // as asyncio's queued handle does.
        let mut callback = Some(callback);
        let replaced = INSTALLED.with(|installed| {
            let mut installed = installed.borrow_mut();
            let entry = installed
                .get_mut(&signal)
                .filter(|entry| entry.loop_id == loop_id)?;
            let new = Rc::new(RefCell::new(callback.take()?));
            Some(std::mem::replace(&mut entry.callback, new))
        });
        if let Some(old) = replaced {
            // Dropped outside the table's borrow: its drop is user code.
            drop(old);
            return Ok(());
        }
        {
            let mut process = process();
            match process.owners.get(&signal) {
                Some(&owner) if owner != loop_id => {
                    return Err(LoopError::refused_signal(signal, SignalProblem::OtherLoop));
                }
                _ => {}
            }
            process.owners.insert(signal, loop_id);
        }
        let Some(callback) = callback else {
            return Ok(());
        };
        match self.install(signal, loop_id, callback, background) {
            Ok(()) => Ok(()),
            Err(error) => {
                process().owners.remove(&signal);
                Err(error)
            }
        }
    }

    fn install(
        &self,
        signal: i32,
        loop_id: u64,
        callback: Box<dyn FnMut()>,
        background: bool,
    ) -> Result<(), LoopError> {
        let (ours, theirs) = UnixStream::pair().map_err(LoopError::io)?;
        theirs.set_nonblocking(true).map_err(LoopError::io)?;
        let source = Registered::new(self, ours)?;
        // Nothing was sent yet: no read before the poller sees a byte (as
        // asyncio's self-pipe is read only once the selector reports it).
        source.clear_readable();
        if background {
            source.set_background();
        }
        let handle = self.clone();
        let guard = CloseGuard { signal, loop_id };
        source.set_reader(move || {
            let _owned = &guard;
            deliver(&handle, signal);
        })?;
        if signal != libc::SIGPIPE {
            self.install_default(signal);
        }
        let action = signal_hook::low_level::pipe::register_raw(signal, theirs.into())
            .map_err(LoopError::io)?;
        if let Some(default) = process().defaults.get(&signal) {
            default.store(false, Ordering::SeqCst);
        }
        INSTALLED.with(|installed| {
            installed.borrow_mut().insert(
                signal,
                Installed {
                    loop_id,
                    signal,
                    source,
                    action,
                    callback: Rc::new(RefCell::new(callback)),
                },
            )
        });
        Ok(())
    }

    /// The signal's default switch, registered once per process: an
    /// action that runs the default disposition while no loop handles the
    /// signal (signals `signal-hook` has no default for, the real-time
    /// ones, are ignored then instead).
    fn install_default(&self, signal: i32) {
        let mut process = process();
        if process.defaults.contains_key(&signal) {
            return;
        }
        let switch = Arc::new(AtomicBool::new(false));
        if signal_hook::flag::register_conditional_default(signal, Arc::clone(&switch)).is_ok() {
            process.defaults.insert(signal, switch);
        }
    }

    /// Whether this loop handles `signal`.
    pub(crate) fn handles_signal(&self, signal: i32) -> bool {
        let Some(loop_id) = self.id() else {
            return false;
        };
        INSTALLED.with(|installed| {
            installed
                .borrow()
                .get(&signal)
                .is_some_and(|entry| entry.loop_id == loop_id)
        })
    }

    /// Removes this loop's handler of `signal` (asyncio's
    /// `remove_signal_handler`): `true` if there was one. The signal has
    /// its default effect again (see
    /// [`add_signal_handler`](Self::add_signal_handler)). A call already
    /// queued for a signal that came before still runs.
    ///
    /// # Errors
    ///
    /// As [`add_signal_handler`](Self::add_signal_handler) for a number
    /// that is no signal, or one no handler may catch.
    pub fn remove_signal_handler(&self, signal: i32) -> Result<bool, LoopError> {
        check(signal)?;
        let Some(loop_id) = self.id() else {
            return Ok(false);
        };
        Ok(uninstall(signal, Some(loop_id)))
    }
}
