"""Descriptions of speech from dimensional emotion values (valence, arousal).

EmotionRankCLAP (https://arxiv.org/abs/2505.23732) pairs every utterance
with a natural-language description generated from its valence and
arousal values (by an LLM in the paper) and ranks items by those values
with Rank-N-Contrast. This module is the offline default: each dimension
is binned into levels (``bins``: ascending edges; a value equal to an edge
goes to the upper level), each level has a few synonyms and a template
combines one arousal and one valence synonym with a/an agreement ("A calm,
slightly negative voice.", "Someone sounding somewhat down and sleepy.").

* Default bins are for a 1-7 scale (MSP-Podcast): edges 2.5, 3.5, 4.5,
  5.5 give 5 levels per dimension (valence: very negative, slightly
  negative, neutral, slightly positive, very positive; arousal: very
  calm, calm, moderate, excited, very excited). Other scales pass their
  own edges (IEMOCAP, 1-5: e.g. ``[1.8, 2.6, 3.4, 4.2]``). Four edges
  give 5 levels, two edges 3 levels (negative / neutral / positive,
  calm / moderate / excited).
* Two banks: "train" and a disjoint "heldout" bank (no synonym or
  template string of one occurs in the other), as for the style prompts.
* Optional captions written elsewhere (e.g. by an LLM) per utterance: a
  CSV ``id,caption`` (one row per caption) or a JSON ``{id: [captions]}``
  (or ``{id: caption}``); they take precedence over the templates for
  those ids (``describe_item``), whatever the bank.

``make_dimensional_description_pipeline`` is the SpeechBrain dynamic item
(a description and the item's values as ``ordinal_values`` for the
Rank-N-Contrast loss).

Authors
 * speechbrain-style contributors 2026
"""

import bisect
import csv
import json
import math
import os
import random
import re

import numpy as np
import speechbrain as sb
import torch
from speechbrain.utils.logger import get_logger

from speechbrain_style.prompts.bank import BANKS, indefinite_article

logger = get_logger(__name__)

DIMENSIONS = ("valence", "arousal")
DEFAULT_BINS = {
    "valence": (2.5, 3.5, 4.5, 5.5),
    "arousal": (2.5, 3.5, 4.5, 5.5),
}
# Synonyms per bank, dimension and number of levels, lowest level first.
# They are adjective phrases that work both before a noun ("a somewhat
# down voice") and after a verb ("sounds somewhat down").
SYNONYMS = {
    "train": {
        "valence": {
            5: (
                ("very negative", "deeply unhappy", "miserable", "upset"),
                ("slightly negative", "somewhat down", "slightly unhappy"),
                ("neutral", "emotionally neutral", "matter-of-fact"),
                ("slightly positive", "somewhat pleased", "fairly cheerful"),
                ("very positive", "very happy", "delighted", "joyful"),
            ),
            3: (
                ("negative", "unhappy", "gloomy"),
                ("neutral", "emotionally neutral", "matter-of-fact"),
                ("positive", "happy", "cheerful"),
            ),
        },
        "arousal": {
            5: (
                ("very calm", "sleepy", "very subdued", "drowsy"),
                ("calm", "relaxed", "quiet", "mellow"),
                ("moderately energetic", "composed", "steady"),
                ("excited", "energetic", "lively", "animated"),
                ("very excited", "highly energetic", "agitated", "intense"),
            ),
            3: (
                ("calm", "relaxed", "subdued"),
                ("moderately energetic", "composed", "steady"),
                ("excited", "energetic", "lively"),
            ),
        },
    },
    "heldout": {
        "valence": {
            5: (
                ("extremely negative", "devastated", "heartbroken"),
                ("mildly negative", "slightly sad", "somewhat sour"),
                ("unemotional", "impassive", "detached"),
                ("mildly positive", "content", "somewhat glad"),
                ("extremely positive", "overjoyed", "elated"),
            ),
            3: (
                ("sad", "sorrowful", "displeased"),
                ("unemotional", "impassive", "detached"),
                ("glad", "pleased", "joyous"),
            ),
        },
        "arousal": {
            5: (
                ("extremely calm", "half-asleep", "lethargic"),
                ("fairly calm", "unhurried", "placid"),
                ("measured", "balanced", "moderately lively"),
                ("spirited", "vigorous", "fairly intense"),
                ("extremely excited", "frantic", "hyper"),
            ),
            3: (
                ("placid", "unhurried", "tranquil"),
                ("measured", "balanced", "moderately lively"),
                ("spirited", "vigorous", "keyed up"),
            ),
        },
    },
}
# {an_x} = article + phrase ("a calm"); {x} = the phrase alone.
TEMPLATES = {
    "train": (
        "{an_arousal}, {valence} voice.",
        "{an_valence}, {arousal} voice.",
        "The speaker sounds {arousal} and {valence}.",
        "Someone sounding {valence} and {arousal}.",
        "{an_valence} speaker who sounds {arousal}.",
        "Speech that is {arousal} and {valence}.",
        "{an_arousal} and {valence} tone of voice.",
        "This person speaks in {an_valence}, {arousal} manner.",
        "A voice that sounds {valence} and {arousal}.",
        "Someone talking in {an_arousal}, {valence} way.",
    ),
    "heldout": (
        "Listen to {an_valence}, {arousal} talker.",
        "Here the person comes across as {arousal} and {valence}.",
        "The tone of this speech is {valence} and {arousal}.",
        "You can hear someone who is {arousal} and {valence}.",
        "Audio of {an_arousal} person in {an_valence} mood.",
        "This talker seems {valence} and sounds {arousal}.",
    ),
}


def _check_bank(bank):
    if bank not in BANKS:
        raise ValueError(f"bank must be one of {BANKS}, got {bank!r}")


def _check_bins(bins):
    """Validated ``{dimension: tuple of edges}`` (defaults filled in)."""
    if bins is None:
        return {name: tuple(edges) for name, edges in DEFAULT_BINS.items()}
    if not isinstance(bins, dict):
        raise TypeError(f"bins must be a dict, got {type(bins).__name__}")
    unknown = set(bins) - set(DIMENSIONS)
    if unknown:
        raise ValueError(
            f"bins has unknown dimension(s) {sorted(unknown)}; expected "
            f"{DIMENSIONS}"
        )
    checked = {}
    for name in DIMENSIONS:
        edges = tuple(float(e) for e in bins.get(name, DEFAULT_BINS[name]))
        if len(edges) + 1 not in SYNONYMS["train"][name]:
            raise ValueError(
                f"bins[{name!r}] must have 2 or 4 edges (3 or 5 levels), "
                f"got {list(edges)}"
            )
        if any(b <= a for a, b in zip(edges, edges[1:], strict=False)):
            raise ValueError(
                f"bins[{name!r}] must be strictly increasing, got {list(edges)}"
            )
        checked[name] = edges
    return checked


def random_index(rng, n):
    """A uniform integer in [0, n) from a numpy Generator or random.Random."""
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(n))
    if isinstance(rng, random.Random):
        return rng.randrange(n)
    raise TypeError(
        "rng must be a numpy.random.Generator or a random.Random, "
        f"got {type(rng).__name__}"
    )


def _rng():
    """A numpy Generator seeded from Python's ``random`` state (per call)."""
    return np.random.default_rng(random.getrandbits(63))


def _fill(template, valence, arousal):
    """The template with both phrases, a/an agreement and capitalised."""
    text = template.format(
        valence=valence,
        arousal=arousal,
        an_valence=f"{indefinite_article(valence)} {valence}",
        an_arousal=f"{indefinite_article(arousal)} {arousal}",
    )
    text = re.sub(r"\s+", " ", text).strip()
    return text[:1].upper() + text[1:]


def read_captions(path):
    """Reads per-utterance captions from a CSV or JSON file.

    Arguments
    ---------
    path : str
        A CSV with the columns ``id,caption`` (several rows may share an
        id) or a JSON object ``{id: [captions]}`` / ``{id: caption}``.

    Returns
    -------
    dict
        ``{id: list of str}`` (empty captions dropped).

    Example
    -------
    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "c.json")
    >>> with open(path, "w") as f:
    ...     _ = f.write('{"utt1": "A sad voice.", "utt2": ["x", "y"]}')
    >>> read_captions(path)
    {'utt1': ['A sad voice.'], 'utt2': ['x', 'y']}
    """
    if not os.path.isfile(path):
        raise ValueError(f"captions_file {path} does not exist")
    captions = {}
    if path.lower().endswith(".json"):
        with open(path, encoding="utf-8") as fin:
            data = json.load(fin)
        if not isinstance(data, dict):
            raise ValueError(f"{path} must hold a JSON object {{id: [...]}}")
        for item_id, value in data.items():
            values = [value] if isinstance(value, str) else value
            if not isinstance(values, list) or not all(
                isinstance(v, str) for v in values
            ):
                raise ValueError(
                    f"{path}: captions of {item_id!r} must be a string or a "
                    f"list of strings, got {value!r}"
                )
            kept = [v.strip() for v in values if v.strip()]
            if kept:
                captions[str(item_id)] = kept
        return captions
    with open(path, encoding="utf-8-sig", newline="") as fin:
        reader = csv.DictReader(fin)
        fields = [f.strip() for f in reader.fieldnames or []]
        if "id" not in fields or "caption" not in fields:
            raise ValueError(
                f"{path} must have the columns id,caption (got {fields})"
            )
        reader.fieldnames = fields
        for row in reader:
            caption = (row["caption"] or "").strip()
            if caption:
                captions.setdefault(row["id"].strip(), []).append(caption)
    return captions


class DimensionalDescriber:
    """Descriptions of speech from its valence and arousal values.

    Arguments
    ---------
    bins : dict, optional
        ``{"valence": edges, "arousal": edges}``, ascending edges (2 or 4
        per dimension); a missing dimension keeps ``DEFAULT_BINS`` (1-7
        scale).
    bank : str
        "train" or "heldout" (disjoint wordings).
    captions_file : str, optional
        Per-utterance captions (see ``read_captions``) used by
        ``describe_item`` instead of the templates for their ids.

    Example
    -------
    >>> describer = DimensionalDescriber()
    >>> describer.level("valence", 2.0), describer.level("arousal", 4.5)
    (0, 3)
    >>> describer.prompts_for_levels(1, 0)[0]
    'A very calm, slightly negative voice.'
    >>> rng = np.random.default_rng(0)
    >>> describer.describe(2.0, 6.5, rng) in describer.prompts_for_levels(0, 4)
    True
    >>> iemocap = DimensionalDescriber(
    ...     bins={"valence": [2, 4], "arousal": [2, 4]})
    >>> iemocap.level("valence", 4.0), iemocap.num_levels("arousal")
    (2, 3)
    """

    def __init__(self, bins=None, bank="train", captions_file=None):
        _check_bank(bank)
        self.bins = _check_bins(bins)
        self.bank = bank
        self.captions_file = captions_file
        self.captions = {}
        if captions_file is not None:
            self.captions = read_captions(captions_file)
            logger.info(
                f"Read captions of {len(self.captions)} items from "
                f"{captions_file}"
            )

    def num_levels(self, name):
        """The number of levels of dimension ``name``."""
        self._check_name(name)
        return len(self.bins[name]) + 1

    def _check_name(self, name):
        if name not in DIMENSIONS:
            raise ValueError(
                f"Unknown dimension {name!r}; expected one of {DIMENSIONS}"
            )

    def level(self, name, value):
        """The level (0 = lowest) of ``value`` on dimension ``name``.

        Arguments
        ---------
        name : str
            "valence" or "arousal".
        value : float
            The value; one equal to an edge goes to the upper level.

        Returns
        -------
        int
        """
        self._check_name(name)
        if isinstance(value, bool) or not isinstance(
            value, (int, float, np.integer, np.floating)
        ):
            raise TypeError(
                f"{name} must be a number, got {type(value).__name__}"
            )
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value}")
        return bisect.bisect_right(self.bins[name], float(value))

    def synonyms(self, name, level, bank=None):
        """The synonyms of ``level`` of dimension ``name`` in ``bank``."""
        bank = self.bank if bank is None else bank
        _check_bank(bank)
        n = self.num_levels(name)
        if isinstance(level, bool) or not isinstance(level, (int, np.integer)):
            raise TypeError(f"level must be an int, got {level!r}")
        if not 0 <= level < n:
            raise ValueError(f"{name} level must be in [0, {n}), got {level}")
        return SYNONYMS[bank][name][n][int(level)]

    def prompts_for_levels(self, v_level, a_level, bank=None):
        """Every description of a (valence level, arousal level) cell.

        Arguments
        ---------
        v_level : int
            Valence level.
        a_level : int
            Arousal level.
        bank : str, optional
            "train" or "heldout"; default: the describer's bank.

        Returns
        -------
        list of str
            Templates x valence synonyms x arousal synonyms, in that order.
        """
        bank = self.bank if bank is None else bank
        valences = self.synonyms("valence", v_level, bank)
        arousals = self.synonyms("arousal", a_level, bank)
        return [
            _fill(template, v, a)
            for template in TEMPLATES[bank]
            for v in valences
            for a in arousals
        ]

    def describe(self, valence, arousal, rng=None):
        """One random description of the binned values.

        Arguments
        ---------
        valence : float
            Valence value.
        arousal : float
            Arousal value.
        rng : numpy.random.Generator or random.Random, optional
            Source of randomness; default: seeded from ``random``.

        Returns
        -------
        str
        """
        rng = _rng() if rng is None else rng
        valences = self.synonyms("valence", self.level("valence", valence))
        arousals = self.synonyms("arousal", self.level("arousal", arousal))
        templates = TEMPLATES[self.bank]
        template = templates[random_index(rng, len(templates))]
        v = valences[random_index(rng, len(valences))]
        a = arousals[random_index(rng, len(arousals))]
        return _fill(template, v, a)

    def describe_item(self, item_id, valence, arousal, rng=None):
        """A caption of ``item_id`` if the captions file has one, else
        ``describe(valence, arousal, rng)``.

        Arguments
        ---------
        item_id : str
            Utterance id.
        valence : float
            Valence value.
        arousal : float
            Arousal value.
        rng : numpy.random.Generator or random.Random, optional
            Source of randomness; default: seeded from ``random``.

        Returns
        -------
        str
        """
        rng = _rng() if rng is None else rng
        captions = self.captions.get(item_id)
        if captions:
            return captions[random_index(rng, len(captions))]
        return self.describe(valence, arousal, rng)

    def description_bank(self, bank="heldout"):
        """One description per (valence level, arousal level) cell, e.g.
        for ``speechbrain-style describe``.

        Arguments
        ---------
        bank : str
            Prompt bank.

        Returns
        -------
        list of str

        Example
        -------
        >>> len(DimensionalDescriber().description_bank())
        25
        """
        return [
            self.prompts_for_levels(v, a, bank)[0]
            for v in range(self.num_levels("valence"))
            for a in range(self.num_levels("arousal"))
        ]

    def __repr__(self):
        return (
            f"DimensionalDescriber(bins={self.bins}, bank={self.bank!r}, "
            f"captions_file={self.captions_file!r})"
        )


def make_dimensional_description_pipeline(describer):
    """Pipeline: (id, valence, arousal) -> a description and its values.

    A new description is drawn every time the item is read (rng seeded
    from Python's ``random`` per call, which SpeechBrain seeds per
    worker). ``ordinal_values`` holds the item's OWN values, not the
    centres of the described levels, so that the Rank-N-Contrast loss
    ranks pairs by the true labels (the description is only a coarse,
    binned rendering of them).

    Arguments
    ---------
    describer : DimensionalDescriber
        The describer (its bank, bins and captions).

    Returns
    -------
    function
        A SpeechBrain dynamic item that takes ``id``, ``valence`` and
        ``arousal`` and provides ``description`` (str) and
        ``ordinal_values`` (``torch.FloatTensor([valence, arousal])``).

    Example
    -------
    >>> from speechbrain.dataio.dataset import DynamicItemDataset
    >>> pipeline = make_dimensional_description_pipeline(
    ...     DimensionalDescriber())
    >>> data = DynamicItemDataset(
    ...     {"utt1": {"valence": 1.5, "arousal": 6.0}}, [pipeline],
    ...     output_keys=["description", "ordinal_values"])
    >>> data[0]["ordinal_values"]
    tensor([1.5000, 6.0000])
    """
    if not isinstance(describer, DimensionalDescriber):
        raise TypeError(
            "describer must be a DimensionalDescriber, got "
            f"{type(describer).__name__}"
        )

    @sb.utils.data_pipeline.takes("id", "valence", "arousal")
    @sb.utils.data_pipeline.provides("description", "ordinal_values")
    def dimensional_description_pipeline(item_id, valence, arousal):
        """Valence/arousal -> a description, its levels and the values."""
        if valence is None or arousal is None:
            raise ValueError(
                f"Item {item_id!r} has no valence/arousal value "
                f"(valence={valence}, arousal={arousal})"
            )
        yield describer.describe_item(item_id, valence, arousal, _rng())
        yield torch.FloatTensor([float(valence), float(arousal)])

    return dimensional_description_pipeline
