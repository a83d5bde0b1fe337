//! Registries of live tasks, so shutdown can drop the futures of idle tasks
//! that only wakers (or nothing) refer to.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Mutex, MutexGuard};

use super::TaskRef;
use crate::sys::lock::lock;
use crate::task::raw::NOT_OWNED;

/// A slab of tasks; each task keeps its index in `Header::owned_index`.
#[derive(Default)]
pub(crate) struct Registry {
    slots: Vec<Option<TaskRef>>,
    free: Vec<usize>,
}

impl Registry {
    pub(crate) fn insert(&mut self, task: &TaskRef) -> usize {
        let index = match self.free.pop() {
            Some(index) => {
                self.slots[index] = Some(task.clone());
                index
            }
            None => {
                self.slots.push(Some(task.clone()));
                self.slots.len() - 1
            }
        };
        task.header().owned_index.store(index, Relaxed);
        index
    }

    pub(crate) fn remove(&mut self, index: usize) -> Option<TaskRef> {
        let task = self.slots.get_mut(index)?.take()?;
        task.header().owned_index.store(NOT_OWNED, Relaxed);
        self.free.push(index);
        Some(task)
    }

    pub(crate) fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    pub(crate) fn drain(&mut self) -> Vec<TaskRef> {
        self.free.clear();
        let tasks: Vec<TaskRef> = self.slots.drain(..).flatten().collect();
        for task in &tasks {
            task.header().owned_index.store(NOT_OWNED, Relaxed);
        }
        tasks
    }
}

/// The multi-thread scheduler's registry: any worker inserts and removes,
/// so it is split into locked shards (by task id) to keep workers off each
/// other's locks.
pub(crate) struct Shared {
    shards: Box<[Mutex<Shard>]>,
    mask: u64,
}

#[derive(Default)]
struct Shard {
    registry: Registry,
    closed: bool,
}

impl Shared {
    /// `shards` is rounded up to a power of two.
    pub(crate) fn new(shards: usize) -> Shared {
        let shards = shards.next_power_of_two();
        Shared {
            shards: (0..shards).map(|_| Mutex::default()).collect(),
            mask: shards as u64 - 1,
        }
    }

    fn shard(&self, id: u64) -> MutexGuard<'_, Shard> {
        let index = (id & self.mask) as usize;
        // No user code runs under these locks; poison carries no meaning.
        lock(&self.shards[index])
    }

    /// Registers a new task; false (and nothing registered) once closed.
    pub(crate) fn insert(&self, task: &TaskRef) -> bool {
        let mut shard = self.shard(task.header().id.as_u64());
        if shard.closed {
            return false;
        }
        shard.registry.insert(task);
        true
    }

    /// Forgets a completed task, by its id and registry index (read before
    /// the poll that completed it).
    pub(crate) fn remove_at(&self, id: u64, index: usize) {
        if index != NOT_OWNED {
            self.shard(id).registry.remove(index);
        }
    }

    /// Tasks registered now.
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| lock(&shard).registry.len())
            .sum()
    }

    /// Closes every shard and returns every registered task.
    pub(crate) fn close_and_drain(&self) -> Vec<TaskRef> {
        let mut tasks = Vec::new();
        for shard in self.shards.iter() {
            let mut shard = lock(&shard);
            shard.closed = true;
            tasks.extend(shard.registry.drain());
        }
        tasks
    }
}
