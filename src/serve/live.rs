//! Live updates of a training run as Server-Sent Events (`GET /api/events`): new loss
//! points, new evaluations and new saved epochs, pushed as the run writes them, so the page
//! never polls.
//!
//! Each open stream looks at the run's files once a second (their lengths and the epoch
//! folders), reads only what is new (at most [`super::run_dir::MAX_READ`] bytes a look),
//! and ends when the server stops. Each event's `id` is where the stream stands in the logs, so a browser
//! that reconnects (sending `Last-Event-ID`) goes on without gaps or repeats.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::response::sse::Event;
use futures_util::Stream;
use tokio::sync::{OwnedSemaphorePermit, watch};

use super::run_dir::{EVALS, EpochEntry, METRICS, RunDir};

/// How often a stream looks at the run's files.
const LOOK_EVERY: Duration = Duration::from_secs(1);

/// Where a stream stands: the byte offsets it has read up to in `metrics.jsonl` and
/// `eval.jsonl`, written `METRICS:EVAL` as the events' ids.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Offsets {
    /// In `metrics.jsonl`.
    pub metrics: u64,
    /// In `eval.jsonl`.
    pub eval: u64,
}

impl Offsets {
    /// Reads `METRICS:EVAL`.
    pub fn parse(text: &str) -> Option<Offsets> {
        let (metrics, eval) = text.split_once(':')?;
        Some(Offsets {
            metrics: metrics.parse().ok()?,
            eval: eval.parse().ok()?,
        })
    }

    fn id(&self) -> String {
        format!("{}:{}", self.metrics, self.eval)
    }
}

/// One stream's state between looks.
struct Watch {
    run: RunDir,
    at: Offsets,
    epochs: Option<Vec<EpochEntry>>,
    pending: VecDeque<Event>,
    looked: bool,
    ended: bool,
    shutdown: watch::Receiver<bool>,
    /// Held while the stream is open: the server's bound on open streams.
    _permit: OwnedSemaphorePermit,
}

/// The events of `run` from `from` on, until the server stops (`shutdown` turns true) or the
/// client goes away.
pub fn events(
    run: RunDir,
    from: Offsets,
    permit: OwnedSemaphorePermit,
    shutdown: watch::Receiver<bool>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let watch = Watch {
        run,
        at: from,
        epochs: None,
        pending: VecDeque::new(),
        looked: false,
        ended: false,
        shutdown,
        _permit: permit,
    };
    futures_util::stream::unfold(watch, |mut w| async move {
        loop {
            if let Some(event) = w.pending.pop_front() {
                return Some((Ok(event), w));
            }
            if w.ended || *w.shutdown.borrow() {
                return None;
            }
            if w.looked {
                tokio::select! {
                    () = tokio::time::sleep(LOOK_EVERY) => {}
                    _ = w.shutdown.changed() => return None,
                }
            }
            w.looked = true;
            let (run, at, epochs) = (w.run.clone(), w.at, w.epochs.clone());
            let news = tokio::task::spawn_blocking(move || look(&run, at, epochs.as_deref()))
                .await
                .ok()?;
            w.at = news.at;
            w.ended = news.reset;
            if let Some(epochs) = news.epochs {
                w.epochs = Some(epochs);
            }
            w.pending.extend(news.events);
        }
    })
}

/// What one look found.
struct News {
    events: Vec<Event>,
    at: Offsets,
    /// The epochs, when they changed.
    epochs: Option<Vec<EpochEntry>>,
    /// The logs were rewritten: the stream ends after a `reset` event.
    reset: bool,
}

/// Looks at the run's files from `at`, knowing `epochs` (none before the first look).
fn look(run: &RunDir, at: Offsets, epochs: Option<&[EpochEntry]>) -> News {
    // A resumed run rewrites its logs without the steps it will log again: start over.
    if run.log_len(METRICS) < at.metrics || run.log_len(EVALS) < at.eval {
        let event = Event::default()
            .event("reset")
            .data("the run's logs were rewritten (a resumed run drops what it logs again)");
        return News {
            events: vec![event],
            at,
            epochs: None,
            reset: true,
        };
    }
    let mut events = Vec::new();
    let metrics = run.new_metrics(at.metrics);
    let evals = run.new_evals(at.eval);
    let now = Offsets {
        metrics: metrics.offset,
        eval: evals.offset,
    };
    let json = |kind: &str, value: serde_json::Value| {
        Event::default()
            .event(kind)
            .id(now.id())
            .json_data(value)
            .expect("a JSON value serialises")
    };
    if !metrics.records.is_empty() {
        events.push(json(
            "metrics",
            serde_json::json!({ "records": metrics.records }),
        ));
    }
    if !evals.records.is_empty() {
        events.push(json(
            "eval",
            serde_json::json!({ "records": evals.records }),
        ));
    }
    let current = run.epochs();
    let changed = epochs != Some(current.as_slice());
    if changed {
        events.push(json("epochs", serde_json::json!({ "epochs": current })));
    }
    News {
        events,
        at: now,
        epochs: changed.then_some(current),
        reset: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_read_back_and_junk_is_refused() {
        let at = Offsets {
            metrics: 1234,
            eval: 5,
        };
        assert_eq!(Offsets::parse(&at.id()), Some(at));
        for junk in ["", "1", "1:", ":2", "a:b", "-1:2", "1:2:3"] {
            assert_eq!(Offsets::parse(junk), None, "{junk:?}");
        }
    }
}
