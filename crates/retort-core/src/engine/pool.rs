//! The connection pool: r2d2 over the dialect's driver connections.
//!
//! r2d2 does the queueing, the checkout timeout, pre-ping (`test_on_check_out`) and discarding
//! broken connections (`has_broken`). Two things are added around it:
//!
//! - r2d2 opens connections on its own threads and, when opening fails, retries until the
//!   checkout times out, keeping only the error's text. The manager records the typed error
//!   instead, and a checkout waiting for a connection returns it as soon as it is recorded —
//!   so an unreachable server or a wrong password is an immediate `OperationalError`, not a
//!   [`Error::PoolTimeout`] thirty seconds later.
//! - `pool_recycle` is enforced at checkout, as SQLAlchemy does, rather than only by r2d2's
//!   periodic reaper.
//! - A disconnect seen on one connection invalidates the pool (SQLAlchemy's pool
//!   invalidation): the time is recorded, and every connection opened before it is discarded
//!   when it is next checked out or returned. A server restart leaves every pooled connection
//!   dead; without this, each would fail one caller in turn.

use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use crate::dialect::DialectRef;
use crate::engine::driver::{ConnectOptions, DriverConnection};
use crate::engine::url::Url;
use crate::error::{Error, Result};

/// How long a checkout waits on r2d2 before looking for a recorded connect error.
const CONNECT_ERROR_POLL: Duration = Duration::from_millis(25);

/// A pooled driver connection with the engine's bookkeeping.
pub(crate) struct PoolConn {
    pub(crate) driver: Box<dyn DriverConnection>,
    pub(crate) health: Health,
}

/// Whether a pooled connection may be used again.
pub(crate) struct Health {
    created: Instant,
    /// Set when the connection must not be reused; r2d2 then discards it.
    broken: bool,
    invalidation: Arc<Invalidation>,
}

impl Health {
    /// Whether the connection is known to be unusable.
    pub(crate) fn is_broken(&self) -> bool {
        self.broken
    }

    /// Discards this connection (only this one) when it goes back to the pool.
    pub(crate) fn mark_broken(&mut self) {
        self.broken = true;
    }

    /// Looks at an error the connection returned: a disconnect breaks it and invalidates every
    /// connection opened before now.
    pub(crate) fn note(&mut self, err: &Error) {
        if err.is_disconnect() {
            self.disconnected();
        }
    }

    fn disconnected(&mut self) {
        self.broken = true;
        self.invalidation.disconnect_seen(self.created);
    }

    fn is_stale(&self) -> bool {
        self.invalidation.is_stale(self.created)
    }
}

/// The moment before which every connection of the pool is suspect.
#[derive(Default)]
struct Invalidation(Mutex<Option<Instant>>);

impl Invalidation {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn is_stale(&self, created: Instant) -> bool {
        self.lock().is_some_and(|at| created <= at)
    }

    /// Records a disconnect on a connection opened at `created`. A connection older than the
    /// last invalidation was already covered by it, so the time moves only for a newer one:
    /// connections opened since the outage began are kept.
    fn disconnect_seen(&self, created: Instant) {
        let mut at = self.lock();
        if !at.is_some_and(|at| created <= at) {
            *at = Some(Instant::now());
        }
    }

    fn invalidate_all(&self) {
        *self.lock() = Some(Instant::now());
    }
}

/// The most recent failure to open a connection, with when it happened.
#[derive(Default)]
struct ConnectErrors(Mutex<Option<(Instant, Error)>>);

impl ConnectErrors {
    fn record(&self, err: Error) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some((Instant::now(), err));
        }
    }

    /// Takes the recorded error if it happened after `since`.
    fn take_since(&self, since: Instant) -> Option<Error> {
        let mut slot = self.0.lock().ok()?;
        match slot.take() {
            Some((at, err)) if at >= since => Some(err),
            _ => None,
        }
    }
}

/// The error type r2d2 sees: only a message, the typed error goes to [`ConnectErrors`].
#[derive(Debug)]
pub(crate) struct PoolError(String);

impl std::fmt::Display for PoolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PoolError {}

/// Opens connections for r2d2 through the dialect, and initializes the dialect on the first.
pub(crate) struct Manager {
    url: Url,
    dialect: DialectRef,
    options: ConnectOptions,
    initialized: Arc<OnceLock<DialectRef>>,
    errors: Arc<ConnectErrors>,
    invalidation: Arc<Invalidation>,
}

impl Manager {
    fn open(&self) -> Result<PoolConn> {
        let mut driver = self.dialect.connect(&self.url, &self.options)?;
        if self.initialized.get().is_none() {
            let refined = self.dialect.initialize(driver.as_mut())?;
            // Another thread may have won the race; both found the same server.
            let _ = self
                .initialized
                .set(refined.unwrap_or_else(|| self.dialect.clone()));
        }
        Ok(PoolConn {
            driver,
            health: Health {
                created: Instant::now(),
                broken: false,
                invalidation: self.invalidation.clone(),
            },
        })
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = PoolConn;
    type Error = PoolError;

    fn connect(&self) -> Result<PoolConn, PoolError> {
        self.open().map_err(|err| {
            let message = err.to_string();
            self.errors.record(err);
            PoolError(message)
        })
    }

    fn is_valid(&self, conn: &mut PoolConn) -> Result<(), PoolError> {
        conn.driver.ping().map_err(|e| {
            conn.health.note(&e);
            conn.health.mark_broken();
            PoolError(e.to_string())
        })
    }

    fn has_broken(&self, conn: &mut PoolConn) -> bool {
        conn.health.broken || conn.driver.is_broken() || conn.health.is_stale()
    }
}

/// Sends r2d2's errors to `tracing` rather than the `log` crate.
#[derive(Debug)]
struct TracingErrorHandler;

impl r2d2::HandleError<PoolError> for TracingErrorHandler {
    fn handle_error(&self, error: PoolError) {
        tracing::warn!(target: "retort::pool", "{error}");
    }
}

/// Pool settings, as the engine resolved them.
pub(crate) struct PoolConfig {
    pub(crate) max_size: u32,
    pub(crate) timeout: Duration,
    pub(crate) pre_ping: bool,
    pub(crate) recycle: Option<Duration>,
    /// The pool's one connection is all there is (in-memory SQLite).
    pub(crate) single: bool,
}

/// The engine's pool.
pub(crate) struct Pool {
    pool: r2d2::Pool<Manager>,
    errors: Arc<ConnectErrors>,
    invalidation: Arc<Invalidation>,
    timeout: Duration,
    recycle: Option<Duration>,
    /// For a single-connection pool: the thread holding the connection.
    holder: Option<Arc<Mutex<Option<ThreadId>>>>,
}

/// A checked-out connection; returned to the pool when dropped.
pub(crate) struct PooledConn {
    conn: r2d2::PooledConnection<Manager>,
    /// Released after the connection is back in the pool (fields drop in order).
    _held: Option<HeldBy>,
}

impl Deref for PooledConn {
    type Target = PoolConn;
    fn deref(&self) -> &PoolConn {
        &self.conn
    }
}

impl DerefMut for PooledConn {
    fn deref_mut(&mut self) -> &mut PoolConn {
        &mut self.conn
    }
}

/// Marks the single connection as held by a thread until dropped.
struct HeldBy(Arc<Mutex<Option<ThreadId>>>);

impl Drop for HeldBy {
    fn drop(&mut self) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

impl Pool {
    pub(crate) fn new(
        url: Url,
        dialect: DialectRef,
        options: ConnectOptions,
        initialized: Arc<OnceLock<DialectRef>>,
        config: PoolConfig,
    ) -> Result<Pool> {
        let errors = Arc::new(ConnectErrors::default());
        let invalidation = Arc::new(Invalidation::default());
        let manager = Manager {
            url,
            dialect,
            options,
            initialized,
            errors: errors.clone(),
            invalidation: invalidation.clone(),
        };
        // r2d2 panics on these; they are the caller's to fix.
        if config.max_size == 0 {
            return Err(Error::Argument("pool_size must be at least 1".into()));
        }
        if config.timeout.is_zero() {
            return Err(Error::Argument("pool_timeout must be positive".into()));
        }
        if config.recycle.is_some_and(|r| r.is_zero()) {
            return Err(Error::Argument("pool_recycle must be positive".into()));
        }
        let pool = r2d2::Pool::builder()
            .max_size(config.max_size)
            // Open connections on demand, and keep idle ones, as SQLAlchemy's QueuePool does.
            .min_idle(Some(0))
            .idle_timeout(None)
            .max_lifetime(config.recycle)
            .connection_timeout(config.timeout)
            .test_on_check_out(config.pre_ping)
            .error_handler(Box::new(TracingErrorHandler))
            .build_unchecked(manager);
        Ok(Pool {
            pool,
            errors,
            invalidation,
            timeout: config.timeout,
            recycle: config.recycle,
            holder: config.single.then(|| Arc::new(Mutex::new(None))),
        })
    }

    /// Checks a connection out, waiting at most the pool timeout.
    pub(crate) fn checkout(&self) -> Result<PooledConn> {
        let me = std::thread::current().id();
        if let Some(holder) = &self.holder {
            // Waiting for the only connection while holding it would wait for ever.
            if *holder.lock().unwrap_or_else(|p| p.into_inner()) == Some(me) {
                return Err(Error::InvalidRequest(
                    "this engine has a single connection (an in-memory SQLite database) and \
                     this thread already holds it; use that Connection, or drop it first"
                        .into(),
                ));
            }
        }
        let conn = self.checkout_inner()?;
        let held = self.holder.as_ref().map(|holder| {
            *holder.lock().unwrap_or_else(|p| p.into_inner()) = Some(me);
            HeldBy(Arc::clone(holder))
        });
        Ok(PooledConn { conn, _held: held })
    }

    fn checkout_inner(&self) -> Result<r2d2::PooledConnection<Manager>> {
        let start = Instant::now();
        let deadline = start + self.timeout;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            match self.pool.get_timeout(remaining.min(CONNECT_ERROR_POLL)) {
                Ok(mut conn) => {
                    if conn.driver.is_broken() {
                        // Found dead while idle (the driver saw its socket close): the server
                        // may have restarted, so the others of its age are suspect too.
                        conn.health.disconnected();
                        continue;
                    }
                    let too_old = self
                        .recycle
                        .is_some_and(|age| conn.health.created.elapsed() >= age);
                    if too_old || conn.health.is_stale() {
                        // Dropped as broken, r2d2 discards it; take another.
                        conn.health.mark_broken();
                        continue;
                    }
                    return Ok(conn);
                }
                Err(_) => {
                    if let Some(err) = self.errors.take_since(start) {
                        return Err(err);
                    }
                    if Instant::now() >= deadline {
                        return Err(Error::PoolTimeout(self.timeout));
                    }
                }
            }
        }
    }

    /// Closes every idle connection now and every checked-out one when it is returned.
    pub(crate) fn dispose(&self) {
        self.invalidation.invalidate_all();
        // Bounded: connections returned meanwhile are stale and discarded on return anyway.
        for _ in 0..self.pool.max_size() {
            match self.pool.try_get() {
                Some(mut conn) => conn.health.mark_broken(),
                None => break,
            }
        }
    }

    /// The number of open connections and of idle ones.
    pub(crate) fn state(&self) -> (u32, u32) {
        let state = self.pool.state();
        (state.connections, state.idle_connections)
    }
}
