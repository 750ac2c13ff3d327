//! `Queue`, `LifoQueue` and `PriorityQueue`: the applicable tests of
//! CPython's `test_queues.py`, ported.

mod support;

use std::cell::Cell;
use std::rc::Rc;

use asyncio_core::FutureError;
use asyncio_loop::{gather, wait_for, LoopHandle, Task, TaskGroup};
use asyncio_sync::{Discipline, Event, GenericQueue, LifoQueue, PriorityQueue, Queue};
use support::{run, tick, Log};

type Outcome<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// asyncio's `create_task(q.get())`.
fn get_task<T: 'static>(h: &LoopHandle, q: &Queue<T>) -> Task<T> {
    let q = q.clone();
    h.create_task(async move { q.get().await }).unwrap()
}

/// asyncio's `create_task(q.put(item))`.
fn put_task<T: 'static>(h: &LoopHandle, q: &Queue<T>, item: T) -> Task<()> {
    let q = q.clone();
    h.create_task(async move { q.put(item).await.map_err(|error| error.error().clone()) })
        .unwrap()
}

// ---- QueueBasicTests -------------------------------------------------------

#[test]
fn test_repr() {
    run(|h| async move {
        let q: Queue<i32> = Queue::new();
        assert_eq!(format!("{q:?}"), "<Queue maxsize=0>");

        // Getters.
        let getter = get_task(&h, &q);
        tick(&h).await;
        assert_eq!(format!("{q:?}"), "<Queue maxsize=0 _getters[1]>");
        q.put_nowait(0).unwrap();
        assert_eq!((&getter).await.unwrap(), 0);

        // Putters.
        let q = Queue::with_maxsize(1);
        q.put_nowait(1).unwrap();
        let putter = put_task(&h, &q, 2);
        tick(&h).await;
        assert_eq!(
            format!("{q:?}"),
            "<Queue maxsize=1 _queue=[1] _putters[1] tasks=1>"
        );
        q.get_nowait().unwrap();
        (&putter).await.unwrap();

        let q = Queue::new();
        q.put_nowait(1).unwrap();
        assert_eq!(format!("{q:?}"), "<Queue maxsize=0 _queue=[1] tasks=1>");
    });
}

#[test]
fn test_empty() {
    run(|_| async move {
        let q = Queue::new();
        assert!(q.empty());
        q.put(1).await.unwrap();
        assert!(!q.empty());
        assert_eq!(q.get().await.unwrap(), 1);
        assert!(q.empty());
    });
}

#[test]
fn test_full() {
    run(|_| async move {
        let q: Queue<i32> = Queue::new();
        assert!(!q.full());
        let q = Queue::with_maxsize(1);
        q.put(1).await.unwrap();
        assert!(q.full());
    });
}

#[test]
fn test_order() {
    run(|_| async move {
        let q = Queue::new();
        for i in [1, 3, 2] {
            q.put(i).await.unwrap();
        }
        let mut items = Vec::new();
        for _ in 0..3 {
            items.push(q.get().await.unwrap());
        }
        assert_eq!(items, [1, 3, 2]);
    });
}

#[test]
fn test_maxsize() {
    run(|h| async move {
        let q = Queue::with_maxsize(2);
        assert_eq!(q.maxsize(), 2);
        let have_been_put = Log::new();
        let (producer, log) = (q.clone(), have_been_put.clone());
        let t = h
            .create_task(async move {
                for i in 0..3 {
                    producer.put(i).await?;
                    log.push(i);
                }
                Outcome::Ok(true)
            })
            .unwrap();
        for _ in 0..2 {
            tick(&h).await;
        }
        // The putter is blocked after putting two items.
        assert_eq!(have_been_put.get(), [0, 1]);
        assert_eq!(q.get().await.unwrap(), 0);
        // Let the putter resume and put the last item.
        tick(&h).await;
        assert_eq!(have_been_put.get(), [0, 1, 2]);
        assert_eq!(q.get().await.unwrap(), 1);
        assert_eq!(q.get().await.unwrap(), 2);
        assert!(t.done() && t.result().unwrap());
    });
}

// ---- QueueGetTests ---------------------------------------------------------

#[test]
fn test_blocking_get() {
    run(|_| async move {
        let q = Queue::new();
        q.put_nowait(1).unwrap();
        assert_eq!(q.get().await.unwrap(), 1);
    });
}

#[test]
fn test_blocking_get_wait() {
    run(|h| async move {
        let q = Queue::new();
        let started = Event::new();
        let finished = Rc::new(Cell::new(false));
        let (getter, start, done) = (q.clone(), started.clone(), finished.clone());
        let queue_get_task = h
            .create_task(async move {
                start.set();
                let res = getter.get().await?;
                done.set(true);
                Ok::<_, FutureError>(res)
            })
            .unwrap();
        started.wait().await.unwrap();
        assert!(!finished.get());
        let producer = q.clone();
        h.call_later(0.01, move || producer.put_nowait(1).unwrap())
            .unwrap();
        let res = (&queue_get_task).await.unwrap();
        assert!(finished.get());
        assert_eq!(res, 1);
    });
}

#[test]
fn test_nonblocking_get() {
    let q = Queue::new();
    q.put_nowait(1).unwrap();
    assert_eq!(q.get_nowait().unwrap(), 1);
}

#[test]
fn test_nonblocking_get_exception() {
    let q: Queue<i32> = Queue::new();
    assert!(q.get_nowait().unwrap_err().is_queue_empty());
}

#[test]
fn test_get_cancelled_race() {
    run(|h| async move {
        let q = Queue::new();
        let t1 = get_task(&h, &q);
        let t2 = get_task(&h, &q);
        tick(&h).await;
        t1.cancel();
        tick(&h).await;
        assert!(t1.done());
        q.put("a").await.unwrap();
        tick(&h).await;
        assert_eq!((&t2).await.unwrap(), "a");
    });
}

#[test]
fn test_get_with_waiting_putters() {
    run(|h| async move {
        let q = Queue::with_maxsize(1);
        put_task(&h, &q, "a");
        put_task(&h, &q, "b");
        assert_eq!(q.get().await.unwrap(), "a");
        assert_eq!(q.get().await.unwrap(), "b");
    });
}

#[test]
fn test_why_are_getters_waiting() {
    run(|_| async move {
        let q = Queue::with_maxsize(1);
        let producer_num_items = 5;
        TaskGroup::run(|group| {
            let (producer, consumer) = (q.clone(), q.clone());
            async move {
                group.create_task(async move {
                    for i in 0..producer_num_items {
                        producer.put(i).await?;
                    }
                    Outcome::Ok(())
                })?;
                group.create_task(async move {
                    for _ in 0..producer_num_items {
                        consumer.get().await?;
                    }
                    Outcome::Ok(())
                })?;
                Outcome::Ok(())
            }
        })
        .await
        .unwrap();
    });
}

#[test]
fn test_cancelled_getters_not_being_held_in_self_getters() {
    run(|_| async move {
        let q: Queue<i32> = Queue::with_maxsize(5);
        let getter = q.clone();
        let error = wait_for(async move { getter.get().await }, 0.1)
            .await
            .unwrap_err();
        assert!(error.is_timeout());
        assert_eq!(format!("{q:?}"), "<Queue maxsize=5>");
    });
}

// ---- QueuePutTests ---------------------------------------------------------

#[test]
fn test_blocking_put() {
    run(|_| async move {
        let q = Queue::new();
        // No maxsize: it does not block.
        q.put(1).await.unwrap();
        assert_eq!(q.get().await.unwrap(), 1);
    });
}

#[test]
fn test_blocking_put_wait() {
    run(|h| async move {
        let q = Queue::with_maxsize(1);
        let started = Event::new();
        let finished = Rc::new(Cell::new(false));
        let consumer = q.clone();
        h.call_later(0.01, move || {
            consumer.get_nowait().unwrap();
        })
        .unwrap();
        let (producer, start, done) = (q.clone(), started.clone(), finished.clone());
        let queue_put_task = h
            .create_task(async move {
                start.set();
                producer.put(1).await?;
                producer.put(2).await?;
                done.set(true);
                Outcome::Ok(())
            })
            .unwrap();
        started.wait().await.unwrap();
        assert!(!finished.get());
        (&queue_put_task).await.unwrap();
        assert!(finished.get());
    });
}

#[test]
fn test_nonblocking_put() {
    let q = Queue::new();
    q.put_nowait(1).unwrap();
    assert_eq!(q.get_nowait().unwrap(), 1);
}

#[test]
fn test_get_cancel_drop_one_pending_reader() {
    run(|h| async move {
        let q = Queue::new();
        let mut reader = get_task(&h, &q);
        tick(&h).await;
        q.put_nowait(1).unwrap();
        q.put_nowait(2).unwrap();
        reader.cancel();
        if (&reader).await.is_err() {
            // Try again.
            reader = get_task(&h, &q);
            (&reader).await.unwrap();
        }
        // Getting 2 would mean 1 was dropped.
        assert_eq!(reader.result().unwrap(), 1);
    });
}

#[test]
fn test_get_cancel_drop_many_pending_readers() {
    run(|h| async move {
        let q = Queue::new();
        let reader1 = get_task(&h, &q);
        let reader2 = get_task(&h, &q);
        let reader3 = get_task(&h, &q);
        tick(&h).await;
        q.put_nowait(1).unwrap();
        q.put_nowait(2).unwrap();
        reader1.cancel();
        assert!((&reader1).await.unwrap_err().is_cancelled());
        (&reader3).await.unwrap();
        (&reader2).await.unwrap();
        let mut got = [reader2.result().unwrap(), reader3.result().unwrap()];
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
    });
}

#[test]
fn test_put_cancel_drop() {
    run(|h| async move {
        let q = Queue::with_maxsize(1);
        q.put_nowait(1).unwrap();
        // Putting a second item has to block.
        let mut writer = put_task(&h, &q, 2);
        tick(&h).await;
        assert_eq!(q.get_nowait().unwrap(), 1);
        writer.cancel();
        if (&writer).await.is_err() {
            // Try again.
            writer = put_task(&h, &q, 2);
            (&writer).await.unwrap();
        }
        assert_eq!(q.get_nowait().unwrap(), 2);
        assert_eq!(q.qsize(), 0);
    });
}

#[test]
fn test_nonblocking_put_exception() {
    let q = Queue::with_maxsize(1);
    q.put_nowait(1).unwrap();
    let error = q.put_nowait(2).unwrap_err();
    assert!(error.is_queue_full());
    assert_eq!(error.into_inner(), 2);
}

#[test]
fn test_put_cancelled() {
    run(|h| async move {
        let q = Queue::new();
        let t = put_task(&h, &q, 1);
        assert_eq!(q.get().await.unwrap(), 1);
        assert!(t.done());
    });
}

#[test]
fn test_put_cancelled_race() {
    run(|h| async move {
        let q = Queue::with_maxsize(1);
        let put_a = put_task(&h, &q, "a");
        let put_b = put_task(&h, &q, "b");
        let put_c = put_task(&h, &q, "X");
        tick(&h).await;
        assert!(put_a.done());
        assert!(!put_b.done());

        put_c.cancel();
        tick(&h).await;
        assert!(put_c.done());
        assert_eq!(q.get_nowait().unwrap(), "a");
        tick(&h).await;
        assert_eq!(q.get_nowait().unwrap(), "b");
        (&put_b).await.unwrap();
    });
}

#[test]
fn test_put_with_waiting_getters() {
    run(|h| async move {
        let q = Queue::new();
        let t = get_task(&h, &q);
        tick(&h).await;
        q.put("a").await.unwrap();
        assert_eq!((&t).await.unwrap(), "a");
    });
}

#[test]
fn test_why_are_putters_waiting() {
    run(|h| async move {
        let q = Queue::with_maxsize(2);
        let (getter, ticker) = (q.clone(), h.clone());
        let mut tasks = vec![h
            .create_task(async move {
                tick(&ticker).await;
                for _ in 0..getter.qsize() {
                    getter.get_nowait().unwrap();
                }
            })
            .unwrap()];
        for item in 0..4 {
            let putter = put_task(&h, &q, item);
            tasks.push(h.create_task(async move { putter.await.unwrap() }).unwrap());
        }
        gather(tasks).await.unwrap();
    });
}

#[test]
fn test_cancelled_puts_not_being_held_in_self_putters() {
    run(|h| async move {
        let q = Queue::with_maxsize(1);
        q.put_nowait(1).unwrap();
        let put_task = put_task(&h, &q, 1);
        tick(&h).await;
        assert_eq!(
            format!("{q:?}"),
            "<Queue maxsize=1 _queue=[1] _putters[1] tasks=1>"
        );
        put_task.cancel();
        assert!((&put_task).await.unwrap_err().is_cancelled());
        assert_eq!(format!("{q:?}"), "<Queue maxsize=1 _queue=[1] tasks=1>");
    });
}

#[test]
fn test_cancelled_put_silence_value_error_exception() {
    run(|h| async move {
        let q = Queue::with_maxsize(1);
        q.put_nowait(1).unwrap();
        let put_task = put_task(&h, &q, 1);
        tick(&h).await;
        // The put is woken, not yet run, when it is cancelled.
        q.get_nowait().unwrap();
        put_task.cancel();
        assert!((&put_task).await.unwrap_err().is_cancelled());
        assert!(q.empty(), "the cancelled put put nothing");
    });
}

// ---- LifoQueueTests, PriorityQueueTests -----------------------------------

#[test]
fn test_lifo_order() {
    run(|_| async move {
        let q = LifoQueue::new();
        for i in [1, 3, 2] {
            q.put(i).await.unwrap();
        }
        let mut items = Vec::new();
        for _ in 0..3 {
            items.push(q.get().await.unwrap());
        }
        assert_eq!(items, [2, 3, 1]);
    });
}

#[test]
fn test_priority_order() {
    run(|_| async move {
        let q = PriorityQueue::new();
        for i in [1, 3, 2] {
            q.put(i).await.unwrap();
        }
        let mut items = Vec::new();
        for _ in 0..3 {
            items.push(q.get().await.unwrap());
        }
        assert_eq!(items, [1, 2, 3]);
    });
}

// ---- _QueueJoinTestMixin, for each discipline -----------------------------

fn task_done_underflow<D: Discipline<u32> + 'static>(q: GenericQueue<u32, D>) {
    assert!(q.task_done().unwrap_err().is_task_done_too_many());
}

fn task_done<D: Discipline<u32> + 'static>(q: GenericQueue<u32, D>) {
    run(|h| async move {
        for i in 0..100 {
            q.put_nowait(i).unwrap();
        }
        let accumulator = Rc::new(Cell::new(0));
        let running = Rc::new(Cell::new(true));
        let workers: Vec<Task<()>> = (0..2)
            .map(|_| {
                let (q, accumulator, running) = (q.clone(), accumulator.clone(), running.clone());
                h.create_task(async move {
                    while running.get() {
                        let item = q.get().await?;
                        accumulator.set(accumulator.get() + item);
                        q.task_done()?;
                    }
                    Outcome::Ok(())
                })
                .unwrap()
            })
            .collect();
        q.join().await.unwrap();
        assert_eq!(accumulator.get(), (0..100).sum::<u32>());
        // Close the workers.
        running.set(false);
        for _ in 0..workers.len() {
            q.put_nowait(0).unwrap();
        }
        gather(workers).await.unwrap();
    });
}

fn join_empty_queue<D: Discipline<u32> + 'static>(q: GenericQueue<u32, D>) {
    run(|_| async move {
        q.join().await.unwrap();
        q.join().await.unwrap();
    });
}

fn format<D: Discipline<u32> + 'static>(q: GenericQueue<u32, D>, name: &str) {
    assert_eq!(format!("{q:?}"), format!("<{name} maxsize=0>"));
    q.put_nowait(1).unwrap();
    q.put_nowait(2).unwrap();
    q.get_nowait().unwrap();
    q.get_nowait().unwrap();
    assert_eq!(format!("{q:?}"), format!("<{name} maxsize=0 tasks=2>"));
}

#[test]
fn test_join_mixin_queue() {
    task_done_underflow(Queue::new());
    task_done(Queue::new());
    join_empty_queue(Queue::new());
    format(Queue::new(), "Queue");
}

#[test]
fn test_join_mixin_lifo_queue() {
    task_done_underflow(LifoQueue::new());
    task_done(LifoQueue::new());
    join_empty_queue(LifoQueue::new());
    format(LifoQueue::new(), "LifoQueue");
}

#[test]
fn test_join_mixin_priority_queue() {
    task_done_underflow(PriorityQueue::new());
    task_done(PriorityQueue::new());
    join_empty_queue(PriorityQueue::new());
    format(PriorityQueue::new(), "PriorityQueue");
}

// ---- beyond CPython's tests ------------------------------------------------

/// A cancelled put hands its item back.
#[test]
fn a_cancelled_put_hands_its_item_back() {
    run(|h| async move {
        let q = Queue::with_maxsize(1);
        q.put_nowait(String::from("first")).unwrap();
        let producer = q.clone();
        let task = h
            .create_task(async move {
                let error = producer.put(String::from("second")).await.unwrap_err();
                assert!(error.is_cancelled());
                error.into_inner()
            })
            .unwrap();
        tick(&h).await;
        task.cancel();
        assert_eq!((&task).await.unwrap(), "second");
        assert_eq!(q.qsize(), 1);
    });
}

/// A getter woken for an item and cancelled before it ran passes the item
/// to the next getter.
#[test]
fn a_woken_getter_cancelled_passes_the_item_on() {
    run(|h| async move {
        let q = Queue::new();
        let first = get_task(&h, &q);
        let second = get_task(&h, &q);
        tick(&h).await;
        q.put_nowait(7).unwrap();
        first.cancel();
        assert_eq!((&second).await.unwrap(), 7);
        assert!(first.cancelled());
    });
}
