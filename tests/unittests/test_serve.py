"""The search page: JSON API, audio route, CLI and a headless Chromium run.

A tiny exported model (as in test_inference_cli.py) indexes five items made
here: two WAV files, a stereo 22.05 kHz FLAC, a whole long WAV and a
segment (start/stop) of it. The API tests call the FastAPI app through
FastAPI's ``TestClient``; the raw-socket tests and the browser test use a
real uvicorn server in a thread on a free port, and the CLI test runs
``speechbrain-style serve`` in a subprocess. The browser test drives
Debian's ``chromium`` through ``chromedriver`` with selenium (no download:
both paths are given) and skips where they are missing
(``bash scripts/setup_browser.sh`` installs them).
"""

import http.client
import importlib.util
import io
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

pytest.importorskip("fastapi", reason='pip install "speechbrain-style[serve]"')
pytest.importorskip("uvicorn", reason='pip install "speechbrain-style[serve]"')
pytest.importorskip("httpx", reason="TestClient needs httpx (dev extra)")

import uvicorn  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from speechbrain_style.cli.main import (  # noqa: E402
    backend_load_options,
    build_parser,
    main,
)
from speechbrain_style.cli.serve import bind, page_url  # noqa: E402
from speechbrain_style.inference.export import (  # noqa: E402
    write_inference_folder,
)
from speechbrain_style.inference.retriever import StyleRetriever  # noqa: E402
from speechbrain_style.lobes import (  # noqa: E402
    ECAPASpeechEncoder,
    HFTextEncoder,
    ProjectionHead,
)
from speechbrain_style.retrieval.index import (  # noqa: E402
    StyleIndex,
    StyleIndexError,
    build_index,
)
from speechbrain_style.retrieval.service import (  # noqa: E402
    MAX_BODY_BYTES,
    RequestError,
    StyleSearchService,
    WavCache,
)
from speechbrain_style.retrieval.webapp import create_app  # noqa: E402
from tests.tiny_models import build_tiny_hf_text_encoder  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
REPO_ROOT = Path(__file__).resolve().parents[2]
# Expected playable duration of each item (seconds).
DURATIONS = {
    "calm_female": 1.5,
    "fast_male": 2.0,
    "stereo_flac": 1.2,
    "segment": 0.75,
    "whole_long": 3.0,
}
# No proxy from the environment for the loopback server.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _signal(seconds, rate, freq, channels=1, seed=0):
    """A tone with a little noise, quantised as 16-bit PCM would be."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(seconds * rate))) / rate
    wave = 0.3 * np.sin(2 * np.pi * freq * t)
    wave = wave[:, None] + 0.02 * rng.standard_normal((len(t), channels))
    return wave.astype("float32")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve")
    torch.manual_seed(0)
    text_dir = build_tiny_hf_text_encoder(str(root / "bert"), "bert")
    modules = {
        "speech_encoder": ECAPASpeechEncoder(
            n_mels=40, channels=[16, 16, 16, 16, 48], lin_neurons=16
        ),
        "speech_head": ProjectionHead(16, proj_size=8, num_transform_layers=1),
        "text_encoder": HFTextEncoder(text_dir, pooling="mean"),
        "text_head": ProjectionHead(32, proj_size=8, num_transform_layers=1),
    }
    for module in modules.values():
        module.eval()
    model_dir = str(root / "model")
    write_inference_folder(model_dir, modules, extra={"sample_rate": 16000})

    audio = root / "audio"
    audio.mkdir()
    sf.write(audio / "a.wav", _signal(1.5, 16000, 220), 16000)
    sf.write(audio / "b.wav", _signal(2.0, 16000, 440, seed=1), 16000)
    sf.write(audio / "c.flac", _signal(1.2, 22050, 330, 2, seed=2), 22050)
    sf.write(audio / "long.wav", _signal(3.0, 16000, 150, seed=3), 16000)
    items = {
        "calm_female": {"wav": str(audio / "a.wav"), "sex": "female", "spk": 1},
        "fast_male": {"wav": str(audio / "b.wav"), "sex": "male", "spk": 2},
        "stereo_flac": {"wav": str(audio / "c.flac"), "sex": "female"},
        "segment": {
            "wav": str(audio / "long.wav"),
            "start": 0.5,
            "stop": 1.25,
            "sex": "male",
            "spk": 2,
        },
        "whole_long": {"wav": str(audio / "long.wav"), "sex": "female"},
    }
    model = StyleRetriever.from_hparams(source=model_dir)
    index_dir = str(root / "index")
    build_index(
        model.encode_audio,
        items,
        index_dir,
        model_info={"model_dir": model_dir, "fingerprint": model.fingerprint},
        progress=False,
    )
    service = StyleSearchService.from_folders(model_dir, index_dir)
    app = create_app(service)
    with TestClient(app) as client:
        yield {
            "root": root,
            "model": model,
            "model_dir": model_dir,
            "index_dir": index_dir,
            "service": service,
            "app": app,
            "client": client,
            "audio": audio,
        }
    service.close()


@pytest.fixture(scope="module")
def live(setup):
    """The URL of a real uvicorn server of the app, in a thread."""
    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(
        uvicorn.Config(
            setup["app"], log_config=None, access_log=False, lifespan="off"
        )
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline
        time.sleep(0.02)
    yield page_url(sock)
    server.should_exit = True
    thread.join(timeout=30)
    sock.close()


def _request(client, path, data=None, headers=None, method=None, **kwargs):
    """(status, headers, body) of one request through the TestClient."""
    method = method or ("POST" if data is not None else "GET")
    response = client.request(
        method, path, content=data, headers=headers or {}, **kwargs
    )
    return response.status_code, response.headers, response.content


def _get_json(client, path, **params):
    """(status, JSON answer) of a GET, checking its content type."""
    status, headers, body = _request(client, path, params=params)
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    return status, json.loads(body)


def _raw(url, target, method="GET", body=None, headers=None, connection=None):
    """(status, headers, body) of a request for a raw target (no URL
    normalisation) on a real server, on ``connection`` if given."""
    parts = urllib.parse.urlsplit(url)
    conn = connection or http.client.HTTPConnection(
        parts.hostname, parts.port, timeout=30
    )
    conn.request(method, target, body=body, headers=headers or {})
    response = conn.getresponse()
    answer = (response.status, response.headers, response.read())
    if connection is None:
        conn.close()
    return answer


def test_search_returns_the_model_scores_in_order(setup):
    client = setup["client"]
    query = "A woman speaking slowly and calmly."
    status, answer = _get_json(client, "/api/search", q=f"  {query} ", k=3)
    assert status == 200
    assert answer["query"] == query and answer["k"] == 3
    results = answer["results"]
    assert [r["rank"] for r in results] == [1, 2, 3]
    # Hand-computed: cosine of the query and every stored embedding.
    index = setup["service"].index
    text = setup["model"].encode_text([query])[0]
    expected = (index.embeddings @ text).tolist()
    order = sorted(range(len(expected)), key=lambda i: -expected[i])
    assert [r["id"] for r in results] == [index.ids[i] for i in order[:3]]
    for result, row in zip(results, order[:3], strict=True):
        assert result["score"] == pytest.approx(expected[row], abs=1e-5)
        assert result["audio_url"] == f"/audio/{row}"
        stored = dict(index.items[row]["metadata"])
        assert result["metadata"] == stored
    # k larger than the index: every item once.
    _, answer = _get_json(client, "/api/search", q=query, k=100)
    assert sorted(r["id"] for r in answer["results"]) == sorted(DURATIONS)
    # POST as a form and as JSON gives the same answer.
    form = urllib.parse.urlencode({"q": query, "k": 3}).encode()
    status, _, body = _request(
        client,
        "/api/search",
        data=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 200 and json.loads(body)["results"] == results
    status, _, body = _request(
        client,
        "/api/search",
        data=json.dumps({"query": query, "k": 3}).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert status == 200 and json.loads(body)["results"] == results


def test_filters_keep_matching_items_only(setup):
    client = setup["client"]
    query = "someone talking"
    _, answer = _get_json(client, "/api/search", q=query, filter="sex:male")
    assert {r["id"] for r in answer["results"]} == {"fast_male", "segment"}
    # A number in the URL matches a numeric metadata value.
    _, answer = _get_json(
        client, "/api/search", q=query, filter=["spk:1", "sex:female"]
    )
    assert [r["id"] for r in answer["results"]] == ["calm_female"]
    status, _, body = _request(
        client,
        "/api/search",
        data=json.dumps({"q": query, "filter": {"sex": "female"}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    ids = {r["id"] for r in json.loads(body)["results"]}
    assert status == 200
    assert ids == {"calm_female", "stereo_flac", "whole_long"}
    # A repeated form field: the items with either value.
    status, _, body = _request(
        client,
        "/api/search",
        data=b"q=someone&filter=spk%3D1&filter=spk%3D2",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    ids = {r["id"] for r in json.loads(body)["results"]}
    assert status == 200 and ids == {"calm_female", "fast_male", "segment"}
    status, answer = _get_json(client, "/api/search", q=query, filter="mood:x")
    assert status == 400 and "'mood'" in answer["error"]
    status, answer = _get_json(client, "/api/search", q=query, filter="sex")
    assert status == 400 and "FIELD:VALUE" in answer["error"]
    _, info = _get_json(client, "/api/info")
    assert info["count"] == 5
    assert info["fields"] == {"sex": ["female", "male"], "spk": ["1", "2"]}


@pytest.mark.parametrize(
    "params, status, message",
    [
        ({"k": 3}, 400, "empty"),
        ({"q": "   ", "k": 3}, 400, "empty"),
        ({"q": "x" * 1001}, 413, "1001 characters"),
        ({"q": "calm", "k": 0}, 400, "between 1 and 100"),
        ({"q": "calm", "k": 101}, 400, "between 1 and 100"),
        ({"q": "calm", "k": "ten"}, 400, "integer"),
        ({"q": "calm", "fusion": "0"}, 400, "fusion"),
    ],
)
def test_bad_queries_get_a_clear_4xx(setup, params, status, message):
    got, answer = _get_json(setup["client"], "/api/search", **params)
    assert got == status
    assert message in answer["error"] and answer["status"] == status


def test_unknown_paths_methods_and_bodies(setup, live):
    # Raw request targets on the real server: no client-side normalisation.
    for path in [
        "/nope",
        "/audio/5",
        "/audio/-1",
        "/audio/../../etc/passwd",
        "/audio/%2e%2e%2fetc%2fpasswd",
        "/audio/0/../1",
        "/audio/",
        "/docs",
        "/redoc",
    ]:
        status, headers, body = _raw(live, path)
        assert status == 404, path
        assert headers["Content-Type"] == "application/json; charset=utf-8"
        assert json.loads(body)["status"] == 404, path
    client = setup["client"]
    status, headers, body = _request(client, "/audio/0", data=b"x")
    assert status == 405 and headers["Allow"] == "GET, HEAD"
    assert json.loads(body)["error"] == "POST is not allowed on /audio/0"
    status, headers, _ = _request(client, "/api/search", method="PUT")
    assert status == 405 and headers["Allow"] == "GET, HEAD, POST"
    status, _, body = _request(
        client, "/api/search", data=b"q=" + b"x" * MAX_BODY_BYTES
    )
    assert status == 413 and "bytes" in json.loads(body)["error"]
    status, _, body = _request(
        client,
        "/api/search",
        data=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert status == 400 and "JSON" in json.loads(body)["error"]
    status, _, body = _request(
        client,
        "/api/search",
        data=b"[1, 2]",
        headers={"Content-Type": "application/json"},
    )
    assert status == 400 and "object" in json.loads(body)["error"]


def test_oversized_bodies_on_a_real_connection(live):
    """A 413 reaches the client, and the connection serves the next query.

    The unread body is drained by uvicorn (the hand-written server did it
    itself); a chunked body without a length is cut at the limit too.
    """
    parts = urllib.parse.urlsplit(live)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        for size in (MAX_BODY_BYTES + 1, 4 * MAX_BODY_BYTES):
            status, _, body = _raw(
                live,
                "/api/search",
                "POST",
                b"q=" + b"x" * size,
                {"Content-Type": "application/x-www-form-urlencoded"},
                connection=conn,
            )
            assert status == 413, body
            assert f"{size + 2} bytes" in json.loads(body)["error"]
            kept_alive = conn.sock  # http.client reconnects if it closed
            assert kept_alive is not None
            status, _, body = _raw(
                live, "/api/search?q=calm&k=2", connection=conn
            )
            assert status == 200 and len(json.loads(body)["results"]) == 2
            assert conn.sock is kept_alive
        blocks = iter([b"q=", b"x" * MAX_BODY_BYTES, b"y" * 1000])
        status, _, body = _raw(
            live,
            "/api/search",
            "POST",
            blocks,
            {"Content-Type": "application/x-www-form-urlencoded"},
            connection=conn,
        )
        assert status == 413 and "more than" in json.loads(body)["error"]
    finally:
        conn.close()


def test_audio_route_serves_each_item_as_wav(setup):
    service, client = setup["service"], setup["client"]
    audio = setup["audio"]
    rows = {item_id: row for row, item_id in enumerate(service.index.ids)}
    # A whole WAV file: its bytes, unchanged.
    status, headers, body = _request(client, f"/audio/{rows['calm_female']}")
    assert status == 200 and headers["Content-Type"] == "audio/wav"
    assert headers["Accept-Ranges"] == "bytes"
    assert body == (audio / "a.wav").read_bytes()
    # A segment: exactly the samples from 0.5 s to 1.25 s.
    original, rate = sf.read(audio / "long.wav", dtype="int16")
    _, headers, body = _request(client, f"/audio/{rows['segment']}")
    assert headers["Content-Type"] == "audio/wav"
    cut, cut_rate = sf.read(io.BytesIO(body), dtype="int16")
    assert sf.info(io.BytesIO(body)).format == "WAV" and cut_rate == rate
    assert np.array_equal(cut, original[8000:20000])
    # ... and seekable: a range of the cut file is the same bytes.
    segment = f"/audio/{rows['segment']}"
    status, headers, part = _request(
        client, segment, headers={"Range": "bytes=100-199"}
    )
    assert status == 206 and part == body[100:200]
    assert headers["Content-Range"] == f"bytes 100-199/{len(body)}"
    # FLAC: transcoded to a WAV with the same rate, channels and samples.
    _, _, body = _request(client, f"/audio/{rows['stereo_flac']}")
    wav, wav_rate = sf.read(io.BytesIO(body), dtype="int16")
    flac, flac_rate = sf.read(audio / "c.flac", dtype="int16")
    assert wav_rate == flac_rate == 22050 and wav.shape == (26460, 2)
    assert np.array_equal(wav, flac)
    # Ranges (seeking), a suffix range, an unsatisfiable one and HEAD.
    full = (audio / "b.wav").read_bytes()
    row_url = f"/audio/{rows['fast_male']}"
    status, headers, body = _request(
        client, row_url, headers={"Range": "bytes=0-43"}
    )
    assert status == 206 and body == full[:44]
    assert headers["Content-Range"] == f"bytes 0-43/{len(full)}"
    status, _, body = _request(client, row_url, headers={"Range": "bytes=-10"})
    assert status == 206 and body == full[-10:]
    status, headers, body = _request(
        client, row_url, headers={"Range": f"bytes={len(full)}-"}
    )
    assert status == 416 and headers["Content-Range"] == f"bytes */{len(full)}"
    answer = json.loads(body)
    assert answer["status"] == 416 and f"{len(full)} bytes" in answer["error"]
    status, _, body = _request(client, row_url, headers={"Range": "bytes=9-3"})
    assert status == 400 and json.loads(body)["status"] == 400
    status, headers, body = _request(client, row_url, method="HEAD")
    assert status == 200 and body == b""
    assert int(headers["Content-Length"]) == len(full)


def test_audio_on_a_real_server_is_seekable(setup, live):
    """Ranges on a real socket: what the browser's player asks for."""
    full = (setup["audio"] / "b.wav").read_bytes()
    row = setup["service"].index.ids.index("fast_male")
    request = urllib.request.Request(
        live + f"audio/{row}", headers={"Range": "bytes=1000-"}
    )
    with OPENER.open(request, timeout=30) as response:
        assert response.status == 206
        assert response.headers["Content-Type"] == "audio/wav"
        assert response.read() == full[1000:]


def test_cut_audio_cache_is_bounded_on_disk(tmp_path):
    """Cut items live in a bounded folder; evicted ones are made again."""
    sf.write(tmp_path / "x.wav", _signal(2.0, 16000, 200), 16000)
    original, _ = sf.read(tmp_path / "x.wav", dtype="int16")
    segments = [(0.0, 0.5), (0.5, 1.0), (1.0, 1.5)]
    index = StyleIndex(
        torch.eye(3),
        [
            {
                "id": f"s{i}",
                "wav": str(tmp_path / "x.wav"),
                "metadata": {"start": start, "stop": stop},
            }
            for i, (start, stop) in enumerate(segments)
        ],
    )
    cache = WavCache(tmp_path / "cache", max_files=2)
    service = StyleSearchService(
        lambda texts: torch.eye(3)[:1], index, audio_cache=cache
    )
    paths = [service.audio(row) for row in range(3)]
    on_disk = sorted((tmp_path / "cache").iterdir())
    assert len(on_disk) == 2 and not os.path.exists(paths[0])
    assert service.audio(2) == paths[2]  # still cached: the same file
    again = service.audio(0)
    for row, (start, stop) in enumerate(segments):
        cut, _ = sf.read(service.audio(row), dtype="int16")
        first, last = int(start * 16000), int(stop * 16000)
        assert np.array_equal(cut, original[first:last])
    assert os.path.basename(again) == os.path.basename(paths[0])
    # A byte budget smaller than two files keeps only the newest one.
    small = WavCache(tmp_path / "small", max_bytes=20000)
    service = StyleSearchService(
        lambda texts: torch.eye(3)[:1], index, audio_cache=small
    )
    service.audio(0), service.audio(1)
    assert len(list((tmp_path / "small").iterdir())) == 1
    # The default cache is a temporary folder, removed by close().
    service = StyleSearchService(lambda texts: torch.eye(3)[:1], index)
    folder = os.path.dirname(service.audio(1))
    assert os.path.isdir(folder)
    service.close()
    assert not os.path.exists(folder)


def test_missing_audio_and_unreadable_segment(tmp_path):
    sf.write(tmp_path / "x.wav", _signal(0.5, 16000, 200), 16000)
    index = StyleIndex(
        torch.eye(2),
        [
            {"id": "gone", "wav": str(tmp_path / "gone.wav")},
            {
                "id": "bad",
                "wav": str(tmp_path / "x.wav"),
                "metadata": {"start": 0.4, "stop": 0.1},
            },
        ],
    )
    service = StyleSearchService(lambda texts: torch.eye(2)[:1], index)
    with pytest.raises(RequestError, match="'gone' is missing") as error:
        service.audio(0)
    assert error.value.status == 404
    with pytest.raises(RequestError, match="'bad' cannot be read") as error:
        service.audio("1")
    assert error.value.status == 500
    client = TestClient(create_app(service))
    status, _, body = _request(client, "/audio/1")
    assert status == 500 and "'bad' cannot be read" in json.loads(body)["error"]
    service.close()


def test_page_is_self_contained(setup):
    status, headers, body = _request(setup["client"], "/")
    page = body.decode("utf-8")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert 'id="query"' in page and "<audio" not in page  # built by JS
    assert "http://" not in page and "https://" not in page  # no CDN
    assert "{{" not in page and 'max="100"' in page
    policy = headers["Content-Security-Policy"]
    assert "script-src 'sha256-" in policy and "default-src 'none'" in policy
    assert "unsafe-inline" not in policy
    # The API's answers allow nothing at all.
    _, headers, _ = _request(setup["client"], "/api/info")
    assert headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_openapi_schema_lists_the_api_routes(setup):
    response = setup["client"].get("/openapi.json")
    assert response.status_code == 200
    answer = response.json()
    assert answer["info"]["title"] == "speechbrain-style search"
    paths = {path: sorted(ops) for path, ops in answer["paths"].items()}
    assert paths == {
        "/api/search": ["get", "post"],
        "/api/info": ["get"],
        "/audio/{row}": ["get"],
    }
    search = answer["paths"]["/api/search"]
    params = {p["name"]: p for p in search["get"]["parameters"]}
    assert sorted(params) == ["filter", "fusion", "k", "q"]
    assert params["k"]["schema"]["maximum"] == setup["service"].max_k
    assert sorted(search["post"]["requestBody"]["content"]) == [
        "application/json",
        "application/x-www-form-urlencoded",
    ]
    audio = answer["paths"]["/audio/{row}"]["get"]
    assert "audio/wav" in audio["responses"]["200"]["content"]
    assert "416" in audio["responses"]


def test_a_mismatched_index_is_refused_at_startup(setup, tmp_path, capsys):
    other = tmp_path / "index"
    shutil.copytree(setup["index_dir"], other)
    info = json.loads((other / "index.json").read_text())
    info["model_info"]["fingerprint"] = "another-model"
    (other / "index.json").write_text(json.dumps(info))
    with pytest.raises(StyleIndexError, match="another model"):
        StyleSearchService.from_folders(setup["model_dir"], str(other))
    argv = ["serve", "--model", setup["model_dir"], "--index", str(other)]
    assert main([*argv, "--port", "0"]) == 1
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("speechbrain-style serve: error: the model ")
    assert "another-model" in error and "did not build" in error


@pytest.mark.parametrize("missing", ["fastapi", "uvicorn"])
def test_serve_without_the_extra_says_how_to_install(
    setup, monkeypatch, capsys, missing
):
    # None in sys.modules makes `import name` raise ImportError, as when the
    # package is not installed (and so the web app cannot be imported).
    monkeypatch.setitem(sys.modules, missing, None)
    monkeypatch.setitem(sys.modules, "speechbrain_style.retrieval.webapp", None)
    argv = ["serve", "--model", setup["model_dir"], "--index"]
    assert main([*argv, setup["index_dir"], "--port", "0"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    assert err.strip().splitlines() == [
        "speechbrain-style serve: error: the search page needs the serve "
        f"extra ({missing} is not installed): pip install "
        '"speechbrain-style[serve]"'
    ]


@pytest.mark.parametrize(
    "flags",
    [["--backend", "faiss-flat"], ["--backend", "ivf", "--nlist", "1"]],
)
def test_serve_backend_flags_reach_the_index(setup, tmp_path, flags):
    """The serve flags pick the backend; its answers equal exact search."""
    pytest.importorskip("faiss")
    index_dir = tmp_path / "index"
    shutil.copytree(setup["index_dir"], index_dir)
    args = build_parser().parse_args(
        ["serve", "--model", setup["model_dir"], "--index", str(index_dir)]
        + flags
    )
    service = StyleSearchService.from_folders(
        args.model, args.index, index_options=backend_load_options(args)
    )
    backend = service.index.backend
    assert type(backend).__name__ == "FaissSearch"
    assert backend.kind == args.backend
    # IVF (one list: exact) is cached next to the index, flat is not.
    assert (index_dir / "ann").is_dir() == (args.backend == "ivf")
    for query, filters in [
        ("a woman speaking slowly", None),
        ("someone shouting", ["sex:male"]),
    ]:
        expected = setup["service"].search(query, k=4, filters=filters)
        got = service.search(query, k=4, filters=filters)
        assert [r["id"] for r in got["results"]] == [
            r["id"] for r in expected["results"]
        ]
        assert [r["score"] for r in got["results"]] == pytest.approx(
            [r["score"] for r in expected["results"]], abs=1e-5
        )


def _lines(stream, out):
    for line in stream:
        out.put(line)


@pytest.mark.parametrize("stop", ["SIGINT", "SIGTERM"])
def test_cli_serve_answers_and_stops_cleanly(setup, tmp_path, stop):
    """Ctrl+C or SIGTERM: exit 0, "Stopped.", the audio cache deleted."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), TMPDIR=str(temp))
    process = subprocess.Popen(
        [sys.executable, "-m", "speechbrain_style.cli.main", "serve"]
        + ["--model", setup["model_dir"], "--index", setup["index_dir"]]
        + ["--port", "0"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = queue.Queue()
    threading.Thread(
        target=_lines, args=(process.stdout, lines), daemon=True
    ).start()
    try:
        line = lines.get(timeout=60)
        assert line.startswith("Serving 5 items on http://127.0.0.1:"), line
        url = line.split(" on ")[1].split()[0]
        with OPENER.open(url + "api/search?q=a+calm+voice&k=2") as response:
            assert response.status == 200
            assert len(json.load(response)["results"]) == 2
        # A segment is cut into the cache, under TMPDIR.
        row = setup["service"].index.ids.index("segment")
        with OPENER.open(url + f"audio/{row}") as response:
            assert sf.info(io.BytesIO(response.read())).frames == 12000
        assert [p.name for p in temp.iterdir()][0].startswith(
            "speechbrain-style-audio-"
        )
        process.send_signal(getattr(signal, stop))
        assert process.wait(timeout=20) == 0
        assert lines.get(timeout=5).strip() == "Stopped."
        assert list(temp.iterdir()) == []
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stderr.close()


def _browser_missing():
    """What the browser test needs and this machine lacks."""
    missing = [
        f"{path} (apt-get install chromium chromium-driver)"
        for path in (CHROMIUM, CHROMEDRIVER)
        if not os.path.isfile(path)
    ]
    if importlib.util.find_spec("selenium") is None:
        missing.append("selenium (pip install selenium)")
    return missing


def _chromium(tmp_path):
    """A headless Chromium driven through Debian's chromedriver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--no-proxy-server",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--autoplay-policy=no-user-gesture-required",
        "--window-size=1200,900",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]:
        options.add_argument(flag)
    # Both paths given: Selenium Manager is never run (it would download).
    service = Service(CHROMEDRIVER, log_output=str(tmp_path / "driver.log"))
    return webdriver.Chrome(service=service, options=options)


@pytest.mark.skipif(
    bool(_browser_missing()),
    reason=f"no headless browser: missing {', '.join(_browser_missing())}",
)
def test_chromium_query_shows_results_and_plays_audio(setup, live, tmp_path):
    driver = _chromium(tmp_path)
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    start = time.monotonic()
    try:
        driver.get(live)
        wait = WebDriverWait(driver, 15)
        # An empty query: the page shows the server's 400.
        driver.find_element(By.ID, "search-button").click()
        wait.until(
            lambda d: "Error 400" in d.find_element(By.ID, "status").text
        )
        query = "A woman speaking slowly and calmly."
        box = driver.find_element(By.ID, "query")
        box.send_keys(query)
        box.send_keys(Keys.ENTER)
        rows = wait.until(
            lambda d: d.find_elements(By.CSS_SELECTOR, "tr.result") or False
        )
        _, answer = _get_json(setup["client"], "/api/search", q=query, k=10)
        shown = [
            (
                row.find_element(By.CSS_SELECTOR, "td.id").text,
                row.find_element(By.CSS_SELECTOR, "td.score").text,
            )
            for row in rows
        ]
        assert shown == [
            (r["id"], f"{r['score']:.4f}") for r in answer["results"]
        ]
        assert "sex: " in rows[0].find_element(By.CSS_SELECTOR, "td.meta").text
        assert len(driver.find_elements(By.CSS_SELECTOR, "tr audio")) == 5
        assert "q=A+woman" in driver.current_url  # shareable link
        played = driver.execute_async_script(
            """
            const done = arguments[arguments.length - 1];
            const audio = document.querySelector("tr.result audio");
            let playing = false;
            audio.addEventListener("playing", () => { playing = true; });
            audio.play().then(() => setTimeout(() => done({
                playing: playing, readyState: audio.readyState,
                currentTime: audio.currentTime, duration: audio.duration,
                error: audio.error && audio.error.code,
            }), 700)).catch((e) => done({error: String(e)}));
            """
        )
        assert played.get("error") is None, played
        assert played["playing"] and played["readyState"] >= 2, played
        assert played["currentTime"] > 0.2, played
        first = answer["results"][0]["id"]
        assert played["duration"] == pytest.approx(DURATIONS[first], abs=0.02)
    finally:
        driver.quit()
    assert time.monotonic() - start < 30
