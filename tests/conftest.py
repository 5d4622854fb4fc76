"""Shared fixtures: a tiny open_clip model written as a real checkpoint, small generated catalogs,
and a runner for the real `fashrec` command in a subprocess with its own home folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# A deliberately tiny open_clip architecture: loads in well under a second, yet goes through exactly
# the same factory, config and safetensors path as the shipped encoder.
TINY_MODEL_CFG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}
TINY_PREPROCESS = {"size": 32, "resize_mode": "longest", "fill_color": 255}


def write_tiny_model(folder: Path, seed: int = 0) -> Path:
    """Write a randomly initialised (seeded) tiny open_clip model as a local-dir checkpoint."""
    import open_clip
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "open_clip_config.json").write_text(
        json.dumps({"model_cfg": TINY_MODEL_CFG, "preprocess_cfg": TINY_PREPROCESS}))
    torch.manual_seed(seed)
    model = open_clip.create_model(f"local-dir:{folder}")
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / "open_clip_model.safetensors"))
    return folder


@pytest.fixture(scope="session", autouse=True)
def shared_exports(tmp_path_factory) -> Path:
    """One ONNX export folder for the whole run: exports are keyed by the encoder's content hash, so
    every test indexing with the same tiny model can share the one made first (each test still gets its
    own FASHREC_HOME), and nothing is written to the real home."""
    root = tmp_path_factory.mktemp("onnx-exports")
    previous = os.environ.get("FASHREC_EXPORTS")
    os.environ["FASHREC_EXPORTS"] = str(root)
    yield root
    if previous is None:
        os.environ.pop("FASHREC_EXPORTS", None)
    else:
        os.environ["FASHREC_EXPORTS"] = previous


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    return write_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture(scope="session")
def tiny_model_b(tmp_path_factory) -> Path:
    return write_tiny_model(tmp_path_factory.mktemp("tiny-model-b"), seed=1)


@pytest.fixture()
def small_catalog(tmp_path) -> Path:
    """A freshly generated catalog of 24 drawn products (JSONL + images) in its own folder."""
    from fashrec.demo import make_catalog

    return make_catalog(tmp_path / "shop", n_items=24, seed=3)


@pytest.fixture()
def fashrec_env(tmp_path, monkeypatch) -> dict[str, str]:
    """Environment for running fashrec: a private home, few threads, no network use."""
    env = dict(os.environ)
    env.update({
        "FASHREC_HOME": str(tmp_path / "home"),
        "FASHREC_THREADS": "1",
        "HF_HUB_OFFLINE": "1",
        "NO_COLOR": "1",
        "COLUMNS": "200",
    })
    env.pop("FASHREC_INDEX", None)
    env.pop("FASHREC_RUNTIME", None)
    for key in ("FASHREC_HOME", "FASHREC_THREADS", "HF_HUB_OFFLINE"):
        monkeypatch.setenv(key, env[key])
    monkeypatch.delenv("FASHREC_INDEX", raising=False)
    monkeypatch.delenv("FASHREC_RUNTIME", raising=False)
    return env


class Run:
    def __init__(self, proc: subprocess.CompletedProcess):
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    def json(self):
        return json.loads(self.stdout)


@pytest.fixture()
def fashrec(fashrec_env, tmp_path):
    """Run the real `fashrec` command (python -m fashrec) in a subprocess."""

    def run(*args: str, input: str | None = None, cwd: Path | None = None, timeout: int = 300) -> Run:
        proc = subprocess.run([sys.executable, "-m", "fashrec", *map(str, args)], input=input,
                              capture_output=True, text=True, env=fashrec_env, cwd=cwd or tmp_path,
                              timeout=timeout)
        return Run(proc)

    return run


@pytest.fixture()
def refiner(small_catalog, tiny_model, fashrec_env):
    """A Refiner over the small drawn catalog with the tiny model and the rules planner."""
    from fashrec.ammr import Refiner
    from fashrec.encoder import load_encoder
    from fashrec.index import open_index
    from fashrec.index.build import build_index
    from fashrec.planner import create_planner

    build_index(small_catalog, small_catalog.parent / "idx", model=str(tiny_model))
    index = open_index(small_catalog.parent / "idx")
    return Refiner(index, load_encoder(index.encoder_spec), create_planner("rules"),
                   fallback_planner=create_planner("rules"))


@pytest.fixture(params=["local", "lance"])
def store(request) -> str:
    """The index stores a test runs against: the local one (hnswlib + SQLite) and a LanceDB dataset
    (``--store lance``); both must pass the same index tests."""
    return request.param
