"""Compositional descriptions of the embedded corpus' speaking styles.

``StyleDescriber`` describes the factors of the embedded corpus
(``speechbrain_style.corpora.stylesynth.synth.STYLE_FACTORS``): "A man
speaking quickly in a low, flat voice.", "Someone whispering.". A
description mentions a subset of the factors; ``describe_with_labels`` also
returns which (``-1`` for the others, a wildcard for the loss). The "train"
and "heldout" banks share no sentence shape and no wording of any factor
value, so a held-out description never occurs in training.

Authors
 * speechbrain-style contributors 2026
"""

from speechbrain_style.corpora.stylesynth.synth import STYLE_FACTORS
from speechbrain_style.prompts.bank import (
    BANKS,
    as_generator,
    indefinite_article,
    random_index,
    tidy_sentence,
)

#   "verb": the verb itself, (-ing form, 3rd person) ("whispering").
# The two banks never share a wording of a value.
_VOCAB = {
    "sex": {
        "male": {
            "subj": {
                "train": [
                    "a man",
                    "a male speaker",
                    "an adult man",
                    "a male person",
                ],
                "heldout": ["a guy", "a gentleman", "a male narrator"],
            },
            "adj": {"train": ["male"], "heldout": ["masculine"]},
        },
        "female": {
            "subj": {
                "train": [
                    "a woman",
                    "a female speaker",
                    "an adult woman",
                    "a female person",
                ],
                "heldout": ["a lady", "a female narrator"],
            },
            "adj": {"train": ["female"], "heldout": ["feminine"]},
        },
    },
    "pitch": {
        "low": {
            "adj": {
                "train": ["low", "deep", "low-pitched"],
                "heldout": ["bass", "deep-toned"],
            },
            "adv": {
                "train": ["at a low pitch", "in a low register"],
                "heldout": ["in a bass register"],
            },
        },
        "mid": {
            "adj": {
                "train": [
                    "medium-pitched",
                    "mid-pitched",
                    "moderately pitched",
                ],
                "heldout": ["middle-pitched", "average-pitched"],
            },
            "adv": {
                "train": ["at a medium pitch", "at a moderate pitch"],
                "heldout": ["at an average pitch", "in a middle register"],
            },
        },
        "high": {
            "adj": {
                "train": ["high", "high-pitched"],
                "heldout": ["squeaky", "shrill"],
            },
            "adv": {
                "train": ["at a high pitch", "in a high register"],
                "heldout": ["at an elevated pitch"],
            },
        },
    },
    "rate": {
        "slow": {
            "adv": {
                "train": [
                    "slowly",
                    "at a slow pace",
                    "unhurriedly",
                    "at a leisurely pace",
                ],
                "heldout": [
                    "at a slow tempo",
                    "in a drawn-out manner",
                    "without rushing",
                ],
            },
        },
        "normal": {
            "adv": {
                "train": [
                    "at a normal pace",
                    "at an average speed",
                    "at a moderate tempo",
                ],
                "heldout": ["at a regular speed", "at a typical rate"],
            },
        },
        "fast": {
            "adv": {
                "train": ["quickly", "fast", "rapidly", "at a fast pace"],
                "heldout": ["hurriedly", "at a brisk tempo", "in a rush"],
            },
        },
    },
    "range": {
        "monotone": {
            "adj": {
                "train": ["flat", "monotonous", "monotone"],
                "heldout": ["droning", "unvarying"],
            },
            "adv": {
                "train": [
                    "without much intonation",
                    "in a monotone",
                    "monotonously",
                ],
                "heldout": ["with almost no melody", "flatly"],
            },
        },
        "normal": {
            "adv": {
                "train": [
                    "with ordinary intonation",
                    "with natural intonation",
                    "with a normal amount of intonation",
                ],
                "heldout": [
                    "with typical pitch variation",
                    "with everyday intonation",
                ],
            },
        },
        "animated": {
            "adj": {
                "train": ["expressive", "lively", "animated"],
                "heldout": ["melodic", "sing-song"],
            },
            "adv": {
                "train": [
                    "expressively",
                    "with a lot of intonation",
                    "in an animated way",
                ],
                "heldout": ["with dramatic pitch swings", "dynamically"],
            },
        },
    },
    "phonation": {
        "modal": {
            "adv": {
                "train": ["out loud", "in a normal voice", "with full voicing"],
                "heldout": ["aloud", "in an ordinary speaking voice"],
            },
        },
        "whispered": {
            "adj": {"train": ["whispered"], "heldout": ["hushed", "whispery"]},
            "adv": {
                "train": ["in a whisper", "under {their} breath"],
                "heldout": ["in a hushed whisper", "without voicing"],
            },
            "verb": {"train": [("whispering", "whispers")], "heldout": []},
        },
    },
}

_GENERIC_SUBJECTS = {
    "train": ["someone", "a person", "an adult"],
    "heldout": ["somebody", "a narrator", "an individual"],
}
_VERBS = {  # (-ing form, 3rd person singular)
    "train": [("speaking", "speaks"), ("talking", "talks")],
    "heldout": [
        ("saying something", "says something"),
        ("reading a sentence", "reads a sentence"),
    ],
}
_VOICE_NOUNS = {"train": ["voice"], "heldout": ["voice", "tone"]}
_PRONOUNS = {"male": "his", "female": "her"}
# order of the adverbials and of the voice adjectives
_ADV_ORDER = ("rate", "range", "pitch", "phonation")
_ADJ_ORDER = ("pitch", "range", "phonation")

# Sentence shapes per bank. Each is (name, needs_adjective, needs_non_sex).
_SHAPES = {
    "train": [
        ("subject_verb", False, False),  # A man speaking quickly in a ...
        ("subject_with_voice", True, False),  # A woman with a high voice, ...
        ("voice", False, False),  # A deep, flat male voice speaking ...
        ("subject_who", False, True),  # A woman who talks slowly ...
        ("possessive", False, False),  # A man's deep voice speaking ...
    ],
    "heldout": [
        ("this_is", False, False),  # This is a guy saying something ...
        ("listen_to", False, False),  # Listen to a lady with a ...
        ("voice_of", False, False),  # The bass tone of a gentleman ...
        ("recording", False, False),  # A recording in which somebody ...
        ("you_can_hear", False, False),  # You can hear somebody ...
        ("here", False, False),  # Here, a lady reads a sentence ...
    ],
}
MODAL_MENTION_PROBABILITY = 0.25


class _RandomChooser:
    """Chooses wordings at random (training descriptions)."""

    def __init__(self, rng):
        self.rng = rng

    def choice(self, options):
        """A random option."""
        return options[random_index(self.rng, len(options))]


class _ReplayChooser:
    """Follows a path of choices (0 beyond it) and records the options."""

    def __init__(self, path):
        self.path = path
        self.sizes = []

    def choice(self, options):
        """The next option of the replayed sequence."""
        depth = len(self.sizes)
        index = self.path[depth] if depth < len(self.path) else 0
        self.sizes.append(len(options))
        return options[index]


def _enumerate(generate):
    """Every output of ``generate(chooser)`` over all choice sequences."""
    outputs, stack = {}, [[]]
    while stack:
        path = stack.pop()
        chooser = _ReplayChooser(path)
        outputs.setdefault(generate(chooser), None)
        full = path + [0] * (len(chooser.sizes) - len(path))
        for depth in range(len(path), len(chooser.sizes)):
            for alt in range(1, chooser.sizes[depth]):
                stack.append(full[:depth] + [alt])
    return list(outputs)


def _join(items):
    """ "A", "A and B", "A, B and C"."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _with_article(phrase):
    return f"{indefinite_article(phrase)} {phrase}"


def factor_labels(factors_described, factors=STYLE_FACTORS):
    """Integer labels over the factors, ``-1`` for those not described.

    Arguments
    ---------
    factors_described : dict
        {factor: value} of the factors a description mentions.
    factors : dict
        {factor: values}, in label order (default ``STYLE_FACTORS``).

    Returns
    -------
    list of int

    Example
    -------
    >>> factor_labels({"sex": "female", "rate": "fast"})
    [1, -1, 2, -1, -1]
    """
    for name, value in factors_described.items():
        if name not in factors:
            raise ValueError(
                f"Unknown factor '{name}' (expected one of {list(factors)})"
            )
        if value not in factors[name]:
            raise ValueError(
                f"Unknown value '{value}' for factor '{name}' "
                f"(expected one of {factors[name]})"
            )
    return [
        factors[name].index(factors_described[name])
        if name in factors_described
        else -1
        for name in factors
    ]


class StyleDescriber:
    """Natural descriptions of the synthesised speaking-style factors.

    A description mentions a subset of the factors of ``STYLE_FACTORS``
    (sex, pitch, rate, range, phonation), each through one wording of its
    value, in one of several sentence shapes:

    * train: "A man speaking quickly in a low, flat voice.", "A woman with
      a high-pitched voice, talking slowly and expressively.", "A deep
      male voice.", "Someone who whispers.", "A man's flat voice.";
    * heldout: "This is a guy saying something hurriedly in a bass tone.",
      "The droning voice of a lady.", "Here, somebody reads a sentence in
      a hushed whisper.", ...

    The two banks share neither a sentence shape nor a wording of any
    factor value, so no held-out description can be produced by the
    training bank. Modal phonation is the default and is mentioned only
    with probability ``MODAL_MENTION_PROBABILITY`` when the subset is
    random.

    Arguments
    ---------
    bank : str
        "train" or "heldout".
    unobservable : dict, optional
        {(factor, value): factors}: factors not to mention when a factor has
        that value, with a random subset, e.g.
        ``speechbrain_style.corpora.stylesynth.synth.UNOBSERVABLE_FACTORS`` (no
        pitch or range
        for whispered speech). Default: mention any factor.

    Example
    -------
    >>> describer = StyleDescriber("train")
    >>> factors = {"sex": "male", "pitch": "low", "rate": "fast",
    ...     "range": "monotone", "phonation": "modal"}
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> text, labels = describer.describe_with_labels(
    ...     factors, rng, subset=["sex", "rate"])
    >>> labels
    [0, -1, 2, -1, -1]
    >>> text in describer.all_descriptions({"sex": "male", "rate": "fast"})
    True
    """

    def __init__(self, bank="train", unobservable=None):
        if bank not in BANKS:
            raise ValueError(f"bank must be one of {BANKS}, got {bank!r}")
        self.bank = bank
        self.unobservable = dict(unobservable or {})
        self._class_cache = {}

    # -- public API ---------------------------------------------------------
    def describe(self, factors, rng=None, subset=None):
        """One description of (a subset of) an utterance's factors.

        Arguments
        ---------
        factors : dict
            {factor: value}; keys outside ``STYLE_FACTORS`` are ignored
            (a manifest item works).
        rng : numpy.random.Generator or random.Random, optional
            Source of randomness.
        subset : list of str, optional
            The factors to mention. Default: a random subset of 1 to all
            of the given factors (modal phonation mostly left out).

        Returns
        -------
        str
        """
        return self.describe_with_labels(factors, rng, subset)[0]

    def describe_with_labels(self, factors, rng=None, subset=None):
        """A description and the labels of the factors it mentions.

        Arguments
        ---------
        factors : dict
            {factor: value}, as for ``describe``.
        rng : numpy.random.Generator or random.Random, optional
            Source of randomness.
        subset : list of str, optional
            The factors to mention (default: random).

        Returns
        -------
        text : str
        labels : list of int
            Over ``STYLE_FACTORS``, ``-1`` for factors not mentioned.
        """
        rng = as_generator(rng)
        known = self._check_factors(factors)
        if subset is None:
            mentioned = self._random_subset(known, rng)
        else:
            mentioned = self._check_subset(known, subset)
        text = self._realise(_RandomChooser(rng), mentioned)
        return text, factor_labels(mentioned)

    def combo_prompts(self, factors, n, rng=None):
        """``n`` descriptions that mention exactly the given factors.

        Distinct when possible (then repeats are drawn at random).

        Arguments
        ---------
        factors : dict
            {factor: value}, all mentioned.
        n : int
            Number of descriptions.
        rng : numpy.random.Generator or random.Random, optional
            Source of randomness.

        Returns
        -------
        list of str
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}")
        rng = as_generator(rng)
        mentioned = self._check_subset(
            self._check_factors(factors), list(factors)
        )
        chooser = _RandomChooser(rng)
        seen = {}
        for _ in range(20 * n):
            seen.setdefault(self._realise(chooser, mentioned), None)
            if len(seen) == n:
                break
        out = list(seen)
        while len(out) < n:
            out.append(out[random_index(rng, len(seen))])
        return out

    def class_prompts(self, factor, value):
        """Every description that mentions only ``factor`` = ``value``.

        A prompt ensemble for per-factor evaluation queries.

        Arguments
        ---------
        factor : str
            A key of ``STYLE_FACTORS``.
        value : str
            One of its values.

        Returns
        -------
        list of str
            Sorted, distinct.
        """
        mentioned = self._check_factors({factor: value})
        key = (factor, value)
        if key not in self._class_cache:
            self._class_cache[key] = sorted(
                _enumerate(lambda chooser: self._realise(chooser, mentioned))
            )
        return list(self._class_cache[key])

    def all_descriptions(self, factors):
        """Every description mentioning exactly the given factors.

        Arguments
        ---------
        factors : dict
            {factor: value}.

        Returns
        -------
        list of str
            Sorted, distinct (can be many thousands for all five factors).
        """
        mentioned = self._check_factors(factors)
        return sorted(
            _enumerate(lambda chooser: self._realise(chooser, mentioned))
        )

    # -- helpers ------------------------------------------------------------
    @staticmethod
    def _check_factors(factors):
        if not isinstance(factors, dict):
            raise TypeError(f"factors must be a dict, got {type(factors)}")
        known = {k: v for k, v in factors.items() if k in STYLE_FACTORS}
        if not known:
            raise ValueError(
                f"factors has none of the style factors {list(STYLE_FACTORS)}"
            )
        factor_labels(known)  # validates the values
        return known

    @staticmethod
    def _check_subset(known, subset):
        if isinstance(subset, str):
            raise TypeError("subset must be a list of factor names")
        mentioned = {}
        for name in subset:
            if name not in STYLE_FACTORS:
                raise ValueError(f"Unknown factor '{name}' in subset")
            if name not in known:
                raise ValueError(f"subset factor '{name}' has no value")
            mentioned[name] = known[name]
        if not mentioned:
            raise ValueError("subset is empty: mention at least one factor")
        return mentioned

    def _random_subset(self, known, rng):
        names = [f for f in STYLE_FACTORS if f in known]
        hidden = set()
        for (factor, value), factors in self.unobservable.items():
            if known.get(factor) == value:
                hidden.update(factors)
        names = [f for f in names if f not in hidden] or names
        k = 1 + random_index(rng, len(names))
        pool, chosen = list(names), []
        for _ in range(k):
            chosen.append(pool.pop(random_index(rng, len(pool))))
        if (
            "phonation" in chosen
            and known["phonation"] == "modal"
            and len(chosen) > 1
            and random_index(rng, 1000) >= 1000 * MODAL_MENTION_PROBABILITY
        ):
            chosen.remove("phonation")
        return {f: known[f] for f in STYLE_FACTORS if f in chosen}

    def _wordings(self, factor, value, role):
        return _VOCAB[factor][value].get(role, {}).get(self.bank, [])

    def _realise(self, chooser, mentioned):
        """One description of the ``mentioned`` factors."""
        bank = self.bank
        others = [f for f in mentioned if f != "sex"]
        has_adj = any(self._wordings(f, mentioned[f], "adj") for f in others)
        shapes = [
            name
            for name, needs_adj, needs_other in _SHAPES[bank]
            if (has_adj or not needs_adj) and (others or not needs_other)
        ]
        shape = chooser.choice(shapes)

        # a role per factor: adjective of the voice, adverbial, or the verb
        roles = {}
        forced = None
        if shape == "subject_with_voice":
            forced = chooser.choice(
                [f for f in others if self._wordings(f, mentioned[f], "adj")]
            )
        for factor in others:
            if factor == forced:
                roles[factor] = "adj"
                continue
            options = [
                r
                for r in ("adj", "adv", "verb")
                if self._wordings(factor, mentioned[factor], r)
            ]
            roles[factor] = chooser.choice(options)

        sex = mentioned.get("sex")
        pronoun = _PRONOUNS.get(sex, "their")
        verb = chooser.choice(_VERBS[bank])
        for factor in others:
            if roles[factor] == "verb":
                verb = chooser.choice(
                    self._wordings(factor, mentioned[factor], "verb")
                )
        adjs = [
            chooser.choice(self._wordings(f, mentioned[f], "adj"))
            for f in _ADJ_ORDER
            if roles.get(f) == "adj"
        ]
        advs, voice_phrase = [], bool(adjs)
        for factor in _ADV_ORDER:
            if roles.get(factor) != "adv":
                continue
            options = self._wordings(factor, mentioned[factor], "adv")
            if voice_phrase:  # one "... voice" per description
                options = [o for o in options if "voice" not in o]
            phrase = chooser.choice(options).replace("{their}", pronoun)
            voice_phrase = voice_phrase or "voice" in phrase
            advs.append(phrase)
        noun = chooser.choice(_VOICE_NOUNS[bank])
        adj_text = ", ".join(adjs)
        voice_np = _with_article(f"{adj_text} {noun}") if adjs else ""
        in_voice = f" in {voice_np}" if adjs else ""
        adv_text = (" " + _join(advs)) if advs else ""
        own_verb = any(r == "verb" for r in roles.values())

        if shape == "voice":
            subject = None  # the sex, if any, is an adjective of the voice
        elif sex is None:
            subject = chooser.choice(_GENERIC_SUBJECTS[bank])
        else:
            subject = chooser.choice(self._wordings("sex", sex, "subj"))

        if shape == "subject_verb":
            text = f"{subject} {verb[0]}{adv_text}{in_voice}."
        elif shape == "subject_with_voice":
            tail = f", {verb[0]}{adv_text}" if (advs or own_verb) else ""
            text = f"{subject} with {voice_np}{tail}."
        elif shape == "voice":
            words = adjs[:]
            if sex is not None:
                sex_adj = chooser.choice(self._wordings("sex", sex, "adj"))
                head = f"{', '.join(words)} {sex_adj} {noun}".strip()
            else:
                head = f"{', '.join(words)} {noun}".strip()
            tail = f" {verb[0]}{adv_text}" if (advs or own_verb) else ""
            text = f"{_with_article(head)}{tail}."
        elif shape == "possessive":
            head = f"{adj_text} {noun}".strip()
            tail = f" {verb[0]}{adv_text}" if (advs or own_verb) else ""
            text = f"{subject}'s {head}{tail}."
        elif shape == "subject_who":
            text = f"{subject} who {verb[1]}{adv_text}{in_voice}."
        elif shape == "this_is":
            text = f"This is {subject} {verb[0]}{adv_text}{in_voice}."
        elif shape == "listen_to":
            if adjs:
                tail = f", {verb[0]}{adv_text}" if advs else ""
                text = f"Listen to {subject} with {voice_np}{tail}."
            else:
                text = f"Listen to {subject} {verb[0]}{adv_text}."
        elif shape == "voice_of":
            head = f"the {adj_text} {noun}" if adjs else f"the {noun}"
            tail = f" {verb[0]}{adv_text}" if advs else ""
            text = f"{head} of {subject}{tail}."
        elif shape == "recording":
            text = (
                f"A recording in which {subject} {verb[1]}{adv_text}{in_voice}."
            )
        elif shape == "you_can_hear":
            text = f"You can hear {subject} {verb[0]}{adv_text}{in_voice}."
        elif shape == "here":
            text = f"Here, {subject} {verb[1]}{adv_text}{in_voice}."
        else:  # pragma: no cover
            raise AssertionError(shape)
        return tidy_sentence(text)


_DESCRIBERS = {}


def _describer(bank):
    if bank not in _DESCRIBERS:
        _DESCRIBERS[bank] = StyleDescriber(bank)
    return _DESCRIBERS[bank]


def class_prompts(factor, value, bank="train"):
    """Descriptions that mention only ``factor`` = ``value``.

    Arguments
    ---------
    factor : str
        A key of ``STYLE_FACTORS``.
    value : str
        One of its values.
    bank : str
        "train" or "heldout".

    Returns
    -------
    list of str

    Example
    -------
    >>> prompts = class_prompts("phonation", "whispered")
    >>> "Someone whispering." in prompts, len(prompts) >= 10
    (True, True)
    """
    return _describer(bank).class_prompts(factor, value)


def combo_prompts(factors, n, rng=None, bank="train"):
    """``n`` descriptions mentioning exactly all the given factors.

    Arguments
    ---------
    factors : dict
        {factor: value}.
    n : int
        Number of descriptions.
    rng : numpy.random.Generator or random.Random, optional
        Source of randomness.
    bank : str
        "train" or "heldout".

    Returns
    -------
    list of str

    Example
    -------
    >>> import numpy as np
    >>> texts = combo_prompts({"sex": "female", "phonation": "whispered"}, 3,
    ...     np.random.default_rng(1), bank="heldout")
    >>> len(set(texts))
    3
    """
    return _describer(bank).combo_prompts(factors, n, rng)
