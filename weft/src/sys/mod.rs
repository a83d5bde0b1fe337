//! The bottom layer: what every other layer may use and that uses nothing
//! of weft's.
//!
//! * [`loom`]: the atomics, cells and locks lock-free code is built from
//!   (`std`'s, or loom's under `--cfg weft_loom`).
//! * [`counter`]: a statistics counter with one writer.
//! * [`hooks`]: the user's callbacks around a runtime thread's life.
//! * [`lock`]: taking a lock, ignoring poison; the one helper for every
//!   lock weft takes.

pub(crate) mod counter;
pub(crate) mod hooks;
pub(crate) mod lock;
pub(crate) mod loom;
