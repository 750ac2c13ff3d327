//! `CallbackList` as a done-callback registry: order, keys, and dropping.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use asyncio_callbacks::{partial, Callback, CallbackKey, CallbackList};

/// Counts drops of the values it hands out.
#[derive(Clone, Default)]
struct Drops(Rc<Cell<usize>>);

struct Token(Drops);

impl Drop for Token {
    fn drop(&mut self) {
        self.0 .0.set(self.0 .0.get() + 1);
    }
}

impl Drops {
    fn token(&self) -> Token {
        Token(self.clone())
    }

    fn count(&self) -> usize {
        self.0.get()
    }
}

fn run_all(list: CallbackList<Callback<u32>>, value: u32) {
    for callback in list {
        callback.call(&value);
    }
}

#[test]
fn drained_callbacks_run_in_insertion_order_with_duplicates() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let mut list: CallbackList<Callback<u32>> = CallbackList::new();
    for name in ["a", "b", "a"] {
        let log = log.clone();
        list.push(Callback::new(move |value: &u32| {
            log.borrow_mut().push(format!("{name}{value}"))
        }));
    }
    run_all(list, 1);
    assert_eq!(*log.borrow(), ["a1", "b1", "a1"]);
}

#[test]
fn removing_drops_the_callback_and_what_it_captured() {
    let drops = Drops::default();
    let mut list: CallbackList<Callback<u32>> = CallbackList::new();
    let token = drops.token();
    let key = list.push(Callback::new(move |_: &u32| drop(token)));
    let removed = list.remove(key);
    assert_eq!(drops.count(), 0, "handed back, not dropped yet");
    drop(removed);
    assert_eq!(drops.count(), 1);
    assert!(list.is_empty());
}

#[test]
fn dropping_a_list_drops_every_callback_without_running_it() {
    let drops = Drops::default();
    let ran = Rc::new(Cell::new(false));
    let mut list: CallbackList<Callback<u32>> = CallbackList::new();
    for _ in 0..4 {
        let (token, ran) = (drops.token(), ran.clone());
        list.push(Callback::new(move |_: &u32| {
            let _token = token;
            ran.set(true);
        }));
    }
    drop(list);
    assert_eq!(drops.count(), 4);
    assert!(!ran.get());
}

#[test]
fn a_partially_consumed_drain_drops_the_rest() {
    let drops = Drops::default();
    let mut list = CallbackList::new();
    for _ in 0..3 {
        list.push(drops.token());
    }
    let mut drain = list.into_iter();
    let first = drain.next();
    assert_eq!(drain.len(), 2);
    drop(drain);
    assert_eq!(drops.count(), 2);
    drop(first);
    assert_eq!(drops.count(), 3);
}

#[test]
fn keys_from_one_list_increase_and_iter_reports_them() {
    let mut list = CallbackList::new();
    let keys: Vec<CallbackKey> = ["x", "y", "z"]
        .into_iter()
        .map(|item| list.push(item))
        .collect();
    list.remove(keys[1]);
    assert!(keys[0] < keys[1] && keys[1] < keys[2]);
    let seen: Vec<(CallbackKey, &str)> = list.iter().map(|(key, item)| (key, *item)).collect();
    assert_eq!(seen, [(keys[0], "x"), (keys[2], "z")]);
    assert_eq!(
        format!("{:?}", keys[2]),
        format!("CallbackKey({})", keys[2].as_u64())
    );
}

#[test]
fn partial_callbacks_keep_the_bound_values_apart() {
    fn callback(value: &u32, n: u32) -> String {
        format!("{n}: future done: {value}")
    }
    type Formatter = Box<dyn FnOnce(&u32) -> String>;
    let mut list: CallbackList<Formatter> = CallbackList::new();
    list.push(Box::new(partial(callback, 1)));
    list.push(Box::new(partial(callback, 2)));
    let lines: Vec<String> = list.into_iter().map(|callback| callback(&10)).collect();
    assert_eq!(lines, ["1: future done: 10", "2: future done: 10"]);
}
