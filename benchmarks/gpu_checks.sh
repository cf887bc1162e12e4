#!/usr/bin/env bash
# The checks of issue 13 that need an NVIDIA GPU, as one script for a machine that has one
# (the `device` tool's, when a task is lent it). Everything it prints also goes to $OUT.
#
#   OUT=/tmp/gpu bash benchmarks/gpu_checks.sh [PATH_TO_SHARED_DATA]
#
# 1. the test suite's CUDA tests (they skip on a CPU-only machine);
# 2. rnnlab's layers against cuDNN (`benchmarks.layers --device cuda`; target >= 0.9x);
# 3. one `rnnlab train --device cuda` of each kind, fp32, and bf16 / fp16 for two of them;
# 4. the LM's training throughput on the GPU against this project's 2-core CPU (target >= 10x);
# 5. with more than one GPU, one GPU against torchrun over all of them.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu_checks}
DATA=${1:-../shared/data}
PY=${PYTHON:-python}
CPU_RATE=${CPU_RATE:-9284}  # tokens/s of the LM default on the 2-core CPU (README, Scale)
mkdir -p "$OUT"
log() { echo "== $*" | tee -a "$OUT/summary.txt"; }

log "$(date -u) $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1)"
$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.device_count(), 'GPU(s)')" | tee -a "$OUT/summary.txt"
GPUS=$($PY -c "import torch; print(torch.cuda.device_count())")

log "1. CUDA tests"
$PY -m pytest -q -rs -p no:cacheprovider tests/test_device_follow.py tests/test_crf.py \
    tests/test_devices.py 2>&1 | tail -25 | tee "$OUT/pytest.txt"

log "2. layers vs cuDNN"
$PY -m benchmarks.layers --device cuda 2>&1 | tee "$OUT/layers.txt"

log "3. one train of each kind on cuda"
RUNS=$(mktemp -d)
train() { # name, then the options
    local name=$1; shift
    local began=$SECONDS
    if $PY -m rnnlab train "$@" --device cuda --quiet --out "$RUNS/$name" > "$OUT/train-$name.txt" 2>&1; then
        log "train $name: ok in $((SECONDS - began)) s: $(head -1 "$OUT/train-$name.txt")"
    else
        log "train $name: FAILED: $(tail -1 "$OUT/train-$name.txt")"
    fi
}
train seq2seq --task reverse
train seq2seq-bf16 --task dates --epochs 3 --precision bf16
train tag --data "$DATA/ud_english_ewt/en_ewt-ud-train.conllu" --val "$DATA/ud_english_ewt/en_ewt-ud-dev.conllu" --epochs 1
train tag-fp16 --task neighbours --precision fp16
$PY - "$RUNS/vectors.jsonl" <<'PY'
import json, sys
import numpy as np
rng = np.random.default_rng(0)
with open(sys.argv[1], "w") as f:
    for _ in range(2000):
        x = rng.normal(size=(int(rng.integers(20, 100)), 8))
        f.write(json.dumps({"sequence": x.round(3).tolist(), "label": str(int(x[:, 0].mean() > 0))}) + "\n")
PY
train classify --kind classify --data "$RUNS/vectors.jsonl" --epochs 5
train forecast --task sunspots
train lm --data "$DATA/tinyshakespeare/input.txt" --epochs 1
$PY -m rnnlab evaluate "$RUNS/tag" --data "$DATA/ud_english_ewt/en_ewt-ud-test.conllu" \
    --device cuda 2>&1 | tail -3 | tee -a "$OUT/summary.txt"
echo "1 2 3 4" | $PY -m rnnlab predict "$RUNS/seq2seq" --device cuda 2>&1 | tee -a "$OUT/summary.txt"
$PY -m rnnlab generate "$RUNS/lm" --device cuda --length 80 2>&1 | tee -a "$OUT/summary.txt"

log "4. LM throughput, GPU against the 2-core CPU"
$PY -m benchmarks.scale --data "$DATA/tinyshakespeare/input.txt" --chars 1000000 --epochs 2 \
    --device cuda --processes 1 --cpu-rate "$CPU_RATE" 2>&1 | tee "$OUT/scale-gpu.txt"
$PY -m benchmarks.scale --data "$DATA/tinyshakespeare/input.txt" --chars 1000000 --epochs 2 \
    --device cuda --processes 1 --batch-size 128 --cpu-rate "$CPU_RATE" 2>&1 | tee -a "$OUT/scale-gpu.txt"

if [ "$GPUS" -gt 1 ]; then
    log "5. one GPU against torchrun over $GPUS"
    $PY -m benchmarks.scale --data "$DATA/tinyshakespeare/input.txt" --chars 1000000 --epochs 2 \
        --device cuda --processes "$GPUS" --batch-size $((16 * GPUS)) 2>&1 | tee "$OUT/scale-ddp.txt"
fi
log "done"
