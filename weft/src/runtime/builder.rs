//! Runtime configuration.

use std::io;
use std::sync::Arc;

use super::{Handle, Runtime};
use crate::driver::Driver;
use crate::scheduler::{self, current_thread};

/// Builds a [`Runtime`].
///
/// Drivers (I/O, time) are always on: there is no `enable_all`.
///
/// ```
/// use weft::runtime::Builder;
///
/// let rt = Builder::new_current_thread().event_interval(31).build()?;
/// rt.block_on(async { weft::time::sleep(std::time::Duration::from_millis(1)).await });
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    event_interval: u32,
    global_queue_interval: u32,
}

impl Builder {
    /// A builder for a runtime that runs every task on the thread that calls
    /// [`Runtime::block_on`].
    pub fn new_current_thread() -> Builder {
        Builder {
            event_interval: 61,
            global_queue_interval: 31,
        }
    }

    /// How many tasks run between two non-blocking polls of the I/O and time
    /// drivers while tasks keep being ready (default 61). Lower means fresher
    /// I/O under load, higher means fewer `epoll_wait` calls.
    pub fn event_interval(&mut self, tasks: u32) -> &mut Builder {
        self.event_interval = tasks;
        self
    }

    /// How many tasks run between two checks of the queue of tasks woken
    /// from other threads (default 31).
    pub fn global_queue_interval(&mut self, tasks: u32) -> &mut Builder {
        self.global_queue_interval = tasks;
        self
    }

    /// Creates the runtime: an epoll instance, an eventfd and the timer
    /// wheel.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if an interval is 0; the kernel's error if epoll or the
    /// eventfd cannot be created (for example when out of file descriptors).
    pub fn build(&mut self) -> io::Result<Runtime> {
        for (name, value) in [
            ("event_interval", self.event_interval),
            ("global_queue_interval", self.global_queue_interval),
        ] {
            if value == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("weft::runtime::Builder: `{name}` must be at least 1, got 0"),
                ));
            }
        }
        let driver = Driver::new()?;
        let config = current_thread::Config {
            event_interval: self.event_interval,
            global_queue_interval: self.global_queue_interval,
        };
        let shared: Arc<current_thread::Shared> = current_thread::Shared::new(driver, config);
        Ok(Runtime::from_handle(Handle {
            inner: scheduler::Handle::CurrentThread(shared),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_intervals_are_rejected_with_their_name() {
        let err = Builder::new_current_thread()
            .event_interval(0)
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("event_interval"), "{err}");
        let err = Builder::new_current_thread()
            .global_queue_interval(0)
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("global_queue_interval"), "{err}");
    }
}
