"""Prompt banks for categorical speaking styles (ESD, Expresso, IEMOCAP).

The expressive speech retrieval protocol (see ``docs/protocols.md``) describes
every style class by 5 synonyms x 11 templates, with a/an agreement
("An angry voice."); synonyms that are phrases rather than adjectives
(starting with "spoken", "with" or "in": "in an angry tone", "with
anger") go into templates where a phrase is grammatical, the first of
which is "Speech that is {style}.". Training draws one random (synonym,
template) pair per utterance and step; evaluation scores a class by the
ensemble of all its prompts.

This module holds those banks for the styles of the three corpora:

* ``STYLE_SYNONYMS`` and ``TEMPLATES`` (+ ``PHRASE_TEMPLATES``): the
  training bank, 5 synonyms x 11 templates = 55 prompts per class. Phrase
  synonyms get 11 phrase templates of their own, so they too give 11
  prompts each (the first is "Speech that is {style}."). The phrase
  templates are written for phrases starting with "in" or "with" (the
  banks hold no "spoken ..." phrase) and never contain the noun "voice",
  since many phrases do ("in a loud voice").
* ``HELDOUT_STYLE_SYNONYMS`` and ``HELDOUT_TEMPLATES`` (+
  ``HELDOUT_PHRASE_TEMPLATES``): a disjoint held-out bank (3 synonyms x 6
  templates per class). No held-out synonym or template string occurs in
  the training bank, so no held-out prompt is a training prompt: the
  held-out bank measures generalisation to unseen wordings.

Expresso's "animal" / "child" styles are read as imitating an animal / a
child, "animaldir" / "childdir" as speech directed to a pet / a child
(Nguyen et al., "EXPRESSO: A Benchmark and Analysis of Discrete Expressive
Speech Resynthesis", Interspeech 2023). "surprise" (ESD) and "surprised"
(IEMOCAP) are the same class under two names and share their synonyms.

Tools: ``style_prompt_bank`` (a ``speechbrain_style.prompts.bank.PromptBank``
over chosen classes), ``StylePrompts`` (a ``prompt_fn`` for
``speechbrain_style.evaluation.retrieval.RetrievalEvaluator`` plus per-utterance
sampling) and the SpeechBrain data pipelines
``make_style_description_pipeline`` and ``make_style_label_pipeline``;
``style_description_bank`` lists descriptions to save with a model.

Authors
 * speechbrain-style contributors 2026
"""

import random

import numpy as np
import speechbrain as sb
import torch
from speechbrain.utils.logger import get_logger

from speechbrain_style.prompts.bank import BANKS, PHRASE_PREFIXES, PromptBank

logger = get_logger(__name__)

ESD_STYLES = ("neutral", "angry", "happy", "sad", "surprise")
IEMOCAP_STYLES = (
    "neutral",
    "frustrated",
    "angry",
    "sad",
    "happy",
    "excited",
    "surprised",
    "fearful",
    "disgusted",
)
EXPRESSO_STYLES = (
    "angry",
    "animal",
    "animaldir",
    "awe",
    "bored",
    "calm",
    "child",
    "childdir",
    "confused",
    "default",
    "desire",
    "disgusted",
    "enunciated",
    "fast",
    "fearful",
    "happy",
    "laughing",
    "narration",
    "nonverbal",
    "projected",
    "sad",
    "sarcastic",
    "sleepy",
    "sympathetic",
    "whisper",
)

# Templates for adjectives ("a {style}" agrees: "an angry voice")
TEMPLATES = (
    "A {style} voice.",
    "Someone speaking in a {style} manner.",
    "The speaker sounds {style}.",
    "Someone with a {style} tone of voice.",
    "This voice is {style}.",
    "A {style} way of speaking.",
    "The speech sounds {style}.",
    "A {style} speaker.",
    "An utterance delivered in a {style} style.",
    "Somebody who sounds {style}.",
    "A recording of a {style} voice.",
)
# Templates for phrases ("in a whisper", "with anger"); the i-th adjective
# template becomes the i-th phrase template for them.
PHRASE_TEMPLATES = (
    "Speech that is {style}.",
    "Someone speaking {style}.",
    "A person talking {style}.",
    "A line spoken {style}.",
    "Words said {style}.",
    "The speaker talks {style}.",
    "An utterance {style}.",
    "A sentence read {style}.",
    "Somebody who speaks {style}.",
    "A recording of someone talking {style}.",
    "This person is speaking {style}.",
)
HELDOUT_TEMPLATES = (
    "Listen to this {style} voice.",
    "Here is a {style} talker.",
    "The tone of this speech is {style}.",
    "You can hear a {style} person speaking.",
    "Audio of someone with a {style} voice.",
    "The way this person talks is {style}.",
)
HELDOUT_PHRASE_TEMPLATES = (
    "Listen to someone speaking {style}.",
    "Here, a person says something {style}.",
    "The audio has a talker who is speaking {style}.",
    "You can hear a person speaking {style}.",
    "Audio of somebody saying a few words {style}.",
    "This talker delivers a line {style}.",
)

_SURPRISE = ["surprised", "astonished", "amazed", "startled", "with surprise"]
_HELDOUT_SURPRISE = ["stunned", "flabbergasted", "in disbelief"]

STYLE_SYNONYMS = {
    "neutral": [
        "neutral",
        "unemotional",
        "matter-of-fact",
        "even-toned",
        "with no emotion",
    ],
    "default": ["normal", "ordinary", "plain", "natural", "in a normal way"],
    "angry": [
        "angry",
        "furious",
        "irritated",
        "in an angry tone",
        "with anger",
    ],
    "frustrated": [
        "frustrated",
        "exasperated",
        "annoyed",
        "fed-up",
        "with frustration",
    ],
    "happy": ["happy", "cheerful", "joyful", "pleased", "with happiness"],
    "excited": [
        "excited",
        "enthusiastic",
        "thrilled",
        "eager",
        "with excitement",
    ],
    "sad": ["sad", "unhappy", "sorrowful", "gloomy", "with sadness"],
    "surprise": list(_SURPRISE),
    "surprised": list(_SURPRISE),
    "fearful": ["fearful", "scared", "afraid", "frightened", "with fear"],
    "disgusted": [
        "disgusted",
        "repulsed",
        "revolted",
        "sickened",
        "with disgust",
    ],
    "animal": [
        "animal-like",
        "creature-like",
        "beastlike",
        "in the voice of an animal",
        "with animal sounds",
    ],
    "animaldir": [
        "pet-directed",
        "animal-directed",
        "pet-addressed",
        "in a voice meant for a pet",
        "in the tone people use with their dog",
    ],
    "awe": ["awestruck", "wonderstruck", "reverent", "in awe", "with wonder"],
    "bored": [
        "bored",
        "uninterested",
        "listless",
        "indifferent",
        "with boredom",
    ],
    "calm": ["calm", "relaxed", "peaceful", "serene", "with composure"],
    "child": [
        "childlike",
        "childish",
        "kid-like",
        "in a child's voice",
        "with the voice of a small child",
    ],
    "childdir": [
        "child-directed",
        "kid-directed",
        "infant-directed",
        "in baby talk",
        "in a voice meant for a child",
    ],
    "confused": [
        "confused",
        "puzzled",
        "bewildered",
        "perplexed",
        "with confusion",
    ],
    "desire": ["desirous", "longing", "yearning", "sultry", "with desire"],
    "enunciated": [
        "enunciated",
        "clearly articulated",
        "carefully pronounced",
        "precise",
        "with careful articulation",
    ],
    "fast": ["fast", "rapid", "quick", "hurried", "in a rush"],
    "laughing": ["laughing", "giggly", "amused", "mirthful", "with laughter"],
    "narration": [
        "narrative",
        "story-like",
        "audiobook-style",
        "in a storytelling voice",
        "in the manner of a narrator",
    ],
    "nonverbal": [
        "nonverbal",
        "wordless",
        "inarticulate",
        "with sounds instead of words",
        "with grunts and sighs",
    ],
    "projected": [
        "projected",
        "loud",
        "booming",
        "in a loud voice",
        "with a raised voice",
    ],
    "sarcastic": ["sarcastic", "ironic", "mocking", "sardonic", "with sarcasm"],
    "sleepy": ["sleepy", "drowsy", "tired", "groggy", "with fatigue"],
    "sympathetic": [
        "sympathetic",
        "compassionate",
        "caring",
        "understanding",
        "with sympathy",
    ],
    "whisper": [
        "whispered",
        "hushed",
        "breathy",
        "in a whisper",
        "in hushed tones",
    ],
}

HELDOUT_STYLE_SYNONYMS = {
    "neutral": ["dispassionate", "impassive", "in a detached manner"],
    "default": ["regular", "typical", "conversational"],
    "angry": ["enraged", "livid", "with rage"],
    "frustrated": ["aggravated", "vexed", "with impatience"],
    "happy": ["delighted", "upbeat", "in a good mood"],
    "excited": ["exhilarated", "animated", "with great energy"],
    "sad": ["melancholy", "downcast", "in a mournful tone"],
    "surprise": list(_HELDOUT_SURPRISE),
    "surprised": list(_HELDOUT_SURPRISE),
    "fearful": ["terrified", "petrified", "in a panic"],
    "disgusted": ["nauseated", "appalled", "with distaste"],
    "animal": ["feral", "critter-like", "in imitation of an animal"],
    "animaldir": [
        "dog-directed",
        "in the way one talks to a cat",
        "with the coaxing tone used on pets",
    ],
    "awe": ["spellbound", "overawed", "with reverence"],
    "bored": ["apathetic", "unenthused", "in a jaded tone"],
    "calm": ["tranquil", "unhurried", "laid-back"],
    "child": [
        "juvenile",
        "in the voice of a little kid",
        "with the voice of a young child",
    ],
    "childdir": [
        "toddler-directed",
        "in motherese",
        "in the sing-song way adults talk to children",
    ],
    "confused": ["baffled", "uncertain", "in a befuddled way"],
    "desire": ["seductive", "amorous", "with passion"],
    "enunciated": ["over-articulated", "crisp", "with exaggerated diction"],
    "fast": ["speedy", "rushed", "in a hurry"],
    "laughing": ["giddy", "in fits of laughter", "with a chuckle"],
    "narration": [
        "documentary-style",
        "storyteller-like",
        "with a narrator's cadence",
    ],
    "nonverbal": [
        "non-linguistic",
        "with hums and groans",
        "in vocal sounds rather than words",
    ],
    "projected": [
        "resounding",
        "far-carrying",
        "in a voice meant to carry across a room",
    ],
    "sarcastic": ["snarky", "wry", "in a tongue-in-cheek tone"],
    "sleepy": ["half-asleep", "lethargic", "with heavy eyelids"],
    "sympathetic": ["consoling", "comforting", "with empathy"],
    "whisper": ["murmured", "barely audible", "in a low whisper"],
}

_BANK_PARTS = {
    "train": (STYLE_SYNONYMS, TEMPLATES, PHRASE_TEMPLATES),
    "heldout": (
        HELDOUT_STYLE_SYNONYMS,
        HELDOUT_TEMPLATES,
        HELDOUT_PHRASE_TEMPLATES,
    ),
}


def _check_bank(bank):
    if bank not in BANKS:
        raise ValueError(f"bank must be one of {BANKS}, got {bank!r}")


def _check_classes(classes):
    """The classes as a list of str; errors name the bad item."""
    if isinstance(classes, str) or not hasattr(classes, "__iter__"):
        raise TypeError(
            f"classes must be a list of style names, got {classes!r}"
        )
    classes = list(classes)
    if not classes:
        raise ValueError("classes is empty")
    for cls in classes:
        if not isinstance(cls, str):
            raise TypeError(f"Style class must be a str, got {cls!r}")
    duplicates = sorted({c for c in classes if classes.count(c) > 1})
    if duplicates:
        raise ValueError(f"Duplicate style classes: {duplicates}")
    unknown = [c for c in classes if c not in STYLE_SYNONYMS]
    if unknown:
        raise ValueError(
            f"Unknown style classes {unknown}: no prompts for them (known: "
            f"{sorted(STYLE_SYNONYMS)})"
        )
    return classes


def style_prompt_bank(classes, bank="train"):
    """The prompt bank of some style classes.

    Arguments
    ---------
    classes : list of str
        Style classes, e.g. ``ESD_STYLES``; each must be a key of
        ``STYLE_SYNONYMS``.
    bank : str
        "train" (5 synonyms x 11 templates per class) or "heldout" (the
        disjoint held-out bank).

    Returns
    -------
    speechbrain_style.prompts.bank.PromptBank

    Example
    -------
    >>> bank = style_prompt_bank(["angry", "awe"])
    >>> bank.prompts("angry")[:2]
    ['An angry voice.', 'Someone speaking in an angry manner.']
    >>> awe = bank.prompts("awe")
    >>> len(awe), "Speech that is in awe." in awe
    (55, True)
    >>> style_prompt_bank(["angry"], bank="heldout").prompts("angry")[0]
    'Listen to this enraged voice.'
    """
    _check_bank(bank)
    classes = _check_classes(classes)
    synonyms, templates, phrase_templates = _BANK_PARTS[bank]
    return PromptBank(
        list(templates),
        {cls: list(synonyms[cls]) for cls in classes},
        phrase_templates=list(phrase_templates),
        phrase_prefixes=PHRASE_PREFIXES,
    )


def _rng():
    """A numpy Generator seeded from Python's ``random`` state.

    SpeechBrain's ``seed_everything`` seeds ``random`` and PyTorch seeds it
    differently in each DataLoader worker, so draws are reproducible and
    differ between workers.
    """
    return np.random.default_rng(random.getrandbits(63))


class StylePrompts:
    """Prompts of style classes for evaluation and training.

    An instance is a ``prompt_fn(field, value, bank)`` for
    ``speechbrain_style.evaluation.retrieval.RetrievalEvaluator`` (the prompt
    ensemble of class ``value``; ``field`` names the label field, e.g.
    "style", and does not change the prompts), and ``sample`` draws one
    training description of a class.

    Arguments
    ---------
    classes : list of str
        Style classes.

    Example
    -------
    >>> prompts = StylePrompts(["neutral", "sad"])
    >>> prompts("style", "sad", "train")[0]
    'A sad voice.'
    >>> len(prompts("style", "sad", "heldout"))
    18
    >>> prompts.sample("sad", np.random.default_rng(0)) in prompts(
    ...     "style", "sad", "train")
    True
    """

    def __init__(self, classes):
        self.classes = _check_classes(classes)
        self._banks = {}

    def bank(self, bank="train"):
        """The ``PromptBank`` of the classes in ``bank``."""
        _check_bank(bank)
        if bank not in self._banks:
            self._banks[bank] = style_prompt_bank(self.classes, bank)
        return self._banks[bank]

    def _check_value(self, value):
        if value not in self.classes:
            raise ValueError(
                f"Unknown style '{value}' (expected one of {self.classes})"
            )

    def __call__(self, field, value, bank):
        """Every prompt of class ``value`` in ``bank``.

        Arguments
        ---------
        field : str
            Label field (any name; the prompts depend on the class only).
        value : str
            A class.
        bank : str
            "train" or "heldout".

        Returns
        -------
        list of str
        """
        self._check_value(value)
        return self.bank(bank).prompts(value)

    def sample(self, value, rng=None, bank="train"):
        """One random description of class ``value``.

        Arguments
        ---------
        value : str
            A class.
        rng : numpy.random.Generator or random.Random, optional
            Source of randomness; default: seeded from ``random``.
        bank : str
            Prompt bank.

        Returns
        -------
        str
        """
        self._check_value(value)
        return self.bank(bank).sample(value, _rng() if rng is None else rng)

    def __repr__(self):
        return f"StylePrompts({self.classes})"


def make_style_description_pipeline(classes, bank="train"):
    """Pipeline: style class -> a random description and its class label.

    One description is drawn per utterance every time the item is read,
    so every epoch pairs an utterance with new wordings.

    Arguments
    ---------
    classes : list of str
        Style classes; a class's index in this list is its label.
    bank : str
        Prompt bank ("train"; "heldout" is for evaluation).

    Returns
    -------
    function
        A SpeechBrain dynamic item that takes ``style`` and provides
        ``description`` (str) and ``text_labels``
        (``torch.LongTensor([class_index])``: the label-aware loss treats
        same-class items as positives).

    Example
    -------
    >>> from speechbrain.dataio.dataset import DynamicItemDataset
    >>> pipeline = make_style_description_pipeline(["neutral", "angry"])
    >>> data = DynamicItemDataset({"utt1": {"style": "angry"}}, [pipeline],
    ...     output_keys=["description", "text_labels"])
    >>> data[0]["text_labels"]
    tensor([1])
    >>> data[0]["description"] in style_prompt_bank(["angry"]).prompts("angry")
    True
    """
    prompts = StylePrompts(classes)
    prompts.bank(bank)  # validates bank now, not in a worker
    index = {c: i for i, c in enumerate(prompts.classes)}

    @sb.utils.data_pipeline.takes("style")
    @sb.utils.data_pipeline.provides("description", "text_labels")
    def style_description_pipeline(style):
        """Style class -> a random description and its class label."""
        text = prompts.sample(style, _rng(), bank=bank)
        yield text
        yield torch.LongTensor([index[style]])

    return style_description_pipeline


def make_style_label_pipeline(classes):
    """Pipeline: style class -> its label.

    Arguments
    ---------
    classes : list of str
        Style classes; a class's index in this list is its label.

    Returns
    -------
    function
        A SpeechBrain dynamic item that takes ``style`` and provides
        ``speech_labels`` (``torch.LongTensor([class_index])``, for the
        label-aware loss and the style classifier) and ``style_index``
        (the same index as an int).

    Example
    -------
    >>> from speechbrain.dataio.dataset import DynamicItemDataset
    >>> pipeline = make_style_label_pipeline(["neutral", "angry", "sad"])
    >>> data = DynamicItemDataset({"utt1": {"style": "sad"}}, [pipeline],
    ...     output_keys=["speech_labels", "style_index"])
    >>> data[0]
    {'speech_labels': tensor([2]), 'style_index': 2}
    """
    classes = _check_classes(classes)
    index = {c: i for i, c in enumerate(classes)}

    @sb.utils.data_pipeline.takes("style")
    @sb.utils.data_pipeline.provides("speech_labels", "style_index")
    def style_label_pipeline(style):
        """Style class -> its label tensor and index."""
        if style not in index:
            raise ValueError(
                f"Unknown style '{style}' (expected one of {classes})"
            )
        yield torch.LongTensor([index[style]])
        yield index[style]

    return style_label_pipeline


def style_description_bank(classes, bank="heldout", per_class=None):
    """Descriptions of style classes, saved with an inference model.

    ``speechbrain-style describe`` ranks them for a recording (speech ->
    text). The held-out bank is the default, as for the factor corpus
    (``speechbrain_style.corpora.stylesynth.factors.description_bank``).

    Arguments
    ---------
    classes : list of str
        Style classes.
    bank : str
        "train" or "heldout".
    per_class : int, optional
        Descriptions per class (the first ones, synonym-major); default:
        all of them.

    Returns
    -------
    list of str
        Unique descriptions, sorted.

    Example
    -------
    >>> style_description_bank(["sad", "calm"], per_class=2)
    ['Here is a melancholy talker.', 'Here is a tranquil talker.', \
'Listen to this melancholy voice.', 'Listen to this tranquil voice.']
    """
    if per_class is not None and (
        isinstance(per_class, bool)
        or not isinstance(per_class, int)
        or per_class < 1
    ):
        raise ValueError(f"per_class must be a positive int, got {per_class!r}")
    prompt_bank = style_prompt_bank(classes, bank)
    texts = set()
    for cls in prompt_bank.classes:
        texts.update(prompt_bank.prompts(cls)[:per_class])
    return sorted(texts)
