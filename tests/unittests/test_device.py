"""Device resolution: --device, LOCAL_RANK (torchrun) and CUDA availability."""

import pytest

from speechbrain_style.inference import resolve_device


@pytest.mark.parametrize(
    ("flag", "environ", "cuda_count", "expected"),
    [
        # an explicit flag always wins, whatever the environment
        ("cpu", {"LOCAL_RANK": "1"}, 2, "cpu"),
        ("cuda:0", {"LOCAL_RANK": "1"}, 2, "cuda:0"),
        ("cuda:3", {}, 0, "cuda:3"),
        # default with CUDA: one GPU per torchrun process of the node
        (None, {"LOCAL_RANK": "0", "RANK": "4"}, 2, "cuda:0"),
        (None, {"LOCAL_RANK": "1", "RANK": "5"}, 2, "cuda:1"),
        ("auto", {"LOCAL_RANK": "3"}, 4, "cuda:3"),
        ("", {"LOCAL_RANK": "1"}, 2, "cuda:1"),
        # default with CUDA, not under torchrun
        (None, {}, 1, "cuda:0"),
        (None, {"LOCAL_RANK": ""}, 1, "cuda:0"),
        # no CUDA: cpu, under torchrun too (gloo)
        (None, {}, 0, "cpu"),
        (None, {"LOCAL_RANK": "1"}, 0, "cpu"),
    ],
)
def test_resolve_device(flag, environ, cuda_count, expected):
    assert resolve_device(flag, environ, cuda_device_count=cuda_count) == (
        expected
    )


def test_resolve_device_errors_name_the_problem():
    with pytest.raises(ValueError, match="only 2 CUDA device"):
        resolve_device(None, {"LOCAL_RANK": "2"}, cuda_device_count=2)
    with pytest.raises(ValueError, match="LOCAL_RANK must be an integer"):
        resolve_device(None, {"LOCAL_RANK": "x"}, cuda_device_count=2)


def test_defaults_follow_this_machine():
    import torch

    expected = "cuda:0" if torch.cuda.is_available() else "cpu"
    assert resolve_device(None, {}) == expected


def test_cli_device_flags_default_to_auto():
    from speechbrain_style.cli.main import build_parser

    parser = build_parser()
    for argv in (
        ["index", "--model", "m", "--audio-dir", "a", "--out", "o"],
        ["search", "--model", "m", "--index", "i", "query"],
        ["describe", "--model", "m", "a.wav"],
        ["serve", "--model", "m", "--index", "i"],
    ):
        args = parser.parse_args(argv)
        assert args.device is None, argv
        assert resolve_device(args.device, {}, 0) == "cpu"
    args = parser.parse_args(argv + ["--device", "cuda:1"])
    assert resolve_device(args.device, {"LOCAL_RANK": "0"}, 2) == "cuda:1"
