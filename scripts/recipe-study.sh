#!/usr/bin/env bash
# The small-folder recipe study: trains the DCGAN paper's family at 64×64 on a folder of
# colour images with each recipe and seed in turn (one run at a time), scoring the
# generator by Inception FID every EVERY epochs (`--eval-every`, against EVAL_N images of
# the folder), then prints the table of docs/quality.md: the FID at each scoring point, the
# mean over the seeds, one row per recipe.
#
#     scripts/recipe-study.sh DATA_DIR OUT [EPOCHS=100] [EVERY=10] [SEEDS="1 2"] [RECIPES=…]
#
# Recipes: paper (the 2016 recipe, `--preset paper`), diffaug (DiffAugment
# translation,color,cutout), diffaug-tc (translation,color), ema (G's moving average, 0.999),
# sn (spectral norm on D), hinge (the hinge loss), ttur (two time-scale learning rates, G
# 1e-4, D 4e-4), each added to the paper's recipe alone, on batches of 100; all (the
# small-folder preset's diffaug, ema, sn and hinge together, on batches of 100 as the preset
# was until the study chose 32), all-ttur (all with ttur's rates), all-b32 (`--preset
# small-folder` as it is: all on batches of 32, three times the steps per epoch). A finished
# run is left as it is and an interrupted one resumed, so the study can be stopped and
# started again. Set DCGAN to the binary (default: dcgan on the PATH), EVAL_N (default 1000)
# and EXTRA (more flags for every run, e.g. "--limit-batches 2" for a quick check). Besides
# the table, it draws OUT/curves.png, every run's FID curve coloured by recipe (`dcgan report
# --compare`).
set -euo pipefail
data="$1" out="$2" epochs="${3:-100}" every="${4:-10}" seeds="${5:-1 2}"
recipes="${6:-paper diffaug ema sn hinge ttur all}"
dcgan="${DCGAN:-dcgan}" eval_n="${EVAL_N:-1000}"
read -r -a extra <<< "${EXTRA:-}"

# Each recipe names its preset, so that dcgan's own choice for a small folder
# (small-folder) does not stand in for the paper's recipe.
flags() {
    case "$1" in
        paper) echo --preset paper ;;
        diffaug) echo --preset paper --augment translation,color,cutout ;;
        diffaug-tc) echo --preset paper --augment translation,color ;;
        ema) echo --preset paper --ema 0.999 ;;
        sn) echo --preset paper --spectral-norm ;;
        hinge) echo --preset paper --loss hinge ;;
        ttur) echo --preset paper --lr-g 1e-4 --lr-d 4e-4 ;;
        all) echo --preset small-folder --batch-size 100 ;;
        all-ttur) echo --preset small-folder --batch-size 100 --lr-g 1e-4 --lr-d 4e-4 ;;
        all-b32) echo --preset small-folder --batch-size 32 ;;
        *) echo "unknown recipe: $1" >&2; return 2 ;;
    esac
}

for recipe in $recipes; do
    # A failure inside the here-string below would not stop the script: ask first.
    recipe_flags_text="$(flags "$recipe")" || exit 2
    read -r -a recipe_flags <<< "$recipe_flags_text"
    for seed in $seeds; do
        run="$out/$recipe-seed$seed"
        command=("$dcgan" train --dataset folder --data-dir "$data" --image-size 64
            --channels 3 --epochs "$epochs" --seed "$seed" --eval-every "$every"
            --eval-n "$eval_n" --out "$run" "${recipe_flags[@]}" "${extra[@]}")
        # The starting command with --resume appended continues an interrupted run.
        if [[ -f "$run/checkpoint.dcgan" ]]; then command+=(--resume); fi
        echo "== $recipe, seed $seed: ${command[*]}" >&2
        "${command[@]}" >&2
    done
done

# The curves: every run of these recipes that has been scored, labelled by its recipe.
compare=()
for recipe in $recipes; do
    for run in "$out/$recipe"-seed*; do
        if [[ -s "$run/eval.jsonl" ]]; then compare+=("$run=$recipe"); fi
    done
done
if (( ${#compare[@]} )); then
    "$dcgan" report --compare "${compare[@]}" --out "$out/curves.png" >&2 \
        || echo "warning: $out/curves.png not drawn" >&2
fi

python3 - "$out" $recipes <<'PY'
import json, os, statistics, sys

out, recipes = sys.argv[1], sys.argv[2:]
rows = {}
for name in sorted(os.listdir(out)):
    recipe, _, seed = name.rpartition("-seed")
    path = os.path.join(out, name, "eval.jsonl")
    if recipe not in recipes or not os.path.exists(path):
        continue
    with open(path) as f:
        evals = [json.loads(line) for line in f if line.strip()]
    for e in evals:
        rows.setdefault(recipe, {}).setdefault(e["epoch"] + 1, []).append(e["fid"])
epochs = sorted({e for r in rows.values() for e in r})
print("| recipe | " + " | ".join(f"epoch {e}" for e in epochs) + " |")
print("|---|" + "---|" * len(epochs))
for recipe in recipes:
    if recipe not in rows:
        continue
    cells = []
    for e in epochs:
        fids = rows[recipe].get(e, [])
        cells.append(f"{statistics.mean(fids):.1f} (n={len(fids)})" if fids else "–")
    print(f"| {recipe} | " + " | ".join(cells) + " |")
PY
