#!/usr/bin/env bash
# Installs speechbrain-style with its test extras and runs the whole test suite
# (unit tests, doctests, recipe tests and the slow end-to-end checks).
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -m "not slow"`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup_env.sh" "all"
bash "$root/scripts/setup_browser.sh"
cd "$root"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
exec "${SBSTYLE_VENV:-$root/.venv}/bin/python" -m pytest -q "$@"
