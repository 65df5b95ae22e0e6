"""Metadata filters: one syntax and one typed matcher for every front end.

``speechbrain-style search --filter``, the search page and its JSON API
(``speechbrain-style serve``) and ``StyleIndex.search(filters=...)`` all
parse and match filters here, so the same filter keeps the same items
everywhere.

Syntax of one condition (spaces around the parts are ignored)::

    FIELD=VALUE   or   FIELD:VALUE     equal (typed, see below; also ==)
    FIELD!=VALUE                       not equal
    FIELD<NUMBER  FIELD<=NUMBER        numeric comparisons
    FIELD>NUMBER  FIELD>=NUMBER

Several conditions combine as follows: equality conditions on the same
field are alternatives (``sex=female`` and ``sex=male`` keep both sexes),
everything else is required (``sex=female`` and ``rate=slow``: both;
``duration>=1`` and ``duration<3``: a range; ``spk!=3`` and ``spk!=4``:
neither). An item without the field never matches a condition on it, and a
field that no item of the index has is an error (likely a typo).

Typed equality: the value is text (from a command line or a URL) and the
metadata is JSON, so a value matches

* a number when it reads as the same number (``spk=7`` matches ``7``,
  ``7.0`` and the string ``"7"``);
* a boolean when it is ``true`` or ``false``, ``null`` when it is ``null``;
* a string when it is the same text (case-sensitive); a value in double
  quotes is always text: ``spk="7"`` matches the string ``"7"`` only;
* a list when it matches one of the list's elements.

Comparisons need a number and keep items whose value is a number (or a
string that reads as one) in the range.

Python callers may also pass a ``{field: value or [values]}`` dict (the
JSON body of the search API): each value is an equality condition, typed
values (``7``, ``True``, ``None``) as their JSON text.

Authors
 * speechbrain-style contributors 2026
"""

import json
import math
import re

__all__ = [
    "Condition",
    "FilterError",
    "FilterSet",
    "parse_condition",
    "parse_filters",
]

# Longest operators first, so that ``a<=1`` is not read as ``a<`` ``=1``.
OPERATORS = ("<=", ">=", "!=", "==", "=", ":", "<", ">")
COMPARISONS = ("<", "<=", ">", ">=")
_SPEC = re.compile(r"\s*([^<>=!:]*?)\s*(<=|>=|!=|==|=|:|<|>)\s*(.*?)\s*", re.S)
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


class FilterError(ValueError):
    """A filter that cannot be parsed or names no field of the index.

    Example
    -------
    >>> isinstance(FilterError("bad filter"), ValueError)
    True
    """


def _number(text):
    """``text`` as a finite float if it reads as a number, else None."""
    if not isinstance(text, str) or not _NUMBER.fullmatch(text.strip()):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


class Condition:
    """One ``FIELD<op>VALUE`` condition on item metadata.

    Arguments
    ---------
    field : str
        The metadata field.
    op : str
        ``"="`` (``":"`` and ``"=="`` are read as ``"="``), ``"!="``,
        ``"<"``, ``"<="``, ``">"`` or ``">="``.
    value : str
        The value as text (see the module docstring for typing).

    Example
    -------
    >>> c = Condition("spk", "=", "7")
    >>> c.matches(7), c.matches(7.0), c.matches("7"), c.matches(8)
    (True, True, True, False)
    >>> Condition("spk", "=", '"7"').matches(7)
    False
    >>> Condition("duration", ">=", "2.5").matches(3), str(c)
    (True, 'spk=7')
    """

    def __init__(self, field, op, value):
        if op in (":", "=="):
            op = "="
        if op not in OPERATORS:
            raise FilterError(f"unknown filter operator {op!r}")
        self.field = field
        self.op = op
        self.value = value
        self._text = None  # the value as a string (None: no string match)
        self._number = None
        self._constant = ()  # matched JSON constants (True, False, None)
        if len(value) >= 2 and value[0] == value[-1] == '"':
            try:
                self._text = json.loads(value)
            except ValueError as e:
                raise FilterError(
                    f"filter '{self}': bad quoted value {value}: {e}"
                ) from e
        else:
            self._text = value
            self._number = _number(value)
            self._constant = {
                "true": (True,),
                "false": (False,),
                "null": (None,),
            }.get(value, ())
        if op in COMPARISONS and self._number is None:
            raise FilterError(
                f"filter '{self}': {op} compares numbers, but {value!r} is not "
                "a number"
            )

    def __str__(self):
        return f"{self.field}{self.op}{self.value}"

    def __repr__(self):
        return f"Condition({self.field!r}, {self.op!r}, {self.value!r})"

    def __eq__(self, other):
        return isinstance(other, Condition) and str(self) == str(other)

    def __hash__(self):
        return hash(str(self))

    def _equals(self, value):
        """Typed equality of the condition's value and a metadata value."""
        if isinstance(value, list):
            return any(self._equals(element) for element in value)
        if isinstance(value, bool) or value is None:
            return any(value is constant for constant in self._constant)
        if isinstance(value, (int, float)):
            return self._number is not None and value == self._number
        if isinstance(value, str):
            return self._text is not None and value == self._text
        return False

    def matches(self, value):
        """Whether a metadata value satisfies the condition.

        Arguments
        ---------
        value : object
            The item's value of ``self.field`` (JSON: str, number, bool,
            None, list or dict).

        Returns
        -------
        bool
        """
        if self.op == "=":
            return self._equals(value)
        if self.op == "!=":
            return not self._equals(value)
        if isinstance(value, bool):
            return False
        if isinstance(value, str):
            value = _number(value)
        if not isinstance(value, (int, float)):
            return False
        if self.op == "<":
            return value < self._number
        if self.op == "<=":
            return value <= self._number
        if self.op == ">":
            return value > self._number
        return value >= self._number


def parse_condition(spec):
    """Parses one ``FIELD<op>VALUE`` string.

    Arguments
    ---------
    spec : str
        E.g. ``"sex=female"``, ``"sex:female"``, ``"duration>=2.5"``.

    Returns
    -------
    Condition

    Raises
    ------
    FilterError
        If the string has no operator, an empty field or value, or a
        comparison with a value that is not a number.

    Example
    -------
    >>> parse_condition(" sex : female ")
    Condition('sex', '=', 'female')
    >>> parse_condition("duration>=2.5")
    Condition('duration', '>=', '2.5')
    >>> parse_condition("sex")
    Traceback (most recent call last):
    ...
    speechbrain_style.retrieval.filters.FilterError: filter 'sex' ...
    """
    if not isinstance(spec, str):
        raise FilterError(
            f"a filter must be a 'FIELD=VALUE' string, got {spec!r}"
        )
    match = _SPEC.fullmatch(spec)
    if match is None or not match.group(1):
        raise FilterError(
            f"filter {spec!r} is not FIELD=VALUE (also FIELD:VALUE, "
            "FIELD!=VALUE, FIELD<NUMBER, FIELD<=NUMBER, FIELD>NUMBER, "
            "FIELD>=NUMBER)"
        )
    field, op, value = match.groups()
    if not value:
        raise FilterError(
            f'filter {spec!r} has no value (write {field}{op}"" to match '
            "an empty string)"
        )
    return Condition(field, op, value)


def _value_text(field, value):
    """The filter text of a typed value of a ``{field: value}`` dict."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float)) and math.isfinite(value):
        return repr(value)
    raise FilterError(
        f"filter value of field {field!r} must be a string, number, boolean "
        f"or null, got {value!r}"
    )


class FilterSet:
    """Conditions combined as in the module docstring.

    Arguments
    ---------
    conditions : list of Condition
        The conditions (duplicates are dropped).

    Example
    -------
    >>> filters = parse_filters(["sex=female", "sex:male", "spk>=2"])
    >>> filters.matches({"sex": "male", "spk": 3})
    True
    >>> filters.matches({"sex": "male", "spk": 1})
    False
    >>> filters.to_json()
    ['sex=female', 'sex=male', 'spk>=2']
    """

    def __init__(self, conditions):
        unique = []
        for condition in conditions:
            if condition not in unique:
                unique.append(condition)
        self.conditions = unique

    def __len__(self):
        return len(self.conditions)

    def __bool__(self):
        return bool(self.conditions)

    def __repr__(self):
        return f"FilterSet({self.to_json()})"

    @property
    def fields(self):
        """The fields the conditions are on, in order of appearance."""
        return list(dict.fromkeys(c.field for c in self.conditions))

    def to_json(self):
        """The conditions as ``FIELD<op>VALUE`` strings."""
        return [str(condition) for condition in self.conditions]

    def matches(self, metadata):
        """Whether one item's metadata passes every field's conditions.

        Arguments
        ---------
        metadata : dict
            The item's metadata.

        Returns
        -------
        bool
        """
        missing = object()
        for field in self.fields:
            value = metadata.get(field, missing)
            if value is missing:
                return False
            conditions = [c for c in self.conditions if c.field == field]
            alternatives = [c for c in conditions if c.op == "="]
            if alternatives and not any(c.matches(value) for c in alternatives):
                return False
            if not all(c.matches(value) for c in conditions if c.op != "="):
                return False
        return True

    def check_fields(self, items):
        """Raises FilterError for a field that no item has.

        Arguments
        ---------
        items : list of dict
            Index records, each with a ``metadata`` dict.
        """
        known = set()
        for item in items:
            known.update(item["metadata"])
        for field in self.fields:
            if field not in known:
                raise FilterError(
                    f"filter field {field!r} is in no item's metadata; "
                    f"known fields: {sorted(known)}"
                )

    def mask(self, items):
        """Which items pass (after :meth:`check_fields`).

        Arguments
        ---------
        items : list of dict
            Index records, each with a ``metadata`` dict.

        Returns
        -------
        list of bool
            One entry per item.

        Example
        -------
        >>> items = [{"metadata": {"spk": 7}}, {"metadata": {"spk": "8"}}]
        >>> parse_filters(["spk:7"]).mask(items)
        [True, False]
        >>> parse_filters({"spk": 8}).mask(items)
        [False, True]
        """
        self.check_fields(items)
        return [self.matches(item["metadata"]) for item in items]


def parse_filters(filters):
    """Reads filters given in any of the accepted forms.

    Arguments
    ---------
    filters : None, str, list, dict or FilterSet
        A ``FIELD<op>VALUE`` string, a list of them (or of
        :class:`Condition`), a ``{field: value or [values]}`` dict of
        equality conditions, or an already parsed :class:`FilterSet`.

    Returns
    -------
    FilterSet
        Empty for None, ``[]`` or ``{}``.

    Raises
    ------
    FilterError
        For a malformed condition or value.

    Example
    -------
    >>> parse_filters({"sex": ["female", "male"], "spk": 7}).to_json()
    ['sex=female', 'sex=male', 'spk=7']
    >>> parse_filters("rate:slow").to_json()
    ['rate=slow']
    """
    if filters is None:
        return FilterSet([])
    if isinstance(filters, FilterSet):
        return filters
    if isinstance(filters, str):
        return FilterSet([parse_condition(filters)])
    if isinstance(filters, dict):
        conditions = []
        for field, values in filters.items():
            if not isinstance(field, str) or not field.strip():
                raise FilterError(f"filter field {field!r} is not a name")
            if not isinstance(values, (list, tuple, set, frozenset)):
                values = [values]
            for value in values:
                text = _value_text(field, value)
                if isinstance(value, str) and not text.strip():
                    text = '""'
                conditions.append(Condition(field.strip(), "=", text.strip()))
        return FilterSet(conditions)
    if isinstance(filters, (list, tuple)):
        return FilterSet(
            [
                spec if isinstance(spec, Condition) else parse_condition(spec)
                for spec in filters
            ]
        )
    raise FilterError(
        "filters must be 'FIELD=VALUE' strings or a {field: value} dict, got "
        f"a {type(filters).__name__}"
    )
