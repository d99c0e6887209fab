#!/usr/bin/env bash
# Remake the README's gallery with sinmdm itself, from runs trained with default settings:
#     docs/make_gallery.sh RUNS
# RUNS holds the runs salsa, crab, chicken and dragon (the folder given to
# `python benchmarks/run_all.py --runs RUNS`). Run from the checkout with the environment
# active; it overwrites docs/*.png and docs/dragon.gif.
set -euo pipefail
runs=${1:?usage: docs/make_gallery.sh RUNS}
cd "$(dirname "$0")/.."
scratch=$(mktemp -d)
for name in salsa crab chicken; do
    sinmdm generate --model "$runs/$name" --length 2x --n 1 --seed 1 --out "$scratch/$name"
    sinmdm render "$runs/$name/clip.bvh" "$scratch/$name/generate_0.bvh" --still --poses 8 \
        --size 1600x400 --out "docs/$name.png" --force
done
sinmdm expand --model "$runs/dragon" --length 2x --seed 1 --out "$scratch/dragon"
sinmdm render "$runs/dragon/clip.bvh" "$scratch/dragon/expand_0.bvh" --still --poses 8 \
    --size 1600x400 --out docs/dragon_expand.png --force
sinmdm generate --model "$runs/dragon" --length 8s --n 2 --seed 1 --out "$scratch/dragon"
sinmdm render "$scratch"/dragon/generate_{0,1}.bvh --size 800x300 --fps 15 --out docs/dragon.gif --force
ls -la docs
