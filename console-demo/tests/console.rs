//! weft's `console` feature: the spans and events a task, its wakers and a
//! timer produce, checked two ways.
//!
//! * A recording `tracing` layer checks the shapes console-subscriber's
//!   source expects (`ConsoleLayer::register_callsite` and its visitors):
//!   span and event names, targets and fields.
//! * console-subscriber itself: its layer takes the spans, its aggregator
//!   and gRPC server run (on weft's tokio bridge, as `console_subscriber::
//!   init` runs them on a thread of its own), and console's own API client
//!   reads back what `tokio-console` would show: the tasks with their
//!   fields and location, polls, wakes, waker clones and drops, completion,
//!   and the timer resource.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing::field::{Field, Visit};
use tracing::span;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;
use tracing_subscriber::registry::LookupSpan;

/// A span as the recording layer saw it.
#[derive(Debug, Default)]
struct SpanSeen {
    name: &'static str,
    target: String,
    fields: HashMap<String, String>,
    enters: usize,
    exits: usize,
    closed: bool,
}

/// An event as the recording layer saw it.
#[derive(Debug)]
struct EventSeen {
    target: String,
    fields: HashMap<String, String>,
}

#[derive(Debug, Default)]
struct Seen {
    spans: HashMap<u64, SpanSeen>,
    events: Vec<EventSeen>,
}

/// Records every span and event, with its fields as strings.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Seen>>);

struct Fields<'a>(&'a mut HashMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), value.to_string());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), value.to_string());
    }
}

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Recorder {
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, _: Context<'_, S>) {
        let mut span = SpanSeen {
            name: attrs.metadata().name(),
            target: attrs.metadata().target().to_owned(),
            ..SpanSeen::default()
        };
        attrs.record(&mut Fields(&mut span.fields));
        self.0.lock().unwrap().spans.insert(id.into_u64(), span);
    }

    fn on_enter(&self, id: &span::Id, _: Context<'_, S>) {
        if let Some(span) = self.0.lock().unwrap().spans.get_mut(&id.into_u64()) {
            span.enters += 1;
        }
    }

    fn on_exit(&self, id: &span::Id, _: Context<'_, S>) {
        if let Some(span) = self.0.lock().unwrap().spans.get_mut(&id.into_u64()) {
            span.exits += 1;
        }
    }

    fn on_close(&self, id: span::Id, _: Context<'_, S>) {
        if let Some(span) = self.0.lock().unwrap().spans.get_mut(&id.into_u64()) {
            span.closed = true;
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut fields = HashMap::new();
        event.record(&mut Fields(&mut fields));
        let target = event.metadata().target().to_owned();
        self.0
            .lock()
            .unwrap()
            .events
            .push(EventSeen { target, fields });
    }
}

/// What the workload reports: the weft task ids and the lines they were
/// spawned on.
struct Spawned {
    woken: (weft::task::Id, u32),
    blocking: weft::task::Id,
    local: weft::task::Id,
    sleep_line: u32,
}

/// A task that waits, is woken by another and completes; a timer; a
/// blocking job; a local task.
async fn workload() -> Spawned {
    let (tx, rx) = weft::sync::oneshot::channel::<u32>();
    let line = line!() + 1;
    let waiter = weft::spawn(async move { rx.await.unwrap() });
    let woken = (waiter.id(), line);
    // The waiter runs, finds nothing and waits: its waker is cloned into
    // the channel.
    weft::task::yield_now().await;
    tx.send(7).unwrap();
    assert_eq!(waiter.await.unwrap(), 7);
    // In a task, so console ties the timer's polls to it; long enough that
    // its first poll finds it pending on a loaded machine.
    let sleep_line = line!() + 2;
    let sleeper = weft::spawn(async move {
        weft::time::sleep(Duration::from_millis(20)).await;
    });
    sleeper.await.unwrap();
    let blocking = weft::task::spawn_blocking(|| 1);
    let blocking_id = blocking.id();
    blocking.await.unwrap();
    let local = weft::task::spawn_local(async {});
    let local_id = local.id();
    local.await.unwrap();
    Spawned {
        woken,
        blocking: blocking_id,
        local: local_id,
        sleep_line,
    }
}

/// Held by each test for its whole run. Each test installs its own
/// `tracing` dispatcher (`with_default`); a callsite first hit on one test's
/// thread while the other's dispatcher is being made can miss that
/// dispatcher's `register_callsite` for a moment (tracing registers
/// callsites lazily, one dispatcher at a time), and console-subscriber
/// ignores events from callsites it was not told about. A program has one
/// dispatcher, set at start, and never sees this.
static ONE_DISPATCHER_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_DISPATCHER_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

fn run_on_weft<T>(future: impl std::future::Future<Output = T>) -> T {
    weft::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

/// The span of the weft task `id`.
fn task_span(seen: &Seen, id: weft::task::Id) -> (u64, &SpanSeen) {
    seen.spans
        .iter()
        .find(|(_, span)| {
            span.name == "runtime.spawn" && span.fields.get("task.id") == Some(&id.to_string())
        })
        .map(|(span_id, span)| (*span_id, span))
        .unwrap_or_else(|| panic!("no runtime.spawn span for task {id}: {:?}", seen.spans))
}

#[test]
fn tasks_wakers_and_timers_make_the_spans_and_events_console_reads() {
    let _alone = one_at_a_time();
    let recorder = Recorder::default();
    let subscriber = tracing_subscriber::registry().with(recorder.clone());
    let spawned = tracing::subscriber::with_default(subscriber, || run_on_weft(workload()));
    let seen = recorder.0.lock().unwrap();

    // The task: console's spawn span, polled twice (pending, then ready
    // after the wake), closed when it completed.
    let (span_id, task) = task_span(&seen, spawned.woken.0);
    assert_eq!(task.target, "weft::task");
    assert_eq!(task.fields["kind"], "task");
    assert_eq!(task.fields["task.name"], "");
    assert!(
        task.fields["loc.file"].ends_with("console.rs"),
        "{:?}",
        task.fields
    );
    assert_eq!(task.fields["loc.line"], spawned.woken.1.to_string());
    assert!(task.fields.contains_key("loc.col"));
    assert!(task.enters >= 2, "polled {} times", task.enters);
    assert_eq!(task.enters, task.exits);
    assert!(task.closed, "the span closes when the task completes");

    // Its wakers: cloned into the channel, woken by the send, dropped;
    // each event names the task by its span id.
    let ops: Vec<&str> = seen
        .events
        .iter()
        .filter(|e| {
            e.target == "runtime::waker" && e.fields.get("task.id") == Some(&span_id.to_string())
        })
        .map(|e| e.fields["op"].as_str())
        .collect();
    assert!(ops.contains(&"waker.clone"), "{ops:?}");
    assert!(
        ops.iter()
            .any(|op| *op == "waker.wake" || *op == "waker.wake_by_ref"),
        "{ops:?}"
    );
    assert!(ops.contains(&"waker.drop"), "{ops:?}");

    // The other kinds.
    assert_eq!(
        task_span(&seen, spawned.blocking).1.fields["kind"],
        "blocking"
    );
    assert_eq!(task_span(&seen, spawned.local).1.fields["kind"], "local");

    // The timer: a resource span where it was made, its time left as a
    // state update, and its polls.
    let timer = seen
        .spans
        .values()
        .find(|s| {
            s.name == "runtime.resource"
                && s.fields.get("concrete_type").map(String::as_str) == Some("Sleep")
        })
        .expect("a Sleep resource span");
    assert_eq!(timer.fields["kind"], "timer");
    assert!(timer.fields["loc.file"].ends_with("console.rs"));
    assert_eq!(timer.fields["loc.line"], spawned.sleep_line.to_string());
    assert!(timer.closed, "the resource closes with the Sleep");
    assert!(seen
        .spans
        .values()
        .any(|s| s.name == "runtime.resource.async_op"
            && s.fields.get("source").map(String::as_str) == Some("Sleep::new_timeout")));
    assert!(seen
        .events
        .iter()
        .any(|e| e.target == "runtime::resource::state_update"
            && e.fields.get("duration.unit").map(String::as_str) == Some("ms")
            && e.fields.get("duration.op").map(String::as_str) == Some("override")));
    let polls: Vec<&str> = seen
        .events
        .iter()
        .filter(|e| e.target == "runtime::resource::poll_op")
        .map(|e| e.fields["is_ready"].as_str())
        .collect();
    assert!(
        polls.contains(&"false") && polls.contains(&"true"),
        "{polls:?}"
    );
}

fn field<'a>(
    fields: &'a [console_api::Field],
    name: &str,
) -> Option<&'a console_api::field::Value> {
    fields.iter().find_map(|f| match &f.name {
        Some(console_api::field::Name::StrName(n)) if n == name => f.value.as_ref(),
        _ => None,
    })
}

/// A port nothing listens on now (console-subscriber binds its own).
fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

#[test]
fn console_subscriber_shows_weft_tasks_with_their_polls_and_wakes() {
    let _alone = one_at_a_time();
    let addr = free_port();
    let (layer, server) = console_subscriber::ConsoleLayer::builder()
        .server_addr(addr)
        .publish_interval(Duration::from_millis(20))
        .build();
    // The dispatcher (and console's layer in it) lives to the end of the
    // test: console's aggregator runs only while its layer does.
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
    let bridge = weft::tokio_bridge::Bridge::start().unwrap();
    let (watching, watching_now) = std::sync::mpsc::channel();
    // The woken task's weft id, once the workload has run.
    let woken: Arc<Mutex<Option<String>>> = Arc::default();
    let woken_id = Arc::clone(&woken);

    // console-subscriber's aggregator and gRPC server, and console's API
    // client, on tokio (the bridge's thread): the one tokio runtime in this
    // test. The client watches before the workload runs, as tokio-console
    // would (console keeps poll ops only for a watcher). A server that fails
    // (its port taken meanwhile) fails the test at once.
    let reader = bridge.run(async move {
        let serving = server.serve();
        let reading = async {
            let url = format!("http://{addr}");
            let connect = async {
                loop {
                    // Until the server listens.
                    match console_api::instrument::instrument_client::InstrumentClient::connect(
                        url.clone(),
                    )
                    .await
                    {
                        Ok(client) => break client,
                        Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                    }
                }
            };
            let mut client = tokio::time::timeout(Duration::from_secs(120), connect)
                .await
                .expect("console-subscriber's server never listened");
            let mut updates = client
                .watch_updates(console_api::instrument::InstrumentRequest {})
                .await
                .unwrap()
                .into_inner();
            watching.send(()).unwrap();
            let (mut tasks, mut stats, mut timer) = (Vec::new(), HashMap::new(), None);
            let mut timer_polled = false;
            // A watchdog, not a timing check: updates come every 20 ms.
            let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
            while let Some(update) = tokio::time::timeout_at(deadline, updates.message())
                .await
                .expect("the console never showed the task completed and the timer polled")
                .unwrap()
            {
                if let Some(update) = update.task_update {
                    tasks.extend(update.new_tasks);
                    stats.extend(update.stats_update);
                }
                if let Some(resources) = update.resource_update {
                    // The timer's polls, made inside its task: console ties
                    // them to it.
                    timer_polled |= resources
                        .new_poll_ops
                        .iter()
                        .any(|op| op.name == "poll_elapsed" && op.task_id.is_some());
                    timer = timer.or(resources
                        .new_resources
                        .into_iter()
                        .find(|r| r.concrete_type == "Sleep"));
                }
                let Some(woken) = woken_id.lock().unwrap().clone() else {
                    continue;
                };
                let ours = tasks.iter().position(|t: &console_api::tasks::Task| {
                    matches!(field(&t.fields, "task.id"),
                        Some(console_api::field::Value::U64Val(id)) if id.to_string() == woken)
                });
                let completed = ours.and_then(|i| {
                    let id = tasks[i].id.as_ref()?.id;
                    stats.get(&id)?.dropped_at.is_some().then_some((i, id))
                });
                if let (Some((i, id)), true, true) = (completed, timer.is_some(), timer_polled) {
                    let stats = stats.remove(&id).expect("the task's stats");
                    return (tasks.swap_remove(i), stats, timer.expect("the timer"));
                }
            }
            panic!("the console's update stream ended");
        };
        tokio::select! {
            ended = serving => panic!("console-subscriber's server ended: {ended:?}"),
            read = reading => read,
        }
    });
    watching_now
        .recv_timeout(Duration::from_secs(120))
        .expect("console's API client never started watching");
    let spawned = tracing::dispatcher::with_default(&dispatch, || run_on_weft(workload()));
    *woken.lock().unwrap() = Some(spawned.woken.0.to_string());
    let (task, stats, timer) = run_on_weft(reader).unwrap();

    // The task as console shows it.
    assert!(
        matches!(field(&task.fields, "kind"), Some(console_api::field::Value::StrVal(k)) if k == "task")
    );
    let location = task.location.expect("a spawn location");
    assert!(location.file.unwrap().ends_with("console.rs"));
    assert_eq!(location.line, Some(spawned.woken.1));
    let polls = stats.poll_stats.expect("poll stats").polls;
    assert!(polls >= 2, "{polls} polls");
    assert!(stats.wakes >= 1, "{} wakes", stats.wakes);
    assert!(
        stats.waker_clones >= 1 && stats.waker_drops >= 1,
        "{stats:?}"
    );
    assert!(stats.dropped_at.is_some(), "completed");
    // The timer as a resource.
    assert_eq!(timer.location.unwrap().line, Some(spawned.sleep_line));
    drop(dispatch);
}
