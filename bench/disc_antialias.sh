#!/usr/bin/env bash
# A/B of --disc-antialias blur against the paper's discriminator: two SRGAN runs from the same
# SRResNet with the same seed (so the same batches) at the paper's rate (1e-4, no weight average),
# one per core, then the trained weights are scored on Set14 for distortion (PSNR), naturalness
# (NIQE) and the sub-pixel checkerboard (grid, src/eval/grid.ts). One run per arm.
#   npm run build && bash bench/disc_antialias.sh [init weights, default models/srresnet-x4.safetensors] [out, default runs/disc-antialias] [steps, default 250]
set -euo pipefail
cd "$(dirname "$0")/.."
init=${1:-models/srresnet-x4.safetensors}
out=${2:-runs/disc-antialias}
steps=${3:-250}
srgan="node dist/src/cli/main.js"
common=(--data ../shared/data/train/sun-hays80,../shared/data/train/bsds200 --init "$init" --steps "$steps"
  --batch 8 --patch 96 --lr 1e-4 --content mse --adv-weight 1e-3 --workers 1 --threads 1 --seed 1
  --ckpt-every "$steps" --log-every 25 --no-progress)
for arm in none blur; do
  [ -f "$out/$arm/generator.safetensors" ] || $srgan train srgan "${common[@]}" --disc-antialias "$arm" --out "$out/$arm" &
done
wait
$srgan eval --data ../shared/data/benchmark/Set14 --methods "bicubic,$out/none/generator.safetensors,$out/blur/generator.safetensors" \
  --metrics psnr,niqe,grid --out "$out/eval-Set14" | grep -E '^(Set14|mean)'
