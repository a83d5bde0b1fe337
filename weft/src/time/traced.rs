//! What tokio-console sees of a [`Sleep`](super::Sleep) (the `console`
//! feature): a `runtime.resource` span (`concrete_type = "Sleep"`, `kind =
//! "timer"`, where it was made), an async-op span under it, the time left as
//! a `duration` state update (milliseconds, overridden at each reset), and a
//! `poll_elapsed` poll-op event per poll, made inside the polling task's
//! span so console ties the timer to the task. The shapes are
//! console-subscriber's (its `ResourceVisitor`, `AsyncOpVisitor`,
//! `PollOpVisitor` and `StateUpdateVisitor`).

use std::panic::Location;

use super::Instant;

/// A timer's console spans.
pub(super) struct TimerTrace {
    resource: tracing::Span,
    async_op: tracing::Span,
    poll: tracing::Span,
}

impl TimerTrace {
    /// The spans of a timer made at `at` for `deadline`.
    pub(super) fn new(deadline: Instant, at: &'static Location<'static>) -> TimerTrace {
        let resource = tracing::trace_span!(
            parent: None,
            "runtime.resource",
            concrete_type = "Sleep",
            kind = "timer",
            loc.file = at.file(),
            loc.line = at.line(),
            loc.col = at.column(),
        );
        // Made inside the resource span: console-subscriber ties an async
        // op to the resource entered when it is made.
        let async_op = resource.in_scope(|| {
            tracing::trace_span!(
                parent: &resource,
                "runtime.resource.async_op",
                source = "Sleep::new_timeout",
            )
        });
        let poll = tracing::trace_span!(parent: &async_op, "runtime.resource.async_op.poll");
        let trace = TimerTrace {
            resource,
            async_op,
            poll,
        };
        trace.deadline_set(deadline);
        trace
    }

    /// The timer now ends at `deadline`: the time left, in milliseconds.
    pub(super) fn deadline_set(&self, deadline: Instant) {
        if self.resource.is_disabled() {
            // No subscriber wants the timer: not even a clock read.
            return;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let millis = u64::try_from(left.as_millis()).unwrap_or(u64::MAX);
        self.resource.in_scope(|| {
            tracing::trace!(
                target: "runtime::resource::state_update",
                duration = millis,
                duration.unit = "ms",
                duration.op = "override",
            );
        });
    }

    /// Enters the timer's spans for a poll (when a subscriber wants poll
    /// ops; `None` otherwise); the guard reports the poll's outcome.
    pub(super) fn enter_poll(&self) -> Option<Polling> {
        // (Not `tracing::enabled!`: its callsite is a hint, which
        // console-subscriber's layer never takes an interest in.)
        if self.resource.is_disabled() {
            return None;
        }
        // Entered through clones, so that the timer itself stays free to
        // be polled mutably; outermost first.
        let resource = self.resource.clone().entered();
        let async_op = self.async_op.clone().entered();
        let poll = self.poll.clone().entered();
        Some(Polling {
            _poll: poll,
            _async_op: async_op,
            _resource: resource,
        })
    }
}

/// A timer's spans, entered for one poll. Fields drop in declaration
/// order: the innermost span is left first.
pub(super) struct Polling {
    _poll: tracing::span::EnteredSpan,
    _async_op: tracing::span::EnteredSpan,
    _resource: tracing::span::EnteredSpan,
}

impl Polling {
    /// Reports the poll's outcome, still inside the spans.
    pub(super) fn ready(self, is_ready: bool) {
        tracing::trace!(
            target: "runtime::resource::poll_op",
            op_name = "poll_elapsed",
            is_ready = is_ready,
        );
    }
}
