"""End-to-end: train the StyleSynth recipe briefly on a small synthesised
corpus with the real MiniLM text encoder, then check that retrieval with
held-out sentences and held-out descriptions is far above chance, and that
the trained model answers a query through the index."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
)
RECIPE = os.path.join(ROOT, "recipes", "StyleSynth")
CHANCE_R1 = 1 / 401
FACTORS = ("sex", "pitch", "rate", "range", "phonation")


@pytest.mark.slow
def test_brief_training_retrieves_far_above_chance(tmp_path):
    out = tmp_path / "exp"
    cmd = [
        sys.executable,
        "train.py",
        "hparams/synth_ecapa_minilm.yaml",
        f"--data_folder={tmp_path / 'corpus'}",
        f"--output_folder={out}",
        "--num_train_utts=960",
        "--num_valid_utts=100",
        "--num_test_utts=600",
        "--number_of_epochs=3",
    ]
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=ROOT)
    proc = subprocess.run(
        cmd, cwd=RECIPE, env=env, capture_output=True, text=True, timeout=1800
    )
    assert proc.returncode == 0, proc.stderr[-5000:]
    with open(out / "retrieval_test.json") as fin:
        results = json.load(fin)
    heldout = results["fields"]["heldout"]
    trial_r1 = {f: heldout[f]["trials"]["average"]["R@1"] for f in FACTORS}
    mean_r1 = sum(trial_r1.values()) / len(trial_r1)
    print("held-out trial R@1 per factor:", trial_r1)
    # far above chance (1/401) with held-out sentences and descriptions
    assert mean_r1 > 20 * CHANCE_R1, trial_r1
    assert heldout["phonation"]["t2s"]["mAP@10"] > 0.8
    assert heldout["sex"]["s2t"]["R@1"] > 0.8

    # The exported model answers a query through the index.
    model = str(out / "inference")
    index = str(tmp_path / "index")
    cli = [sys.executable, "-m", "speechbrain_style.cli.main"]
    subprocess.run(
        cli
        + [
            "index",
            "--model",
            model,
            "--manifest",
            str(tmp_path / "corpus" / "test.json"),
            "--out",
            index,
            "--quiet",
        ],
        env=env,
        check=True,
        capture_output=True,
        timeout=900,
    )
    proc = subprocess.run(
        cli
        + [
            "search",
            "--model",
            model,
            "--index",
            index,
            "-k",
            "5",
            "--json",
            "Someone whispering.",
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    hits = json.loads(proc.stdout)["hits"]
    whispered = sum(h["metadata"]["phonation"] == "whispered" for h in hits)
    assert whispered >= 4, hits
