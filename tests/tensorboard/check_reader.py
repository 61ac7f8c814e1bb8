"""TensorBoard's own reader against dcgan's event files (run by .ci/run in a virtualenv).

Usage: check_reader.py DCGAN_BINARY WORK_DIR [DATA_DIR]

Trains a tiny seeded run, resumes it from its previous checkpoint the way a killed run
resumes, and checks with tensorboard's EventAccumulator that
- every scalar in metrics.jsonl is in the event files at the same step with the same value,
  and each step appears once (the resumed session purges the killed one's later steps);
- the sample pictures, histograms of weights and gradients, and the text summaries are there
  with the right steps, sizes and contents;
- a record with a corrupted CRC stops TensorBoard's loader at that record, so a broken
  writer cannot pass unnoticed.
Exits non-zero with a message on the first failed check.
"""

import json
import os
import shutil
import struct
import subprocess
import sys

from tensorboard.backend.event_processing import event_accumulator, event_file_loader

SCALARS = ["loss_D", "loss_G", "D_x", "D_G_z", "lr_D", "lr_G", "images_per_sec"]
BATCHES, EPOCHS, BATCH, LOG_EVERY, HIST_EVERY = 6, 2, 20, 2, 3


def check(condition, message):
    if not condition:
        sys.exit(f"FAIL: {message}")


def train(binary, out, data_dir, *extra):
    args = [binary, "train", "--out", out, *extra]
    env = dict(os.environ, DCGAN_OFFLINE="1")
    proc = subprocess.run(args, env=env, capture_output=True, text=True)
    check(proc.returncode == 0, f"{' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def load(run):
    acc = event_accumulator.EventAccumulator(run, size_guidance={k: 0 for k in [
        event_accumulator.SCALARS, event_accumulator.IMAGES,
        event_accumulator.HISTOGRAMS, event_accumulator.TENSORS]})
    acc.Reload()
    return acc


def event_files(run):
    return sorted(os.path.join(run, f) for f in os.listdir(run) if f.startswith("events.out.tfevents"))


def main():
    binary, work = sys.argv[1], sys.argv[2]
    data = sys.argv[3:4]
    run = os.path.join(work, "run")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    flags = ["--epochs", str(EPOCHS), "--limit-batches", str(BATCHES), "--batch-size", str(BATCH),
             "--log-every", str(LOG_EVERY), "--histogram-every", str(HIST_EVERY),
             "--sample-every", "1", "--seed", "5"]
    if data:
        flags += ["--data-dir", data[0]]
    train(binary, run, data, *flags)
    # A run killed during its last epoch: the latest checkpoint is gone, the previous one
    # (after epoch 1) stands, and the event file holds the steps after it. Resuming redoes them.
    os.remove(os.path.join(run, "checkpoint.dcgan"))
    train(binary, run, data, "--resume")
    check(len(event_files(run)) == 2, f"expected two event files, found {event_files(run)}")

    acc = load(run)
    tags = acc.Tags()
    steps_total = EPOCHS * BATCHES

    # Scalars: the same steps and values as metrics.jsonl, once each.
    with open(os.path.join(run, "metrics.jsonl")) as f:
        records = [json.loads(line) for line in f]
    logged_steps = [r["step"] for r in records]
    expected_steps = list(range(LOG_EVERY, steps_total + 1, LOG_EVERY))
    check(logged_steps == expected_steps, f"metrics.jsonl steps {logged_steps} != {expected_steps}")
    for name in SCALARS:
        check(name in tags["scalars"], f"scalar {name} missing; tags: {tags['scalars']}")
        events = acc.Scalars(name)
        steps = [e.step for e in events]
        check(steps == expected_steps, f"{name} at steps {steps}, expected {expected_steps}")
        for event, record in zip(events, records):
            want = struct.unpack("f", struct.pack("f", record[name]))[0]
            check(event.value == want, f"{name} at step {event.step}: {event.value} != {want}")

    # Sample pictures at the end of each epoch, the size of the PNG on disk.
    images = acc.Images("samples")
    check([i.step for i in images] == [BATCHES * (e + 1) for e in range(EPOCHS)],
          f"image steps {[i.step for i in images]}")
    with open(os.path.join(run, "samples", "epoch_000.png"), "rb") as f:
        png = f.read()
    width, height = struct.unpack(">II", png[16:24])
    check((images[0].width, images[0].height) == (width, height), "image size differs from the PNG")
    check(images[0].encoded_image_string == png, "image bytes differ from samples/epoch_000.png")

    # Histograms of every weight and gradient every HIST_EVERY steps.
    hist_steps = list(range(HIST_EVERY, steps_total + 1, HIST_EVERY))
    for tag, count in [("weights/G/fc.weight", 100 * 7 * 7 * 128),
                       ("gradients/D/fc.weight", 4 * 4 * 128),
                       ("weights/D/bn3.running_var", 128)]:
        check(tag in tags["histograms"], f"histogram {tag} missing; tags: {tags['histograms'][:8]}…")
        events = acc.Histograms(tag)
        check([e.step for e in events] == hist_steps, f"{tag} at steps {[e.step for e in events]}")
        check(all(e.histogram_value.num == count for e in events), f"{tag}: wrong number of values")
    check("grad_norm/G/fc.weight" in tags["scalars"], "gradient norm scalars missing")
    check(all(e.value > 0 for e in acc.Scalars("grad_norm/G/fc.weight")), "zero gradient norm")

    # Text: the configuration and the architecture.
    texts = {t: acc.Tensors(t)[0].tensor_proto.string_val[0].decode() for t in ("config", "architecture")}
    check(f"epochs = {EPOCHS}" in texts["config"], f"config text: {texts['config']}")
    check("Generator" in texts["architecture"] and "deconv1" in texts["architecture"],
          f"architecture text: {texts['architecture'][:200]}")

    # A corrupted CRC: TensorBoard's loader stops at that record.
    path = event_files(run)[0]
    good = list(event_file_loader.RawEventFileLoader(path).Load())
    with open(path, "rb") as f:
        data = bytearray(f.read())
    offset = 0
    target = 5
    for _ in range(target):  # skip the first records
        (length,) = struct.unpack("<Q", data[offset:offset + 8])
        offset += 8 + 4 + length + 4
    (length,) = struct.unpack("<Q", data[offset:offset + 8])
    data[offset + 12 + length] ^= 0x01  # the data CRC of record number `target`
    corrupt = os.path.join(work, "corrupt", os.path.basename(path))
    os.makedirs(os.path.dirname(corrupt))
    with open(corrupt, "wb") as f:
        f.write(data)
    loaded = list(event_file_loader.RawEventFileLoader(corrupt).Load())
    check(len(good) > target + 1, "too few records to corrupt")
    check(loaded == good[:target],
          f"with a bad CRC in record {target} the reader loaded {len(loaded)} of {len(good)} records")

    print(f"tensorboard reader: {len(SCALARS)} scalars at {len(expected_steps)} steps, "
          f"{len(images)} images, {len(tags['histograms'])} histogram tags, 2 texts; "
          f"resume purged the redone steps; a bad CRC stops the reader at record {target}: ok")


if __name__ == "__main__":
    main()
