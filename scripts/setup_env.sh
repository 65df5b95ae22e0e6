#!/usr/bin/env bash
# Creates (or reuses) the project's virtual environment in .venv and installs
# speechbrain-style with the extras given as arguments (default: none).
# Reinstalls only when requirements.txt, setup.py or the extras changed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${SBSTYLE_VENV:-$root/.venv}"
extras="${1:-}"
python_bin="${PYTHON:-python3}"

if [[ ! -x "$venv/bin/python" ]]; then
    echo "[setup] creating virtual environment in $venv"
    "$python_bin" -m venv "$venv"
fi
stamp="$venv/.speechbrain_style_installed"
want="$(cat "$root/requirements.txt" "$root/setup.py" | sha256sum | cut -c1-16)-$extras"
if [[ -f "$stamp" ]] && grep -qx -- "$want" "$stamp"; then
    echo "[setup] environment up to date ($venv)"
else
    echo "[setup] installing speechbrain-style${extras:+[$extras]} (takes ~5 min on a fresh machine)"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    target="$root"
    [[ -n "$extras" ]] && target="$root[$extras]"
    # the exact pins of requirements.txt, within setup.py's ranges
    "$venv/bin/python" -m pip install --quiet -r "$root/requirements.txt" \
        -e "$target"
    echo "$want" > "$stamp"
fi
