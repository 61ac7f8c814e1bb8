//! dcgan: train, sample and explore deep convolutional GANs on MNIST-like data, on burn.
//!
//! The library holds everything; the `dcgan` binary is a thin command line over it.
//! Modules follow the architecture: [`data`] reads and batches images, [`model`] holds the
//! generator and discriminator, [`optim`] Adam's settings, [`train`] the training loop, its
//! configuration and its checkpoints (in the file layout of [`sections`]), [`run_dir`] the
//! run directory's files, lock and log records, [`picture`] noise and image grids,
//! [`logging`] TensorBoard events, progress bars and console lines, [`report`] loss and FID
//! curves and the progress GIF, [`eval`] the feature networks (the classifiers, Inception)
//! and the quality metrics, [`bench`] timings, [`kernels`] dcgan's own CPU kernels for
//! burn, [`device`] the compute devices, [`weights`] the portable generator file, [`serve`]
//! the web server that explores a generator in the browser, [`interrupt`] Ctrl-C and
//! SIGTERM, [`processes`] the refusal to run as one of several processes, [`atomic_file`] and [`geometry`] small helpers, and [`cli`] the commands.

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
pub mod processes;
pub mod report;
pub mod run_dir;
pub mod sections;
pub mod serve;
pub mod train;
pub mod weights;
