//! The ordered, keyed list behind `add_done_callback`.

use std::cell::Cell;
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU64, Ordering};
use std::{fmt, iter, mem, slice, vec};

/// The capacity taken on the first spill to the heap: a fan-out of up to 16
/// callbacks allocates once, instead of once per doubling from one. Only
/// futures with two or more listeners pay for it; most have one or none.
const FIRST_SPILL: usize = 16;

/// A spilled list compacts its removed entries away once they outnumber the
/// live ones and there are at least this many slots.
const COMPACT_AT: usize = 32;

/// Keys are handed out from per-thread blocks of this many, so that taking
/// one is a thread-local increment and no two threads ever hand out the same.
const KEY_BLOCK: u64 = 1 << 32;

/// The next unclaimed block of keys (block 0 is never used: key 0 is no key).
static KEY_BLOCKS: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// The next key this thread hands out; a multiple of `KEY_BLOCK` (0 at
    /// first) means its block is used up.
    static NEXT_KEY: Cell<u64> = const { Cell::new(0) };
}

/// A key no list or thread has handed out before.
#[inline]
fn next_key() -> NonZeroU64 {
    let claim = || KEY_BLOCKS.fetch_add(1, Ordering::Relaxed) * KEY_BLOCK;
    let key = NEXT_KEY
        .try_with(|next| {
            let mut key = next.get();
            if key % KEY_BLOCK == 0 {
                key = claim() + 1;
            }
            next.set(key + 1);
            key
        })
        // During thread teardown: a block of its own for this one key.
        .unwrap_or_else(|_| claim() + 1);
    // A block's first key is one past a multiple of `KEY_BLOCK`, never 0.
    NonZeroU64::new(key).unwrap_or(NonZeroU64::MIN)
}

/// Identifies one entry of a [`CallbackList`], for [`CallbackList::remove`].
///
/// Rust closures cannot be compared, so where asyncio's
/// `remove_done_callback(fn)` finds callbacks by equality, this crate hands
/// out a key when a callback is added. Keys are unique across every list of
/// the process and never reused: a key whose entry is gone, or a key of
/// another list, removes nothing (as asyncio's `remove_done_callback` of a
/// callback the future does not have returns 0).
///
/// # Examples
///
/// ```
/// use asyncio_callbacks::CallbackList;
///
/// let mut list = CallbackList::new();
/// let key = list.push("a");
/// assert_eq!(list.remove(key), Some("a"));
/// assert_eq!(list.remove(key), None);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CallbackKey(NonZeroU64);

impl CallbackKey {
    /// The key's number: never 0, unique in the process, and increasing in
    /// insertion order among the keys one thread hands out.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_callbacks::CallbackList;
    ///
    /// let (mut first, mut second) = (CallbackList::new(), CallbackList::new());
    /// let a = first.push('a').as_u64();
    /// let b = second.push('b').as_u64();
    /// let c = first.push('c').as_u64();
    /// assert!(0 < a && a < b && b < c);
    /// ```
    pub fn as_u64(self) -> u64 {
        self.0.get()
    }
}

impl fmt::Debug for CallbackKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CallbackKey({})", self.0)
    }
}

/// One entry of a list. The callback comes first (`repr(C)`): a push then
/// copies it in the same aligned chunks it was written in, instead of a
/// layout that makes the copy read across two smaller stores (which stalls
/// store forwarding, as a profile of `push` showed).
#[repr(C)]
struct Entry<C> {
    callback: C,
    key: CallbackKey,
}

/// Where the entries are: a future usually has one listener (the task
/// awaiting it) or none, so the first entry is kept without allocating.
/// This is as big as a `Vec` plus one entry.
enum Entries<C> {
    Empty,
    One(Entry<C>),
    /// Any number, after the list once held two at the same time.
    Many(Many<C>),
}

/// A spilled list. A removed entry leaves a hole (`None`) in its place, so
/// removal is a binary search, not a shift of everything after it; the holes
/// are compacted away once they outnumber the live entries.
struct Many<C> {
    /// Keys increase along the vector, holes included.
    entries: Vec<Entry<Option<C>>>,
    /// How many entries are not holes.
    live: usize,
    /// Whether keys increase along `entries`: true unless the list moved
    /// between threads (each thread hands out keys from its own range).
    sorted: bool,
}

impl<C> Many<C> {
    /// The index of the entry with `key`, hole or not.
    fn find(&self, key: CallbackKey) -> Option<usize> {
        if self.sorted {
            self.entries
                .binary_search_by_key(&key, |entry| entry.key)
                .ok()
        } else {
            self.entries.iter().position(|entry| entry.key == key)
        }
    }

    /// Appends `entry`, noting whether the keys still increase.
    #[inline]
    fn push(&mut self, make_entry: impl FnOnce() -> Entry<Option<C>>, key: CallbackKey) {
        if self.entries.last().is_some_and(|last| last.key > key) {
            self.sorted = false;
        }
        // `extend` of a one-item iterator of known length reserves first,
        // then writes the item the closure builds into its slot.
        self.entries.extend(iter::once_with(make_entry));
        self.live += 1;
    }

    fn remove(&mut self, key: CallbackKey) -> Option<C> {
        let index = self.find(key)?;
        let callback = self.entries[index].callback.take()?;
        self.live -= 1;
        if self.live == 0 {
            self.entries.clear();
        } else if self.entries.len() >= COMPACT_AT && self.live * 2 < self.entries.len() {
            self.entries.retain(|entry| entry.callback.is_some());
        }
        Some(callback)
    }

    fn pop(&mut self) -> Option<C> {
        while let Some(entry) = self.entries.pop() {
            if let Some(callback) = entry.callback {
                self.live -= 1;
                return Some(callback);
            }
        }
        None
    }
}

/// An ordered list of callbacks, each with a [`CallbackKey`].
///
/// Entries keep their insertion order; the same callback may be added twice
/// and then appears twice, as in asyncio. Draining the list (through
/// [`IntoIterator`] or [`std::mem::take`]) yields entries in insertion order.
///
/// The list holds its first entry without allocating, and allocates room
/// for sixteen at once when a second one arrives.
///
/// # Examples
///
/// ```
/// use asyncio_callbacks::CallbackList;
///
/// let mut list = CallbackList::new();
/// list.push(1);
/// let two = list.push(2);
/// list.push(3);
/// assert_eq!(list.remove(two), Some(2));
/// assert_eq!(list.into_iter().collect::<Vec<_>>(), [1, 3]);
/// ```
pub struct CallbackList<C> {
    /// Entries in insertion order; keys are increasing along it.
    entries: Entries<C>,
}

impl<C> CallbackList<C> {
    /// Creates an empty list; it allocates nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_callbacks::CallbackList;
    ///
    /// let list: CallbackList<fn()> = CallbackList::new();
    /// assert!(list.is_empty());
    /// ```
    pub const fn new() -> Self {
        CallbackList {
            entries: Entries::Empty,
        }
    }

    /// Appends `callback` and returns the key that removes it.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_callbacks::CallbackList;
    ///
    /// let mut list = CallbackList::new();
    /// let first = list.push("x");
    /// let second = list.push("x");
    /// assert_ne!(first, second);
    /// assert_eq!(list.len(), 2);
    /// ```
    #[inline]
    pub fn push(&mut self, callback: C) -> CallbackKey {
        self.push_with(|| callback)
    }

    /// Appends the callback that `make` returns, and returns the key that
    /// removes it.
    ///
    /// The same as `push(make())`, except that room is made first and the
    /// callback is built where it is stored: a callback built first has to be
    /// kept on the stack while room is made, then copied, and that copy can
    /// stall the CPU (it reads in wide chunks what was just written in
    /// narrow ones). Use it on hot paths whose callback is built on the spot.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_callbacks::{Callback, CallbackList};
    ///
    /// let mut list = CallbackList::new();
    /// let key = list.push_with(|| Callback::new(|n: &u32| assert_eq!(*n, 7)));
    /// assert_eq!(list.len(), 1);
    /// for callback in list {
    ///     callback.call(&7);
    /// }
    /// # let _ = key;
    /// ```
    #[inline]
    pub fn push_with(&mut self, make: impl FnOnce() -> C) -> CallbackKey {
        let key = CallbackKey(next_key());
        match &mut self.entries {
            // `extend` of a one-item iterator of known length reserves
            // first, then writes the item the closure builds into its slot.
            Entries::Many(many) => many.push(
                || Entry {
                    callback: Some(make()),
                    key,
                },
                key,
            ),
            Entries::Empty => {
                let entry = Entries::One(Entry {
                    callback: make(),
                    key,
                });
                // The old value is `Empty`: nothing to drop. (An assignment
                // would call the list's drop glue, which LLVM may not inline:
                // 10 instructions on every first push.)
                mem::forget(mem::replace(&mut self.entries, entry));
            }
            Entries::One(_) => self.spill(Entry {
                callback: Some(make()),
                key,
            }),
        }
        key
    }

    /// Moves the inline entry to the heap, with room for `FIRST_SPILL`, and
    /// appends `entry`.
    #[cold]
    fn spill(&mut self, entry: Entry<Option<C>>) {
        let mut entries = Vec::with_capacity(FIRST_SPILL);
        if let Entries::One(first) = mem::replace(&mut self.entries, Entries::Empty) {
            entries.push(Entry {
                callback: Some(first.callback),
                key: first.key,
            });
        }
        let sorted = entries.first().map_or(true, |first| first.key < entry.key);
        entries.push(entry);
        self.entries = Entries::Many(Many {
            live: entries.len(),
            entries,
            sorted,
        });
    }

    /// Removes the entry with `key` and returns it, or `None` when the key's
    /// entry is gone (removed, drained) or was never in this list.
    ///
    /// The entry is handed back rather than dropped, so that a caller holding
    /// a lock or a `RefCell` borrow can release it before the callback's
    /// captures are dropped. `Future::remove_done_callback` turns this into
    /// asyncio's count of removed callbacks. Removal takes logarithmic time
    /// (a removed entry leaves a hole that later pushes compact away), so
    /// removing every entry of a long list one by one stays linear overall.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_callbacks::CallbackList;
    ///
    /// let mut list = CallbackList::new();
    /// let key = list.push("callback");
    /// assert_eq!(list.remove(key), Some("callback"));
    /// assert_eq!(list.remove(key), None);
    ///
    /// // A key of another list removes nothing.
    /// let mut other = CallbackList::new();
    /// let foreign = other.push("other");
    /// list.push("mine");
    /// assert_eq!(list.remove(foreign), None);
    /// assert_eq!(list.len(), 1);
    /// ```
    pub fn remove(&mut self, key: CallbackKey) -> Option<C> {
        match &mut self.entries {
            Entries::One(entry) if entry.key == key => self.take_one(),
            Entries::Many(many) => many.remove(key),
            _ => None,
        }
    }

    /// The callback with `key`, to change it in place, or `None` when the
    /// key's entry is gone or was never in this list.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_callbacks::CallbackList;
    ///
    /// let mut list = CallbackList::new();
    /// let key = list.push(1);
    /// *list.get_mut(key).unwrap() = 2;
    /// assert_eq!(list.remove(key), Some(2));
    /// assert!(list.get_mut(key).is_none());
    /// ```
    pub fn get_mut(&mut self, key: CallbackKey) -> Option<&mut C> {
        match &mut self.entries {
            Entries::One(entry) if entry.key == key => Some(&mut entry.callback),
            Entries::Many(many) => {
                let index = many.find(key)?;
                many.entries[index].callback.as_mut()
            }
            _ => None,
        }
    }

    /// Empties a list that holds one entry inline, and returns the entry.
    fn take_one(&mut self) -> Option<C> {
        match mem::replace(&mut self.entries, Entries::Empty) {
            Entries::One(entry) => Some(entry.callback),
            other => {
                self.entries = other;
                None
            }
        }
    }

    /// Removes the last entry and returns it, or `None` if the list is empty.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_callbacks::CallbackList;
    ///
    /// let mut list = CallbackList::new();
    /// list.push('a');
    /// list.push('b');
    /// assert_eq!(list.pop(), Some('b'));
    /// assert_eq!(list.len(), 1);
    /// ```
    pub fn pop(&mut self) -> Option<C> {
        match &mut self.entries {
            Entries::Empty => None,
            Entries::One(_) => self.take_one(),
            Entries::Many(many) => many.pop(),
        }
    }

    /// The number of callbacks in the list.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_callbacks::CallbackList;
    ///
    /// let mut list = CallbackList::new();
    /// list.push(0);
    /// assert_eq!(list.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        match &self.entries {
            Entries::Empty => 0,
            Entries::One(_) => 1,
            Entries::Many(many) => many.live,
        }
    }

    /// Whether the list holds no callback.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_callbacks::CallbackList;
    ///
    /// let mut list = CallbackList::new();
    /// assert!(list.is_empty());
    /// list.push(0);
    /// assert!(!list.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Iterates over the entries in insertion order, with their keys.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_callbacks::CallbackList;
    ///
    /// let mut list = CallbackList::new();
    /// list.push('a');
    /// list.push('b');
    /// let items: Vec<char> = list.iter().map(|(_, item)| *item).collect();
    /// assert_eq!(items, ['a', 'b']);
    /// ```
    pub fn iter(&self) -> Iter<'_, C> {
        let inner = match &self.entries {
            Entries::Empty => Walk::One(None),
            Entries::One(entry) => Walk::One(Some(entry)),
            Entries::Many(many) => Walk::Many(many.entries.iter()),
        };
        Iter {
            inner,
            remaining: self.len(),
        }
    }
}

impl<C> Default for CallbackList<C> {
    fn default() -> Self {
        CallbackList::new()
    }
}

impl<C> fmt::Debug for CallbackList<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackList")
            .field("len", &self.len())
            .finish()
    }
}

impl<C> IntoIterator for CallbackList<C> {
    type Item = C;
    type IntoIter = IntoIter<C>;

    /// Drains the list in insertion order.
    fn into_iter(self) -> IntoIter<C> {
        let remaining = self.len();
        let inner = match self.entries {
            Entries::Empty => Drain::One(None),
            Entries::One(entry) => Drain::One(Some(entry.callback)),
            Entries::Many(many) => Drain::Many(many.entries.into_iter()),
        };
        IntoIter { inner, remaining }
    }
}

impl<'a, C> IntoIterator for &'a CallbackList<C> {
    type Item = (CallbackKey, &'a C);
    type IntoIter = Iter<'a, C>;

    fn into_iter(self) -> Iter<'a, C> {
        self.iter()
    }
}

/// The callbacks of a [`CallbackList`], by value, in insertion order.
///
/// Dropping the iterator drops the callbacks it has not yielded.
pub struct IntoIter<C> {
    inner: Drain<C>,
    remaining: usize,
}

enum Drain<C> {
    One(Option<C>),
    Many(vec::IntoIter<Entry<Option<C>>>),
}

impl<C> Iterator for IntoIter<C> {
    type Item = C;

    fn next(&mut self) -> Option<C> {
        let callback = match &mut self.inner {
            Drain::One(callback) => callback.take(),
            Drain::Many(entries) => entries.find_map(|entry| entry.callback),
        };
        if callback.is_some() {
            self.remaining -= 1;
        }
        callback
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<C> ExactSizeIterator for IntoIter<C> {}

impl<C> fmt::Debug for IntoIter<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntoIter")
            .field("remaining", &self.remaining)
            .finish()
    }
}

/// The entries of a [`CallbackList`], by reference, with their keys.
pub struct Iter<'a, C> {
    inner: Walk<'a, C>,
    remaining: usize,
}

enum Walk<'a, C> {
    One(Option<&'a Entry<C>>),
    Many(slice::Iter<'a, Entry<Option<C>>>),
}

impl<'a, C> Iterator for Iter<'a, C> {
    type Item = (CallbackKey, &'a C);

    fn next(&mut self) -> Option<Self::Item> {
        let item = match &mut self.inner {
            Walk::One(entry) => entry.take().map(|entry| (entry.key, &entry.callback)),
            Walk::Many(entries) => {
                entries.find_map(|entry| Some((entry.key, entry.callback.as_ref()?)))
            }
        };
        if item.is_some() {
            self.remaining -= 1;
        }
        item
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<C> ExactSizeIterator for Iter<'_, C> {}

impl<C> fmt::Debug for Iter<'_, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter")
            .field("remaining", &self.remaining)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_never_reused_after_removal() {
        let mut list = CallbackList::new();
        let first = list.push('a');
        assert_eq!(list.remove(first), Some('a'));
        let second = list.push('b');
        assert_ne!(first, second);
        assert_eq!(list.remove(first), None);
        assert_eq!(list.len(), 1);
    }

    #[test]
    fn remove_finds_entries_anywhere_in_the_list() {
        let mut list = CallbackList::new();
        let keys: Vec<CallbackKey> = (0..10).map(|n| list.push(n)).collect();
        for key in keys.iter().step_by(3) {
            assert!(list.remove(*key).is_some());
        }
        assert_eq!(list.into_iter().collect::<Vec<_>>(), [1, 2, 4, 5, 7, 8]);
    }

    #[test]
    fn pop_and_remove_work_inline_and_spilled() {
        let mut list = CallbackList::new();
        let only = list.push(1);
        assert_eq!(list.remove(CallbackKey(NonZeroU64::MIN)), None);
        assert_eq!(list.remove(only), Some(1));
        assert!(list.is_empty());
        list.push(2);
        assert_eq!(list.pop(), Some(2));
        assert_eq!(list.pop(), None);
        let keys: Vec<CallbackKey> = (3..=20).map(|n| list.push(n)).collect();
        assert_eq!(list.len(), 18);
        assert_eq!(list.remove(keys[0]), Some(3));
        assert_eq!(list.pop(), Some(20));
        assert_eq!(
            list.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
            (4..=19).collect::<Vec<_>>()
        );
        let mut drained = list.into_iter();
        assert_eq!(drained.len(), 16);
        assert_eq!(drained.next(), Some(4));
        assert_eq!(drained.len(), 15);
    }

    #[test]
    fn push_with_builds_in_order_inline_spilled_and_past_the_first_spill() {
        // Through every layout: empty, one inline, the spill, and past
        // FIRST_SPILL so that the vector grows. Each `make` runs once, and
        // entries keep their order and keys, mixed with plain pushes.
        let mut list = CallbackList::new();
        let mut made = Vec::new();
        let mut keys = Vec::new();
        for n in 0..(FIRST_SPILL as u64 + 3) {
            let key = if n % 2 == 0 {
                list.push_with(|| {
                    made.push(n);
                    n
                })
            } else {
                list.push(n)
            };
            keys.push(key);
        }
        assert!(keys.windows(2).all(|pair| pair[0] < pair[1]));
        assert_eq!(
            made,
            (0..FIRST_SPILL as u64 + 3).step_by(2).collect::<Vec<_>>()
        );
        assert_eq!(
            list.into_iter().collect::<Vec<_>>(),
            (0..FIRST_SPILL as u64 + 3).collect::<Vec<_>>()
        );
    }

    #[test]
    fn dropping_a_partly_drained_list_drops_the_rest() {
        use std::rc::Rc;
        let token = Rc::new(());
        for count in [1, 2, 20] {
            let mut list = CallbackList::new();
            for _ in 0..count {
                list.push(Rc::clone(&token));
            }
            let mut drained = list.into_iter();
            drop(drained.next());
            drop(drained);
            assert_eq!(Rc::strong_count(&token), 1);
        }
    }

    #[test]
    fn a_list_is_as_big_as_a_vec_and_one_entry() {
        // What a future pays for its listener list, one entry inline.
        type Big = [usize; 4];
        let expected = std::mem::size_of::<Vec<Entry<Big>>>()
            .max(std::mem::size_of::<Entry<Big>>())
            + std::mem::size_of::<usize>(); // the tag
        assert!(std::mem::size_of::<CallbackList<Big>>() <= expected);
    }

    #[test]
    fn keys_of_one_list_never_name_entries_of_another() {
        let mut first = CallbackList::new();
        let mut second = CallbackList::new();
        let a = first.push('a');
        let b = second.push('b');
        assert_eq!(second.remove(a), None);
        assert_eq!(first.remove(b), None);
        assert_eq!((first.len(), second.len()), (1, 1));
        let drained = std::mem::take(&mut first);
        assert_eq!(drained.len(), 1);
        let c = first.push('c');
        assert_ne!(a, c, "a fresh list never reuses a key");
        assert_eq!(first.remove(a), None);
    }

    #[test]
    fn a_list_that_moved_between_threads_still_finds_every_key() {
        let mut list = CallbackList::new();
        let here: Vec<CallbackKey> = (0..3).map(|n| list.push(n)).collect();
        let (mut list, there) = std::thread::spawn(move || {
            let there: Vec<CallbackKey> = (3..6).map(|n| list.push(n)).collect();
            (list, there)
        })
        .join()
        .unwrap();
        let back = list.push(6);
        for (n, key) in here.iter().chain(&there).chain([&back]).enumerate() {
            assert_eq!(*list.get_mut(*key).unwrap(), n);
        }
        assert_eq!(list.remove(here[1]), Some(1));
        assert_eq!(list.remove(back), Some(6));
        assert_eq!(list.remove(back), None);
        assert_eq!(list.into_iter().collect::<Vec<_>>(), [0, 2, 3, 4, 5]);
    }

    #[test]
    fn keys_differ_between_threads() {
        let here = CallbackList::new().push(()).as_u64();
        let there = std::thread::spawn(|| CallbackList::new().push(()).as_u64())
            .join()
            .unwrap();
        assert_ne!(here / KEY_BLOCK, there / KEY_BLOCK);
    }

    #[test]
    fn removing_every_entry_one_by_one_compacts_and_keeps_order() {
        let mut list = CallbackList::new();
        let keys: Vec<CallbackKey> = (0..1000).map(|n| list.push(n)).collect();
        // Remove all but every hundredth, from the middle outwards and back.
        for (n, key) in keys.iter().enumerate().rev() {
            if n % 100 != 0 {
                assert_eq!(list.remove(*key), Some(n));
            }
        }
        assert_eq!(list.len(), 10);
        if let Entries::Many(many) = &list.entries {
            assert!(many.entries.len() < 2 * COMPACT_AT, "holes were compacted");
        }
        assert_eq!(
            list.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
            (0..1000).step_by(100).collect::<Vec<_>>()
        );
        assert_eq!(*list.get_mut(keys[500]).unwrap(), 500);
        assert!(list.get_mut(keys[501]).is_none());
        assert_eq!(list.pop(), Some(900));
        let mut drained = list.into_iter();
        assert_eq!(drained.len(), 9);
        assert_eq!(drained.next(), Some(0));
        assert_eq!(drained.len(), 8);
    }

    #[test]
    fn holes_are_skipped_by_iteration_pop_and_draining() {
        let mut list = CallbackList::new();
        let keys: Vec<CallbackKey> = (0..5).map(|n| list.push(n)).collect();
        list.remove(keys[4]);
        list.remove(keys[1]);
        assert_eq!(list.iter().len(), 3);
        assert_eq!(list.pop(), Some(3), "the hole at the end is skipped");
        assert_eq!(list.into_iter().collect::<Vec<_>>(), [0, 2]);
    }
}
