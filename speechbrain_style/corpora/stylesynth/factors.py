"""Speaking-style factors of the embedded corpus, as training labels.

Glue between the corpus (``speechbrain_style.corpora.stylesynth.synth``), the
descriptions
(``speechbrain_style.prompts``), the loss and the evaluation:

* ``speech_labels``: an utterance's factor values as an integer vector over
  ``STYLE_FACTORS`` (the label-aware contrastive loss uses it);
* ``text_labels``: the factors a description mentions, ``-1`` for the
  others (a wildcard: "Someone whispering." matches every whispered
  utterance, whatever its pitch or rate);
* ``STYLE_FIELD``: the combined style of an utterance (all its audible
  factors), an extra evaluation row beside the per-factor rows;
* factors that cannot be heard (pitch and range of whispered speech, see
  ``speechbrain_style.corpora.stylesynth.synth.UNOBSERVABLE_FACTORS``) are
  never described, get
  the label ``NOT_AUDIBLE`` (matched by no description that mentions them)
  and are left out of the evaluation rows of those factors;
* SpeechBrain data pipelines that provide these, drawing one random
  description per utterance per step for training.

Authors
 * speechbrain-style contributors 2026
"""

import itertools
import random

import numpy as np
import speechbrain as sb
import torch

from speechbrain_style.corpora.stylesynth.synth import (
    STYLE_FACTORS,
    UNOBSERVABLE_FACTORS,
    audible_factors,
)
from speechbrain_style.dataio.descriptions import with_transcript
from speechbrain_style.prompts.stylesynth import StyleDescriber

FACTORS = tuple(STYLE_FACTORS)
STYLE_FIELD = "style"
STYLE_SEPARATOR = "/"
NOT_AUDIBLE_VALUE = "*"
NOT_AUDIBLE = -2


def style_label_vector(factors):
    """Integer vector of factor values over ``STYLE_FACTORS``.

    Factors that cannot be heard get ``NOT_AUDIBLE`` (-2): the loss then
    matches them only with descriptions that do not mention them.

    Arguments
    ---------
    factors : dict
        A value for every factor.

    Returns
    -------
    list of int

    Example
    -------
    >>> style_label_vector({"sex": "female", "pitch": "low", "rate": "fast",
    ...     "range": "monotone", "phonation": "modal"})
    [1, 0, 2, 0, 0]
    >>> style_label_vector({"sex": "female", "pitch": "low", "rate": "fast",
    ...     "range": "monotone", "phonation": "whispered"})
    [1, -2, 2, -2, 1]
    """
    for factor in FACTORS:
        if factor not in factors:
            raise ValueError(f"Missing style factor '{factor}'")
        if factors[factor] not in STYLE_FACTORS[factor]:
            raise ValueError(
                f"Unknown value '{factors[factor]}' for factor '{factor}' "
                f"(expected one of {STYLE_FACTORS[factor]})"
            )
    audible = audible_factors(factors)
    return [
        STYLE_FACTORS[f].index(audible[f]) if f in audible else NOT_AUDIBLE
        for f in FACTORS
    ]


def combined_style(factors):
    """The combined style class of the audible factors.

    Example
    -------
    >>> combined_style({"sex": "male", "pitch": "low", "rate": "slow",
    ...     "range": "monotone", "phonation": "modal"})
    'male/low/slow/monotone/modal'
    >>> combined_style({"sex": "male", "pitch": "low", "rate": "slow",
    ...     "range": "monotone", "phonation": "whispered"})
    'male/*/slow/*/whispered'
    """
    audible = audible_factors(factors)
    return STYLE_SEPARATOR.join(
        audible.get(f, NOT_AUDIBLE_VALUE) for f in FACTORS
    )


def evaluation_labels(factors):
    """Class of each evaluation row: audible factors and the combined style.

    Inaudible factors are None, which leaves the item out of that row.

    Example
    -------
    >>> evaluation_labels({"sex": "male", "pitch": "low", "rate": "slow",
    ...     "range": "monotone", "phonation": "whispered"})["pitch"] is None
    True
    """
    audible = audible_factors(factors)
    labels = {f: audible.get(f) for f in FACTORS}
    labels[STYLE_FIELD] = combined_style(factors)
    return labels


def parse_combined_style(value):
    """Inverse of ``combined_style``: the dict of audible factors."""
    values = value.split(STYLE_SEPARATOR)
    if len(values) != len(FACTORS):
        raise ValueError(f"'{value}' is not a combined style")
    return {
        f: v
        for f, v in zip(FACTORS, values, strict=True)
        if v != NOT_AUDIBLE_VALUE
    }


def _rng():
    """A numpy Generator seeded from Python's ``random`` state.

    SpeechBrain's ``seed_everything`` seeds ``random``, and PyTorch seeds it
    differently in each DataLoader worker, so draws are reproducible and
    differ between workers.
    """
    return np.random.default_rng(random.getrandbits(63))


def make_label_pipeline():
    """Pipeline: factor values -> ``speech_labels`` (for the loss) and
    ``eval_labels`` (the class of each evaluation row)."""

    @sb.utils.data_pipeline.takes(*FACTORS)
    @sb.utils.data_pipeline.provides("speech_labels", "eval_labels")
    def label_pipeline(*values):
        """Factor values -> their loss labels and evaluation classes."""
        factors = dict(zip(FACTORS, values, strict=True))
        yield torch.LongTensor(style_label_vector(factors))
        yield evaluation_labels(factors)

    return label_pipeline


def make_description_pipeline(bank="train", transcript_probability=0.0):
    """Pipeline: factor values -> a random description and its labels.

    Arguments
    ---------
    bank : str
        Description bank ("train"; "heldout" is for evaluation only).
    transcript_probability : float
        Probability that the description also quotes the utterance's
        transcript (``with_transcript``; the pipeline then takes ``text``).

    Returns
    -------
    function
        A SpeechBrain dynamic item providing ``description`` and
        ``text_labels``.
    """
    if not 0.0 <= transcript_probability <= 1.0:
        raise ValueError(
            f"transcript_probability must be in [0, 1], got "
            f"{transcript_probability}"
        )
    describer = StyleDescriber(bank=bank, unobservable=UNOBSERVABLE_FACTORS)
    takes = FACTORS + (("text",) if transcript_probability > 0 else ())

    @sb.utils.data_pipeline.takes(*takes)
    @sb.utils.data_pipeline.provides("description", "text_labels")
    def description_pipeline(*values):
        """Factor values -> a random description and the factors it names."""
        rng = _rng()
        text, labels = describer.describe_with_labels(
            dict(zip(FACTORS, values[: len(FACTORS)], strict=True)), rng
        )
        if transcript_probability > 0 and rng.random() < transcript_probability:
            text = with_transcript(text, values[len(FACTORS)], rng)
        yield text
        yield torch.LongTensor(labels)

    return description_pipeline


class FactorPrompts:
    """Evaluation prompts for the factor rows and the combined style row.

    ``prompt_fn(field, value, bank)`` for ``RetrievalEvaluator``: a factor
    row uses the descriptions that mention only that factor value; the
    combined ``style`` row uses ``num_combo_prompts`` descriptions that
    mention all five factors (seeded, so every evaluation uses the same).

    Arguments
    ---------
    num_combo_prompts : int
        Descriptions per combined style.
    seed : int
        Seed of the combined-style descriptions.
    """

    def __init__(self, num_combo_prompts=10, seed=0):
        self.num_combo_prompts = num_combo_prompts
        self.seed = seed
        self._describers = {}
        self._cache = {}

    def _describer(self, bank):
        if bank not in self._describers:
            self._describers[bank] = StyleDescriber(bank=bank)
        return self._describers[bank]

    def __call__(self, field, value, bank):
        """Returns the prompts of class ``value`` of ``field``."""
        key = (field, value, bank)
        if key not in self._cache:
            describer = self._describer(bank)
            if field == STYLE_FIELD:
                factors = parse_combined_style(value)
                rng = np.random.default_rng(
                    [self.seed, *(int(b) for b in value.encode())]
                )
                prompts = describer.combo_prompts(
                    factors, self.num_combo_prompts, rng
                )
            elif field in STYLE_FACTORS:
                prompts = describer.class_prompts(field, value)
            else:
                raise ValueError(f"Unknown field '{field}'")
            self._cache[key] = list(prompts)
        return self._cache[key]


def description_bank(bank="heldout", per_style=2, seed=0):
    """Descriptions of every combined style and every factor value.

    Saved with an inference model for ``speechbrain-style describe``.

    Arguments
    ---------
    bank : str
        Description bank.
    per_style : int
        Descriptions per combined style.
    seed : int
        Seed.

    Returns
    -------
    list of str
        Unique descriptions, sorted.
    """
    describer = StyleDescriber(bank=bank)
    rng = np.random.default_rng(seed)
    texts = set()
    for values in itertools.product(*(STYLE_FACTORS[f] for f in FACTORS)):
        factors = audible_factors(dict(zip(FACTORS, values, strict=True)))
        texts.update(describer.combo_prompts(factors, per_style, rng))
    for factor, values in STYLE_FACTORS.items():
        for value in values:
            texts.update(describer.class_prompts(factor, value)[:3])
    return sorted(texts)


ORDINAL_FACTORS = {
    "pitch": ("low", "mid", "high"),
    "rate": ("slow", "normal", "fast"),
    "range": ("monotone", "normal", "animated"),
}


def make_ordinal_pipeline(factors=("pitch", "rate")):
    """Pipeline: ordered factor levels as ``ordinal_values`` (0, 1, 2).

    Used by the Rank-N-Contrast loss, which treats the levels of pitch and
    rate (and optionally intonation range) like valence and arousal.

    Arguments
    ---------
    factors : tuple of str
        Factors of ``ORDINAL_FACTORS`` to use, in order.

    Returns
    -------
    function
        A SpeechBrain dynamic item providing ``ordinal_values``
        (``torch.FloatTensor``).
    """
    for factor in factors:
        if factor not in ORDINAL_FACTORS:
            raise ValueError(
                f"'{factor}' is not ordinal (choose from "
                f"{list(ORDINAL_FACTORS)})"
            )

    @sb.utils.data_pipeline.takes(*factors)
    @sb.utils.data_pipeline.provides("ordinal_values")
    def ordinal_pipeline(*values):
        """Factor values -> the levels of the ordered factors."""
        return torch.FloatTensor(
            [
                float(ORDINAL_FACTORS[f].index(v))
                for f, v in zip(factors, values, strict=True)
            ]
        )

    return ordinal_pipeline
