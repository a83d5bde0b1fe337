//! A tokio runtime beside weft, for crates that hard-wire tokio's executor,
//! timer or sockets (the `tokio-bridge` feature): reqwest, tower's
//! time-based layers, tonic's `transport`. [`Bridge::run`] runs a future
//! on the bridge's tokio runtime and hands its output back to the weft task
//! that awaits it.
//!
//! What it costs: one more thread (the bridge's tokio worker, plus tokio's
//! blocking threads when the bridged code uses them, such as reqwest's DNS
//! lookups), and two cross-thread wakes per bridged call (weft to tokio to
//! start it, tokio to weft with the output); the bridged future's own I/O
//! and timers run on the tokio thread. Use it for what cannot run on weft,
//! not for the hot path: weft's own types (and hyper-util's client over
//! [`WeftConnector`](crate::hyper_rt::WeftConnector)) carry the same
//! requests with neither.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let bridge = weft::tokio_bridge::Bridge::start()?;
//! // Any future that needs a tokio runtime (a reqwest call, say).
//! let answer = bridge
//!     .run(async {
//!         tokio::time::sleep(std::time::Duration::from_millis(1)).await;
//!         42
//!     })
//!     .await
//!     .expect("the bridged future panicked");
//! assert_eq!(answer, 42);
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// A tokio runtime (one worker thread, I/O and timers enabled) that weft
/// tasks hand work to. Cloning is cheap; the runtime shuts down, without
/// blocking the thread that drops it, when the last clone goes, and the
/// futures still on it are dropped.
#[derive(Clone)]
pub struct Bridge {
    inner: Arc<Inner>,
}

struct Inner {
    handle: tokio::runtime::Handle,
    /// Taken only by `Drop`, to shut down without blocking.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Bridge {
    /// Starts the bridge's runtime: one worker thread named
    /// `weft-tokio-bridge`.
    ///
    /// # Errors
    ///
    /// The error tokio's runtime builder gives (a thread that could not be
    /// spawned, an I/O driver that could not be made).
    pub fn start() -> io::Result<Bridge> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("weft-tokio-bridge")
            .enable_all()
            .build()?;
        Ok(Bridge {
            inner: Arc::new(Inner {
                handle: runtime.handle().clone(),
                runtime: Some(runtime),
            }),
        })
    }

    /// Runs `future` on the bridge's tokio runtime; the returned future
    /// (awaited on weft) gives its output, or tokio's `JoinError` if it
    /// panicked (`into_panic` has the payload) or the bridge shut down
    /// first. Dropping the returned future aborts the bridged one, so a
    /// weft timeout or `select!` cancels the work on the tokio side too.
    pub fn run<F>(&self, future: F) -> Bridged<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Bridged {
            task: self.inner.handle.spawn(future),
        }
    }

    /// The bridge runtime's tokio handle: for code that must be called in
    /// a tokio context without being awaited (`handle.enter()`), or to
    /// spawn a detached tokio task (`handle.spawn`).
    pub fn handle(&self) -> &tokio::runtime::Handle {
        &self.inner.handle
    }
}

impl fmt::Debug for Bridge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bridge").finish_non_exhaustive()
    }
}

/// A future running on a [`Bridge`]; awaited from weft, it gives the
/// future's output. Dropping it aborts the bridged future.
#[must_use = "a bridged future is aborted when this is dropped"]
pub struct Bridged<T> {
    task: tokio::task::JoinHandle<T>,
}

impl<T> Future for Bridged<T> {
    type Output = Result<T, tokio::task::JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.task).poll(cx)
    }
}

impl<T> Drop for Bridged<T> {
    fn drop(&mut self) {
        // A no-op once the task has finished.
        self.task.abort();
    }
}

impl<T> fmt::Debug for Bridged<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bridged")
            .field("finished", &self.task.is_finished())
            .finish()
    }
}
