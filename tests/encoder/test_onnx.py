"""The torch-free query path end to end: ONNX export + verification, OnnxEncoder, the runtime
loader and its fallbacks, and models that cannot be exported.

Everything is compared with the torch encoder on the tiny seeded model from conftest.py, so the suite
stays fast; bench/fast_start.py measures fashrec-mini.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from fashrec.encoder import onnx_files as artifacts  # noqa: E402
from fashrec.encoder import runtime as loader  # noqa: E402
from fashrec.encoder.onnx_encoder import OnnxEncoder  # noqa: E402
from fashrec.encoder.onnx_export import export_encoder  # noqa: E402
from fashrec.errors import ModelError  # noqa: E402
from onnx_support import REPO, TEXTS, example_images, example_rows  # noqa: E402


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


# -- export + runtime ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_encoder(tiny_model):
    from fashrec.encoder.openclip import OpenClipEncoder

    return OpenClipEncoder(str(tiny_model), threads=1)


@pytest.fixture(scope="module")
def tiny_export(tiny_encoder, tmp_path_factory):
    root = tmp_path_factory.mktemp("onnx-root")
    report = export_encoder(tiny_encoder, root=root, probe_images=example_images()[:4])
    assert report.ok, report.reason
    return root, report


def test_export_writes_a_verified_folder(tiny_encoder, tiny_export):
    root, report = tiny_export
    assert report.folder == root / artifacts.folder_name(tiny_encoder.identifier)
    names = sorted(p.name for p in report.folder.iterdir())
    import onnxruntime as ort

    # the verification's text session saved onnxruntime's optimised graph beside the export
    optimised = artifacts.optimised_path(artifacts.read_export(report.folder, tiny_encoder.identifier), "text",
                                         ort.__version__)
    assert names == sorted(["export.json", "image.onnx", "merges.txt", "stamp.json", "text.onnx",
                            optimised.name, optimised.with_suffix(".json").name])
    meta = json.loads((report.folder / "export.json").read_text())
    assert meta["identifier"] == tiny_encoder.identifier and meta["dimension"] == tiny_encoder.dimension
    v = meta["verification"]
    assert v["passed"] and v["images"]["min"] >= 0.9999 and v["texts"]["min"] >= 0.9999
    assert v["pixel_max_abs_diff"] == 0.0 and v["token_rows_differ"] == 0
    assert meta["tokenizer"]["context_length"] == 16 and meta["preprocess"]["fill_color"] == 255
    assert not [p for p in root.iterdir() if p.name.startswith(".")]  # no temporary folder left


def test_onnx_equals_torch_on_the_example_catalog(tiny_encoder, tiny_export):
    root, _ = tiny_export
    fast, note = loader.try_onnx(tiny_encoder.identifier, roots=[root])
    assert fast is not None, note
    images = example_images()
    cos = cosines(tiny_encoder.encode_images(images), fast.encode_images(images))
    assert cos.min() >= 0.9999, cos.min()
    texts = [row["title"] for row in example_rows()] + TEXTS
    cos = cosines(tiny_encoder.encode_texts(texts), fast.encode_texts(texts))
    assert cos.min() >= 0.9999, cos.min()
    out = fast.encode_images(images[:3])
    assert out.dtype == np.float32 and np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)


def test_onnx_lenient_reports_bad_images(tiny_encoder, tiny_export, tmp_path):
    root, _ = tiny_export
    fast, _ = loader.try_onnx(tiny_encoder.identifier, roots=[root])
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    images = [example_images()[0], bad, example_images()[1]]
    vecs, failures = fast.encode_images_lenient(images)
    ref, ref_failures = tiny_encoder.encode_images_lenient(images)
    assert set(failures) == set(ref_failures) == {1}
    assert np.all(vecs[1] == 0)
    assert cosines(vecs[[0, 2]], ref[[0, 2]]).min() >= 0.9999


def test_export_is_kept_unless_replaced(tiny_encoder, tiny_export):
    root, report = tiny_export
    before = (report.folder / "image.onnx").stat().st_mtime_ns
    again = export_encoder(tiny_encoder, root=root)
    assert again.ok and (report.folder / "image.onnx").stat().st_mtime_ns == before


def test_query_path_never_imports_torch(tiny_encoder, tiny_export):
    root, _ = tiny_export
    code = (
        "import sys, json\n"
        "from fashrec.encoder.runtime import try_onnx\n"
        f"enc, note = try_onnx({tiny_encoder.identifier!r}, roots=[{str(root)!r}])\n"
        "assert enc is not None, note\n"
        f"enc.encode_images([{str(example_images()[0])!r}]); enc.encode_texts(['a red dress', 'Café'])\n"
        "print(json.dumps(sorted(m for m in ('torch', 'open_clip', 'torchvision', 'timm') if m in sys.modules)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


# -- choosing the runtime, and falling back -----------------------------------------------------------
def copy_export(tiny_export, tmp_path) -> tuple[Path, Path]:
    import shutil

    root, report = tiny_export
    new_root = tmp_path / "onnx"
    shutil.copytree(report.folder, new_root / report.folder.name)
    return new_root, new_root / report.folder.name


def test_loader_prefers_onnx(tiny_model, tiny_encoder, tiny_export):
    root, _ = tiny_export
    got = loader.load_query_encoder(str(tiny_model), roots=[root])
    assert got.runtime == "onnx" and got.note is None and isinstance(got.encoder, OnnxEncoder)
    assert got.encoder.identifier == tiny_encoder.identifier and got.encoder.dimension == tiny_encoder.dimension


def test_loader_torch_when_asked(tiny_model, tiny_export):
    root, _ = tiny_export
    got = loader.load_query_encoder(str(tiny_model), runtime="torch", roots=[root])
    assert got.runtime == "torch" and got.note is None


def test_fallback_when_the_export_is_missing(tiny_model, tmp_path):
    got = loader.load_query_encoder(str(tiny_model), roots=[tmp_path / "nothing"])
    assert got.runtime == "torch" and "no ONNX export" in got.note
    with pytest.raises(ModelError, match="no ONNX export"):
        loader.load_query_encoder(str(tiny_model), runtime="onnx", roots=[tmp_path / "nothing"])


def test_fallback_when_onnxruntime_is_missing(tiny_model, tiny_export, monkeypatch):
    root, _ = tiny_export
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # makes `import onnxruntime` raise ImportError
    got = loader.load_query_encoder(str(tiny_model), roots=[root])
    assert got.runtime == "torch" and "onnxruntime is not importable" in got.note
    with pytest.raises(ModelError, match="onnxruntime"):
        loader.load_query_encoder(str(tiny_model), runtime="onnx", roots=[root])


def test_fallback_when_a_file_is_truncated(tiny_model, tiny_export, tmp_path):
    root, folder = copy_export(tiny_export, tmp_path)
    data = (folder / "text.onnx").read_bytes()
    (folder / "text.onnx").write_bytes(data[: len(data) // 2])
    got = loader.load_query_encoder(str(tiny_model), roots=[root])
    assert got.runtime == "torch" and "truncated" in got.note


def test_fallback_when_a_checksum_fails(tiny_model, tiny_export, tmp_path):
    root, folder = copy_export(tiny_export, tmp_path)
    path = folder / "image.onnx"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, different weights: only the checksum can tell
    path.write_bytes(bytes(data))
    got = loader.load_query_encoder(str(tiny_model), roots=[root])
    assert got.runtime == "torch" and "checksum" in got.note


def _counting_hashes(monkeypatch) -> list:
    calls = []
    real = artifacts.sha256_file
    monkeypatch.setattr(artifacts, "sha256_file", lambda p: calls.append(p) or real(p))
    return calls


def test_a_stamp_skips_rehashing_only_while_files_are_unchanged(tiny_encoder, tiny_export, tmp_path, monkeypatch):
    root, folder = copy_export(tiny_export, tmp_path)
    calls = _counting_hashes(monkeypatch)
    monkeypatch.setattr(artifacts, "SETTLE_NS", 10**18)   # however slow the machine: never settled yet
    for _ in range(2):   # just copied: within SETTLE_NS, so hashed each time, never stamped
        artifacts.read_export(folder, tiny_encoder.identifier)
    assert len(calls) == 6
    monkeypatch.setattr(artifacts, "SETTLE_NS", 0)
    artifacts.read_export(folder, tiny_encoder.identifier)  # copying changed the stamps: hashes, re-stamps
    assert len(calls) == 9
    artifacts.read_export(folder, tiny_encoder.identifier)
    assert len(calls) == 9
    os.utime(folder / "merges.txt", ns=(1, 1))
    artifacts.read_export(folder, tiny_encoder.identifier)
    assert len(calls) == 12


def _flip_in_place(path: Path) -> None:
    """Rewrite ``path`` with one byte changed, same size and inode, and its mtime put back."""
    before = path.stat()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (before.st_ino, before.st_size, before.st_mtime_ns)


def test_a_same_size_rewrite_that_puts_the_mtime_back_is_hashed_again(tiny_encoder, tiny_export, tmp_path,
                                                                     monkeypatch):
    """Size, mtime and inode all stay as stamped; only ctime moves, and that is enough to hash again."""
    root, folder = copy_export(tiny_export, tmp_path)
    monkeypatch.setattr(artifacts, "SETTLE_NS", 0)
    artifacts.read_export(folder, tiny_encoder.identifier)   # hashed and stamped
    _flip_in_place(folder / "text.onnx")
    with pytest.raises(artifacts.ExportInvalid, match="text.onnx fails its checksum"):
        artifacts.read_export(folder, tiny_encoder.identifier)


def test_a_stamp_written_by_an_older_fashrec_means_hashing_again(tiny_encoder, tiny_export, tmp_path, monkeypatch):
    """stamp.json as fashrec wrote it before FileStamp ([size, mtime_ns, inode, sha256] per file, no ctime),
    matching the files as they are: it is not trusted, nor an error; the files hash, and a stamp in the
    current format replaces it."""
    root, folder = copy_export(tiny_export, tmp_path)
    monkeypatch.setattr(artifacts, "SETTLE_NS", 0)
    record = artifacts.read_export(folder, tiny_encoder.identifier)
    old = {}
    for part in artifacts.FILES:
        st = record.path(part).stat()
        old[part] = [st.st_size, st.st_mtime_ns, st.st_ino, record.meta["files"][part]["sha256"]]
    (folder / artifacts.STAMP_FILE).write_text(json.dumps(old))
    calls = _counting_hashes(monkeypatch)
    artifacts.read_export(folder, tiny_encoder.identifier)
    assert len(calls) == 3
    assert json.loads((folder / artifacts.STAMP_FILE).read_text())["format"] == artifacts.STAMP_FORMAT
    artifacts.read_export(folder, tiny_encoder.identifier)
    assert len(calls) == 3


def test_late_fallback_when_onnxruntime_refuses_a_file_that_passed_the_checks(tiny_model, tiny_encoder,
                                                                              tiny_export, tmp_path):
    """An export whose files match their record but that onnxruntime will not load (say, a newer opset
    than this onnxruntime knows): only creating the session can tell, so the encoder switches to torch
    there and says so."""
    import hashlib

    root, folder = copy_export(tiny_export, tmp_path)
    garbage = b"\x00not an onnx model" * 1000
    (folder / "text.onnx").write_bytes(garbage)
    meta = json.loads((folder / "export.json").read_text())
    meta["files"]["text"].update(bytes=len(garbage), sha256=hashlib.sha256(garbage).hexdigest())
    (folder / "export.json").write_text(json.dumps(meta))
    got = loader.load_query_encoder(str(tiny_model), roots=[root])
    assert got.runtime == "onnx"
    texts = ["a red dress", "linen"]
    vecs = got.encoder.encode_texts(texts)
    assert "cannot load the ONNX text tower" in got.encoder.note
    assert cosines(vecs, tiny_encoder.encode_texts(texts)).min() >= 0.9999
    with pytest.raises(ModelError, match="cannot load the ONNX text tower"):
        loader.load_query_encoder(str(tiny_model), runtime="onnx", roots=[root]).encoder.encode_texts(texts)


# -- the text tower, saved as onnxruntime optimised it --------------------------------------------------
def _text_encoder(folder: Path, identifier: str) -> OnnxEncoder:
    return OnnxEncoder(artifacts.read_export(folder, identifier), threads=1)


def copy_export_unoptimised(tiny_export, tmp_path) -> tuple[Path, Path]:
    """An export as made before optimised copies existed (the export's own verification saves one)."""
    root, folder = copy_export(tiny_export, tmp_path)
    for path in folder.glob("text.optimised-*"):
        path.unlink()
    return root, folder


def test_the_text_tower_is_saved_optimised_then_loaded_from_that_copy(tiny_encoder, tiny_export, tmp_path):
    """The first session saves onnxruntime's optimised text graph beside the export, with a sidecar; the
    next encoder loads that copy (no graph optimisation to redo) and embeds bit for bit as before."""
    import onnxruntime as ort

    root, folder = copy_export_unoptimised(tiny_export, tmp_path)
    first = _text_encoder(folder, tiny_encoder.identifier)
    before = first.encode_texts(TEXTS)
    optimised = artifacts.optimised_path(first.record, "text", ort.__version__)
    assert first.loaded_from["text"] == folder / "text.onnx" and optimised.is_file()
    sidecar = json.loads(optimised.with_suffix(".json").read_text())
    assert sidecar["source_sha256"] == first.record.meta["files"]["text"]["sha256"]
    assert sidecar["sha256"] == artifacts.sha256_file(optimised) and sidecar["onnxruntime"] == ort.__version__
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".")]   # no temporary left
    second = _text_encoder(folder, tiny_encoder.identifier)
    assert np.array_equal(second.encode_texts(TEXTS), before)
    assert second.loaded_from["text"] == optimised
    assert cosines(before, tiny_encoder.encode_texts(TEXTS)).min() >= 0.9999
    first.encode_images(example_images()[:1])   # the image tower gains nothing that way: no copy
    assert first.loaded_from["image"] == folder / "image.onnx"
    assert not artifacts.optimised_path(first.record, "image", ort.__version__).exists()


@pytest.mark.parametrize("damage", ["flipped", "flipped-stamp-kept", "other-source", "other-onnxruntime",
                                    "bad-sidecar", "no-sidecar"])
def test_an_optimised_copy_is_used_only_while_its_sidecar_vouches_for_it(tiny_encoder, tiny_export, tmp_path,
                                                                        damage):
    """A copy whose bytes changed (same size and mtime: only the checksum can tell), that was saved from
    another export file or by another onnxruntime, or whose sidecar is damaged or gone, is not loaded:
    the export file is, with the same embeddings, and a good copy is saved again."""
    import onnxruntime as ort

    root, folder = copy_export_unoptimised(tiny_export, tmp_path)
    before = _text_encoder(folder, tiny_encoder.identifier).encode_texts(TEXTS)
    optimised = artifacts.optimised_path(artifacts.read_export(folder, tiny_encoder.identifier), "text",
                                         ort.__version__)
    sidecar = optimised.with_suffix(".json")
    info = json.loads(sidecar.read_text())
    if damage == "flipped-stamp-kept":   # the sidecar's stamp still names this inode, size and mtime
        _flip_in_place(optimised)
    elif damage == "flipped":
        stat = optimised.stat()
        data = bytearray(optimised.read_bytes())
        data[len(data) // 2] ^= 0xFF
        optimised.write_bytes(bytes(data))
        os.utime(optimised, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        sidecar.write_text(json.dumps({**info, "stat": None}))   # as if moved: the checksum decides
    elif damage in ("other-source", "other-onnxruntime"):
        key = "source_sha256" if damage == "other-source" else "onnxruntime"
        sidecar.write_text(json.dumps({**info, key: "0" * 64}))
    elif damage == "bad-sidecar":
        sidecar.write_text("{not json")
    else:
        sidecar.unlink()
    again = _text_encoder(folder, tiny_encoder.identifier)
    assert np.array_equal(again.encode_texts(TEXTS), before)
    assert again.loaded_from["text"] == folder / "text.onnx"
    assert json.loads(sidecar.read_text())["sha256"] == artifacts.sha256_file(optimised)   # saved again
    assert _text_encoder(folder, tiny_encoder.identifier).loaded_from.get("text") is None   # lazy
    third = _text_encoder(folder, tiny_encoder.identifier)
    third.encode_texts(TEXTS[:1])
    assert third.loaded_from["text"] == optimised


def test_an_optimised_copy_is_trusted_by_its_stamp_and_an_older_sidecar_by_its_checksum(
        tiny_encoder, tiny_export, tmp_path, monkeypatch):
    """The sidecar's stamp is the published file's (taken after the rename, which moves ctime): the next
    session trusts the copy without hashing it. A sidecar of an older fashrec ("stat" [size, mtime_ns,
    inode], no ctime) vouches through the checksum only, and is re-stamped once the file has settled."""
    import onnxruntime as ort

    root, folder = copy_export_unoptimised(tiny_export, tmp_path)
    _text_encoder(folder, tiny_encoder.identifier).encode_texts(TEXTS[:1])   # saves the copy
    record = artifacts.read_export(folder, tiny_encoder.identifier)
    optimised = artifacts.optimised_path(record, "text", ort.__version__)
    sidecar = optimised.with_suffix(".json")
    calls = _counting_hashes(monkeypatch)
    assert artifacts.trusted_optimised(record, "text", ort.__version__) == optimised and calls == []
    st = optimised.stat()
    sidecar.write_text(json.dumps({**json.loads(sidecar.read_text()), "stat": [st.st_size, st.st_mtime_ns, st.st_ino]}))
    monkeypatch.setattr(artifacts, "SETTLE_NS", 10**18)   # however slow the machine: not settled yet
    assert artifacts.trusted_optimised(record, "text", ort.__version__) == optimised and calls == [optimised]
    assert isinstance(json.loads(sidecar.read_text())["stat"], list)   # just written: not re-stamped yet
    monkeypatch.setattr(artifacts, "SETTLE_NS", 0)
    assert artifacts.trusted_optimised(record, "text", ort.__version__) == optimised and len(calls) == 2
    assert artifacts.trusted_optimised(record, "text", ort.__version__) == optimised and len(calls) == 2


def test_an_export_folder_that_cannot_be_written_loads_the_export_file(tiny_encoder, tiny_export, tmp_path,
                                                                       monkeypatch):
    """A shipped or shared export folder may be read-only (root ignores modes, hence os.access faked):
    no copy is saved, and the text tower loads from the export file as before."""
    root, folder = copy_export_unoptimised(tiny_export, tmp_path)
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: False)
    encoder = _text_encoder(folder, tiny_encoder.identifier)
    vecs = encoder.encode_texts(TEXTS)
    assert encoder.loaded_from["text"] == folder / "text.onnx"
    assert not list(folder.glob("text.optimised-*"))
    assert cosines(vecs, tiny_encoder.encode_texts(TEXTS)).min() >= 0.9999


@pytest.mark.parametrize("damage", ["bad-json", "other-identifier", "not-verified", "merges-missing", "format"])
def test_fallback_when_export_json_is_wrong(tiny_model, tiny_export, tmp_path, damage):
    root, folder = copy_export_unoptimised(tiny_export, tmp_path)
    meta_path = folder / "export.json"
    meta = json.loads(meta_path.read_text())
    if damage == "bad-json":
        meta_path.write_text(meta_path.read_text()[:100])
    elif damage == "other-identifier":
        meta["identifier"] = "someone-else@123"
        meta_path.write_text(json.dumps(meta))
    elif damage == "not-verified":
        meta["verification"]["passed"] = False
        meta_path.write_text(json.dumps(meta))
    elif damage == "format":
        meta["format"] = 99
        meta_path.write_text(json.dumps(meta))
    else:
        (folder / "merges.txt").unlink()
    got = loader.load_query_encoder(str(tiny_model), roots=[root])
    assert got.runtime == "torch" and got.note


def test_folder_names_are_safe_and_distinct():
    a = artifacts.folder_name("hf-hub:org/name")
    b = artifacts.folder_name("hf-hub:org_name")
    assert "/" not in a and ":" not in a and a != b
    assert artifacts.folder_name("fashrec-mini@0713f29dc8de").startswith("fashrec-mini@0713f29dc8de-")


# -- models that cannot be exported -------------------------------------------------------------------
def test_a_tower_that_traces_wrong_is_refused(tiny_model, tmp_path):
    """Data-dependent Python control flow is frozen by tracing: the ONNX graph exists but gives other
    answers. Verification must catch it and write nothing."""
    from fashrec.encoder.openclip import OpenClipEncoder

    enc = OpenClipEncoder(str(tiny_model), threads=1)
    original = enc.model.encode_image

    def encode_image(x, normalize=False):
        out = original(x, normalize=normalize)
        return out if float(x.mean()) > 0 else -out  # traced at x = 0: always the second branch

    enc.model.encode_image = encode_image
    report = export_encoder(enc, root=tmp_path)
    assert not report.ok and "image embeddings differ" in report.reason
    assert list(tmp_path.iterdir()) == []  # nothing published, no temporary folder left
    got = loader.load_query_encoder(str(tiny_model), roots=[tmp_path])
    assert got.runtime == "torch"


def test_an_unsupported_tokenizer_is_refused(tiny_model, tmp_path):
    from fashrec.encoder.openclip import OpenClipEncoder

    enc = OpenClipEncoder(str(tiny_model), threads=1)

    class HFLikeTokenizer:  # what open_clip's HFTokenizer looks like to the exporter: not SimpleTokenizer
        context_length = 16

    enc.tokenizer = HFLikeTokenizer()
    report = export_encoder(enc, root=tmp_path)
    assert not report.ok and "no torch-free equivalent" in report.reason


def test_an_unsupported_preprocess_config_is_refused(tiny_model, tmp_path):
    from fashrec.encoder.openclip import OpenClipEncoder

    enc = OpenClipEncoder(str(tiny_model), threads=1)
    enc.model.visual.preprocess_cfg = {**enc.model.visual.preprocess_cfg, "resize_mode": "fancy"}
    report = export_encoder(enc, root=tmp_path)
    assert not report.ok and "preprocessing cannot be reproduced" in report.reason


def test_a_half_precision_model_is_refused(tiny_model, tmp_path):
    from fashrec.encoder.openclip import OpenClipEncoder

    enc = OpenClipEncoder(str(tiny_model), threads=1)
    enc.model.half()
    report = export_encoder(enc, root=tmp_path)
    assert not report.ok and "float32" in report.reason


def test_an_exporter_crash_is_a_reason(tiny_model, tmp_path, monkeypatch):
    import torch

    from fashrec.encoder.openclip import OpenClipEncoder

    enc = OpenClipEncoder(str(tiny_model), threads=1)

    def boom(*args, **kwargs):
        raise RuntimeError("exporter exploded")

    monkeypatch.setattr(torch.onnx, "export", boom)
    report = export_encoder(enc, root=tmp_path)
    assert not report.ok and "exporter exploded" in report.reason
    assert list(tmp_path.iterdir()) == []



def test_a_refusal_is_remembered_until_a_version_changes(tiny_model, tmp_path, monkeypatch):
    """`fashrec index` must not load torch to fail again on every update of an index whose encoder cannot
    be exported; an upgrade of any package involved deserves a new try."""
    from fashrec.encoder import onnx_export
    from fashrec.encoder.openclip import OpenClipEncoder

    loads = []

    def load():
        enc = OpenClipEncoder(str(tiny_model), threads=1)
        enc.model.half()
        loads.append(enc)
        return enc

    identifier = OpenClipEncoder(str(tiny_model), threads=1).identifier
    first = onnx_export.ensure_export(identifier, load, root=tmp_path)
    assert not first.ok and first.status == "refused" and "float32" in first.reason
    again = onnx_export.ensure_export(identifier, load, root=tmp_path)
    assert again.status == "refused before" and again.reason == first.reason and len(loads) == 1
    versions = onnx_export._versions()
    monkeypatch.setattr(onnx_export, "_versions", lambda: {**versions, "onnxruntime": "99.0"})
    onnx_export.ensure_export(identifier, load, root=tmp_path)
    assert len(loads) == 2


def test_ensure_export_finds_an_export_without_loading_the_model(tiny_encoder, tiny_export):
    from fashrec.encoder.onnx_export import ensure_export

    root, report = tiny_export

    def load():
        raise AssertionError("the model must not be loaded when a verified export exists")

    found = ensure_export(tiny_encoder.identifier, load, root=root)
    assert found.ok and found.status == "found" and found.folder == report.folder


def test_the_shipped_encoder_on_onnx_equals_torch_on_the_example_catalog(tmp_path):
    """fashrec-mini itself (not the tiny test model): every example-catalog image, title and description,
    and the anchors, embed to cosine >= 0.9999 with torch's embeddings."""
    from fashrec.encoder.openclip import OpenClipEncoder

    torch_encoder = OpenClipEncoder("fashrec-mini", threads=1)
    report = export_encoder(torch_encoder, root=tmp_path, probe_images=example_images()[:4])
    assert report.ok, report.reason
    fast, note = loader.try_onnx(torch_encoder.identifier, roots=[tmp_path])
    assert fast is not None, note
    images = example_images()
    assert len(images) >= 160
    cos = cosines(torch_encoder.encode_images(images), fast.encode_images(images))
    assert cos.min() >= 0.9999, cos.min()
    texts = [row["title"] for row in example_rows()] + [row.get("description", "") for row in example_rows()] + TEXTS
    cos = cosines(torch_encoder.encode_texts(texts), fast.encode_texts(texts))
    assert cos.min() >= 0.9999, cos.min()
