//! The processes one command runs on: this one alone, or, for `dcgan train` in a build
//! with the `mpi` feature, the N ranks an MPI launcher (`mpirun -np N`, `mpiexec`, `srun`)
//! started, which train one run together (docs/distributed.md).
//!
//! [`World`] is what the rest of dcgan sees: its rank and size, and the few collective
//! operations data-parallel training needs, each a no-op in one process. Every other command,
//! and every command of a build without the feature, refuses to start as one of several: N
//! copies would write the same files.

#[cfg(feature = "mpi")]
mod mpi;

use std::sync::OnceLock;

use anyhow::bail;

/// The environment variables in which MPI launchers tell each process how many there are:
/// Open MPI's, MPICH's and Intel MPI's (PMI, also Slurm's `srun --mpi=pmi2`), MVAPICH's.
const SIZE_VARIABLES: [&str; 3] = ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MV2_COMM_WORLD_SIZE"];

/// The number of processes a launcher started this one among, and the variable that says
/// so, read through `var` (the process's environment in [`refuse_several`]); `None` when
/// no launcher started it.
pub fn launched_among(var: impl Fn(&str) -> Option<String>) -> Option<(usize, &'static str)> {
    SIZE_VARIABLES
        .iter()
        .find_map(|&name| Some((var(name)?.trim().parse().ok()?, name)))
}

/// The number of processes a launcher started this one among, from the environment; 1 when
/// none did.
fn launched_size() -> (usize, &'static str) {
    launched_among(|name| std::env::var(name).ok()).unwrap_or((1, ""))
}

/// Fails when this process is one of several that a launcher started, naming the launcher's
/// variable and what to do: for `command`, which computes in one process.
pub fn refuse_several(command: &str) -> anyhow::Result<()> {
    let (n, variable) = launched_size();
    if n > 1 {
        let train = if cfg!(feature = "mpi") {
            "only `dcgan train` runs on several processes"
        } else {
            "training on several processes needs a build with `--features mpi` \
             (docs/distributed.md)"
        };
        bail!(
            "dcgan {command} was started as one of {n} processes by an MPI launcher \
             ({variable}={n}), but it computes in one process, and {n} copies would write \
             the same files ({train}). Run it without mpirun, mpiexec or srun (it uses every \
             core of the machine by itself), or unset {variable} if a single process \
             inherited it"
        );
    }
    Ok(())
}

/// This process's place among the processes of one command, and the collective operations
/// between them. In one process, rank 0 of 1, every operation returns its input.
pub struct World {
    rank: usize,
    size: usize,
    #[cfg(feature = "mpi")]
    mpi: Option<mpi::Communicator>,
}

static WORLD: OnceLock<World> = OnceLock::new();

/// The world of this process: the one [`join`] made, else this process alone.
pub fn world() -> &'static World {
    WORLD.get_or_init(|| World {
        rank: 0,
        size: 1,
        #[cfg(feature = "mpi")]
        mpi: None,
    })
}

/// Keeps MPI running while it lives; dropped, it ends MPI (`MPI_Finalize`) in this process.
pub struct Membership {
    #[cfg(feature = "mpi")]
    _universe: Option<::mpi::environment::Universe>,
}

/// For `dcgan train` (and the benchmark of its exchange), named `command`: joins the ranks
/// an MPI launcher started, when it started more than one and this build has the `mpi`
/// feature (else refuses, as [`refuse_several`]). Call it once, before any work; keep what
/// it returns until the command ends.
pub fn join(command: &str) -> anyhow::Result<Membership> {
    let (n, _) = launched_size();
    if n <= 1 {
        return Ok(Membership {
            #[cfg(feature = "mpi")]
            _universe: None,
        });
    }
    #[cfg(not(feature = "mpi"))]
    {
        refuse_several(command)?;
        unreachable!("refused: started among {n}")
    }
    #[cfg(feature = "mpi")]
    {
        let _ = command;
        let (universe, communicator) = mpi::start()?;
        let world = World {
            rank: communicator.rank(),
            size: communicator.size(),
            mpi: Some(communicator),
        };
        if world.size != n {
            bail!(
                "the MPI launcher said {n} processes, but MPI counts {}: is this dcgan built \
                 against the launcher's MPI library?",
                world.size
            );
        }
        if WORLD.set(world).is_err() {
            bail!("dcgan joined its MPI processes twice");
        }
        Ok(Membership {
            _universe: Some(universe),
        })
    }
}

impl World {
    /// This process's rank, 0 to `size − 1`.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// The number of processes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// True for the process that writes the run's files and prints its lines: rank 0.
    pub fn writes(&self) -> bool {
        self.rank == 0
    }

    /// Replaces each of `values` by its sum over every process, the same on each; the
    /// processes' values are added in rank order, so the sums do not depend on which
    /// process's values arrive first.
    pub fn sum_f32(&self, values: &mut [f32]) {
        #[cfg(feature = "mpi")]
        if let Some(mpi) = &self.mpi {
            mpi.sum_in_rank_order(values);
        }
        #[cfg(not(feature = "mpi"))]
        let _ = values;
    }

    /// [`World::sum_f32`] for f64 values.
    pub fn sum_f64(&self, values: &mut [f64]) {
        #[cfg(feature = "mpi")]
        if let Some(mpi) = &self.mpi {
            mpi.sum_in_rank_order(values);
        }
        #[cfg(not(feature = "mpi"))]
        let _ = values;
    }

    /// Ends the command on a failure of this process: in one process, returns `error`; on
    /// several, prints it with this process's rank and ends every process of the job at
    /// once (`MPI_Abort`), since the others would wait for this one for ever.
    pub fn fail(&self, error: anyhow::Error) -> anyhow::Error {
        #[cfg(feature = "mpi")]
        if let Some(mpi) = &self.mpi {
            eprintln!("error: rank {} of {}: {error:#}", self.rank, self.size);
            mpi.abort(2);
        }
        error
    }

    /// Every process's `value`, in rank order.
    pub fn gather(&self, value: u64) -> Vec<u64> {
        #[cfg(feature = "mpi")]
        if let Some(mpi) = &self.mpi {
            return mpi.gather(value);
        }
        vec![value]
    }

    /// True on every process when `flag` is true on any.
    pub fn any(&self, flag: bool) -> bool {
        if self.size == 1 {
            return flag;
        }
        self.gather(u64::from(flag)).contains(&1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_launchers_variables_are_read_and_bad_values_ignored() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(launched_among(env(&[])), None);
        assert_eq!(
            launched_among(env(&[("OMPI_COMM_WORLD_SIZE", "4")])),
            Some((4, "OMPI_COMM_WORLD_SIZE"))
        );
        assert_eq!(
            launched_among(env(&[("PMI_SIZE", " 2\n")])),
            Some((2, "PMI_SIZE"))
        );
        assert_eq!(launched_among(env(&[("PMI_SIZE", "many")])), None);
    }
}
