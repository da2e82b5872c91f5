#!/usr/bin/env bash
# A/B of --grid-weight on a GAN run that grows a checkerboard: copies of one run folder, each cut
# back to the same checkpoint and resumed for the same steps (exact resume, so the same batches),
# differing only in the grid penalty's weight; then each arm's final generator (the weight average
# when the run keeps one) is scored on Set14 for distortion (PSNR), naturalness (NIQE) and the
# sub-pixel grid (src/eval/grid.ts). Arms run two at a time, one core each; the other options are
# the source run's (add --grid-period or --disc-antialias to the train line to vary those).
#   npm run build && bash bench/grid_weight.sh <run folder> <step> [out, default runs/grid-weight] [steps, default 125] [weights, default "0 10 100"]
set -euo pipefail
cd "$(dirname "$0")/.."
src=${1:?a run folder with a kept checkpoint, e.g. /work/runs/srgan-x4-v3aa}
step=${2:?the checkpoint step to start from, e.g. 1500}
out=${3:-runs/grid-weight}
steps=${4:-125}
weights=${5:-0 10 100}
srgan="node dist/src/cli/main.js"
ckpt=$(printf 'step-%08d' "$step")
[ -d "$src/checkpoints/$ckpt" ] || { echo "no checkpoint $ckpt in $src/checkpoints" >&2; exit 1; }
end=$((step + steps))
methods=bicubic
running=0
for w in $weights; do
  arm="$out/w$w"
  methods+=",$arm/generator.safetensors"
  [ -d "$arm/checkpoints/$(printf 'step-%08d' "$end")" ] && [ -f "$arm/generator.safetensors" ] && continue
  rm -rf "$arm" && mkdir -p "$arm/checkpoints"
  cp "$src/config.json" "$arm/"
  for f in init_legs.json log.jsonl; do [ -f "$src/$f" ] && cp "$src/$f" "$arm/"; done
  # The history up to the start only (a later resume of the source is not the arm's).
  [ -f "$src/resumes.jsonl" ] && python3 -c "import json,sys; [print(l.strip()) for l in open(sys.argv[1]) if l.strip() and json.loads(l)['step'] <= int(sys.argv[2])]" "$src/resumes.jsonl" "$step" > "$arm/resumes.jsonl"
  cp -r "$src/checkpoints/$ckpt" "$arm/checkpoints/"
  echo "{\"step\":$step,\"dir\":\"$ckpt\"}" > "$arm/checkpoints/latest.json"
  $srgan train srgan --out "$arm" --resume --steps "$end" --grid-weight "$w" --ckpt-every "$steps" --workers 1 --threads 1 --no-progress &
  running=$((running + 1))
  if [ "$running" -ge 2 ]; then wait -n; running=$((running - 1)); fi
done
wait
$srgan eval --data ../shared/data/benchmark/Set14 --methods "$methods" --metrics psnr,niqe,grid --out "$out/eval-Set14" | grep -E '^(Set14|mean)'
