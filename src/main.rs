//! The `dcgan` command line: parses flags and hands over to the library.

use std::process::ExitCode;

/// mimalloc keeps freed pages for reuse: training allocates and frees buffers of tens of
/// megabytes every step, which glibc's allocator unmaps and the kernel then faults in again.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay`, the 16th entry of `mi_option_t` in mimalloc.h (versions 2 and
/// 3): how long freed memory waits before it is returned to the OS; -1 never.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> ExitCode {
    // Training frees and reallocates the same large buffers every step; returned to the OS
    // and faulted in again they cost about a tenth of a step (docs/performance.md).
    // SAFETY: sets a process-wide allocator option before any other thread exists.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    dcgan::device::prepare_process();
    match dcgan::cli::run() {
        Ok(code) => code,
        // Whoever read the output stopped reading (`dcgan devices | head -1`): done.
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// True when `err` comes from writing to a pipe whose reader has gone.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
