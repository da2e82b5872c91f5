#!/usr/bin/env bash
# A/B of the training options --pixel-loss l1, --ema and --lr-decay cosine against plain MSE: each
# run starts from the shipped SRResNet with the same seed (so the same batches), then the final
# generator is scored on Set5 and Set14 with the evaluation protocol. One run per option: small
# differences are read as measured, not as proven.
#   npm run build && bash bench/train_options.sh [out folder, default runs/train-options] [steps, default 300]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/train-options}
steps=${2:-300}
srgan="node dist/src/cli/main.js"
common=(--data ../shared/data/train/sun-hays80,../shared/data/train/bsds200 --val ../shared/data/benchmark/Set5
  --init models/srresnet-x4.safetensors --steps "$steps" --batch 8 --patch 128 --lr 5e-5 --workers 2
  --val-every "$steps" --ckpt-every "$steps" --log-every 20 --no-progress)
for v in "mse:" "l1:--pixel-loss l1" "ema:--ema 0.99" "cosine:--lr-decay cosine"; do
  name=${v%%:*}
  read -r -a extra <<< "${v#*:}"
  run=$out/$name
  [ -f "$run/generator.safetensors" ] || $srgan train srresnet "${common[@]}" ${extra[@]+"${extra[@]}"} --out "$run"
  for set in Set5 Set14; do
    $srgan eval --data ../shared/data/benchmark/$set --methods "$run/generator.safetensors" --out "$run/eval-$set" | grep '^mean' | sed "s/^mean/$name $set/"
  done
done
