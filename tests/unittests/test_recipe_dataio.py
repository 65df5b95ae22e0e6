"""The ``dataio_prepare`` of the expressive recipes on prepared fake trees.

Each recipe's ``train.py`` is imported by path (with its folder on
``sys.path``, as when it runs) and its datasets are built from manifests
written by its own prepare script on a fake tree of the real layout.
"""

import json

import pytest
import torch

from speechbrain_style.dataio.audio import load_audio_segment
from speechbrain_style.prompts.dimensional import DimensionalDescriber
from tests.fake_data import (
    make_fake_esd,
    make_fake_expresso,
    make_fake_iemocap,
    make_fake_msp_podcast,
)
from tests.prepare_utils import RECIPES_DIR, load_recipe_module


def _recipe(monkeypatch, recipe, script):
    """Imports ``recipes/<recipe>/<script>`` with its folder on sys.path."""
    monkeypatch.syspath_prepend(str(RECIPES_DIR / recipe))
    return load_recipe_module(recipe, script)


def _hparams(tmp_path, data_folder, **extra):
    """The hparams that the recipes' ``dataio_prepare`` read."""
    hparams = {
        "data_folder": str(data_folder),
        "sample_rate": 16000,
        "crop_seconds": 100.0,  # longer than any fake item: no crop
        **extra,
    }
    for split in ("train", "valid", "test"):
        hparams[f"{split}_annotation"] = str(tmp_path / f"{split}.json")
    return hparams


def _annotations(hparams):
    """The three manifest paths of ``hparams``."""
    return [hparams[f"{s}_annotation"] for s in ("train", "valid", "test")]


def _item(dataset, item_id):
    """The dataset's outputs for ``item_id``."""
    return dataset[dataset.data_ids.index(item_id)]


def test_expresso_reads_each_items_segment_and_channel(tmp_path, monkeypatch):
    train = _recipe(monkeypatch, "Expresso", "train.py")
    prepare = load_recipe_module("Expresso", "expresso_prepare.py")
    root = make_fake_expresso(tmp_path / "fake")
    classes = list(prepare.EVAL_STYLES)
    hparams = _hparams(tmp_path, root, classes=classes)
    prepare.prepare_expresso(root, *_annotations(hparams), styles=classes)
    datasets = train.dataio_prepare(hparams)

    manifest = json.loads((tmp_path / "train.json").read_text())
    right = [k for k, v in manifest.items() if v["channel"] == 1]
    assert right, "the fake tree has conversational right-channel items"
    item_id = right[0]
    entry = manifest[item_id]
    out = _item(datasets["train"], item_id)
    wav = entry["wav"].format(data_root=root)
    expected = load_audio_segment(wav, entry["start"], entry["stop"], channel=1)
    assert torch.allclose(out["sig"], expected)
    downmix = load_audio_segment(wav, entry["start"], entry["stop"])
    assert not torch.allclose(out["sig"], downmix)
    assert out["style_index"] == classes.index(entry["style"])
    assert out["speech_labels"].tolist() == [classes.index(entry["style"])]
    assert torch.equal(out["text_labels"], out["speech_labels"])
    assert isinstance(out["description"], str)
    # the test set has no descriptions (evaluation with the prompt banks)
    test_keys = set(datasets["test"][0])
    assert "description" not in test_keys and "style" in test_keys


def test_expresso_style_outside_classes_is_an_error(tmp_path, monkeypatch):
    train = _recipe(monkeypatch, "Expresso", "train.py")
    prepare = load_recipe_module("Expresso", "expresso_prepare.py")
    root = make_fake_expresso(tmp_path / "fake")
    classes = list(prepare.EVAL_STYLES)
    hparams = _hparams(tmp_path, root, classes=classes)
    prepare.prepare_expresso(root, *_annotations(hparams), styles=classes)
    # e.g. manifests prepared with other styles, then --skip_prep=True
    hparams["classes"] = [c for c in classes if c != "sad"]
    with pytest.raises(ValueError) as error:
        train.dataio_prepare(hparams)
    message = str(error.value)
    assert "Split 'train'" in message and "train.json" in message
    assert "['sad']" in message and "not in the recipe's classes" in message


def test_iemocap_classes_follow_the_label_set(tmp_path, monkeypatch):
    train = _recipe(monkeypatch, "IEMOCAP", "train.py")
    prepare = load_recipe_module("IEMOCAP", "iemocap_prepare.py")
    root = make_fake_iemocap(tmp_path / "fake")
    # the yaml's label_sets: the classes of each set, in order
    classes = list(dict.fromkeys(prepare.LABEL_SETS["paper9"].values()))
    hparams = _hparams(tmp_path, root, classes=classes)
    prepare.prepare_iemocap(
        root, *_annotations(hparams), test_session=3, label_set="paper9"
    )
    datasets = train.dataio_prepare(hparams)
    manifest = json.loads((tmp_path / "valid.json").read_text())
    item_id, entry = next(iter(manifest.items()))
    out = _item(datasets["valid"], item_id)
    assert out["style_index"] == classes.index(entry["style"])
    assert out["sig"].shape[0] == round(entry["duration"] * 16000)
    # "four" classes on "paper9" manifests: a clear error, not a crash
    hparams["classes"] = list(
        dict.fromkeys(prepare.LABEL_SETS["four"].values())
    )
    with pytest.raises(ValueError, match="Split 'train' .*not in the"):
        train.dataio_prepare(hparams)


@pytest.mark.parametrize(
    "recipe, script",
    [("IEMOCAP", "train_dimensional.py"), ("MSP-Podcast", "train.py")],
)
def test_dimensional_datasets(tmp_path, monkeypatch, recipe, script):
    train = _recipe(monkeypatch, recipe, script)
    if recipe == "IEMOCAP":
        prepare = load_recipe_module(recipe, "iemocap_prepare.py")
        root = make_fake_iemocap(tmp_path / "fake")
        edges = [1.8, 2.6, 3.4, 4.2]
        hparams = _hparams(tmp_path, root)
        prepare.prepare_iemocap(
            root, *_annotations(hparams), test_session=3, label_set="all"
        )
    else:
        prepare = load_recipe_module(recipe, "msp_podcast_prepare.py")
        root = make_fake_msp_podcast(tmp_path / "fake")
        edges = [2.5, 3.5, 4.5, 5.5]
        hparams = _hparams(tmp_path, root)
        prepare.prepare_msp_podcast(root, *_annotations(hparams))
    describer = DimensionalDescriber(bins={"valence": edges, "arousal": edges})
    hparams["describer"] = describer
    # an item without a valence value is left out
    path = tmp_path / "train.json"
    manifest = json.loads(path.read_text())
    dropped, kept = list(manifest)[:2]
    manifest[dropped]["valence"] = None
    path.write_text(json.dumps(manifest))

    datasets = train.dataio_prepare(hparams)
    assert dropped not in datasets["train"].data_ids
    assert len(datasets["train"]) == len(manifest) - 1
    out = _item(datasets["train"], kept)
    values = [manifest[kept]["valence"], manifest[kept]["arousal"]]
    assert out["ordinal_values"].tolist() == pytest.approx(values)
    levels = [describer.level("valence", values[0])]
    levels.append(describer.level("arousal", values[1]))
    assert out["speech_labels"].tolist() == levels
    assert out["text_labels"].tolist() == levels
    assert isinstance(out["description"], str)
    test_item = datasets["test"][0]
    assert "description" not in test_item and "valence" in test_item


def test_joint_union_aliases_and_balanced_sampler(tmp_path, monkeypatch):
    train = _recipe(monkeypatch, "ExpressiveJoint", "train.py")
    folders = {
        "esd": make_fake_esd(
            tmp_path / "esd", speakers=("0012",), utts_per_emotion=55
        ),
        "expresso": make_fake_expresso(tmp_path / "expresso"),
        "iemocap": make_fake_iemocap(tmp_path / "iemocap"),
    }
    expresso_styles = list(
        load_recipe_module("Expresso", "expresso_prepare.py").EVAL_STYLES
    )
    hparams = {
        "output_folder": str(tmp_path / "exp"),
        "sample_rate": 16000,
        "crop_seconds": 1.0,
        "style_aliases": {"surprise": "surprised"},
        **{f"{corpus}_folder": str(root) for corpus, root in folders.items()},
    }
    train.prepare_esd(folders["esd"], **train.prepare_kwargs(hparams, "esd"))
    train.prepare_expresso(
        folders["expresso"],
        styles=expresso_styles,
        **train.prepare_kwargs(hparams, "expresso"),
    )
    train.prepare_iemocap(
        folders["iemocap"],
        test_session=3,
        **train.prepare_kwargs(hparams, "iemocap"),
    )
    data = train.load_joint_data(hparams)
    assert sorted(data) == [
        "test_esd",
        "test_expresso",
        "test_iemocap",
        "train",
        "valid",
    ]
    styles = {it["style"] for items in data.values() for it in items.values()}
    assert "surprise" not in styles and "surprised" in styles
    for corpus in train.CORPORA:
        ids = list(data[f"test_{corpus}"])
        assert ids and all(i.startswith(f"{corpus}/") for i in ids)
    corpora = {it["dataset"] for it in data["train"].values()}
    assert corpora == set(train.CORPORA)

    hparams["classes"] = sorted(styles)
    datasets, train_items = train.dataio_prepare(hparams)
    assert len(datasets["test_expresso"]) == len(data["test_expresso"])
    assert "description" not in datasets["test_esd"][0]
    # every corpus has the same total sampling weight
    sampler = train.balanced_sampler(train_items, seed=3)
    totals = {}
    weights = sampler.weights.tolist()
    for weight, item in zip(weights, train_items.values(), strict=True):
        totals[item["dataset"]] = totals.get(item["dataset"], 0) + weight
    assert list(totals.values()) == pytest.approx([1.0] * 3)

    hparams["classes"] = sorted(styles - {"whisper"})
    with pytest.raises(ValueError, match="\\['whisper'\\]"):
        train.dataio_prepare(hparams)
