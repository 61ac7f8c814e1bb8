//! Training the evaluation classifier: Adam on cross-entropy, shuffled batches, the test
//! accuracy after every epoch.

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Int, Tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::classifier::{Classifier, ClassifierConfig};
use crate::data::{Batcher, Dataset};
use crate::logging::progress;

/// How the classifier is trained.
#[derive(Debug, Clone)]
pub struct ClassifierTraining {
    /// Passes over the training split.
    pub epochs: usize,
    /// Images per batch.
    pub batch_size: usize,
    /// Adam's learning rate in the first epoch; it halves every epoch after, which settles
    /// the last epochs' weights (with a constant rate the test accuracy wobbles by a few
    /// tenths of a percent from epoch to epoch).
    pub lr: f64,
    /// Seed of the initial weights and the shuffling.
    pub seed: u64,
}

impl Default for ClassifierTraining {
    fn default() -> Self {
        ClassifierTraining {
            epochs: 4,
            batch_size: 100,
            lr: 1e-3,
            seed: 0,
        }
    }
}

/// Trains a classifier on `train`, printing the accuracy on `test` after every epoch.
/// Returns it (for inference) and its final test accuracy.
pub fn train_classifier(
    train: &Dataset,
    test: &Dataset,
    settings: &ClassifierTraining,
    device: &Device,
) -> (Classifier, f64) {
    let autodiff = device.clone().autodiff();
    let mut rng = ChaCha8Rng::seed_from_u64(settings.seed);
    let mut model = ClassifierConfig::new().init(&mut rng, &autodiff);
    // Adam with the usual β1 0.9 for a classifier (the GAN's defaults are the DCGAN paper's).
    let mut optimizer = crate::optim::adam(&crate::optim::AdamSettings {
        lr: settings.lr,
        beta1: 0.9,
        ..crate::optim::AdamSettings::default()
    });
    let loss_fn = CrossEntropyLossConfig::new().init(&autodiff);
    let mut batcher = Batcher::new(train, settings.batch_size);
    let batches = batcher.batches_per_epoch();
    let mut accuracy = 0.0;
    for epoch in 0..settings.epochs {
        batcher.shuffle(&mut rng);
        let lr = settings.lr * 0.5f64.powi(epoch as i32);
        let bar = progress::epoch_bar(
            (batches * settings.batch_size) as u64,
            epoch,
            settings.epochs,
        );
        for b in 0..batches {
            let logits = model.forward(batcher.batch(b, &autodiff)).logits;
            let loss = loss_fn.forward(logits, batcher.labels(b, &autodiff));
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optimizer.step(lr, model, grads);
            if b % 50 == 0 {
                bar.set_message(format!("loss {:.4}", loss.into_scalar::<f32>()));
            }
            bar.inc(settings.batch_size as u64);
        }
        bar.finish_and_clear();
        accuracy = test_accuracy(&model.valid(), test, device);
        // A closed output is the command's to notice; training goes on.
        let _ = crate::say!(
            "classifier epoch {epoch}: test accuracy {:.2} %",
            accuracy * 100.0
        );
    }
    (model.valid(), accuracy)
}

/// The fraction of `test` that `classifier` labels correctly.
pub fn test_accuracy(classifier: &Classifier, test: &Dataset, device: &Device) -> f64 {
    let ids: Vec<usize> = (0..test.len).collect();
    let mut correct = 0i64;
    for chunk in ids.chunks(500) {
        let predicted: Tensor<1, Int> = classifier
            .forward(test.images(chunk, device))
            .logits
            .argmax(1)
            .flatten(0, 1);
        let right = predicted.equal(test.label_tensor(chunk, device));
        correct += right.int().sum().into_scalar::<i64>();
    }
    correct as f64 / test.len as f64
}
