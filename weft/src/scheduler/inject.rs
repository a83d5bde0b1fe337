//! The global queue: tasks spawned or woken from threads that do not run
//! the scheduler's loop (and, on the multi-thread scheduler, the overflow of
//! full local queues).

use std::collections::VecDeque;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::{Acquire, Release};
use std::sync::Mutex;

use super::TaskRef;
use crate::sys::lock::lock;

pub(crate) struct Inject {
    queue: Mutex<Queue>,
    /// Length of `queue`, read without the lock to skip it when empty.
    len: AtomicUsize,
}

struct Queue {
    tasks: VecDeque<TaskRef>,
    /// Set once the runtime's tasks have all been shut down.
    closed: bool,
}

impl Inject {
    pub(crate) fn new() -> Inject {
        Inject {
            queue: Mutex::new(Queue {
                tasks: VecDeque::new(),
                closed: false,
            }),
            len: AtomicUsize::new(0),
        }
    }

    /// Queues `task`; after `close` the task is shut down instead (a late
    /// wake of a completed task, or a spawn that raced the shutdown).
    /// Returns false in that case.
    pub(crate) fn push(&self, task: TaskRef) -> bool {
        let mut queue = lock(&self.queue);
        if queue.closed {
            drop(queue);
            task.shutdown();
            return false;
        }
        queue.tasks.push_back(task);
        self.len.store(queue.tasks.len(), Release);
        true
    }

    /// Queues a batch (the overflow of a local queue).
    pub(crate) fn push_batch(&self, tasks: Vec<TaskRef>) {
        let mut queue = lock(&self.queue);
        if queue.closed {
            drop(queue);
            tasks.into_iter().for_each(|task| task.shutdown());
            return;
        }
        queue.tasks.extend(tasks);
        self.len.store(queue.tasks.len(), Release);
    }

    pub(crate) fn pop(&self) -> Option<TaskRef> {
        if self.is_empty() {
            return None;
        }
        let mut queue = lock(&self.queue);
        let task = queue.tasks.pop_front();
        self.len.store(queue.tasks.len(), Release);
        task
    }

    /// Pops up to `max` tasks under one lock: the first is returned, the
    /// others handed to `rest` in order.
    pub(crate) fn pop_batch(&self, max: usize, mut rest: impl FnMut(TaskRef)) -> Option<TaskRef> {
        if self.is_empty() || max == 0 {
            return None;
        }
        let mut queue = lock(&self.queue);
        let first = queue.tasks.pop_front()?;
        for _ in 1..max {
            match queue.tasks.pop_front() {
                Some(task) => rest(task),
                None => break,
            }
        }
        self.len.store(queue.tasks.len(), Release);
        Some(first)
    }

    pub(crate) fn len(&self) -> usize {
        self.len.load(Acquire)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Closes the queue if it is empty (later pushes shut their task down);
    /// returns false, leaving it open, if tasks are still queued.
    pub(crate) fn close_if_empty(&self) -> bool {
        let mut queue = lock(&self.queue);
        if queue.tasks.is_empty() {
            queue.closed = true;
        }
        queue.closed
    }
}
