#!/usr/bin/env python3
"""Prints docs/quality.md's table rows from runs' eval.jsonl files.

Usage: scripts/quality_table.py LABEL=RUN_DIR [LABEL=RUN_DIR ...]

Each run was trained with `--eval-every 1 --eval-n 10000`; its row gives the FID after
every epoch and the last evaluation's KID (x10^3, as dcgan prints it), Inception Score,
precision, recall and, for a conditional run, its class accuracy.
"""
import json
import sys


def row(label, run):
    with open(f"{run}/eval.jsonl") as f:
        evals = [json.loads(line) for line in f if line.strip()]
    last = evals[-1]
    fids = ", ".join(f"{e['fid']:.2f}" for e in evals[:-1])
    fids = f"{fids}, **{last['fid']:.2f}**" if fids else f"**{last['fid']:.2f}**"
    accuracy = last.get("class_accuracy")
    accuracy = f"{accuracy['overall'] * 100:.2f} %" if accuracy else "–"
    pr = last["precision_recall"]
    # Inception's features have no Inception Score without the classifier's weights.
    score = last.get("inception_score")
    score = f"{score['mean']:.2f}" if score else "–"
    return (
        f"| {label} | {fids} | {last['kid']['mean']:.2f} | "
        f"{score} | {pr['precision']:.3f} | "
        f"{pr['recall']:.3f} | {accuracy} |"
    )


def main():
    print("| run | FID after epochs 1 … 5 | KID ×10³ | IS | precision | recall | class accuracy |")
    print("|---|---|---|---|---|---|---|")
    for arg in sys.argv[1:]:
        label, run = arg.split("=", 1)
        print(row(label, run))


if __name__ == "__main__":
    main()
