"""Prompt banks: templates x synonyms, and the grammar they share.

``PromptBank`` makes prompts for style *classes* (e.g. the emotions of ESD
or the styles of Expresso) from templates x synonyms, as in the expressive
speech retrieval protocol: every template is filled with every synonym of a
class (``prompts``, the evaluation prompt ensemble), training draws one
random (synonym, template) pair per utterance (``sample``). The indefinite
article before the style agrees with it ("an angry voice"), and synonyms
that are phrases rather than adjectives (starting with "spoken", "with" or
"in": "in awe", "with a smile") only go into templates where a phrase is
grammatical ("Speech that is {style}."). ``split`` makes a disjoint
held-out bank.

The helpers here (``indefinite_article``, ``tidy_sentence``,
``random_index``) are shared by every description bank of the package
(``speechbrain_style.prompts.emotion``, ``.speaker``, ``.dimensional``,
``.stylesynth``).

Authors
 * speechbrain-style contributors 2026
"""

import random
import re

import numpy as np

PHRASE_PREFIXES = ("spoken", "with", "in")
BANKS = ("train", "heldout")

# Words starting with a vowel letter but a consonant sound, and the reverse
_A_BEFORE = (
    "one",
    "once",
    "uni",
    "unanim",
    "use",
    "usu",
    "uti",
    "ura",
    "ure",
    "eu",
    "ewe",
    "ubiq",
    "ukulele",
)
_A_BEFORE_EXCEPT = ("unimp", "unint", "unins", "unimag", "unide", "uninf")
_AN_BEFORE = ("hour", "honest", "honor", "honour", "heir")


def indefinite_article(phrase):
    """The indefinite article ("a" or "an") for the phrase that follows it.

    Decided by the sound of the first word: vowel letters take "an" except
    a few "yoo"/"w" sounds ("a unique", "a one-off"); "h" takes "a" except
    a silent h ("an honest").

    Arguments
    ---------
    phrase : str
        The words following the article.

    Returns
    -------
    str
        "a" or "an".

    Example
    -------
    >>> [indefinite_article(w) for w in
    ...     ["angry", "happy", "unemotional", "unique", "honest", "sad"]]
    ['an', 'a', 'an', 'a', 'an', 'a']
    """
    word = re.sub(r"^[^a-z]+", "", phrase.strip().lower())
    if not word:
        raise ValueError(f"No word to choose an article for: {phrase!r}")
    if word.startswith(_AN_BEFORE):
        return "an"
    if word.startswith(_A_BEFORE) and not word.startswith(_A_BEFORE_EXCEPT):
        return "a"
    return "an" if word[0] in "aeiou" else "a"


def tidy_sentence(text):
    """Single spaces, no space before punctuation, capitalised."""
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r" ([,.;:!?])", r"\1", text)
    return text[:1].upper() + text[1:]


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


def as_generator(rng):
    """A numpy Generator when ``rng`` is None, else ``rng``."""
    return np.random.default_rng() if rng is None else rng


class PromptBank:
    """Prompts for style classes: templates x synonyms.

    Arguments
    ---------
    templates : list of str
        Each contains ``{style}`` once. An article right before it
        ("a {style}", "A {style}") agrees with the synonym automatically;
        ``{a}`` / ``{A}`` may also be written explicitly.
    synonyms : dict
        {class: [phrases]}, e.g. {"angry": ["angry", "furious", ...]}.
    phrase_templates : list of str
        Templates for synonyms that are phrases (see ``phrase_prefixes``):
        the i-th template of ``templates`` becomes
        ``phrase_templates[i % len(phrase_templates)]`` for them.
    phrase_prefixes : tuple of str
        First words that make a synonym a phrase.

    Example
    -------
    >>> bank = PromptBank(
    ...     ["A {style} voice.", "The speaker sounds {style}."],
    ...     {"angry": ["angry", "furious"], "awe": ["in awe", "amazed"]})
    >>> bank.prompts("angry")
    ['An angry voice.', 'The speaker sounds angry.', 'A furious voice.', \
'The speaker sounds furious.']
    >>> bank.prompts("awe")
    ['Speech that is in awe.', 'An amazed voice.', 'The speaker sounds amazed.']
    >>> bank.sample("angry", random.Random(0)) in bank.prompts("angry")
    True
    """

    def __init__(
        self,
        templates,
        synonyms,
        phrase_templates=("Speech that is {style}.",),
        phrase_prefixes=PHRASE_PREFIXES,
    ):
        self.templates = [self._check_template(t) for t in templates]
        self.phrase_templates = [
            self._check_template(t) for t in phrase_templates
        ]
        if not self.templates:
            raise ValueError("templates is empty")
        if not self.phrase_templates:
            raise ValueError("phrase_templates is empty")
        if not isinstance(synonyms, dict) or not synonyms:
            raise ValueError("synonyms must be a non-empty dict")
        self.synonyms = {}
        for cls, phrases in synonyms.items():
            if isinstance(phrases, str) or not phrases:
                raise ValueError(
                    f"synonyms['{cls}'] must be a non-empty list of phrases"
                )
            for phrase in phrases:
                if not isinstance(phrase, str) or not phrase.strip():
                    raise ValueError(f"Empty synonym for class '{cls}'")
            self.synonyms[cls] = [" ".join(p.split()) for p in phrases]
        self.phrase_prefixes = tuple(p.lower() for p in phrase_prefixes)

    @staticmethod
    def _check_template(template):
        if not isinstance(template, str):
            raise TypeError(f"Template must be a str, got {template!r}")
        if template.count("{style}") != 1:
            raise ValueError(f"Template needs one {{style}}: {template!r}")
        rest = re.sub(r"\{(style|a|A)\}", "", template)
        if "{" in rest or "}" in rest:
            raise ValueError(f"Unknown placeholder in template {template!r}")
        # "a {style}" / "An {style}" -> article placeholder
        return re.sub(
            r"\b([Aa])n? \{style\}",
            lambda m: "{A} {style}" if m.group(1) == "A" else "{a} {style}",
            template,
        )

    @property
    def classes(self):
        """The classes, in the order given."""
        return list(self.synonyms)

    def is_phrase(self, synonym):
        """Whether a synonym is a phrase (e.g. "in awe", "spoken softly")."""
        return synonym.split()[0].lower() in self.phrase_prefixes

    def fill(self, template_index, synonym):
        """The prompt of one (template, synonym) pair.

        Arguments
        ---------
        template_index : int
            Index in ``templates``.
        synonym : str
            A style phrase.

        Returns
        -------
        str
        """
        if self.is_phrase(synonym):
            template = self.phrase_templates[
                template_index % len(self.phrase_templates)
            ]
        else:
            template = self.templates[template_index]
        article = indefinite_article(synonym)
        text = (
            template.replace("{a}", article)
            .replace("{A}", article.capitalize())
            .replace("{style}", synonym)
        )
        return tidy_sentence(text)

    def _synonyms_of(self, cls):
        if cls not in self.synonyms:
            raise ValueError(
                f"Unknown class '{cls}' (expected one of {self.classes})"
            )
        return self.synonyms[cls]

    def prompts(self, cls):
        """Every distinct prompt of a class (synonyms x templates).

        Arguments
        ---------
        cls : str
            A class.

        Returns
        -------
        list of str
            In synonym-major order; phrase synonyms give fewer prompts
            when their templates coincide.
        """
        out = {}
        for synonym in self._synonyms_of(cls):
            for i in range(len(self.templates)):
                out.setdefault(self.fill(i, synonym), None)
        return list(out)

    def sample(self, cls, rng=None):
        """One prompt: a uniform synonym in a uniform template.

        Arguments
        ---------
        cls : str
            A class.
        rng : numpy.random.Generator or random.Random, optional
            Source of randomness.

        Returns
        -------
        str
        """
        synonyms = self._synonyms_of(cls)
        rng = as_generator(rng)
        synonym = synonyms[random_index(rng, len(synonyms))]
        return self.fill(random_index(rng, len(self.templates)), synonym)

    def split(self, num_heldout_templates, num_heldout_synonyms, seed=0):
        """Splits into a training and a disjoint held-out bank.

        The held-out bank gets ``num_heldout_templates`` of the templates
        and ``num_heldout_synonyms`` synonyms of every class (seeded
        choice); the training bank keeps the rest. Phrase templates are
        shared, but no synonym is.

        Arguments
        ---------
        num_heldout_templates : int
            Templates of the held-out bank.
        num_heldout_synonyms : int
            Synonyms per class of the held-out bank.
        seed : int
            Seed of the choice.

        Returns
        -------
        train : PromptBank
        heldout : PromptBank

        Example
        -------
        >>> bank = PromptBank(["A {style} voice.", "It sounds {style}.",
        ...     "Speech, {style}."], {"sad": ["sad", "gloomy", "glum"]})
        >>> train, heldout = bank.split(1, 1)
        >>> set(train.prompts("sad")) & set(heldout.prompts("sad"))
        set()
        """
        rng = np.random.default_rng(seed)
        n_t = len(self.templates)
        if not 0 < num_heldout_templates < n_t:
            raise ValueError(
                f"num_heldout_templates must be in [1, {n_t - 1}], got "
                f"{num_heldout_templates}"
            )
        held_t = set(rng.permutation(n_t)[:num_heldout_templates].tolist())
        train_syn, held_syn = {}, {}
        for cls, phrases in self.synonyms.items():
            if not 0 < num_heldout_synonyms < len(phrases):
                raise ValueError(
                    f"Class '{cls}' has {len(phrases)} synonyms: cannot hold "
                    f"out {num_heldout_synonyms}"
                )
            held = set(
                rng.permutation(len(phrases))[:num_heldout_synonyms].tolist()
            )
            train_syn[cls] = [p for i, p in enumerate(phrases) if i not in held]
            held_syn[cls] = [p for i, p in enumerate(phrases) if i in held]
        banks = []
        for keep, synonyms in ((False, train_syn), (True, held_syn)):
            templates = [
                t for i, t in enumerate(self.templates) if (i in held_t) == keep
            ]
            banks.append(
                PromptBank(
                    templates,
                    synonyms,
                    self.phrase_templates,
                    self.phrase_prefixes,
                )
            )
        return banks[0], banks[1]

    def __repr__(self):
        return (
            f"PromptBank({len(self.templates)} templates, "
            f"{len(self.synonyms)} classes)"
        )


###############################################################################
# Descriptions of the synthesised speaking-style factors
