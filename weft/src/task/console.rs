//! What tokio-console sees of weft's tasks (the `console` feature): the
//! `tracing` spans and events `console-subscriber` reads, in the shapes its
//! source expects (`ConsoleLayer::register_callsite` and its visitors).
//!
//! * A task is a span named `runtime.spawn` (target `weft::task`, no
//!   parent) with `kind` (`task`, `local` or `blocking`), `task.name` (empty:
//!   weft's tasks have no names), `task.id` (weft's task id) and
//!   `loc.file`/`loc.line`/`loc.col` (where it was spawned). The task's
//!   future is wrapped in [`Traced`], which enters the span for each poll
//!   (console's busy time and poll count) and drops it with the future
//!   (console's "completed").
//! * Waker operations are events with target `runtime::waker`, `op` one of
//!   `waker.wake`, `waker.wake_by_ref`, `waker.clone`, `waker.drop`, and
//!   `task.id` the task span's id (the id console knows the task by). The
//!   waker handed to a task's poll is built here ([`waker_ref`]) so that its
//!   clones and drops are seen too: console counts a task's live wakers,
//!   and warns about an idle task with none.
//!
//! Without a subscriber that wants them, the span is disabled at the
//! callsite check and each event costs that check. Without the feature none
//! of this is compiled.

use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

use futures_util::task::{ArcWake, WakerRef};

use super::id::Id;

/// What a task is, as console's `kind` field says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `spawn`.
    Task,
    /// `spawn_local`.
    Local,
    /// A blocking-pool job.
    Blocking,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Task => "task",
            Kind::Local => "local",
            Kind::Blocking => "blocking",
        }
    }
}

pin_project_lite::pin_project! {
    /// A task's future inside its `runtime.spawn` span: each poll enters it.
    /// (Fields drop in declaration order: the future goes before the span
    /// closes.)
    pub(crate) struct Traced<F> {
        #[pin]
        future: F,
        span: tracing::Span,
    }
}

impl<F: Future> Future for Traced<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _polling = this.span.enter();
        this.future.poll(cx)
    }
}

/// `future` inside a new task span for the task `id` spawned at `at`, and
/// the span's id (`None` when no subscriber wants the span).
pub(crate) fn instrument<F>(
    future: F,
    kind: Kind,
    id: Id,
    at: &'static Location<'static>,
) -> (Traced<F>, Option<u64>) {
    let span = tracing::trace_span!(
        target: "weft::task",
        parent: None,
        "runtime.spawn",
        kind = kind.name(),
        task.name = "",
        task.id = id.as_u64(),
        loc.file = at.file(),
        loc.line = at.line(),
        loc.col = at.column(),
    );
    let trace_id = span.id().map(|id| id.into_u64());
    (Traced { future, span }, trace_id)
}

/// A task that tells which span it is traced under.
pub(crate) trait Traceable {
    /// The id of the task's `runtime.spawn` span, if it has one.
    fn trace_id(&self) -> Option<u64>;
}

fn waker_event(trace_id: Option<u64>, op: &'static str) {
    if let Some(id) = trace_id {
        tracing::trace!(target: "runtime::waker", op = op, task.id = id);
    }
}

/// The waker a poll of `task` gets, borrowing the caller's reference (no
/// reference-count traffic unless the future clones it), whose clones,
/// drops and wakes are reported as waker events.
pub(crate) fn waker_ref<W: ArcWake + Traceable + 'static>(task: &Arc<W>) -> WakerRef<'_> {
    let raw = RawWaker::new(Arc::as_ptr(task).cast::<()>(), vtable::<W>());
    // The waker is never dropped (`ManuallyDrop`, handed out only as
    // `&Waker`): it owns no count, so nothing is released for it.
    // SAFETY: `raw`'s data is the `Arc<W>` pointer the vtable expects, of an
    // `Arc` that outlives the returned `WakerRef` (which borrows `task`).
    let waker = ManuallyDrop::new(unsafe { Waker::from_raw(raw) });
    WakerRef::new_unowned(waker)
}

fn vtable<W: ArcWake + Traceable + 'static>() -> &'static RawWakerVTable {
    &RawWakerVTable::new(clone::<W>, wake::<W>, wake_by_ref::<W>, drop_waker::<W>)
}

/// The `Arc<W>` `data` stands for, without taking its reference.
///
/// # Safety
///
/// `data` must come from `Arc::as_ptr` of an `Arc<W>` that is still alive.
unsafe fn borrowed<W>(data: *const ()) -> ManuallyDrop<Arc<W>> {
    // SAFETY: by the caller's contract `data` is a live `Arc<W>`'s pointer;
    // `ManuallyDrop` keeps the count as it was.
    ManuallyDrop::new(unsafe { Arc::from_raw(data.cast::<W>()) })
}

/// The vtable's `clone`.
///
/// # Safety
///
/// `data` is a waker's data pointer: a live `Arc<W>`'s, from `waker_ref` or
/// a clone.
unsafe fn clone<W: ArcWake + Traceable + 'static>(data: *const ()) -> RawWaker {
    // SAFETY: a waker's `data` is a live `Arc<W>` pointer (`waker_ref`, or
    // a clone, which holds its own count); the clone takes one more.
    let task = unsafe { borrowed::<W>(data) };
    waker_event(task.trace_id(), "waker.clone");
    std::mem::forget(Arc::clone(&task));
    RawWaker::new(data, vtable::<W>())
}

/// The vtable's `wake` (by value).
///
/// # Safety
///
/// `data` is a cloned waker's data pointer, which owns one count of a live
/// `Arc<W>` (`waker_ref`'s own waker is never consumed: it is never
/// dropped, and `wake` takes the waker by value).
unsafe fn wake<W: ArcWake + Traceable + 'static>(data: *const ()) {
    // SAFETY: `wake` consumes a cloned waker, which holds one count of the
    // live `Arc<W>` at `data`: taken back here and given to `wake`.
    let task = unsafe { Arc::from_raw(data.cast::<W>()) };
    waker_event(task.trace_id(), "waker.wake");
    ArcWake::wake(task);
}

/// The vtable's `wake_by_ref`.
///
/// # Safety
///
/// `data` is a waker's data pointer: a live `Arc<W>`'s.
unsafe fn wake_by_ref<W: ArcWake + Traceable + 'static>(data: *const ()) {
    // SAFETY: the waker (borrowed or cloned) keeps the `Arc<W>` at `data`
    // alive for this call; its count is left as it was.
    let task = unsafe { borrowed::<W>(data) };
    waker_event(task.trace_id(), "waker.wake_by_ref");
    ArcWake::wake_by_ref(&task);
}

/// The vtable's `drop`.
///
/// # Safety
///
/// `data` is a cloned waker's data pointer, owning one count of a live
/// `Arc<W>` (only clones are dropped: `waker_ref`'s is `ManuallyDrop`).
unsafe fn drop_waker<W: ArcWake + Traceable + 'static>(data: *const ()) {
    // SAFETY: only a cloned waker is dropped (`waker_ref`'s is never), and
    // it holds one count of the live `Arc<W>` at `data`: released here.
    let task = unsafe { Arc::from_raw(data.cast::<W>()) };
    waker_event(task.trace_id(), "waker.drop");
    drop(task);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

    #[derive(Default)]
    struct Probe {
        woken: AtomicUsize,
    }

    impl ArcWake for Probe {
        fn wake_by_ref(arc_self: &Arc<Self>) {
            arc_self.woken.fetch_add(1, SeqCst);
        }
    }

    impl Traceable for Probe {
        fn trace_id(&self) -> Option<u64> {
            Some(7)
        }
    }

    #[test]
    fn clones_wakes_and_drops_balance_the_reference_count() {
        let task = Arc::new(Probe::default());
        {
            let waker = waker_ref(&task);
            // Borrowed: no count of its own.
            assert_eq!(Arc::strong_count(&task), 1);
            let a = (*waker).clone();
            let b = a.clone();
            assert_eq!(Arc::strong_count(&task), 3);
            b.wake(); // consumes its count
            assert_eq!(Arc::strong_count(&task), 2);
            a.wake_by_ref();
            waker.wake_by_ref();
            assert_eq!(Arc::strong_count(&task), 2);
            assert!(waker.will_wake(&a));
            drop(a);
            assert_eq!(Arc::strong_count(&task), 1);
            // A clone of the borrowed waker, woken by value (what the lint
            // calls wasteful is the path under test).
            #[allow(clippy::waker_clone_wake)]
            (*waker).clone().wake();
        }
        assert_eq!(
            Arc::strong_count(&task),
            1,
            "the borrowed waker released nothing"
        );
        assert_eq!(task.woken.load(SeqCst), 4);
    }
}
