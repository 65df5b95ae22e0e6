"""A cached speech-embedding index searched with text-query embeddings.

:func:`build_index` encodes a collection of audio files once with a speech
encoder and stores the L2-normalised embeddings on disk together with the
item ids, paths and metadata, and a description of the model that made them.
:class:`StyleIndex` loads such an index (verifying checksums, dimension and
model) and answers queries, typically text embeddings projected into the
shared speech-text space, with a search backend of
:mod:`speechbrain_style.retrieval.backends` (exact by default; faiss flat, IVF
or HNSW).

On-disk layout of an index directory:

* ``embeddings.npy``: float32 (or float16 with ``fp16=True``) array (N, D),
  rows in the original item order;
* ``items.json``: list of ``{"id", "wav", "metadata"}`` records, same order;
* ``index.json``: format version, dim, count, dtype, sample rate, model info,
  sha256 of the two files above, creation time, the skipped items and how
  the index was built (``build``: the sha256 of the build plan, shard size,
  batching and the inference ``precision``);
* ``ann/`` (optional): faiss IVF/HNSW indexes cached by
  :meth:`StyleIndex.load` with those backends, each ``.faiss`` file with a
  ``.json`` sidecar naming the ``embeddings.npy`` sha256 it was built from
  (see :mod:`speechbrain_style.retrieval.backends`); deleting the folder is
  safe.

Building is sharded and resumable. Items are sorted by duration (longest
first), cut into shards of ``shard_size`` consecutive items (so each shard
holds items of similar length) and each shard into batches. While building,
``shards/plan.json`` describes the plan and each finished shard ``i`` is
``shards/shard-{i:05d}.npy`` (its embeddings) plus
``shards/shard-{i:05d}.json`` (its rows, skipped items and the sha256 of the
``.npy``), written in that order, each atomically (temporary file +
``os.replace``): a shard is finished exactly when its ``.json`` exists, and
a half-written shard is never read. Rerunning the same build (same items,
model description and options: the plan's sha256) reuses the finished
shards and encodes only the others; since batches are fixed by the plan, the
result is bitwise identical to an uninterrupted run. Under ``torchrun``
(``RANK``/``WORLD_SIZE`` set; a gloo process group is created if none
exists) rank r encodes shards r, r + W, r + 2W, ...; rank 0 merges all
shards into the three index files after a barrier, so the same call scales
from one process to many machines sharing the output folder.
``index.json`` is written last: an interrupted build never leaves an index
that loads with mismatched parts.

Format versions: version 2 adds float16 storage and the ``build`` record;
version 1 indexes (float32, no ``build``) still load.

Authors
 * speechbrain-style contributors
"""

import datetime
import hashlib
import json
import numbers
import os
import shutil

import numpy as np
import torch
from speechbrain.utils.logger import get_logger

from speechbrain_style.dataio.audio import (
    DEFAULT_SILENCE_THRESHOLD,
    AudioError,
    get_duration,
    load_audio,
    load_audio_segment,
    pad_signals,
)
from speechbrain_style.dataio.files import (
    atomic_write,
    file_sha256,
    write_json,
)
from speechbrain_style.dataio.windows import (
    DEFAULT_WINDOWS_PER_BATCH,
    embed_file_in_windows,
)
from speechbrain_style.inference.precision import (
    check_precision,
    precision_context,
)
from speechbrain_style.retrieval.backends import (
    CACHED_KINDS,
    ExactSearch,
    make_backend,
)
from speechbrain_style.retrieval.filters import parse_filters

__all__ = [
    "ExactSearch",
    "ModelMismatchError",
    "StyleIndex",
    "StyleIndexError",
    "build_index",
    "file_sha256",
    "index_progress",
    "module_fingerprint",
]

logger = get_logger(__name__)

INDEX_FORMAT_VERSION = 2
READABLE_FORMAT_VERSIONS = (1, 2)
EMBEDDINGS_FILE = "embeddings.npy"
ANN_CACHE_DIR = "ann"
ITEMS_FILE = "items.json"
INFO_FILE = "index.json"
SHARDS_DIR = "shards"
PLAN_FILE = "plan.json"
STORAGE_DTYPES = {"float32": np.float32, "float16": np.float16}
NORM_TOLERANCE = 1e-3


class StyleIndexError(ValueError):
    """An index on disk that is corrupt, incomplete or does not match."""


class EncoderError(ValueError):
    """The encoder raised on a batch (e.g. audio too short for it).

    Arguments
    ---------
    message : str
        The error message; it names the items.
    reason : str
        Recorded with skipped items (``"encoder-error"``).

    Example
    -------
    >>> EncoderError("x", reason="encoder-error").reason
    'encoder-error'
    """

    def __init__(self, message, reason="encoder-error"):
        super().__init__(message)
        self.reason = reason


class ModelMismatchError(StyleIndexError):
    """An index built with another model than the one given.

    Arguments
    ---------
    message : str
        The error message (it names both models).
    index_dir : str
        The index.
    expected : dict
        The model description the caller expected.
    model_info : dict
        The one recorded in the index.

    Example
    -------
    >>> error = ModelMismatchError("m", "idx", {"fingerprint": "a"}, {})
    >>> isinstance(error, StyleIndexError), error.expected["fingerprint"]
    (True, 'a')
    """

    def __init__(self, message, index_dir, expected, model_info):
        super().__init__(message)
        self.index_dir = index_dir
        self.expected = expected
        self.model_info = model_info


def module_fingerprint(module):
    """Returns a sha256 fingerprint of a module's state dict.

    Names, shapes, dtypes and values of every parameter and buffer enter the
    hash, so two modules share a fingerprint only if they compute the same
    function. Store it in ``model_info`` when building an index and pass it
    as ``expected_model`` when loading.

    Arguments
    ---------
    module : torch.nn.Module
        The model (e.g. the speech encoder and its projection head).

    Returns
    -------
    str
        The hex digest.

    Example
    -------
    >>> torch.manual_seed(0)
    <torch._C.Generator object at ...>
    >>> a, b = torch.nn.Linear(4, 2), torch.nn.Linear(4, 2)
    >>> module_fingerprint(a) == module_fingerprint(a)
    True
    >>> module_fingerprint(a) == module_fingerprint(b)
    False
    """
    digest = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f"{name}|{tuple(tensor.shape)}|{tensor.dtype}".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _check_embedding_matrix(embeddings):
    """Raises ValueError unless ``embeddings`` is a 2-D (N, D) tensor."""
    if embeddings.dim() != 2:
        raise ValueError(
            f"embeddings must be (N, D), got shape {tuple(embeddings.shape)}"
        )


class StyleIndex:
    """Speech embeddings with their items, searchable by cosine similarity.

    Usually obtained from :func:`build_index` or :meth:`StyleIndex.load`.

    Arguments
    ---------
    embeddings : torch.Tensor or numpy.ndarray
        L2-normalised item embeddings (N, D).
    items : list of dict
        One ``{"id", "wav", "metadata"}`` record per row, same order.
    info : dict, optional
        The index description (contents of ``index.json``).
    backend : object or str, optional
        Search backend with ``search(queries, k, mask=None)``, or the name
        of one (``"exact"``, ``"faiss-flat"``, ``"ivf"``, ``"hnsw"``, see
        :func:`speechbrain_style.search.make_backend`); by default an
        :class:`ExactSearch` over the embeddings.
    chunk_size : int, optional
        Rows scored at a time by the default backend (default: adaptive).
    backend_options : dict, optional
        Keyword arguments of the backend named by ``backend``, e.g.
        ``{"nprobe": 32}``.

    Example
    -------
    >>> emb = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    >>> items = [
    ...     {"id": "a", "wav": "a.wav", "metadata": {"style": "happy"}},
    ...     {"id": "b", "wav": "b.wav", "metadata": {"style": "sad"}},
    ...     {"id": "c", "wav": "c.wav", "metadata": {"style": "sad"}},
    ... ]
    >>> index = StyleIndex(emb, items)
    >>> hits = index.search(torch.tensor([1.0, 0.0]), k=2)[0]
    >>> [(hit["id"], hit["rank"], round(hit["score"], 2)) for hit in hits]
    [('a', 1, 1.0), ('c', 2, 0.6)]
    >>> hits = index.search([[1.0, 0.0]], k=2, filters={"style": "sad"})[0]
    >>> [hit["id"] for hit in hits]
    ['c', 'b']
    """

    def __init__(
        self,
        embeddings,
        items,
        info=None,
        backend=None,
        chunk_size=None,
        backend_options=None,
    ):
        embeddings = torch.as_tensor(embeddings)
        if embeddings.dtype != torch.float16:
            # float16 storage stays float16 (half the memory); the rest is
            # searched as float32.
            embeddings = embeddings.float()
        _check_embedding_matrix(embeddings)
        if len(items) != embeddings.shape[0]:
            raise ValueError(
                f"{len(items)} items for {embeddings.shape[0]} embedding rows"
            )
        records = []
        for row, item in enumerate(items):
            if (
                not isinstance(item, dict)
                or "id" not in item
                or "wav" not in item
            ):
                raise ValueError(
                    f"Item record {row} must be a dict with 'id' and 'wav', "
                    f"got {item!r}"
                )
            records.append(
                {
                    "id": item["id"],
                    "wav": item["wav"],
                    "metadata": dict(item.get("metadata") or {}),
                }
            )
        items = records
        ids = [item["id"] for item in items]
        if len(set(ids)) != len(ids):
            raise ValueError("Item ids in the index are not unique")
        self._embeddings = embeddings
        self.items = items
        self._ids = ids
        self.info = dict(info or {})
        if backend is None:
            backend = ExactSearch(embeddings, chunk_size=chunk_size)
        elif isinstance(backend, str):
            backend = make_backend(
                embeddings, backend, **dict(backend_options or {})
            )
        self.backend = backend

    @classmethod
    def load(
        cls,
        index_dir,
        expected_dim=None,
        expected_model=None,
        chunk_size=None,
        backend=None,
        backend_options=None,
        ann_cache=True,
    ):
        """Loads and verifies an index written by :func:`build_index`.

        Arguments
        ---------
        index_dir : str or os.PathLike
            The index directory.
        expected_dim : int, optional
            Embedding dimension the caller's queries have.
        expected_model : dict or str, optional
            A dict: each of its keys must be in the index's ``model_info``
            with an equal value. A str: must equal
            ``model_info["fingerprint"]`` (see :func:`module_fingerprint`).
        chunk_size : int, optional
            Rows scored at a time by the default backend.
        backend : str or callable, optional
            A backend name (``"exact"``, ``"faiss-flat"``, ``"ivf"``,
            ``"hnsw"``) or ``backend(embeddings)`` returning a search
            backend; by default :class:`ExactSearch`.
        backend_options : dict, optional
            Options of the named backend (e.g. ``nlist``, ``nprobe``,
            ``hnsw_m``, ``ef_search``).
        ann_cache : bool
            With ``backend="ivf"`` or ``"hnsw"``: read the faiss index from
            ``<index_dir>/ann/`` if one was built there with the same
            embeddings and build parameters (``nlist``, ``hnsw_m``, ...),
            else build it and write it there. False always builds it and
            writes nothing.

        Returns
        -------
        StyleIndex
            The loaded index.

        Raises
        ------
        FileNotFoundError
            If the directory or one of its files is missing.
        ModelMismatchError
            (a StyleIndexError) If the model does not match
            ``expected_model`` (checked before the dimension).
        StyleIndexError
            If a file is corrupt (checksum or format), or the dimension
            does not match the expectation.
        """
        index_dir = os.fspath(index_dir)
        info_path = os.path.join(index_dir, INFO_FILE)
        emb_path = os.path.join(index_dir, EMBEDDINGS_FILE)
        items_path = os.path.join(index_dir, ITEMS_FILE)
        if not os.path.isdir(index_dir):
            kind = " (it is a file)" if os.path.exists(index_dir) else ""
            raise FileNotFoundError(
                f"Index directory not found: {index_dir}{kind}"
            )
        if not os.path.isfile(info_path):
            raise FileNotFoundError(
                f"{info_path} not found: {index_dir} is not an index or its "
                "build did not finish; rebuild it"
            )
        info = _read_json(info_path)
        required = ("format_version", "dim", "count", "embeddings_sha256")
        required += ("items_sha256",)
        if not isinstance(info, dict) or any(k not in info for k in required):
            raise StyleIndexError(
                f"{info_path} is not an index description (it needs the "
                f"fields {list(required)})"
            )
        if info.get("format_version") not in READABLE_FORMAT_VERSIONS:
            raise StyleIndexError(
                f"{info_path} has format version "
                f"{info.get('format_version')}, this code reads versions "
                f"{list(READABLE_FORMAT_VERSIONS)}; rebuild the index"
            )
        dtype_name = info.get("dtype", "float32")
        if dtype_name not in STORAGE_DTYPES:
            raise StyleIndexError(
                f"{info_path} has dtype {dtype_name!r}, expected one of "
                f"{list(STORAGE_DTYPES)}"
            )
        for path, key in [
            (emb_path, "embeddings_sha256"),
            (items_path, "items_sha256"),
        ]:
            if not os.path.isfile(path):
                raise FileNotFoundError(f"Index file not found: {path}")
            digest = file_sha256(path)
            if digest != info[key]:
                raise StyleIndexError(
                    f"{path} is corrupt or was modified: its sha256 {digest} "
                    f"does not match {info[key]} recorded in {info_path}; "
                    "rebuild the index"
                )
        try:
            embeddings = np.load(emb_path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as e:
            raise StyleIndexError(f"Cannot read {emb_path}: {e}") from e
        expected_shape = (info["count"], info["dim"])
        if (
            embeddings.dtype != STORAGE_DTYPES[dtype_name]
            or embeddings.shape != expected_shape
        ):
            raise StyleIndexError(
                f"{emb_path} holds {embeddings.dtype} {embeddings.shape}, "
                f"{info_path} says {dtype_name} {expected_shape}"
            )
        if not np.isfinite(embeddings).all():
            raise StyleIndexError(f"{emb_path} contains NaN or inf values")
        items = _read_json(items_path)
        if not isinstance(items, list) or len(items) != info["count"]:
            raise StyleIndexError(
                f"{items_path} must list {info['count']} items"
            )
        model_info = info.get("model_info") or {}
        if expected_model is not None:
            _check_model(expected_model, model_info, index_dir)
        if expected_dim is not None and int(expected_dim) != info["dim"]:
            raise StyleIndexError(
                f"Index {index_dir} holds {info['dim']}-dimensional "
                f"embeddings but {expected_dim} were expected (index built "
                f"with model {model_info}); rebuild it with the current model"
            )
        embeddings = torch.from_numpy(embeddings)
        if callable(backend):
            backend = backend(embeddings)
        elif backend in CACHED_KINDS and ann_cache:
            backend_options = dict(backend_options or {})
            backend_options.setdefault(
                "cache_dir", os.path.join(index_dir, ANN_CACHE_DIR)
            )
            backend_options.setdefault(
                "embeddings_sha256", info["embeddings_sha256"]
            )
        return cls(
            embeddings,
            items,
            info=info,
            backend=backend,
            chunk_size=chunk_size,
            backend_options=backend_options,
        )

    def __len__(self):
        return len(self._ids)

    @property
    def ids(self):
        """Item ids, in row order."""
        return list(self._ids)

    @property
    def embeddings(self):
        """Item embeddings (N, D): float32, or float16 if stored so."""
        return self._embeddings

    @property
    def dim(self):
        """Embedding dimension."""
        return self._embeddings.shape[1]

    @property
    def model_info(self):
        """The model description stored with the index."""
        return self.info.get("model_info", {})

    def filter_mask(self, filters):
        """Returns the bool (N,) mask of items matching ``filters``.

        Arguments
        ---------
        filters : dict, str, list of str or None
            Metadata filters in the syntax of
            :mod:`speechbrain_style.retrieval.filters` (the one of the command
            line
            and the search page): ``{field: value}`` or ``{field:
            [values]}`` (an item matches if, for every field, its value is
            one of the given values, numbers compared as numbers), or
            ``"field=value"`` / ``"duration>=2"`` strings. Items without
            the field do not match.

        Returns
        -------
        torch.Tensor or None
            The mask, or None when ``filters`` is empty.

        Raises
        ------
        speechbrain_style.retrieval.filters.FilterError
            (a ValueError) If a filter is malformed or no item has one of
            the fields (likely a typo).
        """
        filters = parse_filters(filters)
        if not filters:
            return None
        return torch.tensor(filters.mask(self.items), dtype=torch.bool)

    def search(
        self,
        query_embs,
        k=10,
        filters=None,
        fusion_n=None,
        fusion_weighting="similarity",
    ):
        """Returns the k items most cosine-similar to each query.

        Arguments
        ---------
        query_embs : torch.Tensor or array-like
            Query embeddings (Q, D) or a single one (D,), e.g. projected text
            embeddings; they are L2-normalised here.
        k : int
            Hits per query (fewer if fewer items pass the filters).
        filters : dict, optional
            Metadata filters, see :meth:`filter_mask`.
        fusion_n : int, optional
            Cross-modal fusion (see :mod:`speechbrain_style.retrieval.fusion`):
            each
            query is first replaced by the weighted average of its
            ``fusion_n`` nearest index embeddings (among the items that pass
            the filters), L2-normalised, and that fused query is searched.
            Scores are then similarities to the fused query.
        fusion_weighting : str
            ``"similarity"`` (default) or ``"uniform"`` fusion weights.

        Returns
        -------
        list of list of dict
            For each query, hits in decreasing score order, each
            ``{"id", "wav", "score", "rank", "metadata"}`` (rank from 1).

        Example
        -------
        >>> index = StyleIndex(
        ...     torch.tensor([[1.0, 0.0], [0.0, 1.0]]),
        ...     [{"id": "a", "wav": "a.wav"}, {"id": "b", "wav": "b.wav"}],
        ... )
        >>> hits = index.search([0.6, 0.8], k=2, fusion_n=2)[0]
        >>> [(hit["id"], round(hit["score"], 2)) for hit in hits]
        [('b', 0.8), ('a', 0.6)]
        """
        queries = torch.as_tensor(query_embs, dtype=torch.float32)
        queries = queries.detach().cpu()
        if queries.dim() == 1:
            queries = queries.unsqueeze(0)
        if queries.dim() != 2 or queries.shape[1] != self.dim:
            raise ValueError(
                f"query_embs must be (Q, {self.dim}) or ({self.dim},), got "
                f"shape {tuple(torch.as_tensor(query_embs).shape)}"
            )
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
            raise ValueError(f"k must be a positive int, got {k!r}")
        if not torch.isfinite(queries).all():
            raise ValueError("query_embs contain NaN or inf values")
        norms = queries.norm(dim=1, keepdim=True)
        if (norms == 0).any():
            raise ValueError("query_embs contain an all-zero query")
        queries = queries / norms
        mask = self.filter_mask(filters)
        if fusion_n is not None:
            queries = self._fuse(queries, fusion_n, fusion_weighting, mask)
        scores, indices = self.backend.search(queries, k, mask)
        results = []
        for query_scores, query_indices in zip(
            scores.tolist(), indices.tolist(), strict=True
        ):
            hits = []
            for rank, (score, row) in enumerate(
                zip(query_scores, query_indices, strict=True), start=1
            ):
                item = self.items[row]
                hits.append(
                    {
                        "id": item["id"],
                        "wav": item["wav"],
                        "score": score,
                        "rank": rank,
                        "metadata": item["metadata"],
                    }
                )
            results.append(hits)
        return results

    def _fuse(self, queries, fusion_n, weighting, mask):
        """Fused queries over the index's own (filtered) embeddings."""
        from speechbrain_style.retrieval.fusion import (
            _check_weighting,
            fuse_neighbours,
        )

        _check_weighting(weighting, None)
        if (
            isinstance(fusion_n, bool)
            or not isinstance(fusion_n, numbers.Integral)
            or fusion_n < 1
        ):
            raise ValueError(
                f"fusion_n must be a positive int, got {fusion_n!r}"
            )
        similarities, indices = self.backend.search(queries, fusion_n, mask)
        # Only the neighbours' rows are needed (as float32), not the whole
        # matrix.
        neighbours = self._embeddings[indices.reshape(-1)].float()
        local = torch.arange(indices.numel()).reshape(indices.shape)
        return fuse_neighbours(
            queries, neighbours, similarities, local, weighting
        )


def _read_json(path):
    """Reads a JSON file, raising StyleIndexError naming it if invalid."""
    with open(path, encoding="utf-8") as f:
        try:
            return json.load(f)
        except json.JSONDecodeError as e:
            raise StyleIndexError(f"{path} is not valid JSON: {e}") from e
        except UnicodeDecodeError as e:
            raise StyleIndexError(
                f"{path} is not UTF-8 JSON (bad byte at offset {e.start})"
            ) from e


def _check_model(expected_model, model_info, index_dir):
    """Raises StyleIndexError if ``model_info`` does not match."""
    if isinstance(expected_model, str):
        expected_model = {"fingerprint": expected_model}
    if not isinstance(expected_model, dict):
        raise TypeError(
            "expected_model must be a dict or a fingerprint str, got "
            f"{type(expected_model).__name__}"
        )
    mismatched = {
        key: (value, model_info.get(key, "<absent>"))
        for key, value in expected_model.items()
        if model_info.get(key) != value
    }
    if mismatched:
        details = "; ".join(
            f"{key}: expected {want!r}, index has {have!r}"
            for key, (want, have) in mismatched.items()
        )
        built_with = model_info.get("model_dir")
        built_with = f" (model folder {built_with})" if built_with else ""
        raise ModelMismatchError(
            f"Index {index_dir} was built with another model{built_with} "
            f"({details}); rebuild it with the current model",
            index_dir,
            expected_model,
            model_info,
        )


def _item_duration(item_id, item):
    """Duration in seconds used for batching (manifest value or header)."""
    start, stop = item.get("start"), item.get("stop")
    if start is not None and stop is not None:
        return float(stop) - float(start)
    if "duration" in item and start is None:
        try:
            return float(item["duration"])
        except (TypeError, ValueError) as e:
            raise ValueError(
                f"Item {item_id!r}: duration {item['duration']!r} is not a "
                "number"
            ) from e
    duration = get_duration(item["wav"])
    return duration - float(start or 0.0)


def _plan_batches(
    order, durations, batch_size, max_batch_seconds, windowed=frozenset()
):
    """Splits ``order`` (longest first) into batches.

    A batch holds at most ``batch_size`` items and, if ``max_batch_seconds``
    is set, at most that many padded seconds (its size times the duration of
    its first, longest, item); a single item longer than the limit forms its
    own batch, and so does every item of ``windowed`` (embedded window by
    window).
    """
    batches, current = [], []
    for pos in order:
        if pos in windowed:
            if current:
                batches.append(current)
                current = []
            batches.append([pos])
            continue
        if current:
            padded = (len(current) + 1) * durations[current[0]]
            if len(current) >= batch_size or (
                max_batch_seconds is not None and padded > max_batch_seconds
            ):
                batches.append(current)
                current = []
        current.append(pos)
    if current:
        batches.append(current)
    return batches


def _failure_reason(error):
    """A short reason for a skipped item."""
    if isinstance(error, FileNotFoundError):
        return "missing"
    return getattr(error, "reason", None) or "error"


def _rethrow_for_item(error, item_id, path):
    """Re-raises a load error with the item id and path in the message."""
    message = f"Item {item_id!r} ({path}): {error}"
    if isinstance(error, AudioError):
        raise AudioError(message, path=path, reason=error.reason) from error
    if isinstance(error, FileNotFoundError):
        raise FileNotFoundError(message) from error
    raise ValueError(message) from error


# Padded seconds of audio per batch (see build_index's max_batch_seconds).
DEFAULT_MAX_BATCH_SECONDS = 8.0


def build_index(
    encode_batch,
    items,
    out_dir,
    batch_size=16,
    sample_rate=16000,
    max_batch_seconds=DEFAULT_MAX_BATCH_SECONDS,
    model_info=None,
    progress=True,
    on_error="raise",
    allow_silent=False,
    silence_threshold=DEFAULT_SILENCE_THRESHOLD,
    shard_size=None,
    fp16=False,
    resume=True,
    keep_shards=False,
    distributed=True,
    precision=None,
    window_seconds=None,
    hop_seconds=None,
    windows_per_batch=DEFAULT_WINDOWS_PER_BATCH,
):
    """Encodes audio items and writes a :class:`StyleIndex` to ``out_dir``.

    Items are encoded longest first in batches of similar length (little
    padding), under ``torch.inference_mode()``, shard by shard (see the
    module docstring: finished shards survive a killed run and are reused by
    a rerun; under ``torchrun`` each rank encodes its own shards and rank 0
    merges them); the stored rows follow the original item order. Audio is
    read with :func:`speechbrain_style.audio.load_audio` (or
    ``load_audio_segment`` when an item has ``start``/``stop`` in seconds).
    With ``window_seconds``, an item longer than a window is never loaded
    whole: it is read and encoded window by window and its embedding is the
    length-weighted mean of its window embeddings
    (:func:`speechbrain_style.dataio.windows.embed_file_in_windows`), so
    memory stays flat whatever its length; shorter items are encoded whole
    as before. Nothing is cropped at random: the same inputs always give
    the same index.

    Arguments
    ---------
    encode_batch : callable
        ``encode_batch(wavs, lens) -> (B, D)`` embeddings, where ``wavs`` is
        a zero-padded (B, T) float32 CPU tensor and ``lens`` the (B,)
        relative lengths (SpeechBrain convention). Embeddings should be
        L2-normalised; others are normalised here with a warning.
    items : dict
        Ordered ``{item_id: {"wav": path, **metadata}}``, e.g. a manifest
        from :func:`speechbrain_style.dataio.manifest.load_manifest`. A
        ``duration`` field (seconds) avoids reading file headers for
        sorting.
    out_dir : str or os.PathLike
        Index directory (created if needed; an index there built from other
        inputs is replaced).
    batch_size : int
        Maximum items per batch.
    sample_rate : int
        Sample rate the encoder expects.
    max_batch_seconds : float, optional
        Maximum padded audio seconds per batch; ``None``: only
        ``batch_size`` bounds a batch. The default (8 s) is the CPU optimum
        measured by ``benchmarks/index_benchmark.py --grid``: beyond a few
        seconds of audio per batch the activations of a real-size encoder
        (ECAPA-TDNN C=1024, emotion2vec base) leave the cache and a batch
        costs more per second of audio than one file at a time. On a GPU
        raise it (e.g. 120).
    model_info : dict, optional
        JSON-serialisable description of the encoder, e.g.
        ``{"model": folder, "fingerprint": module_fingerprint(model)}``;
        checked by ``StyleIndex.load(expected_model=...)``. It is part of
        the build plan, so finished shards are reused only for the same
        model description: give a fingerprint when resuming matters.
    progress : bool
        Whether to show a tqdm progress bar (rank 0 only).
    on_error : str
        ``"raise"`` (default): a missing, unreadable, empty or silent item
        raises an error naming its id and path. ``"skip"``: such items are
        left out, logged, and listed with their reasons in ``index.json``
        (``skipped``) and on the returned index's ``info``.
    allow_silent : bool
        Whether silent audio is accepted.
    silence_threshold : float
        Peak amplitude under which audio counts as silent.
    shard_size : int, optional
        Items per shard (the unit of resumption and of work per rank); by
        default all items form one shard.
    fp16 : bool
        Store the embeddings as float16 (half the disk and memory; scores
        change by about 1e-3).
    resume : bool
        Reuse finished shards (and a complete index) of the same plan; if
        False, everything in ``out_dir`` from a previous build is discarded.
    keep_shards : bool
        Keep the shard files after the merge (they are deleted by default).
    distributed : bool
        Share the work among the ranks of ``torch.distributed`` when it is
        initialised or when ``RANK``/``WORLD_SIZE`` are set (``torchrun``).
    precision : str, optional
        The arithmetic ``encode_batch`` runs at: ``"fp32"``, ``"bf16"`` or
        ``"int8"`` (see :mod:`speechbrain_style.inference.precision`). It is
        recorded in ``index.json`` (``build.precision``) and is part of the
        build plan: shards of a build at another precision are recomputed,
        never mixed in. bf16 runs ``encode_batch`` under CPU autocast; int8
        needs an already quantised model (``StyleRetriever.set_precision``
        or ``prepare_for_precision``). By default the precision of the
        ``StyleRetriever`` whose method ``encode_batch`` is, else fp32
        (then the plan is the same as before precisions existed).
    window_seconds : float, optional
        Items longer than this are embedded in fixed windows of this length
        (None: every item is encoded whole).
    hop_seconds : float, optional
        Hop between windows (default: ``window_seconds``, no overlap).
    windows_per_batch : int
        Windows of a long item encoded together.

    Returns
    -------
    StyleIndex
        The index just written (on every rank).

    Example
    -------
    >>> import soundfile as sf
    >>> root = getfixture("tmp_path")
    >>> items = {}
    >>> for i, seconds in enumerate([0.2, 0.5, 0.3]):
    ...     path = root / f"utt{i}.wav"
    ...     n = int(seconds * 16000)
    ...     sf.write(path, torch.linspace(0.1, 0.5 + i, n).numpy(), 16000)
    ...     items[f"utt{i}"] = {"wav": str(path), "spk": i % 2}
    >>> def encode_batch(wavs, lens):
    ...     # mean and max over the valid samples, L2-normalised
    ...     n = (lens * wavs.shape[1]).round().long()
    ...     valid = torch.arange(wavs.shape[1]) < n[:, None]
    ...     mean = (wavs * valid).sum(1) / n
    ...     feats = torch.stack([mean, wavs.amax(1)], dim=1)
    ...     return torch.nn.functional.normalize(feats, dim=1)
    >>> index = build_index(
    ...     encode_batch,
    ...     items,
    ...     root / "index",
    ...     batch_size=2,
    ...     shard_size=2,
    ...     progress=False,
    ... )
    >>> index.ids
    ['utt0', 'utt1', 'utt2']
    >>> loaded = StyleIndex.load(root / "index", expected_dim=2)
    >>> hit = loaded.search(loaded.embeddings[1], k=1)[0][0]
    >>> hit["id"], round(hit["score"], 4)
    ('utt1', 1.0)
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(
            f"on_error must be 'raise' or 'skip', got {on_error!r}"
        )
    if not isinstance(items, dict) or not items:
        raise ValueError("items must be a non-empty dict {item_id: {...}}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if shard_size is not None and (
        isinstance(shard_size, bool)
        or not isinstance(shard_size, numbers.Integral)
        or shard_size < 1
    ):
        raise ValueError(
            f"shard_size must be a positive int or None, got {shard_size!r}"
        )
    if max_batch_seconds is not None and max_batch_seconds <= 0:
        raise ValueError(
            f"max_batch_seconds must be > 0, got {max_batch_seconds}"
        )
    precision = _encoder_precision(encode_batch, precision)
    if window_seconds is not None and not window_seconds > 0:
        raise ValueError(f"window_seconds must be > 0, got {window_seconds}")
    if window_seconds is None and hop_seconds is not None:
        raise ValueError("hop_seconds needs window_seconds")
    if hop_seconds is not None and not 0 < hop_seconds <= window_seconds:
        raise ValueError(
            f"hop_seconds must be in (0, window_seconds={window_seconds}], "
            f"got {hop_seconds}"
        )
    model_info = dict(model_info or {})
    try:
        json.dumps(model_info)
    except TypeError as e:
        raise TypeError(f"model_info must be JSON-serialisable: {e}") from e

    ids = list(items)
    records = []
    for item_id in ids:
        item = items[item_id]
        if not isinstance(item, dict) or "wav" not in item:
            raise ValueError(f"Item {item_id!r} has no 'wav' field")
        if not isinstance(item["wav"], (str, os.PathLike)) or not item["wav"]:
            raise ValueError(
                f"Item {item_id!r}: field 'wav' must be the path of its "
                f"audio file, got {item['wav']!r}"
            )
        for key in ("start", "stop"):
            value = item.get(key)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, numbers.Real)
            ):
                raise ValueError(
                    f"Item {item_id!r}: field {key!r} must be a number of "
                    f"seconds, got {value!r}"
                )
        metadata = {key: value for key, value in item.items() if key != "wav"}
        record = {"id": str(item_id), "wav": item["wav"], "metadata": metadata}
        try:
            json.dumps(record)
        except TypeError as e:
            raise TypeError(
                f"Item {item_id!r}: metadata is not JSON-serialisable: {e}"
            ) from e
        records.append(record)

    out_dir = os.fspath(out_dir)
    shards_dir = os.path.join(out_dir, SHARDS_DIR)
    options = {
        "batch_size": int(batch_size),
        "sample_rate": int(sample_rate),
        "max_batch_seconds": max_batch_seconds,
        "shard_size": None if shard_size is None else int(shard_size),
        "dtype": "float16" if fp16 else "float32",
        "on_error": on_error,
        "allow_silent": bool(allow_silent),
        "silence_threshold": float(silence_threshold),
        "model_info": model_info,
    }
    if window_seconds is not None:
        # plans without windows keep their sha256 of before windows existed
        options.update(
            window_seconds=window_seconds,
            hop_seconds=hop_seconds,
            windows_per_batch=int(windows_per_batch),
        )
    if precision != "fp32":
        # fp32 plans keep their sha256 of before precisions existed.
        options["precision"] = precision
    rank, world_size = _distributed_context(distributed)

    def fail(pos, error, skipped):
        """Records a failed item or raises, by ``on_error``."""
        item_id, path = ids[pos], items[ids[pos]]["wav"]
        if on_error == "raise":
            _rethrow_for_item(error, item_id, path)
        skipped.append(
            {
                "pos": pos,
                "id": str(item_id),
                "wav": path,
                "reason": _failure_reason(error),
                "error": str(error),
            }
        )
        logger.warning("Skipping item %r (%s): %s", item_id, path, error)

    state = None
    if rank == 0:
        _log_precision_change(shards_dir, precision)
        state = _prepare_build(
            out_dir, items, ids, records, options, resume, fail
        )
    state = _broadcast_object(state, world_size)
    if state["complete"]:
        logger.info(
            "Index %s is complete and matches the inputs; nothing to do",
            out_dir,
        )
        return StyleIndex.load(out_dir)
    plan = state["plan"]
    plan_sha = plan["plan_sha256"]

    mine = list(range(rank, len(plan["shards"]), world_size))
    todo = []
    for shard in mine:
        if _finished_shard(shards_dir, shard, plan_sha, recompute=True) is None:
            todo.append(shard)
    if len(todo) < len(mine):
        logger.info(
            "Rank %d: %d of its %d shards already finished; encoding %d",
            rank,
            len(mine) - len(todo),
            len(mine),
            len(todo),
        )
    from tqdm import tqdm

    total = sum(len(b) for shard in mine for b in plan["shards"][shard])
    done = total - sum(len(b) for shard in todo for b in plan["shards"][shard])
    with (
        tqdm(
            total=total,
            initial=done,
            disable=not progress or rank != 0,
            desc="Indexing",
            unit="utt",
        ) as bar,
        torch.inference_mode(),
        precision_context(precision),
    ):
        for shard in todo:
            _encode_shard(
                encode_batch,
                shard,
                plan,
                items,
                ids,
                options,
                shards_dir,
                fail,
                bar,
            )
    _barrier(world_size)
    if rank == 0:
        index = _merge_shards(out_dir, plan, records, options)
        if not keep_shards:
            shutil.rmtree(shards_dir, ignore_errors=True)
    _barrier(world_size)
    if rank != 0:
        index = StyleIndex.load(out_dir)
    return index


def _encoder_precision(encode_batch, precision):
    """The build's precision: given, or the encoder's (StyleRetriever)."""
    owner_precision = getattr(
        getattr(encode_batch, "__self__", None), "inference_precision", None
    )
    if precision is None:
        precision = owner_precision or "fp32"
    check_precision(precision)
    if owner_precision is not None and owner_precision != precision:
        raise ValueError(
            f"build_index(precision={precision!r}) but encode_batch runs at "
            f"{owner_precision!r}: call set_precision({precision!r}) on the "
            "model first"
        )
    return precision


def _log_precision_change(shards_dir, precision):
    """Logs when unfinished shards of another precision get recomputed."""
    plan_path = os.path.join(shards_dir, PLAN_FILE)
    if not os.path.isfile(plan_path):
        return
    try:
        previous = _read_json(plan_path)["options"].get("precision", "fp32")
    except (StyleIndexError, KeyError, TypeError, AttributeError):
        return
    if previous != precision:
        logger.warning(
            "The unfinished build in %s ran at precision %s, this one at %s: "
            "its shards are recomputed, not mixed in",
            shards_dir,
            previous,
            precision,
        )


def index_progress(out_dir):
    """Reports how far a (possibly running or interrupted) build got.

    Arguments
    ---------
    out_dir : str or os.PathLike
        The index directory given to :func:`build_index`.

    Returns
    -------
    dict
        ``{"complete": bool, "num_shards": int or None, "finished": [shard
        numbers]}``; ``num_shards`` is None if no build plan is present.

    Example
    -------
    >>> index_progress(getfixture("tmp_path"))
    {'complete': False, 'num_shards': None, 'finished': []}
    """
    out_dir = os.fspath(out_dir)
    shards_dir = os.path.join(out_dir, SHARDS_DIR)
    plan_path = os.path.join(shards_dir, PLAN_FILE)
    report = {
        "complete": os.path.isfile(os.path.join(out_dir, INFO_FILE)),
        "num_shards": None,
        "finished": [],
    }
    if not os.path.isfile(plan_path):
        return report
    plan = _read_json(plan_path)
    report["num_shards"] = len(plan["shards"])
    report["finished"] = [
        shard
        for shard in range(len(plan["shards"]))
        if os.path.isfile(_shard_path(shards_dir, shard, ".json"))
    ]
    return report


def _distributed_context(distributed):
    """Returns (rank, world size), creating a gloo group under torchrun."""
    if not distributed:
        return 0, 1
    import torch.distributed as dist

    if not dist.is_available():
        return 0, 1
    if not dist.is_initialized():
        if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
            return 0, 1
        from speechbrain.utils.distributed import ddp_init_group

        ddp_init_group({"distributed_backend": "gloo"})
        logger.info(
            "Initialised a gloo process group (rank %d of %d) for indexing",
            dist.get_rank(),
            dist.get_world_size(),
        )
    return dist.get_rank(), dist.get_world_size()


def _barrier(world_size):
    if world_size > 1:
        torch.distributed.barrier()


def _broadcast_object(obj, world_size):
    """Rank 0's ``obj`` on every rank."""
    if world_size == 1:
        return obj
    holder = [obj]
    torch.distributed.broadcast_object_list(holder, src=0)
    return holder[0]


def _shard_path(shards_dir, shard, suffix):
    return os.path.join(shards_dir, f"shard-{shard:05d}{suffix}")


def _plan_sha256(records, durations, options):
    """sha256 of everything the shards depend on (record by record)."""
    digest = hashlib.sha256()

    def add(obj):
        """Adds an item's embedding to the merged index."""
        text = json.dumps(obj, sort_keys=True, separators=(",", ":"))
        digest.update(text.encode("utf-8") + b"\n")

    add({"format_version": INDEX_FORMAT_VERSION, "options": options})
    for pos, record in enumerate(records):
        add([record, durations.get(pos)])
    return digest.hexdigest()


def _prepare_build(out_dir, items, ids, records, options, resume, fail):
    """Rank 0: plans the shards and tidies ``out_dir`` for this plan.

    Returns ``{"complete": True}`` when a complete index of the same plan is
    already there, else ``{"complete": False, "plan": plan}``.
    """
    skipped = []
    durations = {}
    for pos, item_id in enumerate(ids):
        try:
            durations[pos] = _item_duration(item_id, items[item_id])
        except (FileNotFoundError, AudioError) as e:
            fail(pos, e, skipped)
    order = sorted(durations, key=lambda pos: (-durations[pos], pos))
    window = options.get("window_seconds")
    windowed = sorted(
        pos for pos in order if window is not None and durations[pos] > window
    )
    shard_size = options["shard_size"] or max(1, len(order))
    shards = [
        _plan_batches(
            order[start : start + shard_size],
            durations,
            options["batch_size"],
            options["max_batch_seconds"],
            windowed=frozenset(windowed),
        )
        for start in range(0, len(order), shard_size)
    ]
    plan_sha = _plan_sha256(records, durations, options)
    plan = {
        "format_version": INDEX_FORMAT_VERSION,
        "plan_sha256": plan_sha,
        "num_items": len(ids),
        "options": options,
        "shards": shards,
        "skipped": skipped,
        "windowed": windowed,
    }
    os.makedirs(out_dir, exist_ok=True)
    shards_dir = os.path.join(out_dir, SHARDS_DIR)
    info_path = os.path.join(out_dir, INFO_FILE)
    if resume and _complete_index_matches(out_dir, plan_sha):
        return {"complete": True}
    if os.path.exists(info_path):
        # An interrupted rebuild must not leave the old description in place
        # next to new embeddings.
        os.remove(info_path)
    if not resume:
        shutil.rmtree(shards_dir, ignore_errors=True)
    os.makedirs(shards_dir, exist_ok=True)
    _remove_stale_shards(shards_dir, plan_sha)
    write_json(os.path.join(shards_dir, PLAN_FILE), plan)
    return {"complete": False, "plan": plan}


def _complete_index_matches(out_dir, plan_sha):
    """Whether ``out_dir`` holds a loadable index built from this plan."""
    info_path = os.path.join(out_dir, INFO_FILE)
    if not os.path.isfile(info_path):
        return False
    try:
        info = _read_json(info_path)
        if (info.get("build") or {}).get("plan_sha256") != plan_sha:
            return False
        StyleIndex.load(out_dir)
    except (StyleIndexError, FileNotFoundError, AttributeError) as e:
        logger.warning("Rebuilding the index in %s: %s", out_dir, e)
        return False
    return True


def _remove_stale_shards(shards_dir, plan_sha):
    """Deletes temporary files and shards of another plan."""
    removed = 0
    for name in sorted(os.listdir(shards_dir)):
        path = os.path.join(shards_dir, name)
        if name.endswith(".tmp"):
            os.remove(path)
        elif name.startswith("shard-") and name.endswith(".json"):
            try:
                record = _read_json(path)
                stale = record.get("plan_sha256") != plan_sha
            except StyleIndexError:
                stale = True
            if stale:
                os.remove(path)
                npy = path[: -len(".json")] + ".npy"
                if os.path.exists(npy):
                    os.remove(npy)
                removed += 1
    if removed:
        logger.info(
            "Removed %d shards of an earlier build with other inputs from %s",
            removed,
            shards_dir,
        )


def _finished_shard(shards_dir, shard, plan_sha, recompute=False):
    """The record of a finished, verified shard of this plan, or None.

    A finished shard whose ``.npy`` is missing, truncated or modified (its
    sha256 differs from the one in its ``.json``), or whose ``.json`` is
    not valid, raises StyleIndexError naming the file; with ``recompute``
    it is instead deleted with a warning and None is returned, so that the
    caller encodes it again.
    """
    record_path = _shard_path(shards_dir, shard, ".json")
    npy_path = _shard_path(shards_dir, shard, ".npy")
    if not os.path.isfile(record_path):
        return None
    try:
        record = _read_json(record_path)
        if not isinstance(record, dict):
            raise StyleIndexError(f"{record_path} is not a shard record")
        if record.get("plan_sha256") != plan_sha:
            return None
        if record["count"] == 0:
            return record
        if not os.path.isfile(npy_path):
            raise StyleIndexError(
                f"Shard file {npy_path} is missing although {record_path} "
                "marks the shard finished"
            )
        digest = file_sha256(npy_path)
        if digest != record["embeddings_sha256"]:
            raise StyleIndexError(
                f"Shard file {npy_path} is corrupt or was modified: its "
                f"sha256 {digest} does not match "
                f"{record['embeddings_sha256']} recorded in {record_path}"
            )
    except (StyleIndexError, KeyError) as e:
        if not recompute:
            raise StyleIndexError(
                f"{e}; delete {record_path} to recompute the shard"
            ) from e
        logger.warning("Recomputing shard %d: %s", shard, e)
        for path in (record_path, npy_path):
            if os.path.exists(path):
                os.remove(path)
        return None
    return record


def _encode_shard(
    encode_batch, shard, plan, items, ids, options, shards_dir, fail, bar
):
    """Encodes one shard and writes its .npy then its .json."""
    skipped = []
    embeddings = {}
    windowed = set(plan.get("windowed", ()))
    for batch in plan["shards"][shard]:
        if len(batch) == 1 and batch[0] in windowed:
            pos = batch[0]
            try:
                emb = _encode_windowed(encode_batch, items[ids[pos]], options)
            except (FileNotFoundError, AudioError, ValueError) as e:
                fail(pos, e, skipped)
            else:
                embeddings[pos] = _checked(emb[None], [ids[pos]])[0]
            bar.update(1)
            continue
        loaded = []
        for pos in batch:
            try:
                wav = _load_item(
                    items[ids[pos]],
                    options["sample_rate"],
                    options["allow_silent"],
                    options["silence_threshold"],
                )
                loaded.append((pos, wav))
            except (FileNotFoundError, AudioError, ValueError) as e:
                fail(pos, e, skipped)
        bar.update(len(batch))
        if not loaded:
            continue
        try:
            batch_embs = _encode(
                encode_batch, loaded, [ids[p] for p, _ in loaded]
            )
        except EncoderError as e:
            if options["on_error"] == "raise":
                raise
            # Encode the batch's items one by one to skip only the bad ones.
            batch_embs = []
            for pos, wav in loaded:
                try:
                    one = _encode(encode_batch, [(pos, wav)], [ids[pos]])
                    batch_embs.append(one[0])
                except EncoderError as item_error:
                    fail(pos, item_error, skipped)
                    batch_embs.append(None)
            logger.warning("Encoded a failed batch item by item: %s", e)
        for (pos, _), emb in zip(loaded, batch_embs, strict=True):
            if emb is not None:
                embeddings[pos] = emb
    positions = sorted(embeddings)
    record = {
        "plan_sha256": plan["plan_sha256"],
        "shard": shard,
        "count": len(positions),
        "positions": positions,
        "skipped": skipped,
    }
    if positions:
        matrix = torch.stack([embeddings[pos] for pos in positions]).numpy()
        matrix = np.ascontiguousarray(
            matrix, dtype=STORAGE_DTYPES[options["dtype"]]
        )
        npy_path = _shard_path(shards_dir, shard, ".npy")
        atomic_write(npy_path, lambda f: np.save(f, matrix), binary=True)
        record["dim"] = int(matrix.shape[1])
        record["embeddings_sha256"] = file_sha256(npy_path)
    write_json(_shard_path(shards_dir, shard, ".json"), record)


def _merge_shards(out_dir, plan, records, options):
    """Rank 0: verifies every shard and writes the index files."""
    shards_dir = os.path.join(out_dir, SHARDS_DIR)
    plan_sha = plan["plan_sha256"]
    skipped = list(plan["skipped"])
    parts, dim, dim_shard = [], None, None
    for shard in range(len(plan["shards"])):
        record = _finished_shard(shards_dir, shard, plan_sha)
        if record is None:
            raise StyleIndexError(
                f"Shard {shard} of the build in {out_dir} is not finished "
                "after all ranks returned; rerun the build"
            )
        skipped.extend(record["skipped"])
        if record["count"] == 0:
            continue
        npy_path = _shard_path(shards_dir, shard, ".npy")
        try:
            matrix = np.load(npy_path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as e:
            raise StyleIndexError(f"Cannot read {npy_path}: {e}") from e
        if dim is None:
            dim, dim_shard = matrix.shape[1], npy_path
        elif matrix.shape[1] != dim:
            raise StyleIndexError(
                f"Shard {npy_path} holds {matrix.shape[1]}-dim embeddings but "
                f"{dim_shard} holds {dim}-dim ones: the shards were made by "
                "different models; rebuild with resume=False"
            )
        parts.append((record["positions"], matrix))
    num_items = plan["num_items"]
    if skipped:
        reasons = {}
        for entry in skipped:
            reasons[entry["reason"]] = reasons.get(entry["reason"], 0) + 1
        logger.warning(
            "Skipped %d of %d items (%s); they are listed in %s",
            len(skipped),
            num_items,
            ", ".join(f"{n} {reason}" for reason, n in sorted(reasons.items())),
            os.path.join(out_dir, INFO_FILE),
        )
    kept = sorted(pos for positions, _ in parts for pos in positions)
    if not kept:
        raise ValueError(
            f"No item could be encoded ({len(skipped)} skipped); see the log"
        )
    row_of = np.full(num_items, -1, dtype=np.int64)
    row_of[kept] = np.arange(len(kept))
    matrix = np.empty((len(kept), dim), dtype=STORAGE_DTYPES[options["dtype"]])
    for positions, part in parts:
        matrix[row_of[positions]] = part
    kept_records = [records[pos] for pos in kept]
    skipped_list = [
        {key: value for key, value in entry.items() if key != "pos"}
        for entry in sorted(skipped, key=lambda entry: entry["pos"])
    ]
    build = {
        "plan_sha256": plan_sha,
        "shard_size": options["shard_size"],
        "num_shards": len(plan["shards"]),
        "batch_size": options["batch_size"],
        "max_batch_seconds": options["max_batch_seconds"],
        "precision": options.get("precision", "fp32"),
    }
    info = _write_index(
        out_dir,
        matrix,
        kept_records,
        skipped_list,
        options["model_info"],
        options["sample_rate"],
        build,
    )
    logger.info(
        "Wrote index of %d items (%d-dim, %s) to %s",
        len(kept),
        dim,
        options["dtype"],
        out_dir,
    )
    return StyleIndex(matrix, kept_records, info=info)


def _load_item(item, sample_rate, allow_silent, silence_threshold):
    """Loads an item's audio (a segment if it has start/stop)."""
    options = {
        "allow_silent": allow_silent,
        "silence_threshold": silence_threshold,
    }
    start, stop = item.get("start"), item.get("stop")
    if start is not None or stop is not None:
        return load_audio_segment(
            item["wav"], start or 0.0, stop, sample_rate=sample_rate, **options
        )
    return load_audio(item["wav"], sample_rate=sample_rate, **options)


def _encode(encode_batch, loaded, batch_ids):
    """Pads a batch, runs the encoder and checks/normalises its output."""
    wavs, lens = pad_signals([wav for _, wav in loaded])
    max_len = wavs.shape[1]
    try:
        embs = encode_batch(wavs, lens)
    except RuntimeError as e:
        raise EncoderError(
            f"The encoder failed on items {batch_ids[:5]} (the longest "
            f"{max_len} samples; audio too short for the encoder?): {e}",
            reason="encoder-error",
        ) from e
    return _checked(embs, batch_ids)


def _encode_windowed(encode_batch, item, options):
    """An item's embedding from its windows, read from disk one by one."""
    return embed_file_in_windows(
        encode_batch,
        item["wav"],
        sample_rate=options["sample_rate"],
        window_seconds=options["window_seconds"],
        hop_seconds=options["hop_seconds"],
        start=item.get("start"),
        stop=item.get("stop"),
        windows_per_batch=options["windows_per_batch"],
        allow_silent=options["allow_silent"],
        silence_threshold=options["silence_threshold"],
    )


def _checked(embs, batch_ids):
    """Checks the (B, D) output of the encoder and L2-normalises it."""
    embs = torch.as_tensor(embs)
    embs = embs.detach().float().cpu()
    if embs.dim() != 2 or embs.shape[0] != len(batch_ids):
        raise ValueError(
            f"encode_batch must return ({len(batch_ids)}, D) embeddings, got "
            f"shape {tuple(embs.shape)} (batch starting with {batch_ids[0]!r})"
        )
    bad = ~torch.isfinite(embs).all(dim=1)
    norms = embs.norm(dim=1)
    bad |= norms == 0
    if bad.any():
        names = [batch_ids[i] for i in bad.nonzero().squeeze(1).tolist()]
        raise ValueError(
            f"encode_batch returned NaN, inf or all-zero embeddings for "
            f"items {names[:5]}"
        )
    if ((norms - 1).abs() > NORM_TOLERANCE).any():
        logger.warning(
            "encode_batch returned embeddings that are not L2-normalised "
            "(norms %.3g to %.3g); normalising them",
            norms.min().item(),
            norms.max().item(),
        )
    return embs / norms[:, None]


def _write_index(
    out_dir, matrix, records, skipped, model_info, sample_rate, build=None
):
    """Writes the three index files; ``index.json`` last."""
    out_dir = os.fspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    info_path = os.path.join(out_dir, INFO_FILE)
    if os.path.exists(info_path):
        # An interrupted rebuild must not leave the old description in place
        # next to new embeddings.
        os.remove(info_path)
    emb_path = os.path.join(out_dir, EMBEDDINGS_FILE)
    items_path = os.path.join(out_dir, ITEMS_FILE)
    if matrix.dtype not in (np.float32, np.float16):
        matrix = matrix.astype(np.float32)
    matrix = np.ascontiguousarray(matrix)
    atomic_write(emb_path, lambda f: np.save(f, matrix), binary=True)
    write_json(items_path, records)
    info = {
        "format_version": INDEX_FORMAT_VERSION,
        "dim": int(matrix.shape[1]),
        "count": int(matrix.shape[0]),
        "dtype": str(matrix.dtype),
        "sample_rate": int(sample_rate),
        "model_info": model_info,
        "embeddings_sha256": file_sha256(emb_path),
        "items_sha256": file_sha256(items_path),
        "created": datetime.datetime.now(datetime.UTC).isoformat(
            timespec="seconds"
        ),
        "num_skipped": len(skipped),
        "skipped": skipped,
        "build": build or {},
    }
    write_json(info_path, info)
    return info
