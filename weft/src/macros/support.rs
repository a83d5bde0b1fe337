//! What the expansions of `select!`, `join!` and `try_join!` name, through
//! `$crate::macros::support::...` (public for that, hidden from the docs;
//! not an API).
//!
//! The expansions hold no `unsafe`: the futures live in one tuple pinned on
//! the stack with `core::pin::pin!`, and [`Project`] turns its
//! `Pin<&mut (A, B, ...)>` into `(Pin<&mut A>, Pin<&mut B>, ...)` — the one
//! `unsafe` of the macros, here.

use std::cell::Cell;

pub use std::future::{poll_fn, Future, IntoFuture};
pub use std::pin::{pin, Pin};
pub use std::result::Result;
pub use std::task::{ready, Context, Poll};
pub use weft_macros::{join_internal, select_internal, try_join_internal};

/// Structural pinning projection of a pinned tuple onto its fields.
pub trait Project {
    /// `(Pin<&mut A>, Pin<&mut B>, ...)`.
    type Projected;
    /// Splits the pinned tuple into one pinned reference per field.
    fn project(self) -> Self::Projected;
}

macro_rules! project_tuple {
    ($($field:ident)+) => {
        impl<'a, $($field),+> Project for Pin<&'a mut ($($field,)+)> {
            type Projected = ($(Pin<&'a mut $field>,)+);

            #[inline(always)]
            #[allow(non_snake_case)]
            fn project(self) -> Self::Projected {
                // A tuple has no `Drop` impl of its own that could move a field
                // (its drop glue drops each field in place), is `Unpin` only
                // when every field is, and is never `repr(packed)`.
                // SAFETY: so structural pinning of its fields is sound; they
                // are reached only through the pinned references made here.
                unsafe {
                    let ($($field,)+) = self.get_unchecked_mut();
                    ($(Pin::new_unchecked($field),)+)
                }
            }
        }
    };
}

macro_rules! project_tuples {
    ($first:ident) => {
        project_tuple!($first);
    };
    ($first:ident $($rest:ident)+) => {
        project_tuple!($first $($rest)+);
        project_tuples!($($rest)+);
    };
}

// Up to 16 fields (weft-macros' `pinned::ARITY`): more futures are stored
// as a tuple of tuples.
project_tuples!(F0 F1 F2 F3 F4 F5 F6 F7 F8 F9 F10 F11 F12 F13 F14 F15);

thread_local! {
    /// `select!`'s xorshift state; 0 until first used on the thread.
    static RNG: Cell<u64> = const { Cell::new(0) };
}

/// A pseudo-random number in `0..n` (`n > 0`), from a thread-local
/// xorshift64 seeded once per thread: the random start of `select!`.
pub fn thread_rng_n(n: u32) -> u32 {
    let mut x = RNG.get();
    if x == 0 {
        x = seed();
    }
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    RNG.set(x);
    // The high 32 bits scaled to `0..n` (Lemire's multiply-shift).
    (((x >> 32) * u64::from(n)) >> 32) as u32
}

/// A non-zero per-thread seed: std's randomly keyed hasher over the
/// thread's id.
#[cold]
fn seed() -> u64 {
    use std::hash::BuildHasher;
    std::collections::hash_map::RandomState::new().hash_one(std::thread::current().id()) | 1
}

/// `Ready` if the task has cooperative budget left; otherwise wakes it
/// (a yield) and returns `Pending`. Spends nothing: `select!` checks it once
/// per poll, as tokio's does, so a loop over always-ready branches yields.
#[inline]
pub fn poll_budget_available(cx: &mut Context<'_>) -> Poll<()> {
    if crate::task::coop::has_budget_remaining() {
        Poll::Ready(())
    } else {
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

pin_project_lite::pin_project! {
    /// A future, then its output once it finished, then nothing once the
    /// output was taken (`join!`'s slot per future).
    #[project = MaybeDoneProj]
    #[project_replace = MaybeDoneReplace]
    pub enum MaybeDone<F: Future> {
        /// Still running.
        Future { #[pin] future: F },
        /// Finished; the output waits to be taken.
        Done { output: F::Output },
        /// The output was taken.
        Gone,
    }
}

/// `join!`'s slot for `future`.
pub fn maybe_done<F: IntoFuture>(future: F) -> MaybeDone<F::IntoFuture> {
    MaybeDone::Future {
        future: future.into_future(),
    }
}

impl<F: Future> MaybeDone<F> {
    /// The output, while it is stored.
    pub fn output_mut(self: Pin<&mut Self>) -> Option<&mut F::Output> {
        match self.project() {
            MaybeDoneProj::Done { output } => Some(output),
            _ => None,
        }
    }

    /// Takes the output out, leaving `Gone`; `None` unless finished.
    pub fn take_output(mut self: Pin<&mut Self>) -> Option<F::Output> {
        if !matches!(*self, MaybeDone::Done { .. }) {
            return None;
        }
        match self.as_mut().project_replace(MaybeDone::Gone) {
            MaybeDoneReplace::Done { output } => Some(output),
            _ => None,
        }
    }
}

impl<F: Future> Future for MaybeDone<F> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let output = match self.as_mut().project() {
            MaybeDoneProj::Future { future } => std::task::ready!(future.poll(cx)),
            MaybeDoneProj::Done { .. } => return Poll::Ready(()),
            MaybeDoneProj::Gone => panic!("join! polled a future after taking its output"),
        };
        self.set(MaybeDone::Done { output });
        Poll::Ready(())
    }
}

/// The output of a finished slot (`join!`'s result).
pub fn take_output<F: Future>(slot: Pin<&mut MaybeDone<F>>) -> F::Output {
    slot.take_output()
        .expect("join! took the output of an unfinished future")
}

/// Whether a finished `try_join!` slot holds an `Err`. Typed so that an
/// operand whose output is not a `Result` is reported as such.
pub fn is_err<T, E>(output: Option<&mut Result<T, E>>) -> bool {
    matches!(output, Some(Err(_)))
}

/// The `Err` of a finished slot (checked with [`is_err`]).
pub fn take_err<T, E, F>(slot: Pin<&mut MaybeDone<F>>) -> E
where
    F: Future<Output = Result<T, E>>,
{
    match take_output(slot) {
        Err(err) => err,
        Ok(_) => unreachable!("try_join! took an Err that was an Ok"),
    }
}

/// The `Ok` of a finished slot (`try_join!`'s result once all are `Ok`).
pub fn take_ok<T, E, F>(slot: Pin<&mut MaybeDone<F>>) -> T
where
    F: Future<Output = Result<T, E>>,
{
    match take_output(slot) {
        Ok(value) => value,
        Err(_) => unreachable!("try_join! returns at the first Err"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_stays_below_n_and_varies() {
        let mut seen = [false; 7];
        for _ in 0..1_000 {
            let n = thread_rng_n(7);
            assert!(n < 7);
            seen[n as usize] = true;
        }
        assert!(seen.iter().all(|&s| s), "every start is drawn: {seen:?}");
        assert_eq!(thread_rng_n(1), 0);
    }

    #[test]
    fn projection_reaches_every_field() {
        let mut tuple = pin!((1u8, 2u16, String::from("three")));
        let (a, b, c) = Project::project(tuple.as_mut());
        *a.get_mut() += 1;
        *b.get_mut() += 1;
        c.get_mut().push('!');
        assert_eq!(*tuple, (2, 3, String::from("three!")));
    }

    #[test]
    fn maybe_done_keeps_then_gives_the_output() {
        let mut slot = pin!(maybe_done(async { 5 }));
        let mut cx = Context::from_waker(std::task::Waker::noop());
        assert!(slot.as_mut().output_mut().is_none());
        assert!(slot.as_mut().poll(&mut cx).is_ready());
        assert!(
            slot.as_mut().poll(&mut cx).is_ready(),
            "polling again is fine"
        );
        assert_eq!(slot.as_mut().output_mut().copied(), Some(5));
        assert_eq!(slot.as_mut().take_output(), Some(5));
        assert_eq!(slot.as_mut().take_output(), None);
    }
}
