//! `functools.partial` for callbacks.

/// Binds `argument` as the second parameter of `callback`, giving a callback
/// that takes only the first: the `functools.partial(callback, n=1)` of the
/// asyncio chapter.
///
/// asyncio calls a done-callback with exactly one argument, the future; any
/// other data must be bound beforehand. `partial` does that for a plain
/// function, which keeps the function reusable and its name visible in error
/// reports. A capturing closure (`move |future| callback(future, 1)`) is the
/// other idiomatic way and needs no helper; both are shown below.
///
/// The bound value is moved into the returned closure and handed to
/// `callback` by value when it runs. To bind several values, bind a tuple or
/// a struct.
///
/// # Examples
///
/// ```
/// use asyncio_callbacks::partial;
///
/// fn callback(value: &str, n: u32) -> String {
///     format!("{n}: {value}")
/// }
///
/// // functools.partial style: bind `n`, keep the function reusable.
/// let first = partial(callback, 1);
/// assert_eq!(first("done"), "1: done");
///
/// // The closure style does the same with a capture.
/// let second = move |value: &str| callback(value, 2);
/// assert_eq!(second("done"), "2: done");
/// ```
pub fn partial<A: ?Sized, B, R>(
    callback: impl FnOnce(&A, B) -> R,
    argument: B,
) -> impl FnOnce(&A) -> R {
    move |first: &A| callback(first, argument)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    #[test]
    fn bound_argument_is_dropped_with_an_unused_partial() {
        let bound = Rc::new(());
        let callback = partial(|_: &(), _held: Rc<()>| {}, Rc::clone(&bound));
        assert_eq!(Rc::strong_count(&bound), 2);
        drop(callback);
        assert_eq!(Rc::strong_count(&bound), 1);
    }

    #[test]
    fn bound_argument_is_moved_into_the_call() {
        let callback = partial(
            |prefix: &str, owned: String| format!("{prefix}{owned}"),
            String::from("!"),
        );
        assert_eq!(callback("hi"), "hi!");
    }
}
