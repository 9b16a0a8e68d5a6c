//! Background work has one shape. A [`Task`] does one unit of work per [`Task::step`] and says
//! when to look again; the [`Supervisor`] runs every task in a tracing span of its own, waits
//! between steps (woken early by the task's [`Task::wake`], a LISTEN/NOTIFY relay for
//! example), catches a panic and starts the task again from its factory with backoff, and at
//! shutdown stops them all within a bound and reports how each ended, for `main` to log.
//!
//! A step is never cancelled half-way: stopping waits for the step under way (every step is
//! bounded by its own timeouts), so a worker does not leave a claimed row or a Kafka call
//! behind.

use futures::FutureExt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tracing::Instrument;

/// When a task wants its next step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// At once: there may be more to do.
    Now,
    /// After this pause, or earlier when woken.
    After(Duration),
}

/// One kind of background work.
pub trait Task: Send + 'static {
    /// Names the task in logs (`apply-worker-2`, `health:sandbox`).
    fn name(&self) -> String;

    /// One unit of work. An error is logged and the task goes on after [`Task::after_error`].
    fn step(&mut self) -> impl Future<Output = anyhow::Result<Next>> + Send;

    /// How long to wait after a failed step.
    fn after_error(&self) -> Duration {
        Duration::from_secs(1)
    }

    /// Wakes the task before its pause ends (work committed by someone else).
    fn wake(&self) -> Option<Arc<Notify>> {
        None
    }

    /// Called once when the task is stopped, to finish what is under way.
    fn finish(&mut self) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// How a task ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// Stopped when asked.
    Stopped,
    /// Still in a step when the shutdown bound ran out.
    DidNotStop,
    /// Its supervising loop ended abnormally (a panic outside a step).
    Failed(String),
}

/// Pause before a task that panicked is started again: 1 s, 2 s, 4 s, ... at most a minute.
pub fn restart_backoff(panics: u32) -> Duration {
    Duration::from_secs(1u64 << panics.saturating_sub(1).min(6)).min(Duration::from_secs(60))
}

/// Runs tasks until asked to stop.
pub struct Supervisor {
    stop: watch::Sender<bool>,
    tasks: Vec<(String, JoinHandle<Exit>)>,
}

impl Default for Supervisor {
    fn default() -> Self {
        Self {
            stop: watch::channel(false).0,
            tasks: Vec::new(),
        }
    }
}

impl Supervisor {
    /// Starts a task built by `make`; a task that panics is built again by it. The first
    /// build's error (a misconfiguration) is returned at once.
    pub fn spawn<T, F>(&mut self, make: F) -> anyhow::Result<()>
    where
        T: Task,
        F: Fn() -> anyhow::Result<T> + Send + 'static,
    {
        let first = make()?;
        self.start(first, Some(Box::new(make)));
        Ok(())
    }

    /// Starts a task already built; after a panic it goes on as it is.
    pub fn spawn_task<T: Task>(&mut self, task: T) {
        self.start(task, None);
    }

    fn start<T: Task>(&mut self, task: T, make: Option<Factory<T>>) {
        let name = task.name();
        let span = tracing::info_span!("task", task = %name);
        let stop = self.stop.subscribe();
        let handle = tokio::spawn(supervise(task, make, stop).instrument(span));
        self.tasks.push((name, handle));
    }

    /// Asks every task to stop and waits for each at most `within`. How each ended.
    pub async fn stop(self, within: Duration) -> Vec<(String, Exit)> {
        let _ = self.stop.send(true);
        let deadline = tokio::time::Instant::now() + within;
        let mut exits = Vec::new();
        for (name, mut handle) in self.tasks {
            let exit = match tokio::time::timeout_at(deadline, &mut handle).await {
                Ok(Ok(exit)) => exit,
                Ok(Err(error)) => Exit::Failed(error.to_string()),
                Err(_) => {
                    handle.abort();
                    Exit::DidNotStop
                }
            };
            exits.push((name, exit));
        }
        exits
    }
}

type Factory<T> = Box<dyn Fn() -> anyhow::Result<T> + Send>;

async fn supervise<T: Task>(
    mut task: T,
    make: Option<Factory<T>>,
    mut stop: watch::Receiver<bool>,
) -> Exit {
    let mut panics = 0u32;
    loop {
        if *stop.borrow() {
            task.finish().await;
            return Exit::Stopped;
        }
        // Listen before working, so a wake-up sent during the step is not lost.
        let wake = task.wake();
        let notified = wake.as_ref().map(|w| w.notified());
        tokio::pin!(notified);
        if let Some(notified) = notified.as_mut().as_pin_mut() {
            notified.enable();
        }
        let pause = match AssertUnwindSafe(task.step()).catch_unwind().await {
            Ok(Ok(Next::Now)) => Duration::ZERO,
            Ok(Ok(Next::After(pause))) => pause,
            Ok(Err(error)) => {
                tracing::warn!(error = format!("{error:#}"), "step failed");
                task.after_error()
            }
            Err(panic) => {
                panics += 1;
                let pause = restart_backoff(panics);
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                tracing::error!(
                    panic = what,
                    restart_in_ms = pause.as_millis() as u64,
                    "task panicked; starting it again"
                );
                match make.as_ref().map(|make| make()) {
                    Some(Ok(fresh)) => task = fresh,
                    Some(Err(error)) => tracing::error!(
                        error = format!("{error:#}"),
                        "the task could not be built again; keeping the old one"
                    ),
                    None => {}
                }
                pause
            }
        };
        if pause.is_zero() {
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            Some(()) = async {
                match notified.as_mut().as_pin_mut() {
                    Some(notified) => {
                        notified.await;
                        Some(())
                    }
                    None => None,
                }
            } => {}
            _ = stop.changed() => {}
        }
    }
}

/// What one wait on a LISTEN connection heard.
#[derive(Debug)]
pub enum Heard {
    /// The connection was (re)made: notices sent before are gone.
    Connected,
    Notice(sqlx::postgres::PgNotification),
    /// Nothing within the wait.
    Nothing,
}

/// Waits up to a second for a notice on `channel`, connecting first when there is no
/// connection; a lost connection is an error, and the next call connects again.
pub async fn listen_once(
    db: &sqlx::PgPool,
    listener: &mut Option<sqlx::postgres::PgListener>,
    channel: &str,
) -> anyhow::Result<Heard> {
    let Some(connected) = listener else {
        let mut fresh = sqlx::postgres::PgListener::connect_with(db).await?;
        fresh.listen(channel).await?;
        *listener = Some(fresh);
        return Ok(Heard::Connected);
    };
    match tokio::time::timeout(Duration::from_secs(1), connected.try_recv()).await {
        Ok(Ok(Some(notice))) => Ok(Heard::Notice(notice)),
        Ok(Ok(None)) | Ok(Err(_)) => {
            *listener = None;
            anyhow::bail!("LISTEN connection to {channel} lost")
        }
        Err(_) => Ok(Heard::Nothing),
    }
}

/// Relays Postgres notifications on one channel to a [`Notify`]: each step waits up to a
/// second for one, so a stop is seen within a second; a lost connection is a failed step
/// (workers fall back on their polling until it is back).
pub struct Relay {
    db: sqlx::PgPool,
    channel: &'static str,
    wake: Arc<Notify>,
    listener: Option<sqlx::postgres::PgListener>,
}

impl Relay {
    pub fn new(db: sqlx::PgPool, channel: &'static str, wake: Arc<Notify>) -> Self {
        Self {
            db,
            channel,
            wake,
            listener: None,
        }
    }
}

impl Task for Relay {
    fn name(&self) -> String {
        format!("listen:{}", self.channel)
    }

    async fn step(&mut self) -> anyhow::Result<Next> {
        // Waking on (re)connecting too: work committed while nobody listened is found.
        match listen_once(&self.db, &mut self.listener, self.channel).await? {
            Heard::Connected | Heard::Notice(_) => self.wake.notify_waiters(),
            Heard::Nothing => {}
        }
        Ok(Next::Now)
    }

    fn after_error(&self) -> Duration {
        Duration::from_secs(2)
    }
}

/// Deletes expired sessions from the store every few minutes.
pub struct SessionSweeper {
    pub store: tower_sessions_sqlx_store::PostgresStore,
    pub every: Duration,
}

impl Task for SessionSweeper {
    fn name(&self) -> String {
        "session-sweeper".into()
    }

    async fn step(&mut self) -> anyhow::Result<Next> {
        use tower_sessions::ExpiredDeletion;
        self.store
            .delete_expired()
            .await
            .map_err(|e| anyhow::anyhow!("deleting expired sessions: {e}"))?;
        Ok(Next::After(self.every))
    }

    fn after_error(&self) -> Duration {
        self.every
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// Panics on its second step; counts its steps.
    struct Flaky {
        steps: Arc<AtomicU32>,
    }

    impl Task for Flaky {
        fn name(&self) -> String {
            "flaky".into()
        }

        async fn step(&mut self) -> anyhow::Result<Next> {
            let n = self.steps.fetch_add(1, Ordering::SeqCst);
            assert!(n != 1, "the second step fails");
            Ok(Next::After(Duration::from_millis(1)))
        }
    }

    #[tokio::test]
    async fn a_panicking_task_is_built_again_and_keeps_running_until_stopped() {
        let builds = Arc::new(AtomicU32::new(0));
        let steps = Arc::new(AtomicU32::new(0));
        let mut supervisor = Supervisor::default();
        let (b, s) = (builds.clone(), steps.clone());
        supervisor
            .spawn(move || {
                b.fetch_add(1, Ordering::SeqCst);
                Ok(Flaky { steps: s.clone() })
            })
            .expect("spawned");
        // Waits for the fifth step (past the panic and the backoff), for at most 10 s.
        tokio::time::timeout(Duration::from_secs(10), async {
            while steps.load(Ordering::SeqCst) < 5 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("five steps within 10 s");
        assert_eq!(
            builds.load(Ordering::SeqCst),
            2,
            "built again after the panic"
        );
        let exits = supervisor.stop(Duration::from_secs(1)).await;
        assert_eq!(exits, vec![("flaky".to_owned(), Exit::Stopped)]);
    }

    #[test]
    fn restarts_back_off_to_a_minute() {
        assert_eq!(restart_backoff(1), Duration::from_secs(1));
        assert_eq!(restart_backoff(2), Duration::from_secs(2));
        assert_eq!(restart_backoff(7), Duration::from_secs(60));
        assert_eq!(restart_backoff(100), Duration::from_secs(60));
    }
}
