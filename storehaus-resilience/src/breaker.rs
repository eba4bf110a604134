//! A circuit breaker: after repeated failures a layer is skipped for a while instead of waited
//! for, then probed by one call before it is used again.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// When a [`CircuitBreaker`] opens and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BreakerConfig {
    /// Failures within `window` that open the breaker; 0 never opens it.
    pub failure_threshold: u32,
    /// The window the failures are counted in.
    pub window: Duration,
    /// How long the breaker stays open before one call probes the layer.
    pub open_for: Duration,
}

impl BreakerConfig {
    /// A breaker that never opens.
    pub const fn disabled() -> Self {
        BreakerConfig { failure_threshold: 0, window: Duration::from_secs(10), open_for: Duration::from_secs(1) }
    }

    /// Opens after `failure_threshold` failures within `window`, probes after `open_for`.
    pub const fn new(failure_threshold: u32, window: Duration, open_for: Duration) -> Self {
        BreakerConfig { failure_threshold, window, open_for }
    }

    /// Whether the breaker can open at all.
    pub fn is_enabled(&self) -> bool {
        self.failure_threshold > 0
    }
}

impl Default for BreakerConfig {
    /// Opens after 5 failures within 10 s; probes after 1 s.
    fn default() -> Self {
        BreakerConfig::new(5, Duration::from_secs(10), Duration::from_secs(1))
    }
}

/// Where a [`CircuitBreaker`] stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BreakerState {
    /// Calls go through.
    Closed,
    /// Calls are refused at once until the open period ends.
    Open,
    /// One call is probing the layer; the others are refused until it ends.
    HalfOpen,
}

impl BreakerState {
    /// `"closed"`, `"open"` or `"half-open"`.
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half-open",
        }
    }

    fn from_u8(value: u8) -> Self {
        match value {
            OPEN => BreakerState::Open,
            HALF_OPEN => BreakerState::HalfOpen,
            _ => BreakerState::Closed,
        }
    }
}

impl fmt::Display for BreakerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

const CLOSED: u8 = 0;
const OPEN: u8 = 1;
const HALF_OPEN: u8 = 2;

/// A snapshot of a [`CircuitBreaker`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BreakerStats {
    /// The state now.
    pub state: BreakerState,
    /// Times the breaker opened.
    pub opened: u64,
    /// Calls refused because the breaker was open (or probing).
    pub short_circuited: u64,
    /// Probes that found the layer healthy again, closing the breaker.
    pub closed_by_probe: u64,
}

/// A call the breaker refused: it is open, or another call is probing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("circuit breaker `{name}` is {state}; next probe in {} ms", .retry_in.as_millis())]
pub struct BreakerOpen {
    /// The breaker's name.
    pub name: &'static str,
    /// [`BreakerState::Open`] or [`BreakerState::HalfOpen`].
    pub state: BreakerState,
    /// When a probe may start (zero while one runs).
    pub retry_in: Duration,
}

#[derive(Debug)]
struct Window {
    /// The times of the latest failures, at most `failure_threshold` of them.
    failures: VecDeque<Instant>,
    opened_at: Instant,
    probing: bool,
}

/// Closed → open after `failure_threshold` failures within `window` → half-open after
/// `open_for`, when one call probes → closed when the probe succeeds, open again when it fails.
///
/// Calls ask [`allow`](Self::allow) and report how they went on the [`Permit`]. A closed breaker
/// costs one atomic load per call and a lock only on failures.
pub struct CircuitBreaker {
    name: &'static str,
    config: BreakerConfig,
    state: AtomicU8,
    window: Mutex<Window>,
    opened: AtomicU64,
    short_circuited: AtomicU64,
    closed_by_probe: AtomicU64,
}

/// A call the breaker let through; report its outcome with [`success`](Self::success) or
/// [`failure`](Self::failure). A permit dropped unreported (a cancelled call) counts as neither,
/// and a probe dropped so lets the next call probe.
#[must_use = "report the call's outcome on the permit"]
#[derive(Debug)]
pub struct Permit<'a> {
    breaker: &'a CircuitBreaker,
    probe: bool,
    reported: bool,
}

impl CircuitBreaker {
    /// A closed breaker; `name` appears in logs and errors.
    pub fn new(name: &'static str, config: BreakerConfig) -> Self {
        CircuitBreaker {
            name,
            config,
            state: AtomicU8::new(CLOSED),
            window: Mutex::new(Window { failures: VecDeque::new(), opened_at: Instant::now(), probing: false }),
            opened: AtomicU64::new(0),
            short_circuited: AtomicU64::new(0),
            closed_by_probe: AtomicU64::new(0),
        }
    }

    /// The settings.
    pub fn config(&self) -> &BreakerConfig {
        &self.config
    }

    /// The state now. An open breaker whose period has ended reads as half-open.
    pub fn state(&self) -> BreakerState {
        match self.state.load(Ordering::Acquire) {
            OPEN if self.lock().opened_at.elapsed() >= self.config.open_for => BreakerState::HalfOpen,
            state => BreakerState::from_u8(state),
        }
    }

    /// The counts and state now.
    pub fn stats(&self) -> BreakerStats {
        BreakerStats {
            state: self.state(),
            opened: self.opened.load(Ordering::Relaxed),
            short_circuited: self.short_circuited.load(Ordering::Relaxed),
            closed_by_probe: self.closed_by_probe.load(Ordering::Relaxed),
        }
    }

    /// Lets a call through, or refuses it at once while the breaker is open.
    pub fn allow(&self) -> Result<Permit<'_>, BreakerOpen> {
        if self.state.load(Ordering::Acquire) == CLOSED {
            return Ok(Permit { breaker: self, probe: false, reported: false });
        }
        let mut window = self.lock();
        let state = self.state.load(Ordering::Acquire);
        if state == CLOSED {
            return Ok(Permit { breaker: self, probe: false, reported: false });
        }
        let open_left = self.config.open_for.saturating_sub(window.opened_at.elapsed());
        if !window.probing && open_left.is_zero() {
            window.probing = true;
            self.state.store(HALF_OPEN, Ordering::Release);
            return Ok(Permit { breaker: self, probe: true, reported: false });
        }
        self.short_circuited.fetch_add(1, Ordering::Relaxed);
        let state = if window.probing { BreakerState::HalfOpen } else { BreakerState::from_u8(state) };
        Err(BreakerOpen { name: self.name, state, retry_in: open_left })
    }

    /// Opens the breaker now, whatever its counts (an operator's switch, and for tests).
    pub fn trip(&self) {
        let mut window = self.lock();
        self.open(&mut window);
    }

    fn succeeded(&self, probe: bool) {
        if !probe {
            return;
        }
        let mut window = self.lock();
        window.probing = false;
        window.failures.clear();
        self.state.store(CLOSED, Ordering::Release);
        self.closed_by_probe.fetch_add(1, Ordering::Relaxed);
        tracing::info!(breaker = self.name, "circuit breaker closed: the probe succeeded");
    }

    fn failed(&self, probe: bool) {
        let mut window = self.lock();
        if probe {
            window.probing = false;
            self.open(&mut window);
            return;
        }
        let threshold = self.config.failure_threshold as usize;
        if threshold == 0 || self.state.load(Ordering::Acquire) != CLOSED {
            return;
        }
        let now = Instant::now();
        window.failures.push_back(now);
        while window.failures.len() > threshold {
            window.failures.pop_front();
        }
        let oldest = window.failures.front().copied().unwrap_or(now);
        if window.failures.len() == threshold && now.duration_since(oldest) <= self.config.window {
            self.open(&mut window);
        }
    }

    fn open(&self, window: &mut Window) {
        window.opened_at = Instant::now();
        window.failures.clear();
        if self.state.swap(OPEN, Ordering::AcqRel) != OPEN {
            self.opened.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                breaker = self.name,
                open_for_ms = self.config.open_for.as_millis() as u64,
                "circuit breaker opened"
            );
        }
    }

    fn released(&self) {
        self.lock().probing = false;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Window> {
        // Every update leaves the window consistent, so a panicked holder changes nothing.
        self.window.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("name", &self.name)
            .field("config", &self.config)
            .field("state", &self.state())
            .finish()
    }
}

impl Permit<'_> {
    /// Whether this call is the probe of a half-open breaker.
    pub fn is_probe(&self) -> bool {
        self.probe
    }

    /// The call succeeded (or failed for a reason that says nothing about the layer's health).
    pub fn success(mut self) {
        self.reported = true;
        self.breaker.succeeded(self.probe);
    }

    /// The call failed in a way that says the layer is unhealthy (unreachable, timed out).
    pub fn failure(mut self) {
        self.reported = true;
        self.breaker.failed(self.probe);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if self.probe && !self.reported {
            self.breaker.released();
        }
    }
}

#[cfg(test)]
mod tests;
