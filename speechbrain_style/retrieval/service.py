"""A search page over a style index: ``speechbrain-style serve``.

One process holds the model (for text queries) and the index, and answers
HTTP on ``127.0.0.1`` by default, with the standard library's
``http.server.ThreadingHTTPServer`` (no web framework, no internet: the
page's JavaScript and CSS are inline)::

    speechbrain-style serve --model results/.../inference --index my_index
    # Serving 1234 items on http://127.0.0.1:8000/ (Ctrl+C to stop)

Routes:

* ``GET /``: the search page (a text box; the top-k results with their
  scores, metadata and an audio player each);
* ``GET|POST /api/search?q=...&k=10[&filter=field:value ...][&fusion=N]``:
  JSON ``{"query", "k", "filters", "fusion", "results": [{"rank", "id",
  "score", "metadata", "audio_url"}]}``. POST takes the same fields as a
  form or as a JSON object (``filter`` may then be a ``{field: value}``
  dict). Filters (``sex:female``, ``sex=female``, ``duration>=2``, ...)
  have the syntax and the typed matching of ``speechbrain-style search
  --filter`` (one module: :mod:`speechbrain_style.retrieval.filters`), so both
  give
  the same items;
* ``GET /api/info``: number of items, model fingerprint and the metadata
  fields that can be filtered on, with their values;
* ``GET /audio/<row>``: the audio of the index's row ``row`` as
  ``audio/wav``, with HTTP Range support (seeking). Only items of the
  index are served, addressed by their row number, never by a path. A WAV
  file is streamed as it is; an item with ``start``/``stop`` metadata
  (seconds) is cut, and other formats are decoded, then encoded as 16-bit
  WAV with soundfile.

Errors are JSON ``{"error": message, "status": code}``: 400 for an empty
query, a bad ``k``/filter/fusion or malformed body, 413 for a query longer
than ``MAX_QUERY_CHARS`` or a body over ``MAX_BODY_BYTES``, 404 for unknown
paths or rows, 405 for a method a route does not take, 416 for an
unsatisfiable range.

The page has no authentication: keep the default loopback host unless the
network in front of it is trusted.

Authors
 * speechbrain-style contributors 2026
"""

import base64
import hashlib
import io
import json
import os
import re
import socket
import threading
from collections import OrderedDict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from speechbrain.utils.logger import get_logger

from speechbrain_style.retrieval.filters import FilterError
from speechbrain_style.retrieval.filters import parse_filters as _parse_filters

logger = get_logger(__name__)

MAX_QUERY_CHARS = 1000
"""Longest description a query may have (the CLI and the page)."""

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_K = 10
MAX_K = 100
MAX_FUSION = 1000
MAX_BODY_BYTES = 64 * 1024
MAX_DRAIN_BYTES = 1024 * 1024
MAX_FILTERS = 32
STREAM_BLOCK = 64 * 1024
AUDIO_CACHE_SIZE = 8
MAX_FILTER_VALUES = 30


class RequestError(ValueError):
    """A bad request, carrying the HTTP status to answer with.

    Arguments
    ---------
    status : int
        The HTTP status code (4xx, or 500 for unreadable audio).
    message : str
        What is wrong, shown to the user.

    Example
    -------
    >>> error = RequestError(400, "the query is empty")
    >>> error.status, str(error)
    (400, 'the query is empty')
    """

    def __init__(self, status, message):
        super().__init__(message)
        self.status = int(status)


class AudioBody:
    """The bytes of one ``/audio/<row>`` answer: a file or a buffer.

    Arguments
    ---------
    path : str, optional
        A WAV file streamed as it is.
    data : bytes, optional
        An encoded WAV (cut segment or transcoded file).

    Example
    -------
    >>> body = AudioBody(data=b"RIFF....WAVE")
    >>> body.size, body.read_range(4, 7)
    (12, b'....')
    """

    def __init__(self, path=None, data=None):
        if (path is None) == (data is None):
            raise ValueError("AudioBody needs exactly one of path and data")
        self.path = path
        self.data = data
        self.size = len(data) if data is not None else os.path.getsize(path)

    def iter_range(self, start, stop, block_size=STREAM_BLOCK):
        """Yields the bytes [start, stop) in blocks.

        Arguments
        ---------
        start : int
            First byte.
        stop : int
            One past the last byte.
        block_size : int
            Bytes per block.

        Yields
        ------
        bytes
        """
        if self.data is not None:
            for pos in range(start, stop, block_size):
                yield self.data[pos : min(pos + block_size, stop)]
            return
        with open(self.path, "rb") as fin:
            fin.seek(start)
            remaining = stop - start
            while remaining > 0:
                block = fin.read(min(block_size, remaining))
                if not block:
                    break
                remaining -= len(block)
                yield block

    def read_range(self, start, stop):
        """Returns the bytes [start, stop) (see ``iter_range``)."""
        return b"".join(self.iter_range(start, stop))


def parse_range(header, size):
    """Parses a single-range HTTP ``Range`` header.

    Arguments
    ---------
    header : str or None
        The header value, e.g. ``"bytes=0-99"``, ``"bytes=100-"`` or
        ``"bytes=-50"`` (the last 50 bytes).
    size : int
        Size of the resource in bytes.

    Returns
    -------
    tuple of int or None
        ``(start, stop)`` with ``stop`` exclusive, or None to send the
        whole resource (no header, another unit, several ranges or a
        malformed header, which RFC 9110 lets a server ignore).

    Raises
    ------
    RequestError
        416 if the range is well formed but starts past the end.

    Example
    -------
    >>> parse_range("bytes=0-99", 1000), parse_range("bytes=990-", 1000)
    ((0, 100), (990, 1000))
    >>> parse_range("bytes=-50", 1000), parse_range("bytes=10-5000", 1000)
    ((950, 1000), (10, 1000))
    >>> parse_range(None, 1000) is None, parse_range("bytes=0-1,5-9", 1000)
    (True, None)
    >>> parse_range("bytes=1000-", 1000)
    Traceback (most recent call last):
    ...
    speechbrain_style.retrieval.service.RequestError: range bytes=1000- ...
    """
    if not header:
        return None
    match = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", header)
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:
        suffix = int(last)
        if suffix == 0:
            raise RequestError(416, f"range {header} is empty")
        return max(size - suffix, 0), size
    start = int(first)
    stop = size if not last else min(int(last) + 1, size)
    if last and int(last) < start:
        return None
    if start >= size:
        raise RequestError(
            416, f"range {header} is outside the {size} bytes of the audio"
        )
    return start, stop


def parse_filters(specs):
    """Parses the ``filter`` fields of a request (see ``filters.py``).

    Arguments
    ---------
    specs : str, list of str or dict
        ``["sex:female", "rate=slow", "duration>=2"]`` in the syntax of
        :mod:`speechbrain_style.retrieval.filters` (the one of
        ``speechbrain-style
        search --filter``); a repeated field keeps items with any of its
        values. A dict ``{field: value or [values]}`` is also accepted (the
        JSON body of a POST).

    Returns
    -------
    speechbrain_style.retrieval.filters.FilterSet
        For ``StyleIndex.search(filters=...)``.

    Raises
    ------
    RequestError
        400 for a malformed filter or too many filters.

    Example
    -------
    >>> parse_filters(["sex:female", "rate:slow", "rate=fast"]).to_json()
    ['sex=female', 'rate=slow', 'rate=fast']
    >>> parse_filters({"spk": 7}).to_json()
    ['spk=7']
    >>> parse_filters(["sex"])
    Traceback (most recent call last):
    ...
    speechbrain_style.retrieval.service.RequestError: filter 'sex' is ...
    """
    if isinstance(specs, str):
        specs = [specs]
    if not isinstance(specs, (list, tuple, dict)):
        raise RequestError(
            400, "filter must be a list of 'field:value' or a {field: value}"
        )
    try:
        filters = _parse_filters(specs)
    except FilterError as e:
        raise RequestError(400, str(e)) from e
    if len(filters) > MAX_FILTERS:
        raise RequestError(
            400, f"too many filters ({len(filters)}, at most {MAX_FILTERS})"
        )
    return filters


def _bounded_int(value, name, low, high):
    """An int in [low, high] from a request field (str or int)."""
    if isinstance(value, str):
        value = value.strip()
        if not re.fullmatch(r"[+-]?\d{1,9}", value):
            raise RequestError(400, f"{name} must be an integer, got {value!r}")
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise RequestError(400, f"{name} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise RequestError(
            400, f"{name} must be between {low} and {high}, got {value}"
        )
    return value


class StyleSearchService:
    """The search page's logic, free of HTTP: queries and audio.

    Arguments
    ---------
    encode_text : callable
        ``encode_text(list_of_str) -> (N, D)`` text embeddings in the
        index's space, e.g. ``StyleRetriever.encode_text``.
    index : speechbrain_style.index.StyleIndex
        The index searched; its ``items`` give the audio of each row.
    max_k : int
        Largest ``k`` a request may ask for.
    max_query_chars : int
        Longest query accepted (longer ones get a 413).

    Example
    -------
    >>> import soundfile as sf, torch
    >>> from speechbrain_style.retrieval.index import StyleIndex
    >>> wav = str(getfixture("tmp_path") / "a.wav")
    >>> sf.write(wav, torch.linspace(-0.5, 0.5, 1600).numpy(), 16000)
    >>> index = StyleIndex(
    ...     torch.tensor([[1.0, 0.0], [0.0, 1.0]]),
    ...     [
    ...         {"id": "a", "wav": wav, "metadata": {"sex": "female"}},
    ...         {"id": "b", "wav": wav, "metadata": {"start": 0.05}},
    ...     ],
    ... )
    >>> service = StyleSearchService(
    ...     lambda texts: torch.tensor([[0.6, 0.8]] * len(texts)), index
    ... )
    >>> answer = service.search("a woman whispering", k=2)
    >>> [(r["rank"], r["id"], round(r["score"], 2), r["audio_url"])
    ...  for r in answer["results"]]
    [(1, 'b', 0.8, '/audio/1'), (2, 'a', 0.6, '/audio/0')]
    >>> service.audio("0").path == wav, service.audio("1").data[:4]
    (True, b'RIFF')
    >>> service.search("   ")
    Traceback (most recent call last):
    ...
    speechbrain_style.retrieval.service.RequestError: the query is empty: ...
    """

    def __init__(
        self,
        encode_text,
        index,
        max_k=MAX_K,
        max_query_chars=MAX_QUERY_CHARS,
    ):
        if not callable(encode_text):
            raise TypeError("encode_text must be callable")
        items = getattr(index, "items", None)
        if not isinstance(items, list):
            raise TypeError(
                "index must be a StyleIndex (with an items list), got "
                f"{type(index).__name__}"
            )
        if max_k < 1 or max_query_chars < 1:
            raise ValueError(
                f"max_k and max_query_chars must be >= 1, got {max_k} and "
                f"{max_query_chars}"
            )
        self.encode_text = encode_text
        self.index = index
        self.max_k = int(max_k)
        self.max_query_chars = int(max_query_chars)
        self._rows = {item["id"]: row for row, item in enumerate(items)}
        self._lock = threading.Lock()
        self._audio_cache = OrderedDict()
        self._audio_lock = threading.Lock()

    @classmethod
    def from_folders(
        cls,
        model_dir,
        index_dir,
        device=None,
        index_options=None,
        precision="fp32",
        **kwargs,
    ):
        """Loads a model and an index and checks they belong together.

        Arguments
        ---------
        model_dir : str
            An inference folder (see ``speechbrain_style.inference.export``).
        index_dir : str
            An index built with that model (``speechbrain-style index``).
        device : str, optional
            ``cpu`` or ``cuda:N``; default: CUDA when available
            (``speechbrain_style.inference.resolve_device``).
        index_options : dict, optional
            More keyword arguments of ``StyleIndex.load`` (e.g. a search
            backend).
        precision : str
            Arithmetic of the query text encoder: ``"fp32"`` (default),
            ``"bf16"`` or ``"int8"`` (see
            :mod:`speechbrain_style.inference.precision`).
        **kwargs : dict
            Forwarded to the constructor (``max_k``, ``max_query_chars``).

        Returns
        -------
        StyleSearchService

        Raises
        ------
        speechbrain_style.index.StyleIndexError
            If the index was built with another model.
        """
        from speechbrain_style.inference import StyleRetriever
        from speechbrain_style.retrieval.index import StyleIndex

        model = StyleRetriever.from_hparams(
            source=model_dir, run_opts={"device": device}, precision=precision
        )
        index = StyleIndex.load(
            index_dir,
            expected_model={"fingerprint": model.fingerprint},
            **(index_options or {}),
        )
        service = cls(model.encode_text, index, **kwargs)
        service.model_fingerprint = model.fingerprint
        return service

    def check_query(self, query):
        """Returns the stripped query or raises a RequestError (400/413)."""
        if query is None:
            query = ""
        if not isinstance(query, str):
            raise RequestError(
                400, f"the query must be a string, got {type(query).__name__}"
            )
        query = query.strip()
        if not query:
            raise RequestError(
                400,
                "the query is empty: describe a speaking style, e.g. "
                "'a woman whispering slowly'",
            )
        if len(query) > self.max_query_chars:
            raise RequestError(
                413,
                f"the query has {len(query)} characters (at most "
                f"{self.max_query_chars})",
            )
        return query

    def search(self, query, k=DEFAULT_K, filters=None, fusion=None):
        """Answers one text query.

        Arguments
        ---------
        query : str
            A description of a speaking style.
        k : int or str
            Number of results, 1 to ``max_k``.
        filters : list of str or dict, optional
            ``["field:value", "field=value", "field>=2", ...]`` or
            ``{field: value}`` (see :func:`parse_filters`).
        fusion : int or str, optional
            Cross-modal fusion neighbours (``StyleIndex.search(fusion_n)``).

        Returns
        -------
        dict
            ``{"query", "k", "filters", "fusion", "results"}``; ``filters``
            lists the conditions applied (``["sex=female", ...]``), each
            result is ``{"rank", "id", "score", "metadata", "audio_url"}``.

        Raises
        ------
        RequestError
            400/413 for a bad request (see the module docstring).
        """
        query = self.check_query(query)
        k = _bounded_int(k, "k", 1, self.max_k)
        if fusion is not None and fusion != "":
            fusion = _bounded_int(fusion, "fusion", 1, MAX_FUSION)
        else:
            fusion = None
        parsed = parse_filters(filters or [])
        with self._lock:
            embedding = self.encode_text([query])
            try:
                hits = self.index.search(
                    embedding, k=k, filters=parsed or None, fusion_n=fusion
                )[0]
            except ValueError as e:  # e.g. a filter field no item has
                raise RequestError(400, str(e)) from e
        results = [
            {
                "rank": hit["rank"],
                "id": hit["id"],
                "score": float(hit["score"]),
                "metadata": hit.get("metadata", {}),
                "audio_url": f"/audio/{self._rows[hit['id']]}",
            }
            for hit in hits
        ]
        return {
            "query": query,
            "k": k,
            "filters": parsed.to_json(),
            "fusion": fusion,
            "results": results,
        }

    def info(self):
        """Describes the index for the page.

        Returns
        -------
        dict
            ``{"count", "dim", "model_fingerprint", "max_k",
            "max_query_chars", "fields"}`` where ``fields`` maps each
            metadata field with scalar values to its sorted values (at most
            ``MAX_FILTER_VALUES`` distinct ones; fields with more are left
            out).
        """
        values = {}
        for item in self.index.items:
            for field, value in item["metadata"].items():
                if field in ("start", "stop", "duration"):
                    continue
                if isinstance(value, (str, int, float, bool)):
                    values.setdefault(field, set()).add(str(value))
                else:
                    values[field] = None
        fields = {
            field: sorted(found)
            for field, found in sorted(values.items())
            if found is not None and len(found) <= MAX_FILTER_VALUES
        }
        model_info = getattr(self.index, "info", {}).get("model_info") or {}
        return {
            "count": len(self.index.items),
            "dim": int(self.index.dim),
            "model_fingerprint": model_info.get("fingerprint"),
            "max_k": self.max_k,
            "max_query_chars": self.max_query_chars,
            "fields": fields,
        }

    def audio(self, row):
        """The audio of one index row.

        Arguments
        ---------
        row : int or str
            Row number in the index (the ``<row>`` of ``/audio/<row>``).

        Returns
        -------
        AudioBody
            The WAV file itself, or a WAV encoded in memory for segments
            and other formats (the last few are cached for Range requests).

        Raises
        ------
        RequestError
            404 for a row that is not in the index or whose file is gone.
        """
        items = self.index.items
        row_text = str(row)
        if not re.fullmatch(r"\d{1,12}", row_text) or int(row_text) >= len(
            items
        ):
            raise RequestError(404, f"no audio row {row_text!r} in the index")
        row = int(row_text)
        item = items[row]
        path = os.fspath(item["wav"])
        if not os.path.isfile(path):
            logger.warning("Audio of item %r is missing: %s", item["id"], path)
            raise RequestError(
                404, f"the audio file of item {item['id']!r} is missing"
            )
        with self._audio_lock:
            if row in self._audio_cache:
                self._audio_cache.move_to_end(row)
                return self._audio_cache[row]
        body = self._load_audio(item, path)
        if body.data is not None:
            with self._audio_lock:
                self._audio_cache[row] = body
                while len(self._audio_cache) > AUDIO_CACHE_SIZE:
                    self._audio_cache.popitem(last=False)
        return body

    def _load_audio(self, item, path):
        """A WAV body for one item: the file, or a cut/transcoded copy."""
        import soundfile as sf

        metadata = item["metadata"]
        start, stop = metadata.get("start"), metadata.get("stop")
        try:
            info = sf.info(path)
            if start is None and stop is None and info.format == "WAV":
                return AudioBody(path=path)
            first = round(float(start or 0.0) * info.samplerate)
            last = (
                None if stop is None else round(float(stop) * info.samplerate)
            )
            if first < 0 or (last is not None and last <= first):
                raise ValueError(f"bad segment start={start} stop={stop}")
            signal, rate = sf.read(
                path, start=first, stop=last, dtype="float32", always_2d=True
            )
        except (RuntimeError, ValueError, TypeError) as e:  # sf.LibsndfileError
            logger.warning("Cannot read the audio of %r: %s", item["id"], e)
            raise RequestError(
                500, f"the audio of item {item['id']!r} cannot be read: {e}"
            ) from e
        buffer = io.BytesIO()
        sf.write(buffer, signal, rate, format="WAV", subtype="PCM_16")
        return AudioBody(data=buffer.getvalue())


def _sha256_source(text):
    """The CSP source that allows exactly this inline script or style."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


_PAGE_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em;
       padding: 0 1em; color: #222; }
h1 { font-size: 1.4em; }
form { display: flex; gap: .5em; flex-wrap: wrap; align-items: center; }
#query { flex: 1 1 30em; font-size: 1.1em; padding: .4em; }
#k { width: 4.5em; }
#filter { width: 16em; }
#status { margin: .8em 0; color: #555; min-height: 1.2em; }
#status.error { color: #b00020; font-weight: bold; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35em .5em; border-bottom: 1px solid #ddd;
         vertical-align: middle; }
td.score, td.rank { font-variant-numeric: tabular-nums; }
.meta span { display: inline-block; margin: 0 .6em .1em 0; }
.meta b { font-weight: 600; color: #444; }
#hint { color: #666; font-size: .9em; }
"""

_PAGE_SCRIPT = """
"use strict";
const form = document.getElementById("search-form");
const statusBox = document.getElementById("status");
const tbody = document.querySelector("#results tbody");

function setStatus(text, isError) {
  statusBox.textContent = text;
  statusBox.className = isError ? "error" : "";
}

function cell(row, className, text) {
  const td = document.createElement("td");
  td.className = className;
  if (text !== undefined) td.textContent = text;
  row.appendChild(td);
  return td;
}

function render(answer) {
  tbody.textContent = "";
  for (const hit of answer.results) {
    const row = document.createElement("tr");
    row.className = "result";
    row.dataset.id = hit.id;
    cell(row, "rank", String(hit.rank));
    cell(row, "score", hit.score.toFixed(4));
    cell(row, "id", hit.id);
    const meta = cell(row, "meta");
    for (const [key, value] of Object.entries(hit.metadata)) {
      const span = document.createElement("span");
      const name = document.createElement("b");
      name.textContent = key + ": ";
      span.appendChild(name);
      span.appendChild(document.createTextNode(
        typeof value === "object" ? JSON.stringify(value) : String(value)));
      meta.appendChild(span);
    }
    const audio = document.createElement("audio");
    audio.controls = true;
    audio.preload = "metadata";
    audio.src = hit.audio_url;
    cell(row, "audio").appendChild(audio);
    tbody.appendChild(row);
  }
  const n = answer.results.length;
  setStatus(n + " result" + (n === 1 ? "" : "s") + " for \\u201c" +
            answer.query + "\\u201d", false);
}

function paramsFromForm() {
  const params = new URLSearchParams();
  params.set("q", document.getElementById("query").value);
  params.set("k", document.getElementById("k").value);
  for (const spec of document.getElementById("filter").value.split(",")) {
    if (spec.trim()) params.append("filter", spec.trim());
  }
  return params;
}

async function search(params) {
  setStatus("Searching\\u2026", false);
  try {
    const response = await fetch("/api/search?" + params.toString());
    const answer = await response.json();
    if (!response.ok) {
      tbody.textContent = "";
      setStatus("Error " + response.status + ": " + answer.error, true);
      return;
    }
    render(answer);
  } catch (err) {
    setStatus("Error: " + err, true);
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const params = paramsFromForm();
  history.replaceState(null, "", "?" + params.toString());
  search(params);
});

fetch("/api/info").then((r) => r.json()).then((info) => {
  const fields = Object.entries(info.fields).map(
    ([name, values]) => name + " (" + values.join(", ") + ")");
  document.getElementById("hint").textContent = info.count +
    " items indexed." + (fields.length ? " Filter fields: " +
    fields.join("; ") : "");
}).catch(() => {});

const initial = new URLSearchParams(location.search);
if (initial.get("q")) {
  document.getElementById("query").value = initial.get("q");
  if (initial.get("k")) document.getElementById("k").value = initial.get("k");
  document.getElementById("filter").value =
    initial.getAll("filter").join(", ");
  search(paramsFromForm());
}
"""

_PAGE_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>speechbrain-style search</title>
<style>{style}</style>
</head>
<body>
<h1>Find speech by how it is spoken</h1>
<form id="search-form" autocomplete="off">
  <input id="query" name="q" type="search" maxlength="{max_chars}"
         placeholder="e.g. a woman whispering slowly" autofocus
         aria-label="description of a speaking style">
  <label>top <input id="k" name="k" type="number" min="1" max="{max_k}"
         value="{k}"></label>
  <input id="filter" name="filter" placeholder="sex:female, duration>=2"
         aria-label="metadata filters">
  <button id="search-button" type="submit">Search</button>
</form>
<div id="hint"></div>
<div id="status" role="status"></div>
<table id="results">
<thead><tr><th>#</th><th>score</th><th>id</th><th>metadata</th>
<th>audio</th></tr></thead>
<tbody></tbody>
</table>
<script>{script}</script>
</body>
</html>
"""

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; "
    f"script-src {_sha256_source(_PAGE_SCRIPT)}; "
    f"style-src {_sha256_source(_PAGE_STYLE)}; "
    "connect-src 'self'; media-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def render_page(max_k=MAX_K, max_query_chars=MAX_QUERY_CHARS):
    """The search page's HTML (inline script and style, no remote asset).

    Arguments
    ---------
    max_k : int
        Largest k the form offers.
    max_query_chars : int
        ``maxlength`` of the text box.

    Returns
    -------
    str

    Example
    -------
    >>> page = render_page()
    >>> 'id="query"' in page and "http" not in page.split("<script>")[0]
    True
    """
    return _PAGE_TEMPLATE.format(
        style=_PAGE_STYLE,
        script=_PAGE_SCRIPT,
        max_chars=int(max_query_chars),
        max_k=int(max_k),
        k=min(DEFAULT_K, int(max_k)),
    )


class StyleSearchHandler(BaseHTTPRequestHandler):
    """HTTP front of a :class:`StyleSearchService` (``server.service``)."""

    protocol_version = "HTTP/1.1"
    server_version = "speechbrain-style"
    timeout = 60  # seconds an idle keep-alive connection holds a thread

    # --- routing -----------------------------------------------------------
    def do_GET(self):
        """Page, JSON API and audio."""
        self._dispatch(head=False)

    def do_HEAD(self):
        """As GET, headers only."""
        self._dispatch(head=True)

    def do_POST(self):
        """``/api/search`` with a form or JSON body."""
        path = urlsplit(self.path).path
        try:
            fields = self._read_body()  # first: keep-alive needs it read
            if path != "/api/search":
                self._reject_method(path, "POST")
            answer = self.server.service.search(
                fields.get("q", fields.get("query")),
                k=fields.get("k", DEFAULT_K),
                filters=fields.get("filter", fields.get("filters")),
                fusion=fields.get("fusion"),
            )
            self._send_json(200, answer)
        except RequestError as e:
            self._send_error(e.status, str(e))
        except Exception:  # noqa: BLE001 - a 500 instead of a dropped socket
            logger.exception("POST %s failed", self.path)
            self._send_error(500, "internal error (see the server log)")

    def _dispatch(self, head):
        url = urlsplit(self.path)
        path = url.path
        try:
            if path in ("/", "/index.html"):
                service = self.server.service
                page = render_page(service.max_k, service.max_query_chars)
                self._send_bytes(
                    200,
                    page.encode("utf-8"),
                    "text/html; charset=utf-8",
                    head=head,
                    extra={"Content-Security-Policy": CONTENT_SECURITY_POLICY},
                )
            elif path == "/api/search":
                params = parse_qs(url.query, keep_blank_values=True)
                answer = self.server.service.search(
                    _last(params, "q", ""),
                    k=_last(params, "k", DEFAULT_K),
                    filters=params.get("filter", []),
                    fusion=_last(params, "fusion", None),
                )
                self._send_json(200, answer, head=head)
            elif path == "/api/info":
                self._send_json(200, self.server.service.info(), head=head)
            elif path.startswith("/audio/"):
                self._send_audio(path[len("/audio/") :], head=head)
            else:
                raise RequestError(404, f"no page at {path}")
        except RequestError as e:
            self._send_error(e.status, str(e), head=head)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:  # noqa: BLE001 - a 500 instead of a dropped socket
            logger.exception("GET %s failed", self.path)
            self._send_error(500, "internal error (see the server log)")

    def _reject_method(self, path, method):
        known = path in ("/", "/index.html", "/api/info")
        if known or path.startswith("/audio/"):
            raise RequestError(405, f"{method} is not allowed on {path}")
        raise RequestError(404, f"no page at {path}")

    # --- request body ------------------------------------------------------
    def _read_body(self):
        """The POST fields (form-encoded or JSON), size-checked."""
        length = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            raise RequestError(411, "send the body with a Content-Length")
        try:
            length = int(length or 0)
        except ValueError as e:
            self.close_connection = True
            raise RequestError(400, "bad Content-Length") from e
        if length < 0:
            self.close_connection = True
            raise RequestError(400, "bad Content-Length")
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            if length <= MAX_DRAIN_BYTES:
                # Read and drop the body: closing a socket with unread data
                # resets the connection before the client reads the 413.
                remaining = length
                while remaining > 0:
                    block = self.rfile.read(min(STREAM_BLOCK, remaining))
                    if not block:
                        break
                    remaining -= len(block)
            raise RequestError(
                413,
                f"the request body has {length} bytes (at most "
                f"{MAX_BODY_BYTES})",
            )
        raw = self.rfile.read(length) if length else b""
        content_type = self.headers.get("Content-Type", "")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise RequestError(400, "the body is not UTF-8") from e
        if content_type.split(";")[0].strip() == "application/json":
            try:
                fields = json.loads(text) if text.strip() else {}
            except ValueError as e:
                raise RequestError(400, f"the body is not JSON: {e}") from e
            if not isinstance(fields, dict):
                raise RequestError(400, "the JSON body must be an object")
            return fields
        params = parse_qs(text, keep_blank_values=True)
        fields = {key: values[-1] for key, values in params.items()}
        if "filter" in params:
            fields["filter"] = params["filter"]
        return fields

    # --- responses ---------------------------------------------------------
    def _send_bytes(self, status, body, content_type, head=False, extra=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _send_json(self, status, obj, head=False, extra=None):
        body = json.dumps(obj, ensure_ascii=False).encode("utf-8")
        self._send_bytes(
            status, body, "application/json; charset=utf-8", head, extra
        )

    def _send_error(self, status, message, head=False):
        extra = {}
        if status == 405:
            extra["Allow"] = "GET, HEAD"
        try:
            self._send_json(
                status, {"error": message, "status": status}, head, extra
            )
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _send_audio(self, row, head):
        body = self.server.service.audio(row)
        try:
            byte_range = parse_range(self.headers.get("Range"), body.size)
        except RequestError:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{body.size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if byte_range is None:
            start, stop, status = 0, body.size, 200
        else:
            (start, stop), status = byte_range, 206
        self.send_response(status)
        self.send_header("Content-Type", "audio/wav")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(stop - start))
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
        if status == 206:
            self.send_header(
                "Content-Range", f"bytes {start}-{stop - 1}/{body.size}"
            )
        self.end_headers()
        if head:
            return
        for block in body.iter_range(start, stop):
            self.wfile.write(block)

    def log_message(self, format, *args):  # noqa: A002 - base class name
        """Access log lines go to the module logger (debug level)."""
        logger.debug("%s %s", self.address_string(), format % args)


def _last(params, name, default):
    """The last value of a query-string field, or ``default``."""
    values = params.get(name)
    return values[-1] if values else default


class _IPv6Server(ThreadingHTTPServer):
    """A threading HTTP server listening on IPv6."""

    address_family = socket.AF_INET6


def make_server(service, host=DEFAULT_HOST, port=DEFAULT_PORT):
    """Binds an HTTP server for a search service (not started yet).

    Arguments
    ---------
    service : StyleSearchService
        What the server answers with.
    host : str
        Address to listen on (``127.0.0.1`` by default; ``::1`` and other
        IPv6 addresses work too).
    port : int
        TCP port; 0 picks a free one (see ``url_of``).

    Returns
    -------
    http.server.ThreadingHTTPServer
        Call ``serve_forever()`` (e.g. in a thread), then ``shutdown()``
        and ``server_close()``.

    Example
    -------
    >>> import threading, urllib.request, torch
    >>> from speechbrain_style.retrieval.index import StyleIndex
    >>> index = StyleIndex(torch.eye(2), [
    ...     {"id": "a", "wav": "a.wav"}, {"id": "b", "wav": "b.wav"}])
    >>> encode = lambda texts: torch.tensor([[0.0, 1.0]])
    >>> service = StyleSearchService(encode, index)
    >>> server = make_server(service, port=0)
    >>> thread = threading.Thread(
    ...     target=server.serve_forever, args=(0.05,), daemon=True
    ... )
    >>> thread.start()
    >>> url = url_of(server) + "api/search?q=calm&k=1"
    >>> with urllib.request.urlopen(url) as r:
    ...     [hit["id"] for hit in json.load(r)["results"]]
    ['b']
    >>> server.shutdown(); server.server_close()
    """
    if isinstance(port, bool) or not isinstance(port, int):
        raise TypeError(f"port must be an int, got {port!r}")
    if not 0 <= port <= 65535:
        raise ValueError(f"port must be in [0, 65535], got {port}")
    server_class = _IPv6Server if ":" in host else ThreadingHTTPServer
    server = server_class((host, port), StyleSearchHandler)
    server.daemon_threads = True
    server.service = service
    return server


def url_of(server):
    """The page's URL for a bound server, e.g. ``http://127.0.0.1:8000/``.

    Arguments
    ---------
    server : http.server.HTTPServer

    Returns
    -------
    str
    """
    host, port = server.server_address[:2]
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/"
