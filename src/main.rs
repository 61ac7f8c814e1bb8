//! The `dcgan` command line: parses flags and hands over to the library.

use std::process::ExitCode;

/// mimalloc keeps freed pages for reuse: training allocates and frees buffers of tens of
/// megabytes every step, which glibc's allocator unmaps and the kernel then faults in again.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    match dcgan::cli::run() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
