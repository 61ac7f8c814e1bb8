//! The collective operations of [`super::World`] over MPI (the `mpi` crate, rsmpi, on the
//! system's MPI library: Open MPI from Debian's `libopenmpi-dev`).

use std::sync::Mutex;

use anyhow::anyhow;
use mpi::Threading;
use mpi::datatype::Equivalence;
use mpi::environment::Universe;
use mpi::topology::{Communicator as _, SimpleCommunicator};
use mpi::traits::CommunicatorCollectives;

/// Values (over all processes) up to which a sum gathers every process's vector whole.
const SHORT: usize = 16_384;

/// MPI_COMM_WORLD, called by one thread at a time.
pub struct Communicator {
    comm: Mutex<Handle>,
    rank: usize,
    size: usize,
}

/// The communicator, movable between threads.
struct Handle(SimpleCommunicator);

// SAFETY: MPI was initialised with `MPI_THREAD_SERIALIZED` ([`start`]), which allows calls
// from any thread as long as no two are made at once; the mutex around the handle sees to
// that.
unsafe impl Send for Handle {}

/// Initialises MPI; the universe ends it when dropped.
pub fn start() -> anyhow::Result<(Universe, Communicator)> {
    let (universe, threading) = mpi::initialize_with_threading(Threading::Serialized)
        .ok_or_else(|| anyhow!("MPI was already initialised in this process"))?;
    if threading < Threading::Serialized {
        anyhow::bail!(
            "this MPI library allows calls from its initial thread only ({threading:?}); \
             dcgan needs MPI_THREAD_SERIALIZED"
        );
    }
    let comm = universe.world();
    let (rank, size) = (comm.rank() as usize, comm.size() as usize);
    let communicator = Communicator {
        comm: Mutex::new(Handle(comm)),
        rank,
        size,
    };
    Ok((universe, communicator))
}

impl Communicator {
    /// This process's rank.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// The number of processes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Sums `values` over the processes, adding them in rank order. A short vector (a
    /// BatchNorm layer's per-channel sums) is gathered whole by every process, which adds
    /// the copies itself: few rounds of messages. A long one (the gradients) goes as a
    /// reduce-scatter and an all-gather: process r receives everyone's r-th chunk (an
    /// all-to-all), adds the N chunks in rank order, and the summed chunks are gathered by
    /// every process; each process then sends and receives about twice the vector, whatever
    /// N, as a ring all-reduce does. Unlike `MPI_Allreduce`, whose order of additions the
    /// standard leaves to the library, the order here is fixed, so the sums are the same
    /// bits on every process and in every run.
    pub fn sum_in_rank_order<T>(&self, values: &mut [T])
    where
        T: Equivalence + Copy + Default + std::ops::AddAssign,
    {
        let n = self.size;
        let comm = self.comm.lock().expect("no MPI call panicked");
        if values.len() * n <= SHORT {
            let mut all = vec![T::default(); values.len() * n];
            comm.0.all_gather_into(&*values, &mut all[..]);
            values.copy_from_slice(&all[..values.len()]);
            for copy in all[values.len()..].chunks_exact(values.len().max(1)) {
                for (v, &c) in values.iter_mut().zip(copy) {
                    *v += c;
                }
            }
            return;
        }
        let chunk = values.len().div_ceil(n);
        let mut send = vec![T::default(); chunk * n];
        send[..values.len()].copy_from_slice(values);
        let mut pieces = vec![T::default(); chunk * n];
        comm.0.all_to_all_into(&send[..], &mut pieces[..]);
        let mut sum = pieces[..chunk].to_vec();
        for piece in pieces[chunk..].chunks_exact(chunk) {
            for (s, &v) in sum.iter_mut().zip(piece) {
                *s += v;
            }
        }
        comm.0.all_gather_into(&sum[..], &mut send[..]);
        values.copy_from_slice(&send[..values.len()]);
    }

    /// Ends every process of the job at once (`MPI_Abort`), with `code`.
    pub fn abort(&self, code: i32) -> ! {
        let comm = self.comm.lock().expect("no MPI call panicked");
        comm.0.abort(code)
    }

    /// Every process's `value`, in rank order.
    pub fn gather(&self, value: u64) -> Vec<u64> {
        let mut all = vec![0u64; self.size];
        let comm = self.comm.lock().expect("no MPI call panicked");
        comm.0.all_gather_into(&value, &mut all[..]);
        all
    }
}
