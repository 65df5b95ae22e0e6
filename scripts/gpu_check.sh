#!/usr/bin/env bash
# GPU readiness check, for a machine with a CUDA device:
#   1. the real-size rehearsal (benchmarks/rehearsal.py) on the GPU in fp16:
#      two training steps of every recipe at its real batch and crop, and
#      its validation / test evaluations at the datasets' real sizes;
#   2. one short epoch of every recipe on its fake dataset tree (the rows of
#      tests/recipes/*.csv) with --device=cuda:0 --precision=fp16
#      (SpeechBrain's autocast + GradScaler);
#   3. indexing batched vs one-by-one on the GPU
#      (benchmarks/index_benchmark.py --device cuda:0);
# then prints one table. Without a CUDA device it says so and exits 0.
# Outputs and logs: results/gpu_check/. Options (environment):
#   PYTHON (default: .venv/bin/python, else python3), GPU_DEVICE (cuda:0),
#   REHEARSAL_RECIPES (comma-separated yaml names; default: all),
#   GPU_CHECK_SUMMARY_ONLY=1 (only print the table of earlier outputs).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
python="${PYTHON:-}"
if [ -z "$python" ]; then
    if [ -x "$root/.venv/bin/python" ]; then
        python="$root/.venv/bin/python"
    else
        python="python3"
    fi
fi

device="${GPU_DEVICE:-cuda:0}"
out="$root/results/gpu_check"
# GPU_CHECK_SUMMARY_ONLY=1: only print the table of the outputs in $out
summary_only="${GPU_CHECK_SUMMARY_ONLY:-0}"

# Quick exit without a GPU: no NVIDIA device node, or torch sees no CUDA.
if [ "$summary_only" = 1 ]; then
    status=0
elif ! ls /dev/nvidia[0-9]* >/dev/null 2>&1 && ! command -v nvidia-smi >/dev/null 2>&1; then
    echo "gpu_check: no CUDA device found (no /dev/nvidia* device, no nvidia-smi): nothing to check."
    exit 0
elif ! "$python" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
    echo "gpu_check: no CUDA device found (torch.cuda.is_available() is False): nothing to check."
    exit 0
fi

mkdir -p "$out"
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
if [ "$summary_only" != 1 ]; then
status=0

echo "gpu_check: $("$python" -c "import torch; print(torch.cuda.get_device_name(0), '| torch', torch.__version__)")"

echo "gpu_check: 1/3 real-size rehearsal on $device (fp16); log $out/rehearsal.log"
rm -f "$out/rehearsal/results.jsonl"
"$python" benchmarks/rehearsal.py --device "$device" --precision fp16 \
    --workdir "$out/rehearsal" ${REHEARSAL_RECIPES:+--recipes "$REHEARSAL_RECIPES"} \
    >"$out/rehearsal.md" 2>"$out/rehearsal.log" || status=1

echo "gpu_check: 2/3 recipe epochs on fake trees (--device=$device --precision=fp16); log $out/recipes.log"
SBSTYLE_RECIPE_FLAGS="--device=$device --precision=fp16" \
    "$python" -m pytest -q -p no:cacheprovider tests/test_recipes.py \
    --junitxml="$out/recipes.xml" >"$out/recipes.log" 2>&1 || status=1

echo "gpu_check: 3/3 indexing, batched vs one-by-one, on $device; log $out/index.log"
"$python" benchmarks/index_benchmark.py --num-files 200 --device "$device" \
    --workdir "$out/index" >"$out/index.md" 2>"$out/index.log" || status=1
fi

"$python" - "$out" <<'PY'
import json, os, re, sys
import xml.etree.ElementTree as ET

out = sys.argv[1]
rows = []
path = os.path.join(out, "rehearsal", "results.jsonl")
if os.path.exists(path):
    for line in open(path, encoding="utf-8"):
        row = json.loads(line)
        train = row.get("train")
        cells = []
        if train:
            peak = train.get("peak_cuda_mb")
            cells.append(
                f"batch {train['batch_size']} x {train['crop_seconds']:g} s, "
                f"{train['step_seconds'][-1]:.2f} s/step"
                + (f", CUDA peak {peak / 1024:.1f} GB" if peak else "")
            )
        else:
            cells.append("train FAILED")
        for phase in ("valid", "test"):
            rep = row.get(phase)
            cells.append(
                f"{phase} {rep['seconds']:.1f} s" if rep else f"{phase} FAILED"
            )
        rows.append(("rehearsal", row["recipe"], "; ".join(cells)))
else:
    rows.append(("rehearsal", "-", "FAILED (see rehearsal.log)"))
path = os.path.join(out, "recipes.xml")
if os.path.exists(path):
    for case in ET.parse(path).getroot().iter("testcase"):
        name = re.sub(r"^test_recipe_runs\[|\]$", "", case.get("name"))
        failed = case.find("failure") is not None or case.find("error") is not None
        skipped = case.find("skipped") is not None
        result = "FAILED" if failed else "skipped" if skipped else "passed"
        rows.append(("recipe epoch (fp16)", name, f"{result}, {float(case.get('time', 0)):.0f} s"))
else:
    rows.append(("recipe epoch (fp16)", "-", "FAILED (see recipes.log)"))
path = os.path.join(out, "index.md")
lines = open(path, encoding="utf-8").read().splitlines() if os.path.exists(path) else []
table = [l for l in lines if l.startswith("| ") and not l.startswith("| path")]
for line in table:
    cells = [c.strip() for c in line.strip("|").split("|")]
    rows.append(("indexing", cells[0], f"{cells[1]} s, {cells[4]}"))
if not table:
    rows.append(("indexing", "-", "FAILED (see index.log)"))
print()
print("| check | item | result |")
print("| --- | --- | --- |")
for row in rows:
    print("| " + " | ".join(row) + " |")
PY
exit $status
