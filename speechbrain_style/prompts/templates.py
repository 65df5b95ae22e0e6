"""Prompts for bare labels: templates, and the model's description bank.

Zero-shot classification (``StyleRetriever.classify``, the evaluation of
metadata fields) turns a bare label such as "happy" or "high pitch" into a
prompt ensemble: the label in every template ("A happy voice.", "Someone
speaking in a happy manner."), with the indefinite article agreeing
(``speechbrain_style.prompts.bank.PromptBank``), or the descriptions of a
model's bank that mention it.

Authors
 * speechbrain-style contributors 2026
"""

import re

from speechbrain_style.prompts.bank import PromptBank

MAX_LABEL_WORDS = 3
"""A candidate of at most this many words, without final punctuation, is a
bare label (expanded through prompt templates); anything longer is used as
a description verbatim."""


def is_bare_label(text):
    """Whether a candidate is a bare label rather than a description.

    Arguments
    ---------
    text : str
        The candidate.

    Returns
    -------
    bool
        True for at most ``MAX_LABEL_WORDS`` words without final
        punctuation.

    Example
    -------
    >>> is_bare_label("happy"), is_bare_label("high pitch")
    (True, True)
    >>> is_bare_label("Someone whispering."), is_bare_label("a b c d")
    (False, False)
    """
    text = text.strip()
    return len(text.split()) <= MAX_LABEL_WORDS and text[-1:] not in ".!?"


def fill_templates(templates, label):
    """Prompts of a bare label: every template filled, a/an agreeing.

    Arguments
    ---------
    templates : list of str
        Each with one ``{}``, ``{label}`` or ``{style}``.
    label : str
        The label.

    Returns
    -------
    list of str
        Distinct prompts, in template order.

    Example
    -------
    >>> fill_templates(["A {} voice.", "Someone who sounds {label}."], "angry")
    ['An angry voice.', 'Someone who sounds angry.']
    """
    if isinstance(templates, str):
        templates = [templates]
    normalised = []
    for template in templates:
        template = template.replace("{label}", "{style}").replace(
            "{}", "{style}"
        )
        if "{style}" not in template:
            raise ValueError(
                f"Prompt template {template!r} has no {{}} / {{label}} slot"
            )
        normalised.append(template)
    bank = PromptBank(normalised, {label: [label]}, phrase_templates=normalised)
    return bank.prompts(label)


def bank_prompts(bank, label):
    """The descriptions of a bank that mention ``label`` (whole words).

    Arguments
    ---------
    bank : list of str
        Descriptions.
    label : str
        A bare label.

    Returns
    -------
    list of str

    Example
    -------
    >>> bank_prompts(["A man whispering.", "A woman shouting."], "whispering")
    ['A man whispering.']
    """
    pattern = re.compile(rf"\b{re.escape(label.lower())}\b")
    return [text for text in bank if pattern.search(text.lower())]


def default_templates():
    """The package's default style templates.

    The adjective templates of the emotion/style prompt bank
    (``speechbrain_style.prompts.emotion.TEMPLATES``: "A {style} voice.",
    "Someone speaking in a {style} manner.", ...).

    Returns
    -------
    list of str

    Example
    -------
    >>> fill_templates(default_templates(), "sad")[0]
    'A sad voice.'
    """
    from speechbrain_style.prompts.emotion import TEMPLATES

    return list(TEMPLATES)
