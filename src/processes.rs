//! How many processes this one was started among. dcgan computes in one process; an MPI
//! launcher (`mpirun -np N`, `mpiexec`, `srun` with PMI) that starts it N > 1 times would run
//! N copies of one command over the same files (N trainings racing for one `--out`), so
//! every command refuses to start as one of several.

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

/// Fails when this process is one of several that a launcher started, naming the launcher's
/// variable and what to do.
pub fn refuse_several() -> anyhow::Result<()> {
    if let Some((n, variable)) = launched_among(|name| std::env::var(name).ok())
        && n > 1
    {
        bail!(
            "dcgan was started as one of {n} processes by an MPI launcher ({variable}={n}), \
             but it computes in one process, and {n} copies would write the same files. Run \
             it without mpirun, mpiexec or srun (it uses every core of the machine by itself), \
             or unset {variable} if a single process inherited it"
        );
    }
    Ok(())
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
