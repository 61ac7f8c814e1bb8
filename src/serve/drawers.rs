//! The threads that draw: a fixed few, started with the server. tokio's blocking pool starts
//! a new thread whenever none is idle at the moment a job arrives (the last one may not be
//! back yet), and every new thread keeps its own allocator pages and kernel buffers, so
//! under load the server's memory crept up with the number of threads it had ever used.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of threads taking jobs in turn; they end when this is dropped.
pub struct Drawers {
    jobs: Sender<Job>,
}

impl Drawers {
    /// `threads` threads, waiting for jobs.
    pub fn new(threads: usize) -> Self {
        let (jobs, queue) = channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..threads {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("dcgan-draw-{i}"))
                .spawn(move || {
                    loop {
                        // The lock is held only while waiting for the next job.
                        let job = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                })
                .expect("a drawing thread starts");
        }
        Drawers { jobs }
    }

    /// Runs `work` on one of the threads; its answer, or the message of its panic.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, String> {
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move || {
            let result = catch_unwind(AssertUnwindSafe(work)).map_err(|panic| {
                panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "a panic".to_string())
            });
            let _ = answer.send(result);
        });
        self.jobs
            .send(job)
            .map_err(|_| "the drawing threads have stopped".to_string())?;
        answered
            .await
            .map_err(|_| "the drawing thread stopped".to_string())?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_on_the_same_threads_and_panics_are_answered() {
        let drawers = Drawers::new(2);
        let mut names = std::collections::BTreeSet::new();
        for i in 0..20 {
            let (n, name) = drawers
                .run(move || (i * 2, std::thread::current().name().unwrap().to_string()))
                .await
                .unwrap();
            assert_eq!(n, i * 2);
            names.insert(name);
        }
        assert!(names.len() <= 2, "{names:?}");
        let err = drawers.run(|| -> u32 { panic!("boom") }).await.unwrap_err();
        assert!(err.contains("boom"), "{err}");
        // The thread that panicked still answers.
        for _ in 0..4 {
            assert_eq!(drawers.run(|| 7).await.unwrap(), 7);
        }
    }
}
