//! The ordered, keyed list behind `add_done_callback`.

use std::fmt;

use smallvec::SmallVec;

/// Entries kept without allocating: a future usually has one listener (the
/// task awaiting it) or none.
const INLINE_ENTRIES: usize = 1;

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
    entries: SmallVec<[Entry<C>; INLINE_ENTRIES]>,
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
            entries: SmallVec::new_const(),
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
        let key = CallbackKey(self.next_key);
        self.next_key += 1;
        if self.entries.len() == self.entries.capacity() && !self.entries.spilled() {
            self.entries.reserve_exact(FIRST_SPILL - self.entries.len());
        }
        self.entries.push(Entry { callback, key });
        key
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
        // Keys increase along the list, so a binary search finds the entry.
        let index = self
            .entries
            .binary_search_by_key(&key, |entry| entry.key)
            .ok()?;
        Some(self.entries.remove(index).callback)
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
        self.entries.pop().map(|entry| entry.callback)
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
        self.entries.len()
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
        self.entries.is_empty()
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
            inner: self.entries.iter(),
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
            .field("len", &self.entries.len())
            .field("next_key", &self.next_key)
            .finish()
    }
}

impl<C> IntoIterator for CallbackList<C> {
    type Item = C;
    type IntoIter = IntoIter<C>;

    /// Drains the list in insertion order.
    fn into_iter(self) -> IntoIter<C> {
        IntoIter {
            inner: self.entries.into_iter(),
        }
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
    inner: smallvec::IntoIter<[Entry<C>; INLINE_ENTRIES]>,
}

impl<C> Iterator for IntoIter<C> {
    type Item = C;

    fn next(&mut self) -> Option<C> {
        self.inner.next().map(|entry| entry.callback)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<C> ExactSizeIterator for IntoIter<C> {}

impl<C> fmt::Debug for IntoIter<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntoIter")
            .field("remaining", &self.inner.len())
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
    fn taking_the_list_keeps_counting_keys_in_the_new_one_from_zero() {
        let mut list = CallbackList::new();
        list.push(1);
        let drained = std::mem::take(&mut list);
        assert_eq!(drained.len(), 1);
        assert!(list.is_empty());
        assert_eq!(list.push(2).as_u64(), 0);
    }
}
