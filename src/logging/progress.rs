//! Progress bars, drawn on stderr only when it is a terminal.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// A bar counting images through one epoch, with a message for the losses, the rate in
/// images per second and the time left; hidden in a [`quiet`](super::quiet) process.
pub fn epoch_bar(images: u64, epoch: usize, epochs: usize) -> ProgressBar {
    if super::quiet() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(images);
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix} [{bar:28.cyan/blue}] {pos}/{len} img  {msg}  {per_sec}  ETA {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_prefix(format!("epoch {epoch:>3}/{epochs}"));
    bar.enable_steady_tick(Duration::from_millis(500));
    bar
}

/// A bar for `len` bytes of a download (a spinner when the length is unknown).
pub fn bytes_bar(len: Option<u64>, what: &str) -> ProgressBar {
    let bar = match len {
        Some(len) => ProgressBar::new(len).with_style(
            ProgressStyle::with_template(
                "{msg} [{bar:28}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
            )
            .expect("valid template"),
        ),
        None => ProgressBar::new_spinner(),
    };
    bar.set_message(what.to_string());
    bar
}

/// A bar counting `len` generated images.
pub fn count_bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len).with_style(
        ProgressStyle::with_template("{msg} [{bar:28}] {pos}/{len} {per_sec} ETA {eta}")
            .expect("valid template"),
    );
    bar.set_message(what.to_string());
    bar
}
