//! The ordered, keyed list behind `add_done_callback`.

use std::{fmt, iter, mem, slice, vec};

/// The capacity taken on the first spill to the heap: a fan-out of up to 16
/// callbacks allocates once, instead of once per doubling from one. Only
/// futures with two or more listeners pay for it; most have one or none.
const FIRST_SPILL: usize = 16;

/// Identifies one entry of a [`CallbackList`], for [`CallbackList::remove`].
///
/// Rust closures cannot be compared, so where asyncio's
/// `remove_done_callback(fn)` finds callbacks by equality, this crate hands
/// out a key when a callback is added. Keys are never reused within one list:
/// a key whose entry is gone removes nothing. A key is meaningful only for
/// the list that returned it.
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
pub struct CallbackKey(u64);

impl CallbackKey {
    /// The key's number: keys of one list count up from zero in insertion order.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncio_callbacks::CallbackList;
    ///
    /// let mut list = CallbackList::new();
    /// assert_eq!(list.push('a').as_u64(), 0);
    /// assert_eq!(list.push('b').as_u64(), 1);
    /// ```
    pub fn as_u64(self) -> u64 {
        self.0
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
    Many(Vec<Entry<C>>),
}

impl<C> Entries<C> {
    fn as_slice(&self) -> &[Entry<C>] {
        match self {
            Entries::Empty => &[],
            Entries::One(entry) => slice::from_ref(entry),
            Entries::Many(entries) => entries,
        }
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
    /// Entries in insertion order; keys are strictly increasing along it.
    entries: Entries<C>,
    /// The key the next push hands out; it only grows, so keys are never reused.
    next_key: u64,
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
            next_key: 0,
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
    /// assert_eq!(key.as_u64(), 0);
    /// for callback in list {
    ///     callback.call(&7);
    /// }
    /// ```
    #[inline]
    pub fn push_with(&mut self, make: impl FnOnce() -> C) -> CallbackKey {
        let key = CallbackKey(self.next_key);
        self.next_key += 1;
        let make_entry = || Entry {
            callback: make(),
            key,
        };
        match &mut self.entries {
            // `extend` of a one-item iterator of known length reserves
            // first, then writes the item the closure builds into its slot.
            Entries::Many(entries) => entries.extend(iter::once_with(make_entry)),
            Entries::Empty => self.entries = Entries::One(make_entry()),
            Entries::One(_) => self.spill(make_entry),
        }
        key
    }

    /// Moves the inline entry to the heap, with room for `FIRST_SPILL`, and
    /// appends the entry `make_entry` builds.
    #[cold]
    fn spill(&mut self, make_entry: impl FnOnce() -> Entry<C>) {
        let mut entries = Vec::with_capacity(FIRST_SPILL);
        if let Entries::One(first) = mem::replace(&mut self.entries, Entries::Empty) {
            entries.push(first);
        }
        entries.push(make_entry());
        self.entries = Entries::Many(entries);
    }

    /// Removes the entry with `key` and returns it, or `None` when the key's
    /// entry is already gone (removed, drained, or never in this list).
    ///
    /// The entry is handed back rather than dropped, so that a caller holding
    /// a lock or a `RefCell` borrow can release it before the callback's
    /// captures are dropped. `Future::remove_done_callback` turns this into
    /// asyncio's count of removed callbacks.
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
    /// ```
    pub fn remove(&mut self, key: CallbackKey) -> Option<C> {
        match &mut self.entries {
            Entries::One(entry) if entry.key == key => self.take_one(),
            Entries::Many(entries) => {
                // Keys increase along the list, so a binary search finds the entry.
                let index = entries.binary_search_by_key(&key, |entry| entry.key).ok()?;
                Some(entries.remove(index).callback)
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
            Entries::Many(entries) => entries.pop().map(|entry| entry.callback),
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
        self.entries.as_slice().len()
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
        self.entries.as_slice().is_empty()
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
        Iter {
            inner: self.entries.as_slice().iter(),
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
            .field("next_key", &self.next_key)
            .finish()
    }
}

impl<C> IntoIterator for CallbackList<C> {
    type Item = C;
    type IntoIter = IntoIter<C>;

    /// Drains the list in insertion order.
    fn into_iter(self) -> IntoIter<C> {
        let inner = match self.entries {
            Entries::Empty => Drain::One(None),
            Entries::One(entry) => Drain::One(Some(entry)),
            Entries::Many(entries) => Drain::Many(entries.into_iter()),
        };
        IntoIter { inner }
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
}

enum Drain<C> {
    One(Option<Entry<C>>),
    Many(vec::IntoIter<Entry<C>>),
}

impl<C> Iterator for IntoIter<C> {
    type Item = C;

    fn next(&mut self) -> Option<C> {
        let entry = match &mut self.inner {
            Drain::One(entry) => entry.take(),
            Drain::Many(entries) => entries.next(),
        };
        entry.map(|entry| entry.callback)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let len = match &self.inner {
            Drain::One(entry) => usize::from(entry.is_some()),
            Drain::Many(entries) => entries.len(),
        };
        (len, Some(len))
    }
}

impl<C> ExactSizeIterator for IntoIter<C> {}

impl<C> fmt::Debug for IntoIter<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntoIter")
            .field("remaining", &self.len())
            .finish()
    }
}

/// The entries of a [`CallbackList`], by reference, with their keys.
pub struct Iter<'a, C> {
    inner: std::slice::Iter<'a, Entry<C>>,
}

impl<'a, C> Iterator for Iter<'a, C> {
    type Item = (CallbackKey, &'a C);

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next().map(|entry| (entry.key, &entry.callback))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<C> ExactSizeIterator for Iter<'_, C> {}

impl<C> fmt::Debug for Iter<'_, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter")
            .field("remaining", &self.inner.len())
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
        assert_eq!(list.remove(CallbackKey(7)), None);
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
        for n in 0..(FIRST_SPILL as u64 + 3) {
            let key = if n % 2 == 0 {
                list.push_with(|| {
                    made.push(n);
                    n
                })
            } else {
                list.push(n)
            };
            assert_eq!(key.as_u64(), n);
        }
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
        let expected = std::mem::size_of::<Vec<Entry<Big>>>().max(std::mem::size_of::<Entry<Big>>())
            + std::mem::size_of::<usize>() // the tag
            + std::mem::size_of::<u64>(); // next_key
        assert!(std::mem::size_of::<CallbackList<Big>>() <= expected);
    }

    #[test]
    fn taking_the_list_keeps_counting_keys_in_the_new_one_from_zero() {
        let mut list = CallbackList::new();
        list.push(1);
        let drained = std::mem::take(&mut list);
        assert_eq!(drained.len(), 1);
        assert!(list.is_empty());
        assert_eq!(list.push(2).as_u64(), 0);
    }
}
