//! Sampling: contenders take turns, one sample each per round, so whatever else the machine does
//! slows them alike; the first contender of a round rotates, so none always runs first.

use crate::Result;
use crate::stats::{Summary, set_ratios};
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

/// One sample: does its untimed preparation, then returns the time of the measured part alone.
pub type Sample<'a> = Pin<Box<dyn Future<Output = Result<Duration>> + Send + 'a>>;

/// A named way to do the workload's job. The argument is the sample number, the same for every
/// contender in a round, so all of them work on the same keys.
pub struct Contender<'a> {
    pub name: &'static str,
    run: Box<dyn FnMut(usize) -> Sample<'a> + Send + 'a>,
}

impl<'a> Contender<'a> {
    pub fn new(name: &'static str, run: impl FnMut(usize) -> Sample<'a> + Send + 'a) -> Self {
        Contender { name, run: Box::new(run) }
    }
}

impl std::fmt::Debug for Contender<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Contender").field("name", &self.name).finish()
    }
}

/// How long a run measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Quick,
    Full,
}

/// How much a workload costs per sample, which decides how many samples fit the run's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cost {
    /// Up to a few milliseconds a sample.
    Light,
    /// Tens of milliseconds to seconds a sample (bulk loads).
    Heavy,
}

/// Warm-up rounds, then rounds until `min` were taken and `budget` is spent, or `max` were taken.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub warmup: usize,
    pub min: usize,
    pub max: usize,
    pub budget: Duration,
}

impl Mode {
    pub fn plan(self, cost: Cost) -> Plan {
        let s = Duration::from_secs_f64;
        match (self, cost) {
            (Mode::Quick, Cost::Light) => Plan { warmup: 10, min: 30, max: 1_000, budget: s(2.5) },
            (Mode::Quick, Cost::Heavy) => Plan { warmup: 1, min: 5, max: 100, budget: s(5.0) },
            (Mode::Full, Cost::Light) => Plan { warmup: 50, min: 200, max: 5_000, budget: s(8.0) },
            (Mode::Full, Cost::Heavy) => Plan { warmup: 2, min: 15, max: 300, budget: s(25.0) },
        }
    }
}

/// `(elapsed, value)` of evaluating `$e`: everything written inside, query building included, is
/// timed; an `?` inside returns the error as usual. `black_box` keeps the optimizer from skipping
/// any of the work that produced the value.
macro_rules! timed {
    ($e:expr) => {{
        let start = std::time::Instant::now();
        let value = std::hint::black_box($e);
        (start.elapsed(), value)
    }};
}
pub(crate) use timed;

/// Fails the run when a contender returned the wrong number of rows: a fast wrong answer is no result.
pub fn expect_rows(contender: &str, got: usize, want: usize) -> Result<()> {
    if got == want { Ok(()) } else { Err(format!("{contender}: expected {want} rows, got {got}").into()) }
}

/// Runs `contenders` round-robin under `plan` and summarizes each one's samples.
pub async fn measure(
    workload: &'static str,
    size: u64,
    plan: Plan,
    contenders: &mut [Contender<'_>],
) -> Result<Vec<Summary>> {
    let n = contenders.len();
    for round in 0..plan.warmup {
        for k in 0..n {
            (contenders[(round + k) % n].run)(round).await?;
        }
    }
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); n];
    let started = Instant::now();
    let mut round = 0;
    while round < plan.max && (round < plan.min || started.elapsed() < plan.budget) {
        for k in 0..n {
            let i = (round + k) % n;
            samples[i].push((contenders[i].run)(plan.warmup + round).await?);
        }
        round += 1;
    }
    let mut group: Vec<Summary> =
        contenders.iter().zip(&samples).map(|(c, s)| Summary::new(workload, size, c.name, s)).collect();
    set_ratios(&mut group);
    Ok(group)
}
