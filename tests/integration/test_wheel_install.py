"""The path a user takes: build the wheel, install it (not editable) into a
clean folder, copy a recipe outside the checkout, train it for one tiny
epoch there, and load the exported model with ``from_hparams``.

Nothing of the checkout is importable in the subprocesses: ``PYTHONPATH``
holds only the folder the wheel was installed into, the working directory is
outside the checkout, and the tests check where ``speechbrain_style`` was
imported from.
"""

import glob
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from tests.tiny_models import build_tiny_hf_text_encoder

ROOT = os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
)


def _run(cmd, cwd, site, timeout=900):
    """Runs ``cmd`` with only the installed wheel on ``PYTHONPATH``."""
    env = dict(
        os.environ,
        PYTHONPATH=str(site),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        PYTHONNOUSERSITE="1",
    )
    proc = subprocess.run(
        cmd,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return proc.stdout


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory):
    """(wheel path, site folder) of a wheel built from the checkout."""
    tmp = tmp_path_factory.mktemp("wheel")
    dist, site, source = tmp / "dist", tmp / "site", tmp / "source"
    # A copy of the checkout without build products: setuptools' build/
    # folder keeps deleted modules, which would then ship in the wheel.
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git",
            ".venv",
            "build",
            "dist",
            "results",
            "*.egg-info",
            "__pycache__",
            ".pytest_cache",
            ".ruff_cache",
        ),
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "-w",
            str(dist),
            str(source),
        ],
        check=True,
        capture_output=True,
        cwd=tmp,
    )
    (wheel,) = glob.glob(str(dist / "speechbrain_style-*.whl"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--quiet",
            "--target",
            str(site),
            wheel,
        ],
        check=True,
        capture_output=True,
    )
    return wheel, site


def test_wheel_holds_the_package_and_no_tests(installed_wheel):
    wheel, _ = installed_wheel
    names = zipfile.ZipFile(wheel).namelist()
    for module in (
        "speechbrain_style/brain.py",
        "speechbrain_style/lobes/emotion2vec.py",
        "speechbrain_style/nnet/losses.py",
        "speechbrain_style/retrieval/index.py",
        "speechbrain_style/inference/retriever.py",
        "speechbrain_style/cli/main.py",
        "speechbrain_style/corpora/stylesynth/synth.py",
    ):
        assert module in names, module
    assert not [n for n in names if n.startswith("tests/")]


@pytest.mark.slow
def test_recipe_and_from_hparams_run_from_the_installed_wheel(
    installed_wheel, tmp_path
):
    _, site = installed_wheel
    user = tmp_path / "user"
    recipe = user / "StyleSynth"
    shutil.copytree(
        os.path.join(ROOT, "recipes", "StyleSynth"),
        recipe,
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    located = _run(
        [
            sys.executable,
            "-c",
            "import speechbrain_style as s; print(s.__file__)",
        ],
        recipe,
        site,
    )
    assert located.strip().startswith(str(site)), located
    tiny_bert = build_tiny_hf_text_encoder(str(tmp_path / "bert"), "bert")
    out = user / "exp"
    _run(
        [
            sys.executable,
            "train.py",
            "hparams/synth_ecapa_minilm.yaml",
            f"--data_folder={user / 'corpus'}",
            f"--output_folder={out}",
            "--num_train_utts=24",
            "--num_valid_utts=8",
            "--num_test_utts=12",
            "--number_of_epochs=1",
            "--batch_size=8",
            "--embedding_size=16",
            "--num_trials=10",
            "--num_combo_prompts=2",
            f"--text_encoder_source={tiny_bert}",
            "--n_mels=40",
            "--ecapa_channels=[16,16,16,16,48]",
            "--ecapa_lin_neurons=16",
        ],
        recipe,
        site,
    )
    assert (out / "retrieval_test.txt").is_file()
    code = (
        "import sys, speechbrain_style\n"
        "from speechbrain_style.inference import StyleRetriever\n"
        "m = StyleRetriever.from_hparams(source=sys.argv[1])\n"
        "e = m.encode_text(['A woman whispering.'])\n"
        "print(speechbrain_style.__file__, tuple(e.shape))\n"
    )
    printed = _run(
        [sys.executable, "-c", code, str(out / "inference")], user, site
    )
    assert printed.split()[0].startswith(str(site)), printed
    assert "(1, 16)" in printed
