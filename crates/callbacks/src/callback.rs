//! `Callback<A>`: a one-shot callback that knows its name, stored inline
//! when it is small.
//!
//! The event loop queues millions of small closures; a `Box` per closure
//! costs an allocation and a free, more than the rest of `call_soon` put
//! together (see `docs/benchmarks.md`). A `Callback` keeps a closure of up
//! to three words (the usual capture: a handle, an index, a future) inside
//! itself, and boxes larger ones. The same trick as `smallbox` or
//! `std::task::RawWaker`: a hand-written vtable over untyped storage.

use std::any::{type_name, Any};
use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;
use std::mem::{self, ManuallyDrop, MaybeUninit};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

/// Words of inline storage: closures up to this size (and word-aligned)
/// are stored without allocating.
const INLINE_WORDS: usize = 3;

type Storage = MaybeUninit<[usize; INLINE_WORDS]>;

/// What a `Callback` does with its storage, for one closure type.
struct VTable<A: ?Sized> {
    /// Moves the closure out of the storage and calls it.
    call: unsafe fn(*mut Storage, &A),
    /// Drops the closure in the storage.
    drop: unsafe fn(*mut Storage),
    /// Whether `drop` does anything: not for an inline closure that owns
    /// nothing, so dropping many such callbacks (the free slots of a large
    /// queue) costs no indirect call each.
    needs_drop: bool,
    name: fn() -> &'static str,
    /// For a [`Named`] closure: reads the name it carries, from the
    /// storage of an uncalled callback. `None` for the others, whose name is
    /// `name`'s.
    label: Option<unsafe fn(*const Storage) -> &'static str>,
    inline: bool,
}

/// A closure with its calling convention: `FnOnce(&A)` as is, or an
/// `FnOnce()` that ignores the argument. Both have the closure's own size.
trait Invoke<A: ?Sized>: Sized {
    fn invoke(self, argument: &A);
    fn name() -> &'static str;
    /// Whether the value carries its own name, which `label` reads.
    const LABELLED: bool = false;
    fn label(&self) -> &'static str {
        Self::name()
    }
}

struct WithArgument<F>(F);

impl<A: ?Sized, F: FnOnce(&A)> Invoke<A> for WithArgument<F> {
    fn invoke(self, argument: &A) {
        (self.0)(argument)
    }

    fn name() -> &'static str {
        type_name::<F>()
    }
}

struct NoArgument<F>(F);

impl<F: FnOnce()> Invoke<()> for NoArgument<F> {
    fn invoke(self, _: &()) {
        (self.0)()
    }

    fn name() -> &'static str {
        type_name::<F>()
    }
}

struct NamedThunk<F>(Named<F>);

thread_local! {
    /// The name of the `Named` callback whose panic is unwinding, set by its
    /// `NameOnUnwind` guard for `call_catch_unwind`, which takes it.
    static UNWINDING_NAME: Cell<Option<&'static str>> = const { Cell::new(None) };
}

/// Dropped only while a `Named` callback's panic unwinds through it (it is
/// forgotten otherwise): the name survives the closure it came with, at no
/// cost to a call that returns.
struct NameOnUnwind(&'static str);

impl Drop for NameOnUnwind {
    fn drop(&mut self) {
        let _ = UNWINDING_NAME.try_with(|name| name.set(Some(self.0)));
    }
}

impl<F: FnOnce()> Invoke<()> for NamedThunk<F> {
    fn invoke(self, _: &()) {
        let guard = NameOnUnwind(self.0.name);
        (self.0.callback)();
        mem::forget(guard);
    }

    fn name() -> &'static str {
        type_name::<F>()
    }

    const LABELLED: bool = true;
    fn label(&self) -> &'static str {
        self.0.name
    }
}

/// Whether `I` fits in the inline storage.
/// A callback with an argument and a name of its own.
struct NamedWithArgument<F> {
    name: &'static str,
    callback: F,
}

impl<A: ?Sized, F: FnOnce(&A)> Invoke<A> for NamedWithArgument<F> {
    fn invoke(self, argument: &A) {
        let guard = NameOnUnwind(self.name);
        (self.callback)(argument);
        mem::forget(guard);
    }

    fn name() -> &'static str {
        type_name::<F>()
    }

    const LABELLED: bool = true;
    fn label(&self) -> &'static str {
        self.name
    }
}

/// A callback with an argument, named after the type `N`.
struct NamedAfter<N: ?Sized, F>(F, PhantomData<fn() -> *const N>);

impl<A: ?Sized, N: ?Sized, F: FnOnce(&A)> Invoke<A> for NamedAfter<N, F> {
    fn invoke(self, argument: &A) {
        (self.0)(argument)
    }

    fn name() -> &'static str {
        type_name::<N>()
    }
}

const fn fits_inline<I>() -> bool {
    mem::size_of::<I>() <= mem::size_of::<Storage>()
        && mem::align_of::<I>() <= mem::align_of::<Storage>()
}

/// The vtables of `I`, as associated constants so that `&` promotes them to
/// `'static`.
struct VTableOf<I, A: ?Sized>(PhantomData<fn(I, &A)>);

impl<I: Invoke<A>, A: ?Sized> VTableOf<I, A> {
    const INLINE: VTable<A> = VTable {
        call: call_inline::<I, A>,
        drop: drop_inline::<I>,
        needs_drop: mem::needs_drop::<I>(),
        name: I::name,
        label: if I::LABELLED {
            Some(label_inline::<I, A>)
        } else {
            None
        },
        inline: true,
    };

    const BOXED: VTable<A> = VTable {
        call: call_boxed::<I, A>,
        drop: drop_boxed::<I>,
        needs_drop: true,
        name: I::name,
        label: if I::LABELLED {
            Some(label_boxed::<I, A>)
        } else {
            None
        },
        inline: false,
    };
}

/// # Safety
///
/// `storage` holds an initialised `I`, written by `Callback::from_invoke`
/// after checking `fits_inline::<I>()`; the caller never uses it again.
unsafe fn call_inline<I: Invoke<A>, A: ?Sized>(storage: *mut Storage, argument: &A) {
    // SAFETY: (1) the caller guarantees an initialised `I` that is read only
    // here; (2) `I` fits in and is aligned for `Storage`, checked before it
    // was written.
    let callback = unsafe { ptr::read(storage.cast::<I>()) };
    callback.invoke(argument);
}

/// # Safety
///
/// As for `call_inline`.
unsafe fn drop_inline<I>(storage: *mut Storage) {
    // SAFETY: as for `call_inline`: an initialised, aligned `I`, dropped once.
    unsafe { ptr::drop_in_place(storage.cast::<I>()) }
}

/// # Safety
///
/// `storage` holds an initialised `I`, as for `call_inline`, not yet called.
unsafe fn label_inline<I: Invoke<A>, A: ?Sized>(storage: *const Storage) -> &'static str {
    // SAFETY: an initialised, aligned `I`, only read through a shared reference.
    unsafe { (*storage.cast::<I>()).label() }
}

/// # Safety
///
/// `storage` starts with the pointer of a live `Box<I>`, as for `call_boxed`,
/// not yet called.
unsafe fn label_boxed<I: Invoke<A>, A: ?Sized>(storage: *const Storage) -> &'static str {
    // SAFETY: the first word is the pointer of a live `Box<I>`, only read.
    unsafe { (**storage.cast::<*const I>()).label() }
}

/// # Safety
///
/// `storage` starts with a pointer from `Box::<I>::into_raw`, written by
/// `Callback::from_invoke`; the caller never uses it again.
unsafe fn call_boxed<I: Invoke<A>, A: ?Sized>(storage: *mut Storage, argument: &A) {
    // SAFETY: the first word is the `Box<I>` pointer, taken back once.
    let callback = unsafe { Box::from_raw(ptr::read(storage.cast::<*mut I>())) };
    callback.invoke(argument);
}

/// # Safety
///
/// As for `call_boxed`.
unsafe fn drop_boxed<I>(storage: *mut Storage) {
    // SAFETY: the first word is the `Box<I>` pointer, freed once.
    drop(unsafe { Box::from_raw(ptr::read(storage.cast::<*mut I>())) });
}

/// A one-shot callback taking `&A`, that can say what it is.
///
/// It holds any `FnOnce(&A) + 'static`: closures of up to three words are
/// stored inside the `Callback` itself (no allocation), larger ones in a
/// `Box`. [`name`](Callback::name) is the closure's type name (for a
/// function, its path; for a closure, the path of the function that defines
/// it followed by `{{closure}}`), which error reports show as the callback
/// that failed. Dropping an uncalled `Callback` drops the closure.
///
/// A `Callback` is neither `Send` nor `Sync`: it may hold a closure that is
/// neither.
///
/// # Examples
///
/// ```
/// use asyncio_callbacks::Callback;
///
/// fn double(value: &i32) {
///     assert_eq!(*value * 2, 84);
/// }
///
/// let callback = Callback::new(double);
/// assert!(callback.name().ends_with("double"));
/// callback.call(&42);
/// ```
pub struct Callback<A: ?Sized + 'static> {
    vtable: &'static VTable<A>,
    /// The closure itself, or a `Box` pointer to it, as `vtable.inline` says.
    storage: Storage,
    /// Not `Send` or `Sync`: the closure may be neither.
    _not_send: PhantomData<*const ()>,
}

impl<A: ?Sized + 'static> Callback<A> {
    /// Wraps `callback`, inline when it fits in three words.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_callbacks::Callback;
    ///
    /// let big = [0u64; 16];
    /// let callback = Callback::new(move |n: &usize| assert_eq!(big.len(), *n));
    /// assert!(!callback.is_inline());
    /// callback.call(&16);
    /// ```
    #[inline]
    pub fn new<F: FnOnce(&A) + 'static>(callback: F) -> Self {
        Callback::from_invoke(WithArgument(callback))
    }

    /// Wraps `callback` under the name `name` (for reprs and panic
    /// reports), as [`named`] does for a callback without an argument: a
    /// wrapper that stands for another callback keeps its name.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_callbacks::Callback;
    ///
    /// let callback = Callback::with_name("double", |value: &i32| assert_eq!(*value * 2, 4));
    /// assert_eq!(callback.name(), "double");
    /// callback.call(&2);
    /// ```
    pub fn with_name<F: FnOnce(&A) + 'static>(name: &'static str, callback: F) -> Self {
        Callback::from_invoke(NamedWithArgument { name, callback })
    }

    /// Wraps `callback` under the name of the type `N`, as [`new`](Self::new)
    /// names a callback after its own type: for a wrapper that stands for
    /// the callback `N`, at no cost in size.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_callbacks::Callback;
    ///
    /// fn report(value: &i32) {
    ///     assert_eq!(*value, 3);
    /// }
    ///
    /// fn wrap<F: FnOnce(&i32) + 'static>(inner: F) -> Callback<i32> {
    ///     Callback::named_after::<F, _>(move |value: &i32| inner(value))
    /// }
    ///
    /// let callback = wrap(report);
    /// assert!(callback.name().ends_with("report"));
    /// callback.call(&3);
    /// ```
    #[inline]
    pub fn named_after<N: ?Sized + 'static, F: FnOnce(&A) + 'static>(callback: F) -> Self {
        Callback::from_invoke(NamedAfter::<N, F>(callback, PhantomData))
    }

    #[inline]
    fn from_invoke<I: Invoke<A> + 'static>(callback: I) -> Self {
        let mut storage = Storage::uninit();
        let vtable = if fits_inline::<I>() {
            // SAFETY: `I` fits in `storage` and is aligned for it (checked above).
            unsafe { ptr::write(storage.as_mut_ptr().cast::<I>(), callback) };
            &VTableOf::<I, A>::INLINE
        } else {
            let boxed = Box::into_raw(Box::new(callback));
            // SAFETY: a pointer fits in and is aligned for the storage.
            unsafe { ptr::write(storage.as_mut_ptr().cast::<*mut I>(), boxed) };
            &VTableOf::<I, A>::BOXED
        };
        Callback {
            vtable,
            storage,
            _not_send: PhantomData,
        }
    }

    /// Consumes the callback and runs it with `argument`.
    ///
    /// If the closure panics, the panic propagates; the closure has been
    /// consumed either way.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use asyncio_callbacks::Callback;
    ///
    /// let seen = std::rc::Rc::new(Cell::new(0));
    /// let sink = seen.clone();
    /// Callback::new(move |value: &i32| sink.set(*value)).call(&5);
    /// assert_eq!(seen.get(), 5);
    /// ```
    pub fn call(self, argument: &A) {
        let mut this = ManuallyDrop::new(self);
        // SAFETY: `storage` holds the closure that `vtable` was made for, and
        // `this` is never dropped, so the closure is used exactly once.
        unsafe { (this.vtable.call)(&mut this.storage, argument) }
    }

    /// Calls the callback as [`call`](Callback::call) does, catching a
    /// panic in it: `Err` carries the callback's [`name`](Callback::name)
    /// and the panic's payload, for an error report.
    ///
    /// The name is looked up only when the callback panicked, so this costs
    /// no more than `call` on the way that matters: a loop that reports
    /// failing callbacks by name calls this, not `name` and then `call`.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_callbacks::Callback;
    ///
    /// fn check(value: &i32) {
    ///     assert!(*value > 0, "not positive");
    /// }
    ///
    /// assert!(Callback::new(check).call_catch_unwind(&1).is_ok());
    ///
    /// # std::panic::set_hook(Box::new(|_| {}));
    /// let panicked = Callback::new(check).call_catch_unwind(&-1).unwrap_err();
    /// assert!(panicked.name().ends_with("check"));
    /// assert_eq!(panicked.payload().downcast_ref::<&str>(), Some(&"not positive"));
    /// ```
    #[inline]
    pub fn call_catch_unwind(self, argument: &A) -> Result<(), Panicked> {
        let vtable = self.vtable;
        match catch_unwind(AssertUnwindSafe(|| self.call(argument))) {
            Ok(()) => Ok(()),
            Err(payload) => Err(Panicked::new(vtable, payload)),
        }
    }

    /// The closure's type name, for error reports and `Debug` output.
    ///
    /// # Examples
    ///
    /// ```
    /// fn on_done(_: &u8) {}
    /// let callback = asyncio_callbacks::Callback::new(on_done);
    /// assert!(callback.name().ends_with("::on_done"));
    /// ```
    pub fn name(&self) -> &'static str {
        match self.vtable.label {
            // SAFETY: `self` is not called yet (calling consumes it).
            Some(label) => unsafe { label(&self.storage) },
            None => (self.vtable.name)(),
        }
    }

    /// Whether the closure is stored inline (no allocation).
    ///
    /// # Examples
    ///
    /// ```
    /// let index = 7_usize;
    /// let callback = asyncio_callbacks::Callback::new(move |_: &()| assert_eq!(index, 7));
    /// assert!(callback.is_inline());
    /// ```
    pub fn is_inline(&self) -> bool {
        self.vtable.inline
    }
}

impl Callback<()> {
    /// Wraps a closure that takes no argument, as `call_soon` gets them;
    /// [`name`](Callback::name) is the closure's own type name, and it is
    /// inline under the same rule as [`new`](Callback::new).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use asyncio_callbacks::Callback;
    ///
    /// let ran = std::rc::Rc::new(Cell::new(false));
    /// let flag = ran.clone();
    /// let callback = Callback::from_thunk(move || flag.set(true));
    /// assert!(callback.is_inline());
    /// callback.call(&());
    /// assert!(ran.get());
    /// ```
    #[inline]
    pub fn from_thunk<F: FnOnce() + 'static>(thunk: F) -> Self {
        Callback::from_invoke(NoArgument(thunk))
    }
}

/// A callback with a name of its own, for handles, reprs and error
/// reports: what [`named`] makes.
///
/// A closure's type name is the path of the function that defines it
/// followed by `{{closure}}` (`main::{{closure}}`), which says little in an
/// error report. A `Named` closure is reported by the name given to it, as
/// asyncio reports a callback by its `repr`. It is not itself callable;
/// anything that takes an [`IntoThunk`] (the loop's `call_soon`,
/// `call_later` and `call_at`) takes it.
///
/// # Examples
///
/// ```
/// use asyncio_callbacks::{named, IntoThunk};
///
/// let greeting = String::from("hello");
/// let callback = named("greet", move || println!("{greeting}")).into_thunk();
/// assert_eq!(callback.name(), "greet");
/// assert_eq!(format!("{callback:?}"), "Callback(\"greet\")");
/// ```
#[derive(Clone, Copy)]
pub struct Named<F> {
    name: &'static str,
    callback: F,
}

/// Gives `callback` the name `name` (see [`Named`]).
///
/// # Examples
///
/// ```
/// let callback = asyncio_callbacks::named("tick", || {});
/// assert_eq!(callback.name(), "tick");
/// ```
pub fn named<F>(name: &'static str, callback: F) -> Named<F> {
    Named { name, callback }
}

impl<F> Named<F> {
    /// The name given to the callback.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(asyncio_callbacks::named("tick", || {}).name(), "tick");
    /// ```
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The callback itself, without its name.
    ///
    /// # Examples
    ///
    /// ```
    /// let answer = asyncio_callbacks::named("answer", || 42).into_inner();
    /// assert_eq!(answer(), 42);
    /// ```
    pub fn into_inner(self) -> F {
        self.callback
    }
}

impl<F> fmt::Debug for Named<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Named").field(&self.name).finish()
    }
}

/// What a loop's `call_soon`, `call_later` and `call_at` take: any
/// `FnOnce() + 'static` (a closure or a function), or one given a name by
/// [`named`]. It becomes a [`Callback<()>`], stored inline under the same
/// rule as [`Callback::from_thunk`].
///
/// # Examples
///
/// ```
/// use asyncio_callbacks::{named, Callback, IntoThunk};
///
/// fn tick() {}
/// fn schedule(callback: impl IntoThunk) -> Callback<()> {
///     callback.into_thunk()
/// }
/// assert!(schedule(tick).name().ends_with("::tick"));
/// assert_eq!(schedule(named("tock", || {})).name(), "tock");
/// ```
pub trait IntoThunk: 'static {
    /// The callback, ready to be queued.
    fn into_thunk(self) -> Callback<()>;

    /// The name reports will give it, without making the callback.
    fn thunk_name(&self) -> &'static str;
}

impl<F: FnOnce() + 'static> IntoThunk for F {
    #[inline]
    fn into_thunk(self) -> Callback<()> {
        Callback::from_thunk(self)
    }

    fn thunk_name(&self) -> &'static str {
        type_name::<F>()
    }
}

impl<F: FnOnce() + 'static> IntoThunk for Named<F> {
    #[inline]
    fn into_thunk(self) -> Callback<()> {
        Callback::from_invoke(NamedThunk(self))
    }

    fn thunk_name(&self) -> &'static str {
        self.name
    }
}

impl<A: ?Sized + 'static> Drop for Callback<A> {
    fn drop(&mut self) {
        if self.vtable.needs_drop {
            // SAFETY: `storage` holds the closure `vtable` was made for; `call`
            // forgets `self`, so this runs only for an uncalled callback.
            unsafe { (self.vtable.drop)(&mut self.storage) }
        }
    }
}

impl<A: ?Sized + 'static> fmt::Debug for Callback<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Callback").field(&self.name()).finish()
    }
}

/// A callback that panicked, from [`Callback::call_catch_unwind`]: its name
/// and the panic's payload.
///
/// # Examples
///
/// ```
/// use asyncio_callbacks::Callback;
///
/// # std::panic::set_hook(Box::new(|_| {}));
/// let panicked = Callback::from_thunk(|| panic!("boom")).call_catch_unwind(&()).unwrap_err();
/// assert!(panicked.to_string().starts_with("callback "));
/// assert!(panicked.to_string().ends_with(" panicked"));
/// let payload = panicked.into_payload();
/// assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
/// ```
pub struct Panicked {
    name: &'static str,
    payload: Box<dyn Any + Send + 'static>,
}

impl Panicked {
    /// The panic of a callback made for `vtable`. A `Named` callback's name
    /// went with its storage; its unwinding left it in `UNWINDING_NAME`,
    /// which only a `Named` callback's vtable reads, so a name left there by
    /// a panic that someone else caught is never given to another callback.
    #[cold]
    #[inline(never)]
    fn new<A: ?Sized>(vtable: &VTable<A>, payload: Box<dyn Any + Send>) -> Self {
        let stored = if vtable.label.is_some() {
            UNWINDING_NAME.try_with(Cell::take).ok().flatten()
        } else {
            None
        };
        Panicked {
            name: stored.unwrap_or_else(vtable.name),
            payload,
        }
    }

    /// The [`name`](Callback::name) of the callback that panicked.
    ///
    /// # Examples
    ///
    /// See [`Callback::call_catch_unwind`].
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The panic's payload, as [`std::panic::catch_unwind`] returns it.
    ///
    /// # Examples
    ///
    /// See [`Callback::call_catch_unwind`].
    pub fn payload(&self) -> &(dyn Any + Send + 'static) {
        &*self.payload
    }

    /// Takes the payload, to resume the panic or turn it into an error.
    ///
    /// # Examples
    ///
    /// See [`Panicked`].
    pub fn into_payload(self) -> Box<dyn Any + Send + 'static> {
        self.payload
    }
}

impl fmt::Debug for Panicked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Panicked")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Panicked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "callback {} panicked", self.name)
    }
}

impl std::error::Error for Panicked {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;

    /// Counts its drops.
    struct Token(Rc<Cell<usize>>);

    #[test]
    fn a_named_callback_keeps_its_name_inline_and_boxed_and_in_its_panic() {
        let small = named("small", || panic!("small"));
        let big_capture = [1u64; 8];
        let big = named("big", move || panic!("{}", big_capture.len()));
        let (small, big) = (small.into_thunk(), big.into_thunk());
        assert!(small.is_inline());
        assert!(!big.is_inline());
        assert_eq!((small.name(), big.name()), ("small", "big"));
        assert_eq!(format!("{big:?}"), "Callback(\"big\")");
        let small = small.call_catch_unwind(&()).unwrap_err();
        let big = big.call_catch_unwind(&()).unwrap_err();
        assert_eq!((small.name(), big.name()), ("small", "big"));
        assert_eq!(big.payload().downcast_ref::<String>().unwrap(), "8");
        // Unnamed ones keep their type name.
        let plain = Callback::from_thunk(|| panic!("plain"));
        assert!(plain.name().contains("{{closure}}"));
        assert!(plain
            .call_catch_unwind(&())
            .unwrap_err()
            .name()
            .contains("{{closure}}"));
    }

    #[test]
    fn a_name_left_by_a_panic_caught_elsewhere_goes_to_no_other_callback() {
        // A named callback's panic, caught by the caller's own catch_unwind.
        let named_panic = named("elsewhere", || panic!("caught elsewhere")).into_thunk();
        assert!(catch_unwind(AssertUnwindSafe(|| named_panic.call(&()))).is_err());
        // An unnamed one is still reported by its type name...
        let plain = Callback::from_thunk(|| panic!("plain"));
        let name = plain.call_catch_unwind(&()).unwrap_err().name();
        assert!(name.contains("{{closure}}"), "{name}");
        // ...and a named one by its own name.
        let own = named("own", || panic!("own")).into_thunk();
        assert_eq!(own.call_catch_unwind(&()).unwrap_err().name(), "own");
        // A named callback that panics inside another is reported as the
        // outer one, the callback the caller ran.
        let outer = named("outer", || {
            named("inner", || panic!("inner")).into_thunk().call(&());
        })
        .into_thunk();
        assert_eq!(outer.call_catch_unwind(&()).unwrap_err().name(), "outer");
    }

    #[test]
    fn a_named_callback_runs_once_and_drops_its_capture_when_unrun() {
        let drops = Rc::new(Cell::new(0));
        let token = Token(Rc::clone(&drops));
        let ran = Rc::new(Cell::new(false));
        let flag = Rc::clone(&ran);
        named("runs", move || {
            let _token = &token;
            flag.set(true);
        })
        .into_thunk()
        .call(&());
        assert!(ran.get());
        assert_eq!(drops.get(), 1);
        let token = Token(Rc::clone(&drops));
        let unrun = named("unrun", move || drop(token)).into_thunk();
        assert_eq!(unrun.name(), "unrun");
        drop(unrun);
        assert_eq!(drops.get(), 2);
    }

    impl Drop for Token {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }

    #[test]
    fn small_closures_are_inline_and_large_ones_boxed() {
        let small = (1_u64, 2_u64, 3_u64);
        assert!(Callback::new(move |_: &()| {
            std::hint::black_box(small);
        })
        .is_inline());
        let large = (1_u64, 2_u64, 3_u64, 4_u64);
        assert!(!Callback::new(move |_: &()| {
            std::hint::black_box(large);
        })
        .is_inline());
        #[repr(align(32))]
        struct Aligned;
        let aligned = Aligned;
        assert!(!Callback::new(move |_: &()| {
            std::hint::black_box(&aligned);
        })
        .is_inline());
        assert_eq!(mem::size_of::<Callback<()>>(), 32);
    }

    /// A callback holding a `Token`, boxed when `large`, and its drop count.
    fn holding_a_token(large: bool) -> (Callback<()>, Rc<Cell<usize>>) {
        let drops = Rc::new(Cell::new(0));
        let token = Token(drops.clone());
        let padding = [0_u64; 8];
        let callback = if large {
            Callback::new(move |_: &()| drop((token, padding)))
        } else {
            Callback::new(move |_: &()| drop(token))
        };
        assert_eq!(callback.is_inline(), !large);
        (callback, drops)
    }

    #[test]
    fn calling_consumes_and_drops_the_captures_once() {
        for large in [false, true] {
            let (callback, drops) = holding_a_token(large);
            callback.call(&());
            assert_eq!(drops.get(), 1);
        }
    }

    #[test]
    fn dropping_uncalled_drops_the_captures_once() {
        for large in [false, true] {
            let (callback, drops) = holding_a_token(large);
            drop(callback);
            assert_eq!(drops.get(), 1);
        }
    }

    #[test]
    fn a_panicking_callback_drops_its_captures_once() {
        let drops = Rc::new(Cell::new(0));
        let token = Token(drops.clone());
        let callback = Callback::new(move |_: &()| {
            let _token = &token;
            panic!("inside");
        });
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| callback.call(&())));
        assert!(caught.is_err());
        assert_eq!(drops.get(), 1);
    }

    #[test]
    fn callbacks_can_be_moved_after_creation() {
        let value = Rc::new(5);
        let callbacks: Vec<Callback<i32>> = (0..4)
            .map(|n| {
                let value = value.clone();
                Callback::new(move |x: &i32| assert_eq!(*x, *value + n))
            })
            .collect();
        for (n, callback) in callbacks.into_iter().enumerate() {
            callback.call(&(5 + n as i32));
        }
        assert_eq!(Rc::strong_count(&value), 1);
    }

    #[test]
    fn names_are_the_closure_types() {
        fn named(_: &()) {}
        assert_eq!(
            Callback::new(named).name(),
            "asyncio_callbacks::callback::tests::names_are_the_closure_types::named"
        );
        fn thunk() {}
        assert_eq!(
            Callback::from_thunk(thunk).name(),
            "asyncio_callbacks::callback::tests::names_are_the_closure_types::thunk"
        );
        let closure = Callback::new(|_: &()| {});
        assert_eq!(
            closure.name(),
            "asyncio_callbacks::callback::tests::names_are_the_closure_types::{{closure}}"
        );
        assert_eq!(
            format!("{closure:?}"),
            format!("Callback({:?})", closure.name())
        );
    }
}
