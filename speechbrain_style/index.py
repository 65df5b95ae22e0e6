"""A cached speech-embedding index searched with text-query embeddings.

:func:`build_index` encodes a collection of audio files once with a speech
encoder and stores the L2-normalised embeddings on disk together with the
item ids, paths and metadata, and a description of the model that made them.
:class:`StyleIndex` loads such an index (verifying checksums, dimension and
model) and answers queries, typically text embeddings projected into the
shared speech-text space, by exact cosine search.

On-disk layout of an index directory:

* ``embeddings.npy``: float32 array (N, D), rows in the original item order;
* ``items.json``: list of ``{"id", "wav", "metadata"}`` records, same order;
* ``index.json``: format version, dim, count, dtype, sample rate, model info,
  sha256 of the two files above, creation time and the skipped items.

``index.json`` is written last, and every file is written atomically
(temporary file + ``os.replace``), so an interrupted build never leaves an
index that loads with mismatched parts.

Search runs through a small backend interface (:class:`ExactSearch`:
``search(queries, k, mask=None) -> (scores, indices)``) so that approximate
backends can be swapped in without changing :class:`StyleIndex`.

Authors
 * speechbrain-style contributors
"""

import datetime
import hashlib
import json
import numbers
import os
import tempfile

import numpy as np
import torch
from speechbrain.utils.logger import get_logger

from speechbrain_style.audio import (
    DEFAULT_SILENCE_THRESHOLD,
    AudioError,
    get_duration,
    load_audio,
    load_audio_segment,
)

logger = get_logger(__name__)

INDEX_FORMAT_VERSION = 1
EMBEDDINGS_FILE = "embeddings.npy"
ITEMS_FILE = "items.json"
INFO_FILE = "index.json"
NORM_TOLERANCE = 1e-3


class StyleIndexError(ValueError):
    """An index on disk that is corrupt, incomplete or does not match."""


def file_sha256(path, block_size=1 << 20):
    """Returns the hex sha256 digest of a file, read in blocks.

    Arguments
    ---------
    path : str or os.PathLike
        The file.
    block_size : int
        Bytes read at a time.

    Returns
    -------
    str
        The hex digest.

    Example
    -------
    >>> path = getfixture("tmp_path") / "x.bin"
    >>> _ = path.write_bytes(b"abc")
    >>> file_sha256(path)[:16]
    'ba7816bf8f01cfea'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(block_size), b""):
            digest.update(block)
    return digest.hexdigest()


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


def _atomic_write(path, write, binary):
    """Writes ``path`` through a temporary file in the same directory.

    ``write(f)`` fills the open temporary file; it is then fsynced and moved
    over ``path`` with ``os.replace`` (atomic on POSIX).
    """
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp_path = tempfile.mkstemp(
        dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp"
    )
    try:
        with open(
            fd, "wb" if binary else "w", encoding=None if binary else "utf-8"
        ) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
        raise


def _write_json(path, obj):
    """Atomically writes ``obj`` as indented JSON."""
    _atomic_write(path, lambda f: json.dump(obj, f, indent=2), binary=False)


def _check_embedding_matrix(embeddings):
    """Raises ValueError unless ``embeddings`` is a 2-D (N, D) tensor."""
    if embeddings.dim() != 2:
        raise ValueError(
            f"embeddings must be (N, D), got shape {tuple(embeddings.shape)}"
        )


class ExactSearch:
    """Exact inner-product top-k search over a fixed embedding matrix.

    Scores are computed ``chunk_size`` rows (and ``query_chunk_size``
    queries) at a time and merged into a running top-k, so memory stays
    bounded by ``query_chunk_size x (chunk_size + k)`` scores whatever the
    number of items. With L2-normalised embeddings and queries the scores are
    cosine similarities. Among tied scores the order is unspecified.

    This is the reference backend: others (e.g. approximate ones) provide
    the same ``search(queries, k, mask=None)`` method.

    Arguments
    ---------
    embeddings : torch.Tensor
        Item embeddings (N, D).
    chunk_size : int
        Item rows scored at a time.
    query_chunk_size : int
        Queries scored at a time.

    Example
    -------
    >>> emb = torch.eye(4)
    >>> backend = ExactSearch(emb, chunk_size=2)
    >>> query = torch.tensor([[0.0, 0.6, 0.8, 0.0]])
    >>> scores, indices = backend.search(query, k=2)
    >>> indices.tolist(), [round(s, 2) for s in scores[0].tolist()]
    ([[2, 1]], [0.8, 0.6])
    >>> mask = torch.tensor([True, True, False, False])
    >>> backend.search(query, 2, mask)[1].tolist()
    [[1, 0]]
    """

    def __init__(self, embeddings, chunk_size=4096, query_chunk_size=1024):
        _check_embedding_matrix(embeddings)
        if chunk_size < 1 or query_chunk_size < 1:
            raise ValueError(
                f"chunk_size and query_chunk_size must be >= 1, got "
                f"{chunk_size} and {query_chunk_size}"
            )
        self.embeddings = embeddings
        self.chunk_size = int(chunk_size)
        self.query_chunk_size = int(query_chunk_size)

    def search(self, queries, k, mask=None):
        """Returns the top-k items for each query.

        Arguments
        ---------
        queries : torch.Tensor
            Queries (Q, D), same dtype and dimension as the embeddings.
        k : int
            Number of results per query (fewer if fewer items are eligible).
        mask : torch.Tensor, optional
            Boolean (N,) tensor; only items where it is True are eligible.

        Returns
        -------
        scores : torch.Tensor
            (Q, k') scores in decreasing order, k' = min(k, eligible items).
        indices : torch.Tensor
            (Q, k') row indices into the embeddings.
        """
        num_items = self.embeddings.shape[0]
        candidates = None
        if mask is not None:
            mask = torch.as_tensor(mask)
            if mask.dtype != torch.bool or mask.shape != (num_items,):
                raise ValueError(
                    f"mask must be a bool tensor of shape ({num_items},), got "
                    f"{mask.dtype} {tuple(mask.shape)}"
                )
            candidates = mask.nonzero().squeeze(1)
            num_items = candidates.numel()
        k = min(int(k), num_items)
        all_scores, all_indices = [], []
        for q_start in range(0, queries.shape[0], self.query_chunk_size):
            block = queries[q_start : q_start + self.query_chunk_size]
            scores, indices = self._search_block(block, k, candidates)
            all_scores.append(scores)
            all_indices.append(indices)
        if not all_scores:
            return (
                queries.new_empty((0, k)),
                torch.empty((0, k), dtype=torch.long),
            )
        return torch.cat(all_scores), torch.cat(all_indices)

    def _search_block(self, queries, k, candidates):
        """Running top-k over item chunks for one block of queries."""
        num_queries = queries.shape[0]
        best_scores = queries.new_empty((num_queries, 0))
        best_indices = torch.empty((num_queries, 0), dtype=torch.long)
        if k == 0:
            return best_scores, best_indices
        num_items = (
            self.embeddings.shape[0] if candidates is None else len(candidates)
        )
        for start in range(0, num_items, self.chunk_size):
            stop = min(start + self.chunk_size, num_items)
            if candidates is None:
                rows = self.embeddings[start:stop]
                row_ids = torch.arange(start, stop)
            else:
                row_ids = candidates[start:stop]
                rows = self.embeddings[row_ids]
            scores = queries @ rows.T
            chunk_scores, chunk_pos = scores.topk(min(k, stop - start), dim=1)
            merged_scores = torch.cat([best_scores, chunk_scores], dim=1)
            merged_indices = torch.cat(
                [best_indices, row_ids[chunk_pos]], dim=1
            )
            best_scores, keep = merged_scores.topk(
                min(k, merged_scores.shape[1]), dim=1
            )
            best_indices = merged_indices.gather(1, keep)
        return best_scores, best_indices


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
    backend : object, optional
        Search backend with ``search(queries, k, mask=None)``; by default
        an :class:`ExactSearch` over the embeddings.
    chunk_size : int
        Rows scored at a time by the default backend.

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
        self, embeddings, items, info=None, backend=None, chunk_size=4096
    ):
        embeddings = torch.as_tensor(embeddings, dtype=torch.float32)
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
        self.backend = backend

    @classmethod
    def load(
        cls,
        index_dir,
        expected_dim=None,
        expected_model=None,
        chunk_size=4096,
        backend=None,
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
        chunk_size : int
            Rows scored at a time by the default backend.
        backend : callable, optional
            ``backend(embeddings)`` returning a search backend; by default
            :class:`ExactSearch`.

        Returns
        -------
        StyleIndex
            The loaded index.

        Raises
        ------
        FileNotFoundError
            If the directory or one of its files is missing.
        StyleIndexError
            If a file is corrupt (checksum or format), or the dimension or
            model does not match the expectation.
        """
        index_dir = os.fspath(index_dir)
        info_path = os.path.join(index_dir, INFO_FILE)
        emb_path = os.path.join(index_dir, EMBEDDINGS_FILE)
        items_path = os.path.join(index_dir, ITEMS_FILE)
        if not os.path.isdir(index_dir):
            raise FileNotFoundError(f"Index directory not found: {index_dir}")
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
        if info.get("format_version") != INDEX_FORMAT_VERSION:
            raise StyleIndexError(
                f"{info_path} has format version "
                f"{info.get('format_version')}, this code reads version "
                f"{INDEX_FORMAT_VERSION}; rebuild the index"
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
        if embeddings.dtype != np.float32 or embeddings.shape != expected_shape:
            raise StyleIndexError(
                f"{emb_path} holds {embeddings.dtype} {embeddings.shape}, "
                f"{info_path} says float32 {expected_shape}"
            )
        if not np.isfinite(embeddings).all():
            raise StyleIndexError(f"{emb_path} contains NaN or inf values")
        items = _read_json(items_path)
        if not isinstance(items, list) or len(items) != info["count"]:
            raise StyleIndexError(
                f"{items_path} must list {info['count']} items"
            )
        model_info = info.get("model_info") or {}
        if expected_dim is not None and int(expected_dim) != info["dim"]:
            raise StyleIndexError(
                f"Index {index_dir} holds {info['dim']}-dimensional "
                f"embeddings but {expected_dim} were expected (index built "
                f"with model {model_info}); rebuild it with the current model"
            )
        if expected_model is not None:
            _check_model(expected_model, model_info, index_dir)
        embeddings = torch.from_numpy(embeddings)
        if backend is not None:
            backend = backend(embeddings)
        return cls(
            embeddings, items, info=info, backend=backend, chunk_size=chunk_size
        )

    def __len__(self):
        return len(self._ids)

    @property
    def ids(self):
        """Item ids, in row order."""
        return list(self._ids)

    @property
    def embeddings(self):
        """Item embeddings, a float32 tensor (N, D)."""
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
        filters : dict or None
            ``{field: value}`` or ``{field: [values]}`` on item metadata; an
            item matches if, for every field, its value is (one of) the
            given value(s). Items without the field do not match.

        Returns
        -------
        torch.Tensor or None
            The mask, or None when ``filters`` is empty.

        Raises
        ------
        ValueError
            If no item has one of the fields (likely a typo).
        """
        if not filters:
            return None
        if not isinstance(filters, dict):
            raise TypeError(
                f"filters must be a dict, got {type(filters).__name__}"
            )
        missing = object()
        mask = torch.ones(len(self), dtype=torch.bool)
        for field, wanted in filters.items():
            if isinstance(wanted, (list, tuple, set, frozenset)):
                wanted = list(wanted)
            else:
                wanted = [wanted]
            values = [
                item["metadata"].get(field, missing) for item in self.items
            ]
            if all(value is missing for value in values):
                known = sorted({k for it in self.items for k in it["metadata"]})
                raise ValueError(
                    f"Filter field {field!r} is in no item's metadata; "
                    f"known fields: {known}"
                )
            mask &= torch.tensor(
                [value is not missing and value in wanted for value in values],
                dtype=torch.bool,
            )
        return mask

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
            Cross-modal fusion (see :mod:`speechbrain_style.fusion`): each
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
        from speechbrain_style.fusion import _check_weighting, fuse_neighbours

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
        return fuse_neighbours(
            queries, self._embeddings, similarities, indices, weighting
        )


def _read_json(path):
    """Reads a JSON file, raising StyleIndexError naming it if invalid."""
    with open(path, encoding="utf-8") as f:
        try:
            return json.load(f)
        except json.JSONDecodeError as e:
            raise StyleIndexError(f"{path} is not valid JSON: {e}") from e


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
        raise StyleIndexError(
            f"Index {index_dir} was built with another model ({details}); "
            "rebuild it with the current model"
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


def _plan_batches(order, durations, batch_size, max_batch_seconds):
    """Splits ``order`` (longest first) into batches.

    A batch holds at most ``batch_size`` items and, if ``max_batch_seconds``
    is set, at most that many padded seconds (its size times the duration of
    its first, longest, item); a single item longer than the limit forms its
    own batch.
    """
    batches, current = [], []
    for pos in order:
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


def build_index(
    encode_batch,
    items,
    out_dir,
    batch_size=16,
    sample_rate=16000,
    max_batch_seconds=None,
    model_info=None,
    progress=True,
    on_error="raise",
    allow_silent=False,
    silence_threshold=DEFAULT_SILENCE_THRESHOLD,
):
    """Encodes audio items and writes a :class:`StyleIndex` to ``out_dir``.

    Items are encoded longest first in batches of similar length (little
    padding), under ``torch.inference_mode()``; the stored rows follow the
    original item order. Audio is read with
    :func:`speechbrain_style.audio.load_audio` (or ``load_audio_segment``
    when an item has ``start``/``stop`` in seconds).

    Arguments
    ---------
    encode_batch : callable
        ``encode_batch(wavs, lens) -> (B, D)`` embeddings, where ``wavs`` is
        a zero-padded (B, T) float32 CPU tensor and ``lens`` the (B,)
        relative lengths (SpeechBrain convention). Embeddings should be
        L2-normalised; others are normalised here with a warning.
    items : dict
        Ordered ``{item_id: {"wav": path, **metadata}}``, e.g. a manifest
        from :func:`speechbrain_style.audio.load_manifest`. A ``duration``
        field (seconds) avoids reading file headers for sorting.
    out_dir : str or os.PathLike
        Index directory (created if needed; an index there is replaced).
    batch_size : int
        Maximum items per batch.
    sample_rate : int
        Sample rate the encoder expects.
    max_batch_seconds : float, optional
        Maximum padded audio seconds per batch (bounds memory on long
        files).
    model_info : dict, optional
        JSON-serialisable description of the encoder, e.g.
        ``{"model": folder, "fingerprint": module_fingerprint(model)}``;
        checked by ``StyleIndex.load(expected_model=...)``.
    progress : bool
        Whether to show a tqdm progress bar.
    on_error : str
        ``"raise"`` (default): a missing, unreadable, empty or silent item
        raises an error naming its id and path. ``"skip"``: such items are
        left out, logged, and listed with their reasons in ``index.json``
        (``skipped``) and on the returned index's ``info``.
    allow_silent : bool
        Whether silent audio is accepted.
    silence_threshold : float
        Peak amplitude under which audio counts as silent.

    Returns
    -------
    StyleIndex
        The index just written.

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
    ...     encode_batch, items, root / "index", batch_size=2, progress=False
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
    if max_batch_seconds is not None and max_batch_seconds <= 0:
        raise ValueError(
            f"max_batch_seconds must be > 0, got {max_batch_seconds}"
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
        metadata = {key: value for key, value in item.items() if key != "wav"}
        record = {"id": str(item_id), "wav": item["wav"], "metadata": metadata}
        try:
            json.dumps(record)
        except TypeError as e:
            raise TypeError(
                f"Item {item_id!r}: metadata is not JSON-serialisable: {e}"
            ) from e
        records.append(record)

    skipped = {}

    def fail(pos, error):
        item_id, path = ids[pos], items[ids[pos]]["wav"]
        if on_error == "raise":
            _rethrow_for_item(error, item_id, path)
        skipped[pos] = {
            "id": str(item_id),
            "wav": path,
            "reason": _failure_reason(error),
            "error": str(error),
        }
        logger.warning("Skipping item %r (%s): %s", item_id, path, error)

    durations = {}
    for pos, item_id in enumerate(ids):
        try:
            durations[pos] = _item_duration(item_id, items[item_id])
        except (FileNotFoundError, AudioError) as e:
            fail(pos, e)
    order = sorted(durations, key=lambda pos: (-durations[pos], pos))
    batches = _plan_batches(order, durations, batch_size, max_batch_seconds)

    embeddings = {}
    dim = None
    from tqdm import tqdm

    with (
        tqdm(
            total=len(ids),
            initial=len(skipped),
            disable=not progress,
            desc="Indexing",
            unit="utt",
        ) as bar,
        torch.inference_mode(),
    ):
        for batch in batches:
            loaded = []
            for pos in batch:
                item = items[ids[pos]]
                try:
                    wav = _load_item(
                        item, sample_rate, allow_silent, silence_threshold
                    )
                    loaded.append((pos, wav))
                except (FileNotFoundError, AudioError, ValueError) as e:
                    fail(pos, e)
            bar.update(len(batch))
            if not loaded:
                continue
            batch_embs = _encode(
                encode_batch, loaded, [ids[p] for p, _ in loaded]
            )
            if dim is None:
                dim = batch_embs.shape[1]
            elif batch_embs.shape[1] != dim:
                raise ValueError(
                    f"encode_batch returned {batch_embs.shape[1]}-dim "
                    f"embeddings after {dim}-dim ones"
                )
            for (pos, _), emb in zip(loaded, batch_embs, strict=True):
                embeddings[pos] = emb

    kept = sorted(embeddings)
    if skipped:
        reasons = {}
        for entry in skipped.values():
            reasons[entry["reason"]] = reasons.get(entry["reason"], 0) + 1
        logger.warning(
            "Skipped %d of %d items (%s); they are listed in %s",
            len(skipped),
            len(ids),
            ", ".join(f"{n} {reason}" for reason, n in sorted(reasons.items())),
            os.path.join(os.fspath(out_dir), INFO_FILE),
        )
    if not kept:
        raise ValueError(
            f"No item could be encoded ({len(skipped)} skipped); see the log"
        )
    matrix = torch.stack([embeddings[pos] for pos in kept]).numpy()
    kept_records = [records[pos] for pos in kept]
    skipped_list = [skipped[pos] for pos in sorted(skipped)]
    info = _write_index(
        out_dir, matrix, kept_records, skipped_list, model_info, sample_rate
    )
    logger.info(
        "Wrote index of %d items (%d-dim) to %s", len(kept), dim, out_dir
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
    lengths = torch.tensor([wav.shape[0] for _, wav in loaded])
    max_len = int(lengths.max())
    wavs = torch.zeros(len(loaded), max_len)
    for row, (_, wav) in enumerate(loaded):
        wavs[row, : wav.shape[0]] = wav
    lens = lengths.float() / max_len
    embs = torch.as_tensor(encode_batch(wavs, lens))
    embs = embs.detach().float().cpu()
    if embs.dim() != 2 or embs.shape[0] != len(loaded):
        raise ValueError(
            f"encode_batch must return ({len(loaded)}, D) embeddings, got "
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


def _write_index(out_dir, matrix, records, skipped, model_info, sample_rate):
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
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    _atomic_write(emb_path, lambda f: np.save(f, matrix), binary=True)
    _write_json(items_path, records)
    info = {
        "format_version": INDEX_FORMAT_VERSION,
        "dim": int(matrix.shape[1]),
        "count": int(matrix.shape[0]),
        "dtype": "float32",
        "sample_rate": int(sample_rate),
        "model_info": model_info,
        "embeddings_sha256": file_sha256(emb_path),
        "items_sha256": file_sha256(items_path),
        "created": datetime.datetime.now(datetime.UTC).isoformat(
            timespec="seconds"
        ),
        "num_skipped": len(skipped),
        "skipped": skipped,
    }
    _write_json(info_path, info)
    return info
