"""The metadata classifier (auxiliary loss of the description recipes) and
the transcript quoting of their training descriptions."""

import json
import math
import random

import numpy as np
import pytest
import soundfile as sf
import torch
import torch.nn.functional as F
from speechbrain.utils.checkpoints import Checkpointer

from speechbrain_style.evaluation.descriptions import (
    DescriptionRetrievalEvaluator,
)
from speechbrain_style.lobes import MetadataClassifier
from speechbrain_style.lobes.metadata import metadata_classes
from speechbrain_style.nnet.description_loss import normalise_description
from tests.prepare_utils import RECIPES_DIR, load_recipe_module

ITEMS = [
    {"gender": "male", "tags": ["slow"], "emotion": "sad"},
    {"gender": "female", "tags": ["slow", "whispered"], "emotion": "happy"},
    {"gender": None, "tags": [], "emotion": ""},
    {"gender": "female", "tags": None, "emotion": "sad"},
]


def _classifier(fields=("gender", "tags", "emotion"), size=6):
    classifier = MetadataClassifier(size)
    classifier.set_classes(metadata_classes(ITEMS, list(fields)))
    return classifier


def test_classes_come_from_the_manifest_and_bad_fields_are_errors():
    classes = metadata_classes(ITEMS, ["gender", "tags", "emotion"])
    assert classes == {
        "gender": {"values": ["female", "male"], "multi_label": False},
        "tags": {"values": ["slow", "whispered"], "multi_label": True},
        "emotion": {"values": ["happy", "sad"], "multi_label": False},
    }
    with pytest.raises(ValueError, match="\\['accent'\\] are not fields"):
        metadata_classes(ITEMS, ["accent"])
    with pytest.raises(ValueError, match="'a' has 0 distinct"):
        metadata_classes([{"a": None}, {"a": ""}], ["a"])
    with pytest.raises(ValueError, match="1 distinct"):
        metadata_classes([{"a": "x"}, {"a": "x"}], ["a"])
    with pytest.raises(ValueError, match="mixes tag lists"):
        metadata_classes([{"a": "x"}, {"a": ["y", "z"]}], ["a"])


def test_targets_are_one_hot_multi_hot_or_missing():
    classifier = _classifier()
    rows = [classifier.targets(item) for item in ITEMS]
    # blocks: gender (female, male) | tags (slow, whispered) | emotion
    assert rows[0].tolist() == [0, 1, 1, 0, 0, 1]
    assert rows[1].tolist() == [1, 0, 1, 1, 1, 0]
    # null and empty values are missing; an empty tag list is "no tag"
    assert torch.isnan(rows[2][:2]).all() and torch.isnan(rows[2][4:]).all()
    assert rows[2][2:4].tolist() == [0, 0]
    assert torch.isnan(rows[3][2:4]).all()
    # a value never seen in training is no class: missing, not "class 0"
    unseen = classifier.targets({"gender": "other", "tags": [], "emotion": ""})
    assert torch.isnan(unseen[:2]).all()
    with pytest.raises(ValueError, match="holds tag lists"):
        classifier.targets({"gender": "male", "tags": "slow", "emotion": ""})


def test_loss_is_the_mean_of_the_present_fields_losses_and_learns():
    torch.manual_seed(0)
    classifier = _classifier()
    targets = torch.stack([classifier.targets(item) for item in ITEMS])
    x = torch.randn(len(ITEMS), 6)
    logits = classifier(x)
    gender = F.cross_entropy(logits[[0, 1, 3], :2], torch.tensor([1, 0, 0]))
    tags = F.binary_cross_entropy_with_logits(logits[:3, 2:4], targets[:3, 2:4])
    emotion = F.cross_entropy(logits[[0, 1, 3], 4:], torch.tensor([1, 0, 1]))
    expected = (gender + tags + emotion) / 3
    assert torch.allclose(classifier.loss(x, targets), expected)
    # the SpeechBrain (batch, 1, size) layout gives the same loss
    assert torch.allclose(classifier.loss(x[:, None], targets), expected)
    # a batch where no field is present: 0, and backward still works
    none = torch.full_like(targets[:1], math.nan)
    empty = classifier.loss(x[:1], none)
    empty.backward()
    assert empty.item() == 0.0
    # a few steps learn the metadata
    opt = torch.optim.SGD(classifier.parameters(), lr=1.0)
    for _ in range(100):
        opt.zero_grad()
        classifier.loss(x, targets).backward()
        opt.step()
    assert classifier.loss(x, targets) < 0.1 * expected.detach()
    with pytest.raises(ValueError, match="targets of shape"):
        classifier.loss(x, targets[:, :3])
    with pytest.raises(ValueError, match="embeddings of size 6"):
        classifier(torch.randn(2, 5))


def test_a_checkpoint_keeps_the_classes_and_checks_them(tmp_path):
    trained = _classifier()
    Checkpointer(tmp_path, {"classifier": trained}).save_checkpoint()
    # an empty classifier recovers the classes and the weights
    fresh = MetadataClassifier(6)
    Checkpointer(tmp_path, {"classifier": fresh}).recover_if_possible()
    assert fresh.classes == trained.classes
    assert torch.equal(fresh.output.weight, trained.output.weight)
    # a checkpoint of other classes is refused, not loaded into the wrong rows
    other = _classifier(fields=("gender", "emotion"))
    with pytest.raises(ValueError, match="metadata classes differ"):
        Checkpointer(tmp_path, {"classifier": other}).recover_if_possible()


def _wav(path, seconds=1.0, sample_rate=16000):
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    sf.write(path, 0.1 * np.sin(2 * np.pi * 220 * t), sample_rate)


def _hparams(tmp_path, **options):
    """What the description recipes' dataio_prepare reads, on 3 items."""
    manifest = {}
    for i, (gender, text) in enumerate(
        [("male", "Hello there."), ("female", "Good night."), (None, "Yes.")]
    ):
        _wav(tmp_path / f"{i}.wav")
        manifest[f"utt{i}"] = {
            "wav": "{data_root}/" + f"{i}.wav",
            "start": None,
            "stop": None,
            "duration": 1.0,
            "descriptions": [f"A calm voice {i}.", f"Someone slow {i}."],
            "gender": gender,
            "text": text,
        }
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest), encoding="utf-8")
    hparams = {
        f"{split}_annotation": str(path) for split in ("train", "valid", "test")
    }
    hparams.update(
        retrieval_evaluator=DescriptionRetrievalEvaluator(),
        sample_rate=16000,
        crop_seconds=0.5,
        filters={},
        transcript_field="text",
        transcript_probability=0.0,
        classifier_fields=[],
        metadata_classifier=MetadataClassifier(8),
    )
    hparams.update(options)
    return hparams


@pytest.mark.parametrize(
    "recipe", ["Descriptions", "ParaSpeechCaps", "TextrolSpeech", "LibriTTS-P"]
)
def test_training_descriptions_quote_the_transcript_and_keep_their_ids(
    recipe, tmp_path, monkeypatch
):
    monkeypatch.syspath_prepend(str(RECIPES_DIR / recipe))
    train = load_recipe_module(recipe, "train.py")
    hparams = _hparams(
        tmp_path,
        transcript_probability=0.5,
        classifier_fields=["gender"],
    )
    datasets = train.dataio_prepare(hparams, {"data_root": str(tmp_path)})
    item = datasets["train"][0]
    assert set(item) >= {"description", "text_labels", "targets"}
    random.seed(0)
    quoted, texts = 0, {}
    for _ in range(300):
        item = datasets["train"][0]
        text = item["description"]
        if '"' in text:
            quoted += 1
            assert text.startswith('"Hello there." ') or text.endswith(
                ' "Hello there."'
            )
            text = text.replace('"Hello there."', "").strip()
        assert text in ("A calm voice 0.", "Someone slow 0.")
        texts[text] = int(item["text_labels"])
    assert 110 <= quoted <= 190
    # a quoted description keeps the id of its description: same positives
    assert len(set(texts.values())) == 2
    # the classifier's targets: male is the second gender class
    assert item["targets"].tolist() == [0.0, 1.0]
    assert torch.isnan(datasets["train"][2]["targets"]).all()
    # validation never quotes: a deterministic loss
    assert '"' not in datasets["valid"][0]["description"]
    assert normalise_description(datasets["valid"][0]["description"])


@pytest.mark.parametrize(
    "options, message",
    [
        ({"transcript_probability": 1.5}, "must be in \\[0, 1\\]"),
        (
            {"transcript_probability": 0.5, "transcript_field": None},
            "needs a transcript_field",
        ),
        (
            {"transcript_probability": 0.5, "transcript_field": "words"},
            "'words' is not a field",
        ),
        ({"classifier_fields": ["accent"]}, "\\['accent'\\] are not fields"),
    ],
)
def test_bad_options_are_clear_errors(options, message, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(RECIPES_DIR / "Descriptions"))
    train = load_recipe_module("Descriptions", "train.py")
    with pytest.raises(ValueError, match=message):
        train.dataio_prepare(
            _hparams(tmp_path, **options), {"data_root": str(tmp_path)}
        )
