//! Statement events: echo through `tracing`, and listeners that see every statement an
//! engine's connections send — SQLAlchemy's `before_cursor_execute` event.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use crate::value::Value;

/// A function called with each statement's SQL and parameters before it runs.
pub type StatementListener = Arc<dyn Fn(&str, &[Value]) + Send + Sync>;

/// What happens around each statement of one engine.
pub(crate) struct Events {
    echo: bool,
    hide_parameters: bool,
    any_listener: AtomicBool,
    listeners: RwLock<Vec<StatementListener>>,
}

/// Parameters as a log line shows them: `(1, 'Alice')`.
struct DisplayParams<'a>(&'a [Value]);

impl fmt::Display for DisplayParams<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(")?;
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{p}")?;
        }
        f.write_str(")")
    }
}

impl Events {
    pub(crate) fn new(echo: bool, hide_parameters: bool) -> Self {
        Events {
            echo,
            hide_parameters,
            any_listener: AtomicBool::new(false),
            listeners: RwLock::new(Vec::new()),
        }
    }

    pub(crate) fn listen(&self, listener: StatementListener) {
        let mut listeners = self.listeners.write().unwrap_or_else(|p| p.into_inner());
        listeners.push(listener);
        self.any_listener.store(true, Ordering::Release);
    }

    /// Whether parameters are kept out of logs and error messages.
    pub(crate) fn hide_parameters(&self) -> bool {
        self.hide_parameters
    }

    /// Whether statements are watched at all (echo, or a listener): when not,
    /// [`before_execute`](Self::before_execute) does nothing, and parameters need not be
    /// made into [`Value`]s for it.
    pub(crate) fn observed(&self) -> bool {
        self.echo || self.any_listener.load(Ordering::Acquire)
    }

    /// Called before a statement is sent.
    pub(crate) fn before_execute(&self, sql: &str, params: &[Value]) {
        if self.echo {
            if self.hide_parameters {
                tracing::info!(target: "retort::engine", params = "[hidden]", "{sql}");
            } else {
                tracing::info!(target: "retort::engine", params = %DisplayParams(params), "{sql}");
            }
        }
        // Checked without the lock, so an engine without listeners pays one atomic load.
        if self.any_listener.load(Ordering::Acquire) {
            let listeners = self.listeners.read().unwrap_or_else(|p| p.into_inner());
            for listener in listeners.iter() {
                listener(sql, params);
            }
        }
    }
}
