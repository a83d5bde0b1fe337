//! A small job-queue service written against tokio, the way a tokio user
//! writes one: jobs go to a pool of workers through an `mpsc` channel, each
//! answers on a `oneshot`, progress is announced on a `broadcast` channel, a
//! `watch` flag stops the workers (`select!`), workers and connections live
//! in `JoinSet`s, and the tests run on the paused clock.
//!
//! `jobs_weft.rs` beside it is this file with `weft::` renamed to `weft::`
//! and nothing else (`examples/tests/ported.rs` checks that, and runs the
//! tests of both).

use std::io;
use std::sync::Arc;
use std::time::Duration;

use weft::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use weft::net::TcpListener;
use weft::sync::{broadcast, mpsc, oneshot, watch, Mutex};
use weft::task::JoinSet;

/// A unit of work: it takes `cost` to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Job {
    pub id: u64,
    pub cost: Duration,
}

/// What became of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done(u64),
    TimedOut(u64),
}

type Request = (Job, oneshot::Sender<Outcome>);

/// The queue and its workers.
pub struct Service {
    jobs: mpsc::Sender<Request>,
    events: broadcast::Sender<String>,
    stop: watch::Sender<bool>,
    workers: JoinSet<u64>,
}

/// Starts `workers` workers; a job that runs longer than `limit` is cut
/// short and reported as timed out.
pub fn start(workers: usize, limit: Duration) -> Service {
    let (jobs, queue) = mpsc::channel::<Request>(64);
    let queue = Arc::new(Mutex::new(queue));
    let (events, _) = broadcast::channel(128);
    let (stop, _) = watch::channel(false);
    let mut set = JoinSet::new();
    for worker in 0..workers {
        let queue = Arc::clone(&queue);
        let events = events.clone();
        let mut stop = stop.subscribe();
        set.spawn(async move {
            let mut finished = 0;
            loop {
                let next = async { queue.lock().await.recv().await };
                let (job, reply) = weft::select! {
                    biased;
                    _ = stop.changed() => break,
                    request = next => match request {
                        Some(request) => request,
                        None => break,
                    },
                };
                let work = weft::time::sleep(job.cost);
                let outcome = match weft::time::timeout(limit, work).await {
                    Ok(()) => Outcome::Done(job.id),
                    Err(_) => Outcome::TimedOut(job.id),
                };
                finished += 1;
                // Nobody listening is fine.
                let _ = events.send(format!("worker {worker}: {outcome:?}"));
                let _ = reply.send(outcome);
            }
            finished
        });
    }
    Service {
        jobs,
        events,
        stop,
        workers: set,
    }
}

impl Service {
    /// Queues `job` and waits for its outcome.
    pub async fn submit(&self, job: Job) -> io::Result<Outcome> {
        let (reply, outcome) = oneshot::channel();
        self.jobs
            .send((job, reply))
            .await
            .map_err(|_| io::Error::other("the service has stopped"))?;
        outcome
            .await
            .map_err(|_| io::Error::other("the worker dropped the job"))
    }

    /// A feed of "worker N: outcome" lines.
    pub fn subscribe(&self) -> broadcast::Receiver<String> {
        self.events.subscribe()
    }

    /// A handle that submits jobs, for connection tasks.
    pub fn submitter(&self) -> mpsc::Sender<Request> {
        self.jobs.clone()
    }

    /// Stops the workers; returns how many jobs they finished in all.
    pub async fn shutdown(mut self) -> u64 {
        self.stop.send_replace(true);
        let mut total = 0;
        while let Some(finished) = self.workers.join_next().await {
            total += finished.expect("worker panicked");
        }
        total
    }
}

/// Serves the line protocol `job <id> <ms>` → `done <id>` / `timeout <id>`
/// on `listener` until `stop` turns true; then waits for open connections.
pub async fn serve(
    listener: TcpListener,
    jobs: mpsc::Sender<Request>,
    mut stop: watch::Receiver<bool>,
) -> io::Result<()> {
    let mut connections = JoinSet::new();
    loop {
        weft::select! {
            _ = stop.wait_for(|stop| *stop) => break,
            accepted = listener.accept() => {
                let (stream, _) = accepted?;
                let jobs = jobs.clone();
                connections.spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut lines = BufReader::new(read);
                    let mut line = String::new();
                    while lines.read_line(&mut line).await? > 0 {
                        let answer = match parse(&line) {
                            Some(job) => {
                                let (reply, outcome) = oneshot::channel();
                                if jobs.send((job, reply)).await.is_err() {
                                    break;
                                }
                                match outcome.await {
                                    Ok(Outcome::Done(id)) => format!("done {id}\n"),
                                    Ok(Outcome::TimedOut(id)) => format!("timeout {id}\n"),
                                    Err(_) => break,
                                }
                            }
                            None => format!("error: expected `job <id> <ms>`, got {:?}\n", line.trim_end()),
                        };
                        write.write_all(answer.as_bytes()).await?;
                        line.clear();
                    }
                    io::Result::Ok(())
                });
            }
        }
    }
    while let Some(done) = connections.join_next().await {
        done.expect("connection task panicked")?;
    }
    Ok(())
}

fn parse(line: &str) -> Option<Job> {
    let mut words = line.split_whitespace();
    match (words.next(), words.next(), words.next(), words.next()) {
        (Some("job"), Some(id), Some(ms), None) => Some(Job {
            id: id.parse().ok()?,
            cost: Duration::from_millis(ms.parse().ok()?),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use weft::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use weft::net::TcpStream;
    use weft::time::Instant;

    #[weft::test(start_paused = true)]
    async fn slow_jobs_time_out_on_the_virtual_clock() {
        let service = start(2, Duration::from_secs(5));
        let mut feed = service.subscribe();
        let started = Instant::now();
        let quick = Job {
            id: 1,
            cost: Duration::from_secs(1),
        };
        let slow = Job {
            id: 2,
            cost: Duration::from_secs(3600),
        };
        let (quick, slow) = weft::join!(service.submit(quick), service.submit(slow));
        assert_eq!(quick.unwrap(), Outcome::Done(1));
        assert_eq!(slow.unwrap(), Outcome::TimedOut(2));
        // An hour-long job was cut at five virtual seconds, at once.
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_secs(5) && waited < Duration::from_secs(6),
            "{waited:?}"
        );
        let mut seen = vec![feed.recv().await.unwrap(), feed.recv().await.unwrap()];
        seen.sort_by_key(|line| line.contains("TimedOut"));
        assert!(
            seen[0].ends_with("Done(1)") && seen[1].ends_with("TimedOut(2)"),
            "{seen:?}"
        );
        assert_eq!(service.shutdown().await, 2);
    }

    #[weft::test(start_paused = true)]
    async fn a_hundred_jobs_on_four_workers() {
        let service = Arc::new(start(4, Duration::from_secs(60)));
        let mut clients = JoinSet::new();
        for id in 0..100 {
            let service = Arc::clone(&service);
            clients.spawn(async move {
                service
                    .submit(Job {
                        id,
                        cost: Duration::from_millis(10 * (id % 7)),
                    })
                    .await
            });
        }
        let mut done = Vec::new();
        while let Some(outcome) = clients.join_next().await {
            match outcome.unwrap().unwrap() {
                Outcome::Done(id) => done.push(id),
                other => panic!("unexpected {other:?}"),
            }
        }
        done.sort();
        assert_eq!(done, (0..100).collect::<Vec<_>>());
        let service = Arc::into_inner(service).expect("no client holds the service");
        assert_eq!(service.shutdown().await, 100);
    }

    #[weft::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_line_protocol_over_tcp() {
        let service = start(2, Duration::from_secs(60));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = watch::channel(false);
        let server = weft::spawn(serve(listener, service.submitter(), stopped));

        let stream = TcpStream::connect(addr).await.unwrap();
        let (read, mut write) = stream.into_split();
        let mut replies = BufReader::new(read);
        let mut line = String::new();
        write.write_all(b"job 7 1\nhello\njob 8 0\n").await.unwrap();
        for expected in [
            "done 7\n",
            "error: expected `job <id> <ms>`, got \"hello\"\n",
            "done 8\n",
        ] {
            line.clear();
            replies.read_line(&mut line).await.unwrap();
            assert_eq!(line, expected);
        }
        drop(write);
        line.clear();
        assert_eq!(
            replies.read_line(&mut line).await.unwrap(),
            0,
            "EOF once the client is done"
        );

        stop.send_replace(true);
        server.await.unwrap().unwrap();
        assert_eq!(service.shutdown().await, 2);
    }
}
