//! How often a run saves a checkpoint within an epoch (`--checkpoint-every`): every N steps
//! or every so much time, besides the checkpoint at each epoch's end.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The interval between checkpoints within an epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum CheckpointEvery {
    /// Only at the end of each epoch (`0`).
    Epoch,
    /// After every this many steps.
    Steps(u64),
    /// After the first step that ends this long after the last checkpoint.
    Time(Duration),
}

impl Default for CheckpointEvery {
    /// Ten minutes: at most that much work lost to a crash, for a few seconds of writing.
    fn default() -> Self {
        CheckpointEvery::Time(Duration::from_secs(600))
    }
}

impl CheckpointEvery {
    /// Whether a checkpoint is due after `steps` steps taken `elapsed` after the last one.
    pub fn due(&self, steps: u64, elapsed: Duration) -> bool {
        match *self {
            CheckpointEvery::Epoch => false,
            CheckpointEvery::Steps(n) => steps >= n,
            CheckpointEvery::Time(limit) => elapsed >= limit,
        }
    }
}

impl FromStr for CheckpointEvery {
    type Err = String;

    /// `0`: only at epochs' ends; a whole number: steps; a duration such as `90s`, `10m` or
    /// `1h 30m`: time.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if let Ok(steps) = text.parse::<u64>() {
            return Ok(match steps {
                0 => CheckpointEvery::Epoch,
                n => CheckpointEvery::Steps(n),
            });
        }
        match humantime::parse_duration(text) {
            Ok(d) if d >= Duration::from_secs(1) => Ok(CheckpointEvery::Time(d)),
            Ok(_) => Err(format!("{text:?} is shorter than a second")),
            Err(err) => Err(format!(
                "{text:?} is neither a number of steps nor a duration such as 10m or 1h ({err})"
            )),
        }
    }
}

impl fmt::Display for CheckpointEvery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckpointEvery::Epoch => write!(f, "0"),
            CheckpointEvery::Steps(n) => write!(f, "{n}"),
            CheckpointEvery::Time(d) => write!(f, "{}", humantime::format_duration(*d)),
        }
    }
}

impl TryFrom<String> for CheckpointEvery {
    type Error = String;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<CheckpointEvery> for String {
    fn from(every: CheckpointEvery) -> String {
        every.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_durations_and_zero_parse_and_print_back() {
        for (text, every) in [
            ("0", CheckpointEvery::Epoch),
            ("500", CheckpointEvery::Steps(500)),
            ("10m", CheckpointEvery::Time(Duration::from_secs(600))),
            ("1h 30m", CheckpointEvery::Time(Duration::from_secs(5400))),
        ] {
            let parsed: CheckpointEvery = text.parse().unwrap();
            assert_eq!(parsed, every, "{text}");
            assert_eq!(
                parsed.to_string().parse::<CheckpointEvery>().unwrap(),
                every
            );
        }
        assert!(
            "ten"
                .parse::<CheckpointEvery>()
                .unwrap_err()
                .contains("10m")
        );
        assert!("5ms".parse::<CheckpointEvery>().is_err());
        assert!("-3".parse::<CheckpointEvery>().is_err());
    }

    #[test]
    fn due_after_the_steps_or_the_time() {
        let steps = CheckpointEvery::Steps(3);
        assert!(!steps.due(2, Duration::from_secs(9999)));
        assert!(steps.due(3, Duration::ZERO));
        let time = CheckpointEvery::default();
        assert!(!time.due(1_000_000, Duration::from_secs(599)));
        assert!(time.due(1, Duration::from_secs(600)));
        assert!(!CheckpointEvery::Epoch.due(u64::MAX, Duration::MAX));
    }
}
