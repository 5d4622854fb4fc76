"""Thread defaults chosen before numpy is imported: one BLAS thread for one-request commands."""

from __future__ import annotations

import os
import sys

import pytest

import fashrec.cli as cli
import fashrec.cli.output as output


@pytest.mark.parametrize("argv, fashrec_threads, expected", [
    (["search", "red dress"], None, "1"),
    (["refine", "a.jpg", "in linen"], None, "1"),
    (["outfit", "a.jpg"], "3", "3"),           # FASHREC_THREADS wins
    (["index", "shop.jsonl"], None, None),     # batch work keeps every core
    (["eval", "refine"], None, None),
    ([], None, None),
])
def test_blas_threads_by_command(monkeypatch, argv, fashrec_threads, expected):
    seen: dict[str, str | None] = {}
    # main() hands the command line to run_command_line once the thread policy is set: stand in for it there
    monkeypatch.setattr(output, "run_command_line", lambda app, args: seen.update(
        blas=os.environ.get("OPENBLAS_NUM_THREADS"), mkl=os.environ.get("MKL_NUM_THREADS")))
    for var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "FASHREC_THREADS"):
        monkeypatch.delenv(var, raising=False)
    if fashrec_threads:
        monkeypatch.setenv("FASHREC_THREADS", fashrec_threads)
    monkeypatch.setattr(sys, "argv", ["fashrec", *argv])
    cli.main()
    assert seen == {"blas": expected, "mkl": expected}


def test_an_explicit_blas_setting_is_kept(monkeypatch):
    seen: dict[str, str | None] = {}
    monkeypatch.setattr(output, "run_command_line",
                        lambda app, args: seen.update(blas=os.environ.get("OPENBLAS_NUM_THREADS")))
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    monkeypatch.setattr(sys, "argv", ["fashrec", "search", "x"])
    cli.main()
    assert seen["blas"] == "2"


def test_importing_the_command_line_loads_no_numpy():
    """main() must be able to set the thread policy before numpy reads it."""
    import subprocess

    code = "import sys, fashrec.cli; print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
