//! `dcgan serve`: a local web server to explore a trained generator in the browser, and the
//! JSON and PNG API its page uses (documented in `docs/serve.md`).
//!
//! The page and its script are embedded in the binary ([`assets`]); the server reads only
//! the generator it was given and, for a run directory, that run's files (its timeline and
//! logs, [`run_dir`]), and writes nothing. It listens on loopback unless `--addr` says
//! otherwise, and every request's size is checked before any work ([`api`]).

mod api;
mod assets;
mod drawers;
mod explorer;
mod live;
mod neighbours;
mod routes;
mod run_api;
mod run_dir;
mod timeline;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use burn::module::Module;

pub use api::Limits;
pub use explorer::{Explorer, Judge};
pub use routes::router;
pub use run_dir::RunDir;
pub use timeline::Timeline;

use crate::device::DeviceKind;
use crate::train::checkpoint;

/// What `dcgan serve` serves, and where.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// A run directory, a checkpoint file or a `generator.safetensors`.
    pub checkpoint: PathBuf,
    /// Address to listen on; port 0 picks a free one.
    pub addr: SocketAddr,
    /// Where to generate.
    pub device: DeviceKind,
    /// Number format of the convolutions' products.
    pub precision: crate::kernels::precision::Precision,
}

/// Loads the generator and serves it until Ctrl-C.
pub fn run(options: ServeOptions) -> anyhow::Result<()> {
    let device = crate::device::start(options.device, options.precision)?;
    let path = &options.checkpoint;
    // A checkpoint (or run) also has D, whose opinion the page shows; a generator file not.
    let explorer = if path.extension().is_some_and(|e| e == "safetensors") {
        Explorer::new(
            checkpoint::load_generator(path, &device)?,
            None,
            device.clone(),
        )
    } else {
        let (state, gan) = checkpoint::load(path, &device)?;
        let judge = Judge {
            discriminator: gan.discriminator.valid(),
            spectral_norm: gan.spectral_norm.clone(),
        };
        let loaded = checkpoint::LoadedGenerator::of_run(state, &gan);
        Explorer::new(loaded, Some(judge), device.clone())
    };
    // A run directory (or a checkpoint's) also has its timeline and logs.
    let timeline = RunDir::of(path).map(|run| {
        let classes = explorer.classes().len();
        Arc::new(Timeline::new(run, device, explorer.noise_dim(), classes))
    });
    let explorer = Arc::new(explorer);
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the web server's runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(options.addr)
            .await
            .with_context(|| format!("--addr {}: cannot listen there", options.addr))?;
        let local = listener.local_addr()?;
        if !local.ip().is_loopback() {
            eprintln!(
                "warning: --addr {local} is reachable from other machines; anyone who can \
                 reach it can use this generator (dcgan serve has no login)"
            );
        }
        crate::say!(
            "serving {} ({}) on http://{local}/ ; Ctrl-C stops",
            options.checkpoint.display(),
            explorer.describe()
        )?;
        axum::serve(listener, router(explorer, timeline, stopping))
            .with_graceful_shutdown(async move {
                let _ = tokio::signal::ctrl_c().await;
                // Ends the live-update streams, which would otherwise hold the server open.
                let _ = stop.send(true);
            })
            .await
            .context("the web server failed")?;
        crate::say!("stopped")?;
        Ok(())
    })
}
