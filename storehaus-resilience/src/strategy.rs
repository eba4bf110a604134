//! What a layer does when it cannot be reached.

use std::fmt;
use std::str::FromStr;

/// What a call does when a layer (the cache, the signal listener, the rate limiter) is
/// unavailable or its circuit breaker is open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Go on without the layer: reads come from the database, events wait in the log, calls
    /// are admitted unchecked.
    #[default]
    Fallback,
    /// Fail the call with an error at once.
    FailFast,
}

impl Strategy {
    /// `"fallback"` or `"fail-fast"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Fallback => "fallback",
            Strategy::FailFast => "fail-fast",
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Strategy {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "fallback" => Ok(Strategy::Fallback),
            "fail-fast" => Ok(Strategy::FailFast),
            other => Err(format!("unknown strategy {other:?}; expected \"fallback\" or \"fail-fast\"")),
        }
    }
}
