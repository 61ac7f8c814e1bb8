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

use super::run_dir::{EpochEntry, RunDir};
use crate::run_dir::{EVALS, METRICS};

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
    // A resumed run rewrites its logs without the steps it will log again, and `--force`
    // empties them: start over. A log that grew back past the offset since is caught by the
    // offset no longer ending a line.
    let rewritten = |name: &str, offset: u64| {
        run.log_len(name) < offset || (offset > 0 && !run.ends_line_at(name, offset))
    };
    if rewritten(METRICS, at.metrics) || rewritten(EVALS, at.eval) {
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
    // Each event's id is where the stream stands once that event is received, so a
    // reconnection after any of them misses nothing.
    let json = |kind: &str, id: Offsets, value: serde_json::Value| {
        Event::default()
            .event(kind)
            .id(id.id())
            .json_data(value)
            .expect("a JSON value serialises")
    };
    if !metrics.records.is_empty() {
        let id = Offsets {
            metrics: now.metrics,
            eval: at.eval,
        };
        let records = serde_json::json!({ "records": metrics.records });
        events.push(json("metrics", id, records));
    }
    if !evals.records.is_empty() {
        let records = serde_json::json!({ "records": evals.records });
        events.push(json("eval", now, records));
    }
    let current = run.epochs();
    let changed = epochs != Some(current.as_slice());
    if changed {
        events.push(json(
            "epochs",
            now,
            serde_json::json!({ "epochs": current }),
        ));
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
    fn a_log_rewritten_and_grown_back_past_the_offset_resets_the_stream() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join(METRICS);
        let line = |step: u64| {
            format!("{{\"step\":{step},\"loss_D\":1,\"loss_G\":1,\"D_x\":0.5,\"D_G_z\":0.5}}\n")
        };
        std::fs::write(&log, line(1) + &line(2)).unwrap();
        let run = RunDir::of(dir.path()).unwrap();
        let first = look(&run, Offsets::default(), None);
        assert!(!first.reset);
        assert_eq!(first.at.metrics, std::fs::metadata(&log).unwrap().len());
        // Appended to: the stream goes on.
        std::fs::write(&log, line(1) + &line(2) + &line(3)).unwrap();
        let next = look(&run, first.at, first.epochs.as_deref());
        assert!(!next.reset && next.events.len() == 1, "one metrics event");
        // Rewritten longer (a resumed run, then more steps): the old offset no longer ends
        // a line, and the stream resets instead of reading from the middle of one.
        std::fs::write(&log, line(10) + &line(11) + &line(12) + &line(13)).unwrap();
        assert!(run.log_len(METRICS) > next.at.metrics);
        assert!(look(&run, next.at, None).reset);
        // Emptied (`--force`): reset too.
        std::fs::write(&log, "").unwrap();
        assert!(look(&run, next.at, None).reset);
    }

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
