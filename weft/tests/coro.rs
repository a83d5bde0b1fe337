//! Stackful coroutines: spawning, blocking-style I/O on the loop, timeouts,
//! cancellation by unwinding, `serve`, and the stack-overflow diagnosis.

mod common;

use std::cell::Cell;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use common::within;
use weft::coro::{self, ServeOptions};

/// Counts drops, for "dropped exactly once".
struct DropCount(Rc<Cell<usize>>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[test]
fn five_hundred_coroutine_echo_clients_on_one_thread() {
    within(120, || {
        common::rt().block_on(async {
            let listener = weft::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server_thread = std::thread::current().id();
            let server = coro::spawn(move || {
                let listener = coro::net::TcpListener::from_async(listener);
                for _ in 0..500 {
                    let (stream, _) = listener.accept().unwrap();
                    coro::spawn(move || {
                        assert_eq!(std::thread::current().id(), server_thread);
                        std::io::copy(&mut &stream, &mut &stream).unwrap();
                    });
                }
            });
            let clients: Vec<_> = (0..500u32)
                .map(|i| {
                    coro::spawn(move || {
                        let mut stream = coro::net::TcpStream::connect(addr).unwrap();
                        let message: Vec<u8> = (0..(1000 + i * 7))
                            .map(|b| (b.wrapping_mul(31).wrapping_add(i)) as u8)
                            .collect();
                        stream.write_all(&message).unwrap();
                        stream.shutdown(std::net::Shutdown::Write).unwrap();
                        let mut back = Vec::new();
                        stream.read_to_end(&mut back).unwrap();
                        back == message
                    })
                })
                .collect();
            for client in clients {
                assert!(client.await.unwrap(), "every byte comes back, in order");
            }
            server.await.unwrap();
        });
    });
}

#[test]
fn async_tasks_and_coroutines_talk_through_async_channel() {
    within(30, || {
        common::rt().block_on(async {
            let (to_coro, from_async) = async_channel::bounded::<u64>(4);
            let (to_async, from_coro) = async_channel::bounded::<u64>(4);
            let doubler = coro::spawn(move || {
                let mut n = 0;
                while let Ok(v) = coro::block_on(from_async.recv()).unwrap() {
                    coro::block_on(to_async.send(v * 2)).unwrap().unwrap();
                    n += 1;
                }
                n
            });
            let feeder = weft::spawn(async move {
                for v in 0..100 {
                    to_coro.send(v).await.unwrap();
                }
            });
            let mut sum = 0;
            for _ in 0..100 {
                sum += from_coro.recv().await.unwrap();
            }
            feeder.await.unwrap();
            assert_eq!(sum, 2 * (0..100).sum::<u64>());
            assert_eq!(doubler.await.unwrap(), 100);
        });
    });
}

#[test]
fn a_sleeping_coroutine_does_not_block_async_timers() {
    within(30, || {
        common::rt().block_on(async {
            // If the coroutine's sleep blocked the thread, the async timer
            // below could never fire and the test would hang (watchdog).
            let sleeper = coro::spawn(|| coro::sleep(Duration::from_secs(3600)));
            let short = coro::spawn(|| {
                coro::sleep(Duration::from_millis(50)).unwrap();
                "slept"
            });
            weft::time::sleep(Duration::from_millis(10)).await;
            assert!(!sleeper.is_finished());
            assert_eq!(short.await.unwrap(), "slept");
            assert!(!sleeper.is_finished());
            sleeper.abort();
            assert!(sleeper.await.unwrap_err().is_cancelled());
        });
    });
}

#[test]
fn aborting_a_coroutine_blocked_in_read_unwinds_its_stack_once() {
    within(30, || {
        common::rt().block_on(async {
            let (a, _b) = weft::net::UnixStream::pair().unwrap();
            let drops = Rc::new(Cell::new(0));
            let reached = Rc::new(Cell::new(false));
            let (d, r) = (Rc::clone(&drops), Rc::clone(&reached));
            let reader = coro::spawn(move || {
                let _outer = DropCount(Rc::clone(&d));
                let mut stream = coro::net::UnixStream::from_async(a);
                let inner = DropCount(d);
                let mut buf = [0u8; 16];
                let _ = stream.read(&mut buf); // never returns: nobody writes
                r.set(true);
                drop(inner);
            });
            weft::task::yield_now().await;
            weft::time::sleep(Duration::from_millis(5)).await;
            assert_eq!(drops.get(), 0, "still suspended in read");
            reader.abort();
            assert!(reader.await.unwrap_err().is_cancelled());
            assert_eq!(
                drops.get(),
                2,
                "both values on the stack dropped, once each"
            );
            assert!(!reached.get(), "the code after read never ran");
        });
    });
}

#[test]
fn dropping_the_runtime_unwinds_suspended_coroutines() {
    within(30, || {
        let drops = Arc::new(AtomicUsize::new(0));
        struct Counted(Arc<AtomicUsize>);
        impl Drop for Counted {
            fn drop(&mut self) {
                self.0.fetch_add(1, SeqCst);
            }
        }
        let rt = common::rt();
        rt.block_on(async {
            for _ in 0..10 {
                let counted = Counted(Arc::clone(&drops));
                coro::spawn(move || {
                    let _held = counted;
                    coro::sleep(Duration::from_secs(3600)).unwrap();
                });
            }
            // A coroutine that never started is dropped (its closure) too.
            let never = Counted(Arc::clone(&drops));
            coro::spawn(move || drop(never));
            weft::task::yield_now().await;
        });
        drop(rt);
        assert_eq!(drops.load(SeqCst), 11);
    });
}

#[test]
fn panics_surface_as_join_errors_and_the_stack_is_reused() {
    within(30, || {
        common::rt().block_on(async {
            let failed = coro::spawn(|| -> u32 { panic!("boom in a coroutine") });
            let error = failed.await.unwrap_err();
            assert!(error.is_panic());
            let payload = error.into_panic();
            assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom in a coroutine"));
            // The runtime and other coroutines carry on.
            for i in 0..1000 {
                assert_eq!(coro::spawn(move || i * 2).await.unwrap(), i * 2);
            }
        });
    });
}

#[test]
fn read_timeout_fires_and_the_stream_stays_usable() {
    within(30, || {
        common::rt().block_on(async {
            let (a, b) = coro::net::UnixStream::pair().unwrap();
            let (timed_out, writer_may_start) = async_channel::bounded::<()>(1);
            let reader = coro::spawn(move || {
                let mut a = a;
                assert!(
                    a.set_read_timeout(Some(Duration::ZERO)).is_err(),
                    "0 is refused, as std"
                );
                a.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
                let mut buf = [0u8; 8];
                let err = a.read(&mut buf).unwrap_err();
                assert_eq!(err.kind(), ErrorKind::TimedOut);
                assert!(err.to_string().contains("timed out"), "{err}");
                timed_out.try_send(()).unwrap();
                // The coroutine carries on, and later data is read normally.
                a.set_read_timeout(None).unwrap();
                let n = a.read(&mut buf).unwrap();
                buf[..n].to_vec()
            });
            // Writes only once the read has timed out, however long that
            // took on this machine.
            let writer = coro::spawn(move || {
                coro::block_on(writer_may_start.recv()).unwrap().unwrap();
                (&b).write_all(b"late").unwrap();
                b
            });
            assert_eq!(reader.await.unwrap(), b"late");
            drop(writer.await.unwrap());
        });
    });
}

#[test]
fn write_timeout_fires_when_the_peer_stops_reading_and_bytes_are_not_lost() {
    within(30, || {
        common::rt().block_on(async {
            let (a, b) = coro::net::UnixStream::pair().unwrap();
            let (timed_out, reader_may_start) = async_channel::bounded::<()>(1);
            let writer = coro::spawn(move || {
                let mut a = a;
                assert!(a.set_write_timeout(Some(Duration::ZERO)).is_err());
                a.set_write_timeout(Some(Duration::from_millis(20)))
                    .unwrap();
                assert_eq!(a.write_timeout().unwrap(), Some(Duration::from_millis(20)));
                // Nobody reads `b`: the socket buffer fills, then a write
                // waits past its limit.
                let chunk = vec![7u8; 16 * 1024];
                let mut written = 0usize;
                let err = loop {
                    match a.write(&chunk) {
                        Ok(n) => written += n,
                        Err(e) => break e,
                    }
                };
                assert_eq!(err.kind(), ErrorKind::TimedOut);
                assert!(err.to_string().contains("timed out"), "{err}");
                timed_out.try_send(()).unwrap();
                // The stream stays usable: once the peer reads, writing
                // goes on (no timeout now).
                a.set_write_timeout(None).unwrap();
                a.write_all(b"end").unwrap();
                written + 3
            });
            // Read everything only after the timeout: every byte a write
            // reported written arrives, then "end".
            let reader = coro::spawn(move || {
                coro::block_on(reader_may_start.recv()).unwrap().unwrap();
                let mut all = Vec::new();
                // On the heap: a coroutine's stack is 64 KiB.
                let mut buf = vec![0u8; 64 * 1024];
                while !all.ends_with(b"end") {
                    let n = (&b).read(&mut buf).unwrap();
                    assert!(n > 0, "end of stream before \"end\"");
                    all.extend_from_slice(&buf[..n]);
                }
                all.len()
            });
            let written = writer.await.unwrap();
            assert_eq!(reader.await.unwrap(), written);
        });
    });
}

#[test]
fn blocking_style_calls_outside_a_coroutine_return_an_error() {
    within(30, || {
        common::rt().block_on(async {
            let expect_unsupported = |result: std::io::Error| {
                assert_eq!(result.kind(), ErrorKind::Unsupported);
                let message = result.to_string();
                assert!(message.contains("needs a weft coroutine"), "{message}");
            };
            expect_unsupported(coro::sleep(Duration::from_millis(1)).unwrap_err());
            expect_unsupported(coro::yield_now().unwrap_err());
            expect_unsupported(coro::block_on(async {}).unwrap_err());
            expect_unsupported(coro::net::TcpStream::connect("127.0.0.1:9").unwrap_err());
            let (mut a, _b) = coro::net::UnixStream::pair().unwrap();
            expect_unsupported(a.read(&mut [0u8; 4]).unwrap_err());
            expect_unsupported(a.write(b"x").unwrap_err());
            assert!(!coro::in_coroutine());
        });
        // Outside any runtime, too (and nothing blocks).
        expect_outside();
    });
}

fn expect_outside() {
    let err = coro::sleep(Duration::from_secs(3600)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
}

#[test]
fn spawning_outside_a_runtime_panics_with_the_reason() {
    let result = std::panic::catch_unwind(|| coro::spawn(|| ()));
    let payload = result.unwrap_err();
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(message.contains("weft::coro::spawn"), "{message}");
    let err = coro::Builder::new().spawn(|| ()).unwrap_err();
    assert!(!err.to_string().is_empty());
    let err = common::rt()
        .block_on(async { coro::Builder::new().stack_size(1024).spawn(|| ()).map(drop) })
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    // A multi-thread runtime's `block_on` runs no tasks: the error says
    // where to spawn instead.
    let rt = weft::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let err = rt
        .block_on(async { coro::Builder::new().spawn(|| ()).map(drop) })
        .unwrap_err();
    assert!(err.to_string().contains("weft::spawn"), "{err}");
}

#[test]
fn coroutines_stay_on_their_worker_in_a_multi_thread_runtime() {
    within(60, || {
        let rt = weft::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        rt.block_on(async {
            let handles: Vec<_> = (0..20)
                .map(|_| {
                    weft::spawn(async {
                        let local = coro::spawn(|| {
                            thread_local! { static MARK: Cell<u32> = const { Cell::new(0) }; }
                            let thread = std::thread::current().id();
                            MARK.with(|m| m.set(7));
                            for _ in 0..20 {
                                coro::yield_now().unwrap();
                                coro::sleep(Duration::from_millis(1)).unwrap();
                                assert_eq!(std::thread::current().id(), thread, "never migrates");
                                assert_eq!(MARK.with(Cell::get), 7, "thread-locals stay valid");
                            }
                            let shared = Rc::new(1); // !Send values live on its stack
                            *shared
                        });
                        local.await.unwrap()
                    })
                })
                .collect();
            for handle in handles {
                assert_eq!(handle.await.unwrap(), 1);
            }
        });
    });
}

#[test]
fn udp_and_tcp_wrappers_work_with_std_io() {
    within(30, || {
        common::rt().block_on(async {
            let answer = coro::spawn(|| {
                let a = coro::net::UdpSocket::bind("127.0.0.1:0").unwrap();
                let b = coro::net::UdpSocket::bind("127.0.0.1:0").unwrap();
                b.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                a.send_to(b"dgram", b.local_addr().unwrap()).unwrap();
                let mut buf = [0u8; 16];
                let (n, from) = b.recv_from(&mut buf).unwrap();
                assert_eq!(from, a.local_addr().unwrap());
                let listener = coro::net::TcpListener::bind("127.0.0.1:0").unwrap();
                let addr = listener.local_addr().unwrap();
                let server = coro::spawn(move || {
                    let stream = listener.incoming().next().unwrap().unwrap();
                    let mut lines = BufReader::new(&stream);
                    let mut line = String::new();
                    lines.read_line(&mut line).unwrap();
                    (&stream).write_all(line.to_uppercase().as_bytes()).unwrap();
                });
                let client = coro::net::TcpStream::connect(addr).unwrap();
                client.set_nodelay(true).unwrap();
                let clone = client.try_clone().unwrap();
                (&clone).write_all(b"shout\n").unwrap();
                let mut reply = String::new();
                BufReader::new(&client).read_line(&mut reply).unwrap();
                drop(server);
                (buf[..n].to_vec(), reply)
            });
            let (dgram, reply) = answer.await.unwrap();
            assert_eq!(dgram, b"dgram");
            assert_eq!(reply, "SHOUT\n");
        });
    });
}

/// Echoes lines until EOF; panics on the line "panic".
fn line_echo(stream: coro::net::TcpStream) -> std::io::Result<()> {
    let mut lines = BufReader::new(&stream);
    let mut line = String::new();
    while lines.read_line(&mut line)? > 0 {
        if line == "panic\n" {
            panic!("handler asked to panic");
        }
        (&stream).write_all(line.as_bytes())?;
        line.clear();
    }
    Ok(())
}

/// One client: sends `line`, returns what came back before EOF.
fn exchange(addr: std::net::SocketAddr, line: &'static str) -> weft::task::JoinHandle<String> {
    coro::spawn(move || {
        let mut stream = coro::net::TcpStream::connect(addr).unwrap();
        stream.write_all(line.as_bytes()).unwrap();
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        let mut back = String::new();
        let _ = stream.read_to_string(&mut back);
        back
    })
}

#[test]
fn serve_keeps_serving_after_a_handler_panics() {
    within(30, || {
        common::rt().block_on(async {
            let listener = weft::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            weft::task::spawn_local(coro::serve(listener, ServeOptions::new(), line_echo));
            assert_eq!(
                exchange(addr, "panic\n").await.unwrap(),
                "",
                "closed, no reply"
            );
            assert_eq!(exchange(addr, "after\n").await.unwrap(), "after\n");
        });
    });
}

#[test]
fn serve_with_four_slots_serves_all_twenty_clients() {
    within(60, || {
        common::rt().block_on(async {
            let listener = weft::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let busy = Rc::new(Cell::new(0usize));
            let peak = Rc::new(Cell::new(0usize));
            let (b, p) = (Rc::clone(&busy), Rc::clone(&peak));
            let options = ServeOptions::new().slots(4);
            weft::task::spawn_local(coro::serve(listener, options, move |stream| {
                b.set(b.get() + 1);
                p.set(p.get().max(b.get()));
                coro::sleep(Duration::from_millis(5)).unwrap();
                let result = line_echo(stream);
                b.set(b.get() - 1);
                result
            }));
            let clients: Vec<_> = (0..20).map(|_| exchange(addr, "hello\n")).collect();
            for client in clients {
                assert_eq!(client.await.unwrap(), "hello\n", "none dropped");
            }
            assert!(
                peak.get() <= 4,
                "at most 4 handlers at once, saw {}",
                peak.get()
            );
            assert_eq!(peak.get(), 4, "the slots were all used");
        });
    });
}

#[test]
fn serve_closes_a_connection_past_its_deadline() {
    within(30, || {
        common::rt().block_on(async {
            let listener = weft::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let options = ServeOptions::new().deadline(Duration::from_millis(50));
            weft::task::spawn_local(coro::serve(listener, options, |stream| {
                // Holds the connection far longer than the deadline.
                let _stream = stream;
                coro::sleep(Duration::from_secs(3600))
            }));
            assert_eq!(
                exchange(addr, "x\n").await.unwrap(),
                "",
                "closed by the deadline"
            );
            assert!(
                coro::serve(
                    weft::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
                    ServeOptions::new().slots(0),
                    line_echo
                )
                .await
                .is_err(),
                "0 slots is an error"
            );
        });
    });
}

/// Recurses with a 1 KiB frame until the stack runs out.
fn deep(n: u64) -> u64 {
    let frame = [n as u8; 1024];
    std::hint::black_box(&frame);
    if n == 0 {
        0
    } else {
        deep(n - 1).wrapping_add(u64::from(std::hint::black_box(frame[7])))
    }
}

/// Run only as the child of `a_stack_overflow_is_diagnosed`.
#[test]
fn overflow_child() {
    if std::env::var_os("WEFT_CORO_OVERFLOW_CHILD").is_none() {
        return;
    }
    common::rt().block_on(async {
        let handle = coro::Builder::new()
            .name("deep-recursion")
            .stack_size(32 * 1024)
            .spawn(|| deep(1_000_000))
            .unwrap();
        let _ = handle.await;
    });
}

#[test]
fn a_stack_overflow_is_diagnosed() {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "overflow_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("WEFT_CORO_OVERFLOW_CHILD", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "the child must not survive an overflow"
    );
    assert!(
        stderr.contains("coroutine 'deep-recursion' has overflowed its stack of 32 KiB"),
        "stderr: {stderr}"
    );
    assert!(
        stderr.contains("stack_size"),
        "says how to raise it: {stderr}"
    );
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        output.status.signal(),
        Some(libc_sigabrt()),
        "aborted: {:?}",
        output.status
    );
}

fn libc_sigabrt() -> i32 {
    6
}

#[test]
fn yield_now_lets_the_other_ready_tasks_run_in_turn() {
    within(30, || {
        common::rt().block_on(async {
            let log = Rc::new(std::cell::RefCell::new(String::new()));
            let (a, b) = (Rc::clone(&log), Rc::clone(&log));
            let coroutine = coro::spawn(move || {
                for _ in 0..3 {
                    a.borrow_mut().push('c');
                    coro::yield_now().unwrap();
                }
            });
            let task = weft::task::spawn_local(async move {
                for _ in 0..3 {
                    b.borrow_mut().push('t');
                    weft::task::yield_now().await;
                }
            });
            coroutine.await.unwrap();
            task.await.unwrap();
            assert_eq!(
                *log.borrow(),
                "ctctct",
                "a yield goes to the back of the queue"
            );
        });
    });
}

/// Run only as the child of `running_out_of_stack_mappings_is_an_error`:
/// caps the address space so stacks stop mapping, and reports the error.
#[test]
fn mapping_child() {
    if std::env::var_os("WEFT_CORO_MAPPING_CHILD").is_none() {
        return;
    }
    let rt = common::rt();
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let vm_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmSize:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    let cap = (vm_kib + 128 * 1024) * 1024;
    rustix::process::setrlimit(
        rustix::process::Resource::As,
        rustix::process::Rlimit {
            current: Some(cap),
            maximum: None,
        },
    )
    .unwrap();
    rt.block_on(async {
        let mut alive = Vec::new();
        for _ in 0..100_000 {
            match coro::Builder::new().spawn(|| coro::sleep(Duration::from_secs(3600))) {
                Ok(handle) => alive.push(handle),
                Err(e) => {
                    println!("SPAWNED {} MAPPING-ERROR {e}", alive.len());
                    // Everything spawned before still runs and can be stopped.
                    for handle in &alive {
                        handle.abort();
                    }
                    for handle in alive {
                        assert!(handle.await.unwrap_err().is_cancelled());
                    }
                    println!("CLEAN");
                    return;
                }
            }
        }
        println!("NO-ERROR");
    });
}

#[test]
fn running_out_of_stack_mappings_is_an_error() {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "mapping_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("WEFT_CORO_MAPPING_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the child survives: {stdout} {:?}",
        output.status
    );
    assert!(
        stdout.contains("MAPPING-ERROR"),
        "spawning failed with an error: {stdout}"
    );
    assert!(
        stdout.contains("vm.max_map_count"),
        "the error names the limit: {stdout}"
    );
    assert!(stdout.contains("sysctl"), "and how to raise it: {stdout}");
    assert!(
        stdout.contains("CLEAN"),
        "the coroutines before it unwind: {stdout}"
    );
}

// Regressions from the review of the first version.

#[test]
fn blocking_calls_inside_a_block_on_future_get_the_error() {
    within(30, || {
        common::rt().block_on(async {
            let result = coro::spawn(|| {
                coro::block_on(async {
                    // Suspending here would leave this future's `Context`
                    // dangling: refused.
                    let inner = coro::sleep(Duration::from_millis(1));
                    weft::time::sleep(Duration::from_millis(1)).await;
                    inner
                })
                .unwrap()
            })
            .await
            .unwrap();
            assert_eq!(result.unwrap_err().kind(), ErrorKind::Unsupported);
        });
    });
}

#[test]
fn a_coroutine_dropping_a_runtime_that_holds_another_coroutine() {
    within(30, || {
        let tried = Rc::new(Cell::new(None));
        struct YieldOnDrop(Rc<Cell<Option<bool>>>);
        impl Drop for YieldOnDrop {
            fn drop(&mut self) {
                // Runs while another coroutine is running: must not suspend it.
                self.0.set(Some(coro::yield_now().is_ok()));
            }
        }
        let inner = common::rt();
        let guard = YieldOnDrop(Rc::clone(&tried));
        inner.block_on(async move {
            coro::spawn(move || {
                let _guard = guard;
                coro::sleep(Duration::from_secs(3600))
            });
            weft::task::yield_now().await;
        });
        let outer = common::rt();
        let after = outer.block_on(async move {
            coro::spawn(move || {
                // Unwinds the other coroutine right here (a plain `drop`
                // would panic, as tokio's: this is asynchronous context).
                inner.shutdown_background();
                // This coroutine can still suspend afterwards.
                coro::sleep(Duration::from_millis(1)).is_ok()
            })
            .await
            .unwrap()
        });
        assert_eq!(
            tried.get(),
            Some(false),
            "the unwinding coroutine's yield was refused"
        );
        assert!(after, "the running coroutine kept its state");
    });
}

#[test]
fn no_suspending_while_a_panic_unwinds() {
    within(30, || {
        let tried = Rc::new(Cell::new(None));
        struct WriteOnDrop(Rc<Cell<Option<ErrorKind>>>);
        impl Drop for WriteOnDrop {
            fn drop(&mut self) {
                self.0.set(coro::yield_now().err().map(|e| e.kind()));
            }
        }
        let t = Rc::clone(&tried);
        common::rt().block_on(async move {
            let failed = coro::spawn(move || {
                let _guard = WriteOnDrop(t);
                panic!("unwinding with a guard that wants to yield");
            });
            assert!(failed.await.unwrap_err().is_panic());
        });
        assert_eq!(tried.get(), Some(ErrorKind::Unsupported));
    });
}

#[test]
fn block_in_place_inside_a_coroutine_does_not_suspend_it() {
    within(30, || {
        let rt = weft::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let kind = rt.block_on(async {
            weft::spawn(async {
                coro::spawn(|| {
                    let inside = weft::task::block_in_place(|| {
                        coro::sleep(Duration::from_millis(1)).map_err(|e| e.kind())
                    });
                    // And the coroutine works normally afterwards.
                    coro::sleep(Duration::from_millis(1)).unwrap();
                    inside
                })
                .await
                .unwrap()
            })
            .await
            .unwrap()
        });
        assert_eq!(kind, Err(ErrorKind::Unsupported));
    });
}
