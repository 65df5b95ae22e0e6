"""Descriptions of speakers from their metadata (speaker-text retrieval).

The speaker-text retrieval protocol (Liu et al., "Speaker-Text Retrieval
via Contrastive Learning", see ``docs/protocols.md``) describes a speaker by
slot filling from the corpus metadata (gender, nationality, ...) and then
paraphrasing the structured prompt with a large language model. Offline,
this module paraphrases with a fixed bank instead:

* a speaker's slots are read from a manifest item: ``gender`` (or ``sex``;
  "m"/"male"/"f"/"female"), ``nationality`` (a country as written in
  VoxCeleb1's ``vox1_meta.csv``, e.g. "Ireland", "USA"), and when present
  ``age`` (a number -> "aged 34", a decade "30s" -> "in his 30s", a word
  such as "young" or "elderly" -> "a young man") and ``accent`` ("with a
  Scottish accent"). Other fields are ignored; missing slots are left out
  of the wording ("A man.", "An Irish speaker.");
* the nationality becomes a demonym through ``DEMONYMS`` ("Ireland" ->
  "Irish"); a country without one is described as "from <country>"
  ("the" is added where English needs it: "from the USA");
* a description is a noun phrase pattern ("a(n) <demonym> <man>") inside a
  sentence frame ("The voice of ..."); ``a(n)`` agrees with the next word
  ("An Irish male speaker."). The training bank has ``len(NOUN_PHRASES) x
  len(FRAMES)`` wordings, the held-out bank (``HELDOUT_NOUN_PHRASES`` x
  ``HELDOUT_FRAMES``) is disjoint from it: no held-out frame occurs in the
  training bank, so no held-out prompt is a training prompt;
* an optional file of externally paraphrased prompts (e.g. written by an
  LLM, as in the paper) replaces the bank for the speakers it covers:
  JSON ``{"id10001": ["prompt", ...], ...}`` or CSV ``spk_id,prompt`` rows
  (an optional ``spk_id,prompt`` header).

The embedded synthetic corpus (``speechbrain_style.corpora.stylesynth.synth``)
can be used as
a speaker corpus too ("voices as speakers"): its items have ``sex`` and an
eSpeak ``accent``, which is read as a nationality-like origin through
``ESPEAK_ACCENT_ORIGINS`` (en-us -> American, en-gb-x-rp -> British,
en-gb-scotland -> Scottish, en-us-nyc -> New York, en-029 -> Caribbean).

Tools: ``SpeakerDescriber`` (``describe`` one random description,
``prompts`` all of them for evaluation) and the SpeechBrain data pipeline
``make_speaker_description_pipeline``.

Authors
 * speechbrain-style contributors 2026
"""

import csv
import json
import os
import random
import re

import numpy as np
import speechbrain as sb
import torch
from speechbrain.utils.logger import get_logger

from speechbrain_style.prompts.bank import (
    BANKS,
    indefinite_article,
    random_index,
    tidy_sentence,
)

logger = get_logger(__name__)

# Country (as written in vox1_meta.csv, plus common aliases) -> demonym.
DEMONYMS = {
    "USA": "American",
    "United States": "American",
    "United States of America": "American",
    "US": "American",
    "UK": "British",
    "United Kingdom": "British",
    "Great Britain": "British",
    "England": "English",
    "Scotland": "Scottish",
    "Wales": "Welsh",
    "Northern Ireland": "Northern Irish",
    "Ireland": "Irish",
    "Canada": "Canadian",
    "Australia": "Australian",
    "New Zealand": "New Zealander",
    "India": "Indian",
    "Pakistan": "Pakistani",
    "Bangladesh": "Bangladeshi",
    "Sri Lanka": "Sri Lankan",
    "Nepal": "Nepalese",
    "Germany": "German",
    "Austria": "Austrian",
    "Switzerland": "Swiss",
    "Italy": "Italian",
    "France": "French",
    "Belgium": "Belgian",
    "Netherlands": "Dutch",
    "Spain": "Spanish",
    "Portugal": "Portuguese",
    "Norway": "Norwegian",
    "Sweden": "Swedish",
    "Denmark": "Danish",
    "Finland": "Finnish",
    "Iceland": "Icelandic",
    "Poland": "Polish",
    "Czech Republic": "Czech",
    "Slovakia": "Slovak",
    "Hungary": "Hungarian",
    "Romania": "Romanian",
    "Bulgaria": "Bulgarian",
    "Croatia": "Croatian",
    "Serbia": "Serbian",
    "Bosnia and Herzegovina": "Bosnian",
    "Slovenia": "Slovenian",
    "Greece": "Greek",
    "Cyprus": "Cypriot",
    "Turkey": "Turkish",
    "Russia": "Russian",
    "Ukraine": "Ukrainian",
    "Belarus": "Belarusian",
    "Lithuania": "Lithuanian",
    "Latvia": "Latvian",
    "Estonia": "Estonian",
    "Georgia": "Georgian",
    "Armenia": "Armenian",
    "Israel": "Israeli",
    "Lebanon": "Lebanese",
    "Iran": "Iranian",
    "Iraq": "Iraqi",
    "Syria": "Syrian",
    "Jordan": "Jordanian",
    "Egypt": "Egyptian",
    "Morocco": "Moroccan",
    "Algeria": "Algerian",
    "Tunisia": "Tunisian",
    "Sudan": "Sudanese",
    "Ethiopia": "Ethiopian",
    "Somalia": "Somali",
    "Kenya": "Kenyan",
    "Uganda": "Ugandan",
    "Tanzania": "Tanzanian",
    "Nigeria": "Nigerian",
    "Ghana": "Ghanaian",
    "Senegal": "Senegalese",
    "Cameroon": "Cameroonian",
    "Zimbabwe": "Zimbabwean",
    "Zambia": "Zambian",
    "South Africa": "South African",
    "Saudi Arabia": "Saudi",
    "Qatar": "Qatari",
    "Bahrain": "Bahraini",
    "Kuwait": "Kuwaiti",
    "Yemen": "Yemeni",
    "Oman": "Omani",
    "Afghanistan": "Afghan",
    "China": "Chinese",
    "Hong Kong": "Hong Kong",
    "Taiwan": "Taiwanese",
    "Japan": "Japanese",
    "South Korea": "South Korean",
    "Korea": "Korean",
    "Philippines": "Filipino",
    "Vietnam": "Vietnamese",
    "Thailand": "Thai",
    "Malaysia": "Malaysian",
    "Singapore": "Singaporean",
    "Indonesia": "Indonesian",
    "Mexico": "Mexican",
    "Guatemala": "Guatemalan",
    "Cuba": "Cuban",
    "Puerto Rico": "Puerto Rican",
    "Dominican Republic": "Dominican",
    "Haiti": "Haitian",
    "Jamaica": "Jamaican",
    "Bahamas": "Bahamian",
    "Barbados": "Barbadian",
    "Trinidad and Tobago": "Trinidadian",
    "Guyana": "Guyanese",
    "Brazil": "Brazilian",
    "Argentina": "Argentinian",
    "Chile": "Chilean",
    "Colombia": "Colombian",
    "Venezuela": "Venezuelan",
    "Peru": "Peruvian",
    "Uruguay": "Uruguayan",
    "Paraguay": "Paraguayan",
    "Ecuador": "Ecuadorian",
    "Bolivia": "Bolivian",
    "Caribbean": "Caribbean",
    "New York": "New York",
}
# Countries that take "the" after "from".
COUNTRIES_WITH_THE = frozenset(
    {
        "USA",
        "US",
        "United States",
        "United States of America",
        "UK",
        "United Kingdom",
        "Netherlands",
        "Philippines",
        "Czech Republic",
        "Dominican Republic",
        "Bahamas",
        "United Arab Emirates",
        "Caribbean",
    }
)
# eSpeak accents of ``speechbrain_style.corpora.stylesynth.synth`` -> a
# nationality-like origin
# (a key of ``DEMONYMS``).
ESPEAK_ACCENT_ORIGINS = {
    "en-us": "USA",
    "en-gb-x-rp": "UK",
    "en-gb-scotland": "Scotland",
    "en-us-nyc": "New York",
    "en-029": "Caribbean",
}
GENDER_VALUES = {
    "m": "male",
    "male": "male",
    "man": "male",
    "f": "female",
    "female": "female",
    "woman": "female",
}
UNKNOWN_VALUES = frozenset({"", "unknown", "none", "null", "nan", "n/a", "?"})
# Age words -> the adjective used before the noun.
AGE_ADJECTIVES = {
    "child": "young",
    "teen": "teenage",
    "teenager": "teenage",
    "young adult": "young",
    "middle aged": "middle-aged",
    "senior": "older",
    "old": "older",
}

# Noun phrase patterns: (with a demonym, with a country only, without an
# origin). ``a(n)`` agrees with the next word. Slots: {pre} age adjective,
# {man} man/woman/person, {gen} male/female/(empty), {dem} demonym,
# {country} country phrase, {post} trailing modifiers (age, accent).
NOUN_PHRASES = (
    (
        "a(n) {pre} {dem} {man}{post}",
        "a(n) {pre} {man} from {country}{post}",
        "a(n) {pre} {man}{post}",
    ),
    (
        "a(n) {pre} {dem} {gen} speaker{post}",
        "a(n) {pre} {gen} speaker from {country}{post}",
        "a(n) {pre} {gen} speaker{post}",
    ),
    (
        "a(n) {pre} {man} from {country}{post}",
        "a(n) {pre} {man} from {country}{post}",
        "a(n) {pre} {gen} adult{post}",
    ),
    (
        "a(n) {pre} {man} with a(n) {dem} background{post}",
        "a(n) {pre} {man} with roots in {country}{post}",
        "a(n) {pre} {man}{post}",
    ),
)
FRAMES = (
    "{np}.",
    "The voice of {np}.",
    "Speech by {np}.",
    "The person speaking is {np}.",
    "A recording of {np}.",
    "{np} is talking.",
)
HELDOUT_NOUN_PHRASES = (
    (
        "a(n) {pre} {dem}-born {man}{post}",
        "a(n) {pre} {man} born in {country}{post}",
        "a(n) {pre} {gen} individual{post}",
    ),
    (
        "a(n) {pre} {man} of {dem} origin{post}",
        "a(n) {pre} {man} who comes from {country}{post}",
        "somebody {gen}{post}",
    ),
    (
        "a(n) {pre} {gen} person from {country}{post}",
        "a(n) {pre} {gen} person from {country}{post}",
        "a(n) {pre} {gen} person{post}",
    ),
)
HELDOUT_FRAMES = (
    "Listen to {np}.",
    "Here we hear {np}.",
    "{np} can be heard in this clip.",
    "Audio of {np} saying a few words.",
)
_BANK_PARTS = {
    "train": (NOUN_PHRASES, FRAMES),
    "heldout": (HELDOUT_NOUN_PHRASES, HELDOUT_FRAMES),
}
_ARTICLE_RE = re.compile(r"\b([Aa])\(n\) +([^\s]+)")
# Demonyms that start with a "yoo" sound: "a Ukrainian", "a Uruguayan".
_YOO_DEMONYMS = ("ugand", "ukrain", "urugu")
_DECADE_RE = re.compile(r"^(\d0)'?s$")


def _rng():
    """A numpy Generator seeded from Python's ``random`` state."""
    return np.random.default_rng(random.getrandbits(63))


def _clean(value):
    """A stripped string, or None for missing / unknown values."""
    if value is None:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    text = re.sub(r"\s+", " ", str(value)).strip()
    return None if text.lower() in UNKNOWN_VALUES else text


def _lookup(table, key):
    """Case-insensitive lookup of ``key`` in a dict with str keys."""
    if key in table:
        return key
    lowered = {k.lower(): k for k in table}
    return lowered.get(key.lower())


def normalize_speaker_meta(meta):
    """The description slots of a manifest item.

    Arguments
    ---------
    meta : dict
        Speaker metadata, e.g. a VoxCeleb1 manifest item (``gender``,
        ``nationality``, ...) or a synthetic-corpus item (``sex``,
        ``accent`` = an eSpeak voice).

    Returns
    -------
    dict
        ``gender`` ("male"/"female"/None), ``nationality`` (str or None),
        ``age`` (str or None), ``accent`` (str or None), ``spk_id``.

    Example
    -------
    >>> normalize_speaker_meta({"sex": "female", "accent": "en-gb-scotland"})
    {'gender': 'female', 'nationality': 'Scotland', 'age': None, \
'accent': None, 'spk_id': None}
    """
    if not isinstance(meta, dict):
        raise TypeError(f"meta must be a dict, got {type(meta).__name__}")
    gender = _clean(meta.get("gender"))
    if gender is None:
        gender = _clean(meta.get("sex"))
    if gender is not None:
        if gender.lower() not in GENDER_VALUES:
            raise ValueError(
                f"Unknown gender {gender!r} in speaker metadata (expected one "
                f"of {sorted(GENDER_VALUES)})"
            )
        gender = GENDER_VALUES[gender.lower()]
    nationality = _clean(meta.get("nationality"))
    accent = _clean(meta.get("accent"))
    if accent is not None and accent.lower() in ESPEAK_ACCENT_ORIGINS:
        if nationality is None:
            nationality = ESPEAK_ACCENT_ORIGINS[accent.lower()]
        accent = None
    spk_id = meta.get("spk_id")
    return {
        "gender": gender,
        "nationality": nationality,
        "age": _clean(meta.get("age")),
        "accent": accent,
        "spk_id": None if spk_id is None else str(spk_id),
    }


def _age_slots(age, gender):
    """(adjective before the noun, modifier after it) for an age value."""
    if age is None:
        return "", ""
    try:
        years = float(age)
    except ValueError:
        years = None
    if years is not None:
        return "", f" aged {years:g}"
    decade = _DECADE_RE.match(age)
    if decade:
        pronoun = {"male": "his", "female": "her"}.get(gender, "their")
        return "", f" in {pronoun} {decade.group(1)}s"
    word = age.lower()
    return AGE_ADJECTIVES.get(word, word), ""


def _origin_slots(nationality):
    """(demonym or None, country phrase) for a nationality."""
    key = _lookup(DEMONYMS, nationality)
    if key is None:
        country = nationality
        the = _lookup(dict.fromkeys(COUNTRIES_WITH_THE), nationality)
        return None, f"the {country}" if the else country
    country = f"the {key}" if key in COUNTRIES_WITH_THE else key
    return DEMONYMS[key], country


def _agree_articles(text):
    def replace(match):
        """The article that agrees with the next word."""
        word = match.group(2)
        if word.lower().startswith(_YOO_DEMONYMS):
            article = "a"  # "a Ugandan" (sounds "yoo")
        else:
            article = indefinite_article(word)
        if match.group(1) == "A":
            article = article.capitalize()
        return f"{article} {match.group(2)}"

    return _ARTICLE_RE.sub(replace, text)


def bank_prompts(slots, bank="train"):
    """Every bank description of the slots of one speaker.

    Arguments
    ---------
    slots : dict
        The output of ``normalize_speaker_meta``.
    bank : str
        "train" or "heldout".

    Returns
    -------
    list of str
        Unique descriptions, noun-phrase-major.

    Example
    -------
    >>> slots = normalize_speaker_meta({"gender": "m", "nationality": "Kenya"})
    >>> bank_prompts(slots)[:3]
    ['A Kenyan man.', 'The voice of a Kenyan man.', 'Speech by a Kenyan man.']
    """
    if bank not in BANKS:
        raise ValueError(f"bank must be one of {BANKS}, got {bank!r}")
    noun_phrases, frames = _BANK_PARTS[bank]
    gender = slots["gender"]
    pre, age_post = _age_slots(slots["age"], gender)
    post = age_post
    if slots["accent"] is not None:
        accent = slots["accent"]
        if "accent" not in accent.lower():
            accent = f"{accent} accent"
        post += f" with a(n) {accent}"
    values = {
        "pre": pre,
        "man": {"male": "man", "female": "woman"}.get(gender, "person"),
        "gen": gender or "",
        "post": post,
        "dem": "",
        "country": "",
    }
    column = 2
    if slots["nationality"] is not None:
        demonym, values["country"] = _origin_slots(slots["nationality"])
        column = 1 if demonym is None else 0
        values["dem"] = demonym or ""
    prompts = {}
    for patterns in noun_phrases:
        noun_phrase = patterns[column].format(**values)
        for frame in frames:
            text = tidy_sentence(_agree_articles(frame.format(np=noun_phrase)))
            prompts.setdefault(text, None)
    return list(prompts)


def read_paraphrases(path):
    """Reads a file of paraphrased speaker prompts.

    Arguments
    ---------
    path : str
        JSON ``{spk_id: [prompt, ...]}`` (a single string is accepted as a
        one-prompt list) or CSV rows ``spk_id,prompt`` (optional header
        ``spk_id,prompt``); chosen by the extension (.json / .csv).

    Returns
    -------
    dict
        ``{spk_id: [prompt, ...]}``, prompts in file order, duplicates
        removed.

    Example
    -------
    >>> path = getfixture("tmp_path") / "p.csv"
    >>> _ = path.write_text("spk_id,prompt\\nid10001,An Irish actor.\\n")
    >>> read_paraphrases(str(path))
    {'id10001': ['An Irish actor.']}
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Paraphrases file not found: {path}")
    ext = os.path.splitext(path)[1].lower()
    pairs = []
    if ext == ".json":
        with open(path, encoding="utf-8") as fin:
            data = json.load(fin)
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a JSON object {{spk_id: [..]}}")
        for spk_id, prompts in data.items():
            if isinstance(prompts, str):
                prompts = [prompts]
            if not isinstance(prompts, list):
                raise ValueError(
                    f"{path}: prompts of speaker {spk_id!r} must be a list"
                )
            pairs.extend((spk_id, p) for p in prompts)
    elif ext == ".csv":
        with open(path, encoding="utf-8-sig", newline="") as fin:
            for number, row in enumerate(csv.reader(fin), start=1):
                if not row or not "".join(row).strip():
                    continue
                if number == 1 and [c.strip().lower() for c in row] == [
                    "spk_id",
                    "prompt",
                ]:
                    continue
                if len(row) != 2:
                    raise ValueError(
                        f"{path}: line {number} must be 'spk_id,prompt' "
                        f"(quote prompts holding commas), got {row!r}"
                    )
                pairs.append((row[0].strip(), row[1]))
    else:
        raise ValueError(f"{path}: paraphrases file must be .json or .csv")
    paraphrases = {}
    for spk_id, prompt in pairs:
        if not isinstance(prompt, str) or not prompt.strip():
            raise ValueError(
                f"{path}: empty or non-string prompt for speaker {spk_id!r}"
            )
        prompts = paraphrases.setdefault(str(spk_id), [])
        if prompt.strip() not in prompts:
            prompts.append(prompt.strip())
    logger.info(
        f"{path}: {sum(map(len, paraphrases.values()))} paraphrased prompts "
        f"of {len(paraphrases)} speakers"
    )
    return paraphrases


class SpeakerDescriber:
    """Natural-language descriptions of speakers from their metadata.

    Arguments
    ---------
    bank : str
        "train" or "heldout" (disjoint wordings).
    paraphrases_file : str, optional
        Externally paraphrased prompts (see ``read_paraphrases``); for the
        speakers it covers (by ``spk_id``) they replace the bank.

    Example
    -------
    >>> describer = SpeakerDescriber()
    >>> meta = {"spk_id": "id10001", "gender": "male", "nationality": "Ireland"}
    >>> describer.prompts(meta)[6:8]
    ['An Irish male speaker.', 'The voice of an Irish male speaker.']
    >>> describer.describe(meta, np.random.default_rng(0)) in (
    ...     describer.prompts(meta))
    True
    >>> SpeakerDescriber("heldout").prompts(
    ...     {"gender": "f", "nationality": "Canada"})[0]
    'Listen to a Canadian-born woman.'
    """

    def __init__(self, bank="train", paraphrases_file=None):
        if bank not in BANKS:
            raise ValueError(f"bank must be one of {BANKS}, got {bank!r}")
        self.bank = bank
        self.paraphrases_file = paraphrases_file
        self.paraphrases = (
            {}
            if paraphrases_file is None
            else read_paraphrases(paraphrases_file)
        )
        self._cache = {}

    def prompts(self, meta):
        """Every description of a speaker (for evaluation).

        Arguments
        ---------
        meta : dict
            Speaker metadata (see ``normalize_speaker_meta``).

        Returns
        -------
        list of str
        """
        slots = normalize_speaker_meta(meta)
        if slots["spk_id"] in self.paraphrases:
            return list(self.paraphrases[slots["spk_id"]])
        slots["spk_id"] = None
        key = tuple(sorted(slots.items()))
        if key not in self._cache:
            self._cache[key] = bank_prompts(slots, self.bank)
        return list(self._cache[key])

    def describe(self, meta, rng=None):
        """One random description of a speaker (uniform over ``prompts``).

        Arguments
        ---------
        meta : dict
            Speaker metadata.
        rng : numpy.random.Generator or random.Random, optional
            Source of randomness; default: seeded from ``random``.

        Returns
        -------
        str
        """
        prompts = self.prompts(meta)
        return prompts[
            random_index(_rng() if rng is None else rng, len(prompts))
        ]

    def __repr__(self):
        return (
            f"SpeakerDescriber(bank={self.bank!r}, "
            f"paraphrases_file={self.paraphrases_file!r})"
        )


def make_speaker_description_pipeline(
    describer, fields=("spk_id", "gender", "nationality"), speaker_index=None
):
    """Pipeline: speaker metadata fields -> a random description.

    One description is drawn per utterance every time the item is read, so
    every epoch pairs an utterance with new wordings.

    Arguments
    ---------
    describer : SpeakerDescriber
        Source of the descriptions.
    fields : sequence of str
        Manifest fields passed to the describer, e.g. ``("spk_id", "sex",
        "accent")`` for the synthetic corpus.
    speaker_index : dict, optional
        ``{spk_id: index}``; when given (``fields`` must contain
        "spk_id") the pipeline also provides ``text_labels``.

    Returns
    -------
    function
        A SpeechBrain dynamic item that takes ``fields`` and provides
        ``description`` (str) and, with ``speaker_index``,
        ``text_labels`` (``torch.LongTensor([speaker index])``: the
        label-aware losses treat same-speaker items as positives).

    Example
    -------
    >>> from speechbrain.dataio.dataset import DynamicItemDataset
    >>> pipeline = make_speaker_description_pipeline(
    ...     SpeakerDescriber(), ("spk_id", "sex", "accent"),
    ...     speaker_index={"en-us_m1": 0, "en-029_f2": 1})
    >>> data = DynamicItemDataset(
    ...     {"u1": {"spk_id": "en-029_f2", "sex": "f", "accent": "en-029"}},
    ...     [pipeline], output_keys=["description", "text_labels"])
    >>> data[0]["text_labels"]
    tensor([1])
    >>> "Caribbean" in data[0]["description"]
    True
    """
    if not isinstance(describer, SpeakerDescriber):
        raise TypeError(
            "describer must be a SpeakerDescriber, got "
            f"{type(describer).__name__}"
        )
    if isinstance(fields, str) or not fields:
        raise ValueError(
            f"fields must be a list of field names, got {fields!r}"
        )
    fields = tuple(fields)
    if speaker_index is None:

        @sb.utils.data_pipeline.takes(*fields)
        @sb.utils.data_pipeline.provides("description")
        def speaker_description_pipeline(*values):
            """Speaker metadata -> a random description of the speaker."""
            meta = dict(zip(fields, values, strict=True))
            return describer.describe(meta, _rng())

        return speaker_description_pipeline

    if "spk_id" not in fields:
        raise ValueError(
            f"fields must contain 'spk_id' when speaker_index is given, "
            f"got {fields!r}"
        )
    if not isinstance(speaker_index, dict):
        raise TypeError("speaker_index must be a dict {spk_id: index}")

    @sb.utils.data_pipeline.takes(*fields)
    @sb.utils.data_pipeline.provides("description", "text_labels")
    def speaker_label_description_pipeline(*values):
        """Speaker metadata -> a description and the speaker's label."""
        meta = dict(zip(fields, values, strict=True))
        spk_id = str(meta["spk_id"])
        if spk_id not in speaker_index:
            raise ValueError(f"Speaker {spk_id!r} is not in speaker_index")
        yield describer.describe(meta, _rng())
        yield torch.LongTensor([speaker_index[spk_id]])

    return speaker_label_description_pipeline
