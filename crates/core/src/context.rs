//! Context variables: asyncio's `contextvars`, as tasks and callbacks see
//! them.
//!
//! A [`ContextVar`] has a value per *context*, a mapping from variables to
//! values. Code always runs in one context, the thread's own until a loop
//! runs something in another: a task runs every step in a copy of the
//! context that was current when it was created, and a callback
//! (`call_soon`, `call_later`, a done-callback) in a copy of the one
//! current when it was scheduled. So a value set before `create_task` is
//! seen by the task, a value the task sets is seen by its later steps and
//! by what it creates, and nothing a task or a callback sets leaks back to
//! its creator: asyncio's copy-on-create rule.
//!
//! Contexts are per thread (their values need not be `Send`): a callback
//! sent from another thread (`call_soon_threadsafe`) runs in an empty one.
//! Copying is O(1) (the mapping is shared until one of the copies sets a
//! variable), and a thread on which no variable was ever set pays one
//! thread-local read per task step and per callback.
//!
//! # Examples
//!
//! ```
//! use asyncio_core::context::{copy_context, ContextVar};
//!
//! static REQUEST: ContextVar<u32> = ContextVar::new("request");
//!
//! REQUEST.set(1);
//! let snapshot = copy_context();
//! REQUEST.set(2);
//! assert_eq!(REQUEST.get(), Some(2));
//! // The copy kept the value it was made with; what runs in it stays in it.
//! let inside = snapshot.run(|| {
//!     let before = REQUEST.get();
//!     REQUEST.set(3);
//!     before
//! });
//! assert_eq!(inside.unwrap(), Some(1));
//! assert_eq!(snapshot.get(&REQUEST), Some(3));
//! assert_eq!(REQUEST.get(), Some(2));
//! ```

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::mem;
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::FutureError;

/// Variables' values, by variable id; shared between copies until one of
/// them sets a variable (`Rc::make_mut`).
type Values = HashMap<u64, Rc<dyn Any>>;

struct Inner {
    values: RefCell<Rc<Values>>,
    /// Set while code runs in it through [`Context::run`].
    entered: Cell<bool>,
}

impl Inner {
    fn new(values: Rc<Values>) -> Rc<Self> {
        IN_USE.with(|in_use| in_use.set(true));
        Rc::new(Inner {
            values: RefCell::new(values),
            entered: Cell::new(false),
        })
    }

    fn copy(&self) -> Rc<Self> {
        Inner::new(Rc::clone(&self.values.borrow()))
    }

    fn lookup(&self, id: u64) -> Option<Rc<dyn Any>> {
        self.values.borrow().get(&id).cloned()
    }
}

thread_local! {
    /// Set once a context was made on this thread: until then every
    /// context is empty, and running something in one changes nothing.
    static IN_USE: Cell<bool> = const { Cell::new(false) };
    /// The context code runs in now; `None` for an empty one not made yet
    /// (the thread's own, or one a task or a callback runs in).
    static CURRENT: Cell<Option<Rc<Inner>>> = const { Cell::new(None) };
}

/// The current context, made (empty) if it was not yet.
fn current_or_make() -> Rc<Inner> {
    CURRENT.with(|current| {
        let inner = current.take().unwrap_or_else(|| Inner::new(Rc::default()));
        current.set(Some(Rc::clone(&inner)));
        inner
    })
}

/// The current context, if it was made.
fn current() -> Option<Rc<Inner>> {
    if !IN_USE.with(Cell::get) {
        return None;
    }
    CURRENT.with(|current| {
        let inner = current.take();
        current.set(inner.clone());
        inner
    })
}

/// A context variable: asyncio's `contextvars.ContextVar`. Its value is
/// the current context's; [`set`](Self::set) changes it there only.
///
/// Usually a `static`. Values are per thread: a variable set on one thread
/// has its own values on another.
///
/// # Examples
///
/// ```
/// use asyncio_core::context::ContextVar;
///
/// static USER: ContextVar<&str> = ContextVar::with_default("user", "anonymous");
///
/// assert_eq!(USER.get(), Some("anonymous"));
/// let token = USER.set("ada");
/// assert_eq!(USER.get(), Some("ada"));
/// USER.reset(token).unwrap();
/// assert_eq!(USER.get(), Some("anonymous"));
/// ```
pub struct ContextVar<T: 'static> {
    name: &'static str,
    default: Option<T>,
    /// Given on first use: 0 until then.
    id: AtomicU64,
}

impl<T: 'static> ContextVar<T> {
    /// A variable named `name` with no default: [`get`](Self::get) gives
    /// `None` where it was not set (asyncio's `LookupError`).
    ///
    /// # Examples
    ///
    /// ```
    /// static DEPTH: asyncio_core::context::ContextVar<u8> =
    ///     asyncio_core::context::ContextVar::new("depth");
    /// assert_eq!(DEPTH.get(), None);
    /// ```
    pub const fn new(name: &'static str) -> Self {
        ContextVar {
            name,
            default: None,
            id: AtomicU64::new(0),
        }
    }

    /// A variable named `name` whose value is `default` where it was not
    /// set.
    ///
    /// # Examples
    ///
    /// See [`ContextVar`].
    pub const fn with_default(name: &'static str, default: T) -> Self {
        ContextVar {
            name,
            default: Some(default),
            id: AtomicU64::new(0),
        }
    }

    /// Its name.
    ///
    /// # Examples
    ///
    /// ```
    /// let var: asyncio_core::context::ContextVar<u8> = asyncio_core::context::ContextVar::new("n");
    /// assert_eq!(var.name(), "n");
    /// ```
    pub fn name(&self) -> &'static str {
        self.name
    }

    fn id(&self) -> u64 {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let id = self.id.load(Ordering::Relaxed);
        if id != 0 {
            return id;
        }
        let fresh = NEXT.fetch_add(1, Ordering::Relaxed);
        match self
            .id
            .compare_exchange(0, fresh, Ordering::Relaxed, Ordering::Relaxed)
        {
            Ok(_) => fresh,
            Err(taken) => taken,
        }
    }

    /// Its value in the current context, or its default, or `None`.
    ///
    /// # Examples
    ///
    /// See [`ContextVar`].
    pub fn get(&self) -> Option<T>
    where
        T: Clone,
    {
        let value = current().and_then(|inner| inner.lookup(self.id()));
        match value {
            Some(value) => value.downcast_ref::<T>().cloned(),
            None => self.default.clone(),
        }
    }

    /// Sets its value in the current context, and gives a [`Token`] that
    /// [`reset`](Self::reset) takes to restore the value before.
    ///
    /// # Examples
    ///
    /// See [`ContextVar`].
    pub fn set(&self, value: T) -> Token<T> {
        let inner = current_or_make();
        let id = self.id();
        let old = {
            let mut values = inner.values.borrow_mut();
            Rc::make_mut(&mut values).insert(id, Rc::new(value))
        };
        Token {
            var: id,
            old,
            context: Rc::downgrade(&inner),
            used: Cell::new(false),
            _value: PhantomData,
        }
    }

    /// Restores the value `token`'s [`set`](Self::set) replaced (or unsets
    /// the variable, if it had none there).
    ///
    /// # Errors
    ///
    /// An invalid-state error, as asyncio's `ValueError` and
    /// `RuntimeError`, if `token` was made by another variable, in another
    /// context than the current one, or was used already.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_core::context::{copy_context, ContextVar};
    ///
    /// static LEVEL: ContextVar<u8> = ContextVar::new("level");
    ///
    /// let token = LEVEL.set(1);
    /// let elsewhere = copy_context().run(|| LEVEL.reset(token)).unwrap();
    /// assert!(elsewhere.unwrap_err().is_invalid_state());
    /// ```
    pub fn reset(&self, token: Token<T>) -> Result<(), FutureError> {
        if token.used.get() {
            return Err(FutureError::invalid_state("the token was used already"));
        }
        if token.var != self.id() {
            return Err(FutureError::invalid_state(
                "the token was made by another context variable",
            ));
        }
        let inner = current();
        let same = match (&inner, token.context.upgrade()) {
            (Some(inner), Some(context)) => Rc::ptr_eq(inner, &context),
            _ => false,
        };
        let Some(inner) = inner.filter(|_| same) else {
            return Err(FutureError::invalid_state(
                "the token was made in a different context",
            ));
        };
        token.used.set(true);
        let mut values = inner.values.borrow_mut();
        let values = Rc::make_mut(&mut values);
        match &token.old {
            Some(old) => values.insert(token.var, Rc::clone(old)),
            None => values.remove(&token.var),
        };
        Ok(())
    }
}

impl<T: 'static> fmt::Debug for ContextVar<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<ContextVar name={:?}>", self.name)
    }
}

/// What [`ContextVar::set`] gives, to restore the value before with
/// [`ContextVar::reset`] (asyncio's `contextvars.Token`).
///
/// # Examples
///
/// ```
/// use asyncio_core::context::ContextVar;
///
/// static N: ContextVar<u8> = ContextVar::new("n");
/// N.set(1);
/// let token = N.set(2);
/// assert_eq!(token.old_value(), Some(1));
/// ```
pub struct Token<T: 'static> {
    var: u64,
    old: Option<Rc<dyn Any>>,
    context: Weak<Inner>,
    used: Cell<bool>,
    _value: PhantomData<fn() -> T>,
}

impl<T: 'static> Token<T> {
    /// The value the variable had before (`None` if it had none there).
    ///
    /// # Examples
    ///
    /// See [`Token`].
    pub fn old_value(&self) -> Option<T>
    where
        T: Clone,
    {
        self.old
            .as_ref()
            .and_then(|old| old.downcast_ref::<T>().cloned())
    }
}

impl<T: 'static> fmt::Debug for Token<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let used = if self.used.get() { " used" } else { "" };
        write!(f, "<Token{used}>")
    }
}

/// A context: asyncio's `contextvars.Context`, a mapping from variables to
/// values that code can [`run`](Self::run) in. Made by [`copy_context`]
/// (or empty, by [`Context::new`]); a clone is the same context.
///
/// # Examples
///
/// See [the module](self).
#[derive(Clone)]
pub struct Context {
    inner: Rc<Inner>,
}

impl Context {
    /// An empty context.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_core::context::{Context, ContextVar};
    ///
    /// static N: ContextVar<u8> = ContextVar::new("n");
    /// N.set(1);
    /// assert_eq!(Context::new().run(|| N.get()).unwrap(), None);
    /// ```
    pub fn new() -> Self {
        Context {
            inner: Inner::new(Rc::default()),
        }
    }

    /// Runs `f` in this context: what `f` sets stays in it.
    ///
    /// # Errors
    ///
    /// An invalid-state error (asyncio's `RuntimeError`) if code runs in
    /// it already, further out on this thread.
    ///
    /// # Examples
    ///
    /// See [the module](self).
    pub fn run<R>(&self, f: impl FnOnce() -> R) -> Result<R, FutureError> {
        if self.inner.entered.replace(true) {
            return Err(FutureError::invalid_state("the context is entered already"));
        }
        struct Leave<'a>(&'a Inner, Option<Rc<Inner>>);
        impl Drop for Leave<'_> {
            fn drop(&mut self) {
                CURRENT.with(|current| current.set(self.1.take()));
                self.0.entered.set(false);
            }
        }
        let previous = CURRENT.with(|current| current.replace(Some(Rc::clone(&self.inner))));
        let _leave = Leave(&self.inner, previous);
        Ok(f())
    }

    /// `var`'s value in this context (or its default).
    ///
    /// # Examples
    ///
    /// See [the module](self).
    pub fn get<T: Clone + 'static>(&self, var: &ContextVar<T>) -> Option<T> {
        match self.inner.lookup(var.id()) {
            Some(value) => value.downcast_ref::<T>().cloned(),
            None => var.default.clone(),
        }
    }

    /// Whether `var` was set in this context.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_core::context::{copy_context, ContextVar};
    ///
    /// static N: ContextVar<u8> = ContextVar::with_default("n", 0);
    /// assert!(!copy_context().contains(&N));
    /// N.set(1);
    /// assert!(copy_context().contains(&N));
    /// ```
    pub fn contains<T: 'static>(&self, var: &ContextVar<T>) -> bool {
        self.inner.values.borrow().contains_key(&var.id())
    }

    /// How many variables were set in it.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(asyncio_core::context::Context::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.inner.values.borrow().len()
    }

    /// Whether no variable was set in it.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(asyncio_core::context::Context::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for Context {
    fn default() -> Self {
        Context::new()
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<Context vars={}>", self.len())
    }
}

/// A copy of the current context (asyncio's `contextvars.copy_context`).
///
/// # Examples
///
/// See [the module](self).
pub fn copy_context() -> Context {
    let inner = match current() {
        Some(inner) => inner.copy(),
        None => Inner::new(Rc::default()),
    };
    Context { inner }
}

/// The context a task or a callback runs in, for executor authors: a copy
/// of the context current when it was made ([`Captured::now`]), which
/// [`run`](Captured::run) enters and keeps what the code sets in it (so a
/// task's later steps see what its earlier ones set).
///
/// Empty ones cost nothing to make or keep (`None` inside), and nothing to
/// run in while no context was ever made on the thread.
///
/// # Examples
///
/// ```
/// use asyncio_core::context::{Captured, ContextVar};
///
/// static STEP: ContextVar<u32> = ContextVar::new("step");
///
/// let mut task_context = Captured::now(); // at "create_task"
/// task_context.run(|| STEP.set(1));
/// assert_eq!(task_context.run(|| STEP.get()), Some(1)); // a later "step"
/// assert_eq!(STEP.get(), None); // nothing leaked out
/// ```
#[derive(Default)]
pub struct Captured(Option<Rc<Inner>>);

impl Captured {
    /// A copy of the current context.
    ///
    /// # Examples
    ///
    /// See [`Captured`].
    #[inline(always)]
    pub fn now() -> Self {
        if !in_use() {
            return Captured(None);
        }
        Captured::copy_current()
    }

    #[cold]
    fn copy_current() -> Self {
        Captured(current().map(|inner| inner.copy()))
    }

    /// Whether it is empty and was never entered by code that set a
    /// variable (so running in it is running in a fresh empty context).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(asyncio_core::context::Captured::default().is_empty());
    /// ```
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// Runs `f` in this context; what `f` sets is kept here.
    ///
    /// # Examples
    ///
    /// See [`Captured`].
    #[inline(always)]
    pub fn run<R>(&mut self, f: impl FnOnce() -> R) -> R {
        if self.0.is_none() && !in_use() {
            // Every context is empty, the current one too (none was made):
            // `f` runs as it is. If it makes one (sets a variable), that
            // one is this, taken back out of the thread when `f` ends.
            struct Adopt<'a>(&'a mut Option<Rc<Inner>>);
            impl Drop for Adopt<'_> {
                #[inline(always)]
                fn drop(&mut self) {
                    if in_use() {
                        adopt(self.0);
                    }
                }
            }
            let _adopt = Adopt(&mut self.0);
            return f();
        }
        self.run_entered(f)
    }

    /// Runs `f` in the context kept in `slot` (a task's), as
    /// [`run`](Self::run) does, keeping what `f` sets there.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use asyncio_core::context::{Captured, ContextVar};
    ///
    /// static STEP: ContextVar<u32> = ContextVar::new("step");
    ///
    /// let slot = Cell::new(Captured::now());
    /// Captured::run_in(&slot, || STEP.set(1));
    /// assert_eq!(Captured::run_in(&slot, || STEP.get()), Some(1));
    /// assert_eq!(STEP.get(), None);
    /// ```
    #[inline(always)]
    pub fn run_in<R>(slot: &Cell<Captured>, f: impl FnOnce() -> R) -> R {
        if !in_use() {
            // No context was ever made on this thread: the slot is empty
            // and so is the current context. If `f` makes one, it is the
            // slot's.
            struct Adopt<'a>(&'a Cell<Captured>);
            impl Drop for Adopt<'_> {
                #[inline(always)]
                fn drop(&mut self) {
                    if in_use() {
                        self.0.set(Captured(CURRENT.with(Cell::take)));
                    }
                }
            }
            let _adopt = Adopt(slot);
            return f();
        }
        Captured::run_in_entered(slot, f)
    }

    fn run_in_entered<R>(slot: &Cell<Captured>, f: impl FnOnce() -> R) -> R {
        struct PutBack<'a>(&'a Cell<Captured>, Captured);
        impl Drop for PutBack<'_> {
            fn drop(&mut self) {
                self.0.set(mem::take(&mut self.1));
            }
        }
        let mut put_back = PutBack(slot, slot.take());
        put_back.1.run_entered(f)
    }

    /// [`run`](Self::run) while contexts are in use: enters this one.
    fn run_entered<R>(&mut self, f: impl FnOnce() -> R) -> R {
        struct Leave<'a>(&'a mut Option<Rc<Inner>>, Option<Rc<Inner>>);
        impl Drop for Leave<'_> {
            fn drop(&mut self) {
                *self.0 = CURRENT.with(|current| current.replace(self.1.take()));
            }
        }
        let previous = CURRENT.with(|current| current.replace(self.0.take()));
        let _leave = Leave(&mut self.0, previous);
        f()
    }
}

impl fmt::Debug for Captured {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(inner) => write!(f, "Captured(vars={})", inner.values.borrow().len()),
            None => f.write_str("Captured(empty)"),
        }
    }
}

/// Runs `f` in a fresh empty context, for executor authors: how a callback
/// scheduled with no context (or from another thread) runs, so that what
/// it sets does not leak into the context around it.
///
/// # Examples
///
/// ```
/// use asyncio_core::context::{isolated, ContextVar};
///
/// static N: ContextVar<u8> = ContextVar::new("n");
/// N.set(1);
/// assert_eq!(isolated(|| { N.set(2); N.get() }), Some(2));
/// assert_eq!(N.get(), Some(1));
/// ```
#[inline(always)]
pub fn isolated<R>(f: impl FnOnce() -> R) -> R {
    if in_use() {
        return Captured(None).run_entered(f);
    }
    // No context was ever made on this thread: if `f` makes one (sets a
    // variable), it was `f`'s own, dropped when `f` ends.
    struct Forget;
    impl Drop for Forget {
        #[inline(always)]
        fn drop(&mut self) {
            forget_made();
        }
    }
    let _forget = Forget;
    f()
}

/// After code ran while no context was in use: drops the context it made,
/// if it made one (it set a variable), so that it does not stay current;
/// whether contexts are in use now. For executor authors: how a callback
/// that cannot unwind runs as [`isolated`] would run it, at one
/// thread-local read, while no context was in use before it.
///
/// # Examples
///
/// ```
/// use asyncio_core::context::{forget_made, in_use, ContextVar};
///
/// static N: ContextVar<u8> = ContextVar::new("n");
/// std::thread::spawn(|| {
///     assert!(!in_use());
///     N.set(1); // a callback's own change
///     forget_made();
///     assert_eq!(N.get(), None);
/// })
/// .join()
/// .unwrap();
/// ```
#[inline(always)]
pub fn forget_made() -> bool {
    let made = in_use();
    if made {
        forget_current();
    }
    made
}

#[cold]
fn forget_current() {
    drop(CURRENT.with(Cell::take));
}

/// Whether a context was ever made on this thread (a variable set, a
/// context copied): until then every context is empty, and [`Captured::now`]
/// and [`isolated`] do nothing. For executor authors, to keep the common
/// case at one thread-local read.
///
/// # Examples
///
/// ```
/// use asyncio_core::context::{in_use, ContextVar};
///
/// static N: ContextVar<u8> = ContextVar::new("n");
/// std::thread::spawn(|| {
///     assert!(!in_use());
///     N.set(1);
///     assert!(in_use());
/// })
/// .join()
/// .unwrap();
/// ```
#[inline(always)]
pub fn in_use() -> bool {
    IN_USE.with(Cell::get)
}

/// Takes the context that code run with none in use made (its first) out
/// of the thread, into `slot`.
#[cold]
fn adopt(slot: &mut Option<Rc<Inner>>) {
    *slot = CURRENT.with(Cell::take);
}

#[cfg(test)]
mod tests {
    use super::*;

    static A: ContextVar<u32> = ContextVar::new("a");
    static B: ContextVar<String> = ContextVar::with_default("b", String::new());

    #[test]
    fn a_copy_shares_values_until_one_side_sets() {
        A.set(1);
        let copy = copy_context();
        let before = Rc::as_ptr(&copy.inner.values.borrow());
        A.set(2);
        assert_ne!(before, Rc::as_ptr(&current().unwrap().values.borrow()));
        assert_eq!(copy.get(&A), Some(1));
        assert_eq!(A.get(), Some(2));
    }

    #[test]
    fn a_context_cannot_be_entered_twice() {
        let context = Context::new();
        let nested = context.run(|| context.run(|| ())).unwrap();
        assert!(nested.unwrap_err().is_invalid_state());
        assert!(context.run(|| ()).is_ok(), "left again");
    }

    #[test]
    fn a_token_resets_once_and_only_its_own_variable() {
        let token = B.set("x".to_owned());
        assert_eq!(B.get().as_deref(), Some("x"));
        static C: ContextVar<u32> = ContextVar::new("c");
        let other = A.set(5);
        assert!(C.reset(other).unwrap_err().is_invalid_state());
        B.reset(token).unwrap();
        assert_eq!(B.get().as_deref(), Some(""));
    }

    #[test]
    fn captured_keeps_what_its_code_set_and_leaks_nothing() {
        let mut captured = Captured::now();
        captured.run(|| A.set(10));
        assert_ne!(A.get(), Some(10));
        assert_eq!(captured.run(|| A.get()), Some(10));
        let mut fresh = Captured::default();
        assert_eq!(fresh.run(|| A.get()), None);
    }

    #[test]
    fn a_panic_inside_still_restores_the_context_around() {
        A.set(7);
        let mut captured = Captured::default();
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            captured.run(|| {
                A.set(8);
                panic!("inside")
            })
        }));
        assert!(unwound.is_err());
        assert_eq!(A.get(), Some(7));
        assert_eq!(captured.run(|| A.get()), Some(8));
    }
}
