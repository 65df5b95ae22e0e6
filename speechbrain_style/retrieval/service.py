"""The search page's logic, free of HTTP: ``speechbrain-style serve``.

:class:`StyleSearchService` answers text queries over a style index, checks
them (empty, too long, bad ``k``/filter/fusion) and finds the audio of an
index row. It knows nothing of HTTP: the web app in
:mod:`speechbrain_style.retrieval.webapp` (FastAPI on uvicorn, the optional
``serve`` extra) puts it on the network::

    speechbrain-style serve --model results/.../inference --index my_index
    # Serving 1234 items on http://127.0.0.1:8000/ (Ctrl+C to stop)

What the service answers, and so the JSON API:

* a search (``GET|POST /api/search?q=...&k=10[&filter=field:value ...]
  [&fusion=N]``) gives ``{"query", "k", "filters", "fusion", "results":
  [{"rank", "id", "score", "metadata", "audio_url"}]}``. Filters
  (``sex:female``, ``sex=female``, ``duration>=2``, ...) have the syntax
  and the typed matching of ``speechbrain-style search --filter`` (one
  module: :mod:`speechbrain_style.retrieval.filters`), so both give the same
  items;
* ``info`` (``GET /api/info``): number of items, model fingerprint and the
  metadata fields that can be filtered on, with their values;
* ``audio`` (``GET /audio/<row>``): a WAV file for the index's row ``row``;
  only items of the index are served, addressed by their row number, never
  by a path. A WAV file is served as it is; an item with ``start``/``stop``
  metadata (seconds) is cut, and other formats are decoded, then encoded as
  16-bit WAV with soundfile, block by block, into a bounded on-disk cache
  (:class:`WavCache`, least recently used files dropped first).

A bad request raises :class:`RequestError` with its HTTP status: 400 for an
empty query, a bad ``k``/filter/fusion, 413 for a query longer than
``MAX_QUERY_CHARS``, 404 for an unknown row or a missing file, 500 for
unreadable audio.

Authors
 * speechbrain-style contributors 2026
"""

import hashlib
import os
import re
import tempfile
import threading
from collections import OrderedDict

from speechbrain.utils.logger import get_logger

from speechbrain_style.dataio.files import atomic_output
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
"""Largest POST body of ``/api/search`` (the web app answers 413 past it)."""
MAX_FILTERS = 32
MAX_FILTER_VALUES = 30
AUDIO_CACHE_FILES = 32
AUDIO_CACHE_BYTES = 512 * 1024 * 1024
TRANSCODE_BLOCK_FRAMES = 1 << 16


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


class WavCache:
    """A bounded folder of WAV files made on demand (cut or transcoded).

    Each file is written once under a key, then served from disk (so HTTP
    Range requests read it like any file); past ``max_files`` files or
    ``max_bytes`` bytes, the least recently used ones are deleted (the one
    just made is always kept). A file deleted while it is being sent stays
    readable until closed (POSIX).

    Arguments
    ---------
    folder : str, optional
        Where the files go; by default a temporary folder made on first
        use, removed by ``close()`` or at exit.
    max_files : int
        Most files kept.
    max_bytes : int
        Most bytes kept.

    Example
    -------
    >>> cache = WavCache(max_files=2)
    >>> def make(text):
    ...     return lambda path: open(path, "w").write(text)
    >>> first = cache.get("a", make("1"))
    >>> open(first).read(), cache.get("a", make("changed")) == first
    ('1', True)
    >>> _ = cache.get("b", make("2")), cache.get("c", make("3"))
    >>> os.path.exists(first), len(cache)
    (False, 2)
    >>> cache.close()
    """

    def __init__(
        self,
        folder=None,
        max_files=AUDIO_CACHE_FILES,
        max_bytes=AUDIO_CACHE_BYTES,
    ):
        if max_files < 1 or max_bytes < 1:
            raise ValueError(
                f"max_files and max_bytes must be >= 1, got {max_files} and "
                f"{max_bytes}"
            )
        self._folder = None if folder is None else os.fspath(folder)
        self._temporary = None
        self.max_files = int(max_files)
        self.max_bytes = int(max_bytes)
        self._files = OrderedDict()  # key -> (path, size)
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self):
        return len(self._files)

    @property
    def folder(self):
        """The folder of the files, made on first use."""
        with self._lock:
            if self._folder is None:
                self._temporary = tempfile.TemporaryDirectory(
                    prefix="speechbrain-style-audio-"
                )
                self._folder = self._temporary.name
            os.makedirs(self._folder, exist_ok=True)
            return self._folder

    def get(self, key, make):
        """The path of the file of ``key``, made by ``make(path)`` if needed.

        Arguments
        ---------
        key : hashable
            What the file holds (e.g. the row and the source file's stat).
        make : callable
            ``make(path)`` writes the file at ``path``; it runs outside the
            lock (two requests for a new key may both make it: the last one
            written replaces the other atomically).

        Returns
        -------
        str
        """
        with self._lock:
            if key in self._files:
                self._files.move_to_end(key)
                path = self._files[key][0]
                if os.path.isfile(path):
                    return path
                self._drop(key)
        folder = self.folder
        name = hashlib.sha256(repr(key).encode("utf-8")).hexdigest()[:32]
        path = os.path.join(folder, name + ".wav")
        with atomic_output(path, suffix=".part") as partial:
            make(partial)
        size = os.path.getsize(path)
        with self._lock:
            if key in self._files:
                self._bytes -= self._files.pop(key)[1]
            self._files[key] = (path, size)
            self._bytes += size
            while len(self._files) > 1 and (
                len(self._files) > self.max_files
                or self._bytes > self.max_bytes
            ):
                self._drop(next(iter(self._files)))
        return path

    def _drop(self, key):
        """Forgets ``key`` and deletes its file (lock held)."""
        path, size = self._files.pop(key)
        self._bytes -= size
        try:
            os.remove(path)
        except FileNotFoundError:
            pass

    def close(self):
        """Deletes the files (and the folder, if it was made here)."""
        with self._lock:
            while self._files:
                self._drop(next(iter(self._files)))
            if self._temporary is not None:
                self._temporary.cleanup()
                self._temporary = self._folder = None


def write_wav(source, path, first=0, last=None):
    """Writes frames [first, last) of an audio file as a 16-bit WAV.

    Read and written in blocks of ``TRANSCODE_BLOCK_FRAMES`` frames, so a
    long file costs little memory. Any format libsndfile reads.

    Arguments
    ---------
    source : str
        The audio file.
    path : str
        The WAV written (same rate and channels).
    first : int
        First frame.
    last : int, optional
        One past the last frame (default: the end of the file).

    Example
    -------
    >>> import soundfile as sf, numpy as np
    >>> folder = getfixture("tmp_path")
    >>> sf.write(folder / "a.flac", np.zeros((800, 2)), 8000)
    >>> write_wav(str(folder / "a.flac"), str(folder / "a.wav"), 100, 300)
    >>> info = sf.info(str(folder / "a.wav"))
    >>> info.format, info.subtype, info.frames, info.channels
    ('WAV', 'PCM_16', 200, 2)
    """
    import soundfile as sf

    with sf.SoundFile(source) as fin:
        stop = fin.frames if last is None else min(int(last), fin.frames)
        first = min(int(first), stop)
        if first:
            fin.seek(first)
        remaining = stop - first
        with sf.SoundFile(
            path,
            "w",
            samplerate=fin.samplerate,
            channels=fin.channels,
            format="WAV",
            subtype="PCM_16",
        ) as fout:
            while remaining > 0:
                block = fin.read(
                    min(TRANSCODE_BLOCK_FRAMES, remaining),
                    dtype="float32",
                    always_2d=True,
                )
                if not len(block):
                    break
                fout.write(block)
                remaining -= len(block)


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
    audio_cache : WavCache, optional
        Where cut and transcoded audio goes (default: a new ``WavCache``
        in a temporary folder; ``close()`` deletes it).

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
    >>> service.audio("0") == wav, open(service.audio("1"), "rb").read(4)
    (True, b'RIFF')
    >>> service.search("   ")
    Traceback (most recent call last):
    ...
    speechbrain_style.retrieval.service.RequestError: the query is empty: ...
    >>> service.close()
    """

    def __init__(
        self,
        encode_text,
        index,
        max_k=MAX_K,
        max_query_chars=MAX_QUERY_CHARS,
        audio_cache=None,
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
        self.audio_cache = (
            audio_cache if audio_cache is not None else WavCache()
        )

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
        str
            The path of a WAV file: the item's own file, or for a segment
            and another format a 16-bit WAV cut or transcoded into
            ``audio_cache`` (made once, then reused).

        Raises
        ------
        RequestError
            404 for a row that is not in the index or whose file is gone,
            500 for audio that cannot be read or a bad segment.
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
        metadata = item["metadata"]
        start, stop = metadata.get("start"), metadata.get("stop")
        try:
            import soundfile as sf

            info = sf.info(path)
            if start is None and stop is None and info.format == "WAV":
                return path
            first = round(float(start or 0.0) * info.samplerate)
            last = (
                None if stop is None else round(float(stop) * info.samplerate)
            )
            if first < 0 or (last is not None and last <= first):
                raise ValueError(f"bad segment start={start} stop={stop}")
            stat = os.stat(path)
            key = (row, path, stat.st_mtime_ns, stat.st_size, first, last)
            return self.audio_cache.get(
                key, lambda out: write_wav(path, out, first, last)
            )
        except (RuntimeError, ValueError, TypeError) as e:  # sf.LibsndfileError
            logger.warning("Cannot read the audio of %r: %s", item["id"], e)
            raise RequestError(
                500, f"the audio of item {item['id']!r} cannot be read: {e}"
            ) from e

    def close(self):
        """Deletes the cut and transcoded audio files (``audio_cache``)."""
        self.audio_cache.close()
