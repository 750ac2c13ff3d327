//! A boxed one-shot callback that knows its name.

use std::any::type_name;

/// A one-shot callback taking `&A`, that can say what it is.
///
/// Every `FnOnce(&A)` closure or function implements it, so callers never
/// implement it by hand; boxing it as a [`BoxCallback`] keeps the name
/// available after the concrete type is erased. The name is the callback's
/// type name (for a function, its path; for a closure, the path of the
/// function that defines it followed by `{{closure}}`), which is what an
/// error report shows as the callback that failed.
///
/// # Examples
///
/// ```
/// use asyncio_callbacks::BoxCallback;
///
/// fn double(value: &i32) {
///     assert_eq!(*value * 2, 84);
/// }
///
/// let callback: BoxCallback<i32> = Box::new(double);
/// assert!(callback.name().ends_with("double"));
/// callback.call(&42);
/// ```
pub trait Callback<A: ?Sized> {
    /// Consumes the callback and runs it with `argument`.
    fn call(self: Box<Self>, argument: &A);

    /// The callback's type name, for error reports and `Debug` output.
    fn name(&self) -> &'static str;
}

impl<A: ?Sized, F: FnOnce(&A)> Callback<A> for F {
    fn call(self: Box<Self>, argument: &A) {
        (*self)(argument)
    }

    fn name(&self) -> &'static str {
        type_name::<F>()
    }
}

/// A type-erased [`Callback`], as stored in a done-callback list.
pub type BoxCallback<A> = Box<dyn Callback<A>>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn closure_runs_once_with_its_argument() {
        let seen = Cell::new(0);
        let callback: Box<dyn Callback<i32> + '_> = Box::new(|value: &i32| seen.set(*value));
        callback.call(&5);
        assert_eq!(seen.get(), 5);
    }

    #[test]
    fn name_of_a_closure_names_its_defining_function() {
        let callback: BoxCallback<i32> = Box::new(|_: &i32| {});
        assert_eq!(
            callback.name(),
            "asyncio_callbacks::callback::tests::name_of_a_closure_names_its_defining_function::{{closure}}"
        );
    }
}
