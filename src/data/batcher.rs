//! Shuffled mini-batches of images as `[-1, 1]` tensors.

use std::ops::Range;

use burn::tensor::{Device, Int, Tensor};
use rand::Rng;
use rand::seq::SliceRandom;

use super::Dataset;

/// Cuts a data set into shuffled batches, a new order every epoch.
///
/// As in the seed, an epoch is `len / batch_size` full batches; the remainder is left out
/// (and is a different set of images each epoch, since the order changes).
pub struct Batcher<'a> {
    dataset: &'a Dataset,
    batch_size: usize,
    order: Vec<usize>,
    /// The rows of each batch this process takes: all of them, or its slice in a run on
    /// several processes.
    rows: Range<usize>,
}

impl<'a> Batcher<'a> {
    /// A batcher over `dataset`; call [`Batcher::shuffle`] before each epoch.
    pub fn new(dataset: &'a Dataset, batch_size: usize) -> Self {
        Batcher {
            dataset,
            batch_size,
            order: (0..dataset.len).collect(),
            rows: 0..batch_size,
        }
    }

    /// Takes only `rows` of each batch (this process's slice of it in a run on several
    /// processes); the batches, their order and their number stay those of the whole batch.
    pub fn only_rows(mut self, rows: Range<usize>) -> Self {
        assert!(rows.end <= self.batch_size, "rows within the batch");
        self.rows = rows;
        self
    }

    /// Number of full batches in one epoch.
    pub fn batches_per_epoch(&self) -> usize {
        self.dataset.len / self.batch_size
    }

    /// Draws a new order for the next epoch from `rng`.
    ///
    /// The order is drawn afresh from the identity, so it depends on the RNG state alone.
    pub fn shuffle(&mut self, rng: &mut impl Rng) {
        self.order = (0..self.dataset.len).collect();
        self.order.shuffle(rng);
    }

    /// Batch `index` of the current order (its [`only_rows`](Batcher::only_rows)).
    ///
    /// # Shapes
    /// - output: `[rows, channels, height, width]`, values in `[-1, 1]`
    pub fn batch(&self, index: usize, device: &Device) -> Tensor<4> {
        self.dataset.images(self.ids(index), device)
    }

    /// The class labels of batch `index`.
    ///
    /// # Shapes
    /// - output: `[rows]`
    pub fn labels(&self, index: usize, device: &Device) -> Tensor<1, Int> {
        self.dataset.label_tensor(self.ids(index), device)
    }

    fn ids(&self, index: usize) -> &[usize] {
        &self.order[index * self.batch_size..(index + 1) * self.batch_size][self.rows.clone()]
    }
}
