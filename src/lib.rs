//! dcgan: train, sample and explore deep convolutional GANs on MNIST-like data, on burn.
//!
//! The library holds everything; the `dcgan` binary is a thin command line over it.
//! Modules follow the architecture: [`data`] reads and batches images, [`model`] holds the
//! generator and discriminator, [`train`] the training loop and its configuration,
//! [`checkpoint`] saving and resuming (in the file layout of [`sections`]), [`run_lock`] one
//! process per run directory, [`picture`] noise
//! and image grids, [`logging`] TensorBoard events, metrics and progress, [`report`] loss
//! curves and the progress GIF, [`eval`] the classifier and the quality metrics, [`bench`]
//! timings, [`kernels`] dcgan's own CPU kernels for burn, [`weights`] the portable generator
//! file, [`serve`] the web server that explores a generator in the browser, and [`cli`] the
//! commands.

pub mod atomic_file;
pub mod bench;
pub mod cli;
pub mod data;
pub mod device;
pub mod eval;
pub mod geometry;
pub mod interrupt;
pub mod kernels;
pub mod logging;
pub mod model;
pub mod optim;
pub mod picture;
pub mod report;
pub mod run_files;
pub mod run_lock;
pub mod sections;
pub mod serve;
pub mod train;
pub mod weights;
