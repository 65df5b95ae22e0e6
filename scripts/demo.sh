#!/usr/bin/env bash
# The demo: synthesise the embedded speaking-style corpus, train a small
# ECAPA-TDNN + MiniLM retrieval model on 2 CPU cores, evaluate it on held-out
# sentences with the training and the held-out description banks, index the
# test set and answer three example queries. ~17 minutes, install included.
# Everything is written under results/ (or $SBSTYLE_RESULTS).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup_env.sh" ""
venv="${SBSTYLE_VENV:-$root/.venv}"
export PATH="$venv/bin:$PATH"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
results="${SBSTYLE_RESULTS:-$root/results}"
corpus="$results/synth_corpus"
exp="$results/demo"
start=$(date +%s)

echo "== 1/3 synthesise + train + evaluate (recipes/StyleSynth) =="
cd "$root/recipes/StyleSynth"
python train.py hparams/synth_ecapa_minilm.yaml \
    --data_folder="$corpus" --output_folder="$exp" "$@"

echo
echo "== 2/3 index the test set =="
speechbrain-style index --model "$exp/inference" \
    --manifest "$corpus/test.json" --out "$exp/index"

echo
echo "== 3/3 example queries (top 5 with their true factors) =="
speechbrain-style search --model "$exp/inference" --index "$exp/index" -k 5 \
    --fields sex,pitch,rate,range,phonation \
    -q "A woman whispering." \
    -q "A man speaking very slowly in a deep, flat voice." \
    -q "Someone talking fast with a high-pitched, lively voice."
first_wav=$(python -c "import json,sys; d=json.load(open(sys.argv[1])); \
v=next(iter(d.values())); print(v['wav'].replace('{data_root}', sys.argv[2]), \
' '.join(v[k] for k in ('sex','pitch','rate','range','phonation')))" \
    "$corpus/test.json" "$corpus")
set -- $first_wav
echo "speech -> text for $1 (true factors: ${*:2}):"
speechbrain-style describe --model "$exp/inference" -k 3 "$1"

echo
echo "Results table: $exp/retrieval_test.txt (plot: $exp/retrieval_test.png)"
cat "$exp/retrieval_test.txt"
echo "Model (from_hparams folder): $exp/inference"
echo "Index: $exp/index    Training log: $exp/train_log.txt"
echo "Demo finished in $(( $(date +%s) - start )) s (after install)."
