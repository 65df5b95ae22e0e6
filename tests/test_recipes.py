"""Recipe tests, SpeechBrain style: every row of tests/recipes/*.csv runs its
recipe for one short epoch on generated data with tiny encoders that are
built and saved here, loaded through the same code path as real ones."""

import csv
import glob
import os
import re
import shlex
import subprocess
import sys

import pytest

from tests import fake_data
from tests.tiny_models import (
    build_tiny_emotion2vec,
    build_tiny_hf_text_encoder,
    build_tiny_passt,
    build_tiny_speaker_model,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Smaller fake trees than the prepare tests use: a recipe test only needs a
# few batches per split (ESD: one English speaker, 55 files per emotion ->
# 5 train / 20 valid / 30 test per emotion with the paper's split).
FAKE_TREE_KWARGS = {"esd": {"speakers": ("0012",), "utts_per_emotion": 55}}


def _rows():
    rows = []
    for path in sorted(
        glob.glob(os.path.join(ROOT, "tests", "recipes", "*.csv"))
    ):
        with open(path, encoding="utf-8") as fin:
            for i, row in enumerate(csv.DictReader(fin)):
                name = f"{os.path.basename(path)[:-4]}-{i}"
                rows.append(pytest.param(row, id=name))
    return rows


def _expected_outputs(row):
    """Files the run must write: SpeechBrain's ``test_debug_checks``
    (``file_exists=[a,b]``) or the older ``expected_outputs`` (``a;b``)."""
    if row.get("expected_outputs"):
        return row["expected_outputs"].split(";")
    match = re.fullmatch(
        r"file_exists=\[(.*)\]", row["test_debug_checks"].strip()
    )
    assert match, f"Unknown test_debug_checks: {row['test_debug_checks']!r}"
    return [rel.strip() for rel in match.group(1).split(",") if rel.strip()]


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny_models")
    return {
        "tiny_bert": build_tiny_hf_text_encoder(str(root / "bert"), "bert"),
        "tiny_roberta": build_tiny_hf_text_encoder(
            str(root / "roberta"), "roberta"
        ),
        "tiny_t5": build_tiny_hf_text_encoder(str(root / "t5"), "t5"),
        "tiny_emotion2vec": build_tiny_emotion2vec(str(root / "emotion2vec")),
        "tiny_speaker_model": build_tiny_speaker_model(str(root / "ecapa")),
        "tiny_passt": build_tiny_passt(str(root / "passt.pt")),
    }


@pytest.mark.parametrize("row", _rows())
def test_recipe_runs(row, tiny_models, tmp_path):
    flags = row["test_debug_flags"]
    for key, value in {"tmp": str(tmp_path), **tiny_models}.items():
        flags = flags.replace("{" + key + "}", value)
    # {fake_<dataset>}: a fake tree of the real layout (tests/fake_data.py)
    for name in set(re.findall(r"\{fake_(\w+)\}", flags)):
        make_fake = getattr(fake_data, f"make_fake_{name}")
        kwargs = FAKE_TREE_KWARGS.get(name, {})
        path = str(make_fake(str(tmp_path / f"fake_{name}"), **kwargs))
        flags = flags.replace("{fake_" + name + "}", path)
    cmd = [
        sys.executable,
        os.path.join(ROOT, row["Script_file"]),
        os.path.join(ROOT, row["Hparam_file"]),
        *shlex.split(flags),
    ]
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=ROOT)
    proc = subprocess.run(
        cmd,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    output_folder = os.path.join(str(tmp_path), "exp")
    expected = _expected_outputs(row)
    for rel in expected:
        assert os.path.exists(os.path.join(output_folder, rel)), rel

    if "inference/hyperparams.yaml" not in expected:
        return
    from speechbrain_style.inference.retriever import StyleRetriever

    model = StyleRetriever.from_hparams(
        source=os.path.join(output_folder, "inference")
    )
    emb = model.encode_text(["Someone whispering slowly."])
    assert emb.shape[0] == 1
