"""Tests of the caption recipes' data flow and schedule: the pieces in
speechbrain_style.dataio.captions and speechbrain_style.nnet.schedulers, and
the dataio_prepare of recipes/Clotho/train.py and recipes/AudioCaps/train.py.
"""

import math

import pytest
import torch
from speechbrain.dataio.batch import PaddedBatch

from speechbrain_style.dataio.captions import clip_items, expand_captions
from speechbrain_style.nnet.schedulers import warmup_cosine_scheduler
from tests.fake_data import make_fake_audiocaps, make_fake_clotho
from tests.prepare_utils import RECIPES_DIR, load_recipe_module

prepare_clotho = load_recipe_module(
    "Clotho", "clotho_prepare.py"
).prepare_clotho


def _recipe_train_module(recipe, monkeypatch):
    """``recipes/<recipe>/train.py`` imported (its prepare script beside)."""
    monkeypatch.syspath_prepend(str(RECIPES_DIR / recipe))
    return load_recipe_module(recipe, "train.py")


def test_expand_captions_errors():
    with pytest.raises(ValueError, match="'a' needs a non-empty list"):
        expand_captions({"a": {"captions": "one string"}})
    with pytest.raises(ValueError, match="'b' needs a non-empty list"):
        expand_captions({"b": {"captions": []}})
    with pytest.raises(ValueError, match="'c' needs a non-empty list"):
        clip_items({"c": {"captions": []}})


def test_datasets_of_a_prepared_clotho_tree(tmp_path, monkeypatch):
    dataio_prepare = _recipe_train_module("Clotho", monkeypatch).dataio_prepare
    root = make_fake_clotho(tmp_path / "clotho")
    hparams = {
        "data_folder": root,
        "sample_rate": 16000,
        "crop_seconds": 0.35,
    }
    for split in ("train", "valid", "test"):
        hparams[f"{split}_annotation"] = str(tmp_path / f"{split}.json")
    prepare_clotho(
        root, *(hparams[f"{s}_annotation"] for s in ("train", "valid", "test"))
    )
    sets = dataio_prepare(hparams)
    assert len(sets["train"]) == 30  # 6 clips x 5 captions
    assert len(sets["valid"]) == 3 and len(sets["test"]) == 3
    items = [sets["train"][i] for i in range(10)]
    batch = PaddedBatch(items)
    # the 5 captions of a clip share its index: the loss's positives
    labels = batch.speech_labels.data.view(-1).tolist()
    assert labels == [0] * 5 + [1] * 5
    assert torch.equal(batch.speech_labels.data, batch.text_labels.data)
    assert batch.description[:2] == [
        "the sound of rain on roof",
        "someone records rain on roof nearby",
    ]
    # random training crops of at most 0.35 s (resampled to 16 kHz)
    assert all(item["sig"].shape[0] <= int(0.35 * 16000) for item in items)
    # evaluation items: one per clip, all captions, whole clips
    valid = [sets["valid"][i] for i in range(3)]
    assert all(len(item["captions"]) == 5 for item in valid)
    assert [item["description"] for item in valid] == [
        item["captions"][0] for item in valid
    ]
    lengths = [item["sig"].shape[0] for item in valid]
    assert lengths == sorted(lengths)  # sorted by duration
    assert lengths[0] == int(0.3 * 16000)
    test_keys = set(sets["test"][0])
    assert "description" not in test_keys and "captions" in test_keys


def test_datasets_of_a_prepared_audiocaps_folder(tmp_path, monkeypatch):
    recipe = _recipe_train_module("AudioCaps", monkeypatch)
    root = make_fake_audiocaps(tmp_path / "audiocaps")
    hparams = {"data_folder": root, "sample_rate": 16000, "crop_seconds": 0.2}
    for split in ("train", "valid", "test"):
        hparams[f"{split}_annotation"] = str(tmp_path / f"{split}.json")
    recipe.prepare_audiocaps(
        root,
        *(hparams[f"{s}_annotation"] for s in ("train", "valid", "test")),
        audio_folder=f"{root}/audio",
    )
    sets = recipe.dataio_prepare(hparams)
    train = [sets["train"][i] for i in range(len(sets["train"]))]
    # AudioCaps training clips have one caption: one item, one label each
    labels = [int(item["speech_labels"]) for item in train]
    assert labels == list(range(len(train)))
    assert all(item["sig"].shape[0] <= int(0.2 * 16000) for item in train)
    valid = [sets["valid"][i] for i in range(len(sets["valid"]))]
    assert valid and all(len(item["captions"]) == 5 for item in valid)
    assert all(item["description"] == item["captions"][0] for item in valid)
    assert "description" not in set(sets["test"][0])


def _seed_lr(epoch, base=2e-5, min_lr=1e-7, warmup=1, stop=15):
    """The seed's update_lr (linear warm-up, cosine rampdown from 1)."""
    if epoch < warmup:
        return base * epoch / warmup
    if epoch < stop:
        return min_lr + (base - min_lr) * 0.5 * (
            1 + math.cos(math.pi * (epoch - warmup) / (stop - warmup))
        )
    return min_lr


def test_scheduler_follows_the_seed_schedule_and_checkpoints():
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.AdamW([param], lr=2e-5)
    sched = warmup_cosine_scheduler(opt, 4, 1, 15, min_lr=1e-7)
    lrs = []
    for step in range(4 * 20):
        lrs.append(opt.param_groups[0]["lr"])  # the lr of optimizer step n
        opt.step()
        sched.step()
        if step == 29:  # checkpoint in the middle of the cosine
            state = sched.state_dict()
    expected = [_seed_lr(n / 4) for n in range(1, 81)]
    assert lrs == pytest.approx(expected, rel=1e-9, abs=1e-15)
    assert lrs[3] == pytest.approx(2e-5)  # end of the warm-up epoch
    assert lrs[-1] == pytest.approx(1e-7)
    # a fresh scheduler restored from the checkpoint continues identically
    opt2 = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=2e-5)
    again = warmup_cosine_scheduler(opt2, 4, 1, 15, min_lr=1e-7)
    again.load_state_dict(state)
    opt2.param_groups[0]["lr"] = lrs[30]  # restored with the optimizer
    resumed = []
    for _ in range(30, 80):
        resumed.append(opt2.param_groups[0]["lr"])
        opt2.step()
        again.step()
    assert resumed == pytest.approx(expected[30:], rel=1e-9, abs=1e-15)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"steps_per_epoch": 0}, "steps_per_epoch"),
        ({"warmup_epochs": 3, "rampdown_stop_epoch": 2}, "warmup_epochs"),
        ({"min_lr": 1.0}, "min_lr"),
    ],
)
def test_scheduler_bad_arguments(kwargs, match):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    kwargs = {"steps_per_epoch": 4, **kwargs}
    with pytest.raises(ValueError, match=match):
        warmup_cosine_scheduler(opt, **kwargs)
