"""Fixtures for the server: a drawn shop indexed with the tiny model, the app over it, and a real
`fashrec serve` process over the example shop."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

from fashrec.demo import make_catalog
from fashrec.index.build import build_index


@pytest.fixture(scope="module")
def shop_index(tmp_path_factory, tiny_model, server_home):
    """(catalog JSONL, index folder) of 40 drawn products."""
    folder = tmp_path_factory.mktemp("serve-shop")
    catalog = make_catalog(folder / "shop", n_items=40, seed=5)
    build_index(catalog, folder / "idx", model=str(tiny_model))
    return catalog, folder / "idx"


@pytest.fixture(scope="module")
def server_home(tmp_path_factory):
    """One FASHREC_HOME for the app and the commands compared with it (sessions, profile)."""
    home = tmp_path_factory.mktemp("serve-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FASHREC_HOME", str(home))
        mp.setenv("FASHREC_THREADS", "1")
        mp.delenv("FASHREC_INDEX", raising=False)
        yield home


@pytest.fixture(scope="module")
def loaded(shop_index, server_home):
    from fashrec.serve import Loaded, ServerConfig

    catalog, index = shop_index
    return Loaded.load(ServerConfig(index=index, planner="rules", allowed_image_dirs=(catalog.parent,),
                                    max_upload_bytes=256 * 1024))


@pytest.fixture()
def client(loaded):
    from fastapi.testclient import TestClient

    from fashrec.serve import create_app

    with TestClient(create_app(loaded), raise_server_exceptions=False) as test_client:
        yield test_client


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def example_index(tmp_path_factory):
    """The example shop (prices, brands, stock) indexed with the shipped fashrec-mini, so what the page shows
    is what a shopper would see."""
    from fashrec.index.build import build_index

    folder = tmp_path_factory.mktemp("example-shop")
    with pytest.MonkeyPatch.context() as mp:   # building remembers "the last index" in the home folder
        mp.setenv("FASHREC_HOME", str(folder / "home"))
        build_index(REPO / "catalog.example.jsonl", folder / "idx")
    return folder / "idx"


@pytest.fixture(scope="module")
def server(example_index, tmp_path_factory):
    """A real `fashrec serve` on a free loopback port; its URL."""
    yield from serve_process(example_index, tmp_path_factory.mktemp("page-home"))


@pytest.fixture(scope="module")
def asking_server(example_index, tmp_path_factory):
    """`fashrec serve --ask-below 1.01`: every identity attribute read from a photo comes as a question."""
    yield from serve_process(example_index, tmp_path_factory.mktemp("asking-home"), "--ask-below", "1.01")


def serve_process(index: Path, home: Path, *extra: str):
    port = free_port()
    env = {**os.environ, "FASHREC_HOME": str(home), "FASHREC_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    log = (home / "server.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "fashrec", "serve", "--index", str(index),
                             "--port", str(port), "--planner", "rules", *extra], env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as answer:
                if json.load(answer)["status"] == "ok":
                    break
        except OSError:
            if proc.poll() is not None:
                pytest.fail("fashrec serve exited: " + (home / "server.log").read_text()[-2000:])
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("fashrec serve did not become ready: " + (home / "server.log").read_text()[-2000:])
    yield url
    proc.terminate()
    proc.wait(timeout=30)
