"""Retrieval at scale: indexes, search backends, fusion, the service.

* ``index``: ``StyleIndex`` and ``build_index`` (sharded, resumable);
* ``backends``: exact and faiss search;
* ``fusion``: cross-modal query fusion;
* ``service``: the search service and its web page.
"""
