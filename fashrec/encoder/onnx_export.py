"""Encoder layer: an open_clip encoder's two towers exported to ONNX, verified against torch before it is kept.

Runs where torch is loaded anyway (``fashrec index``, or ``python -m fashrec.encoder.onnx_export``). The
export is trusted only after the whole torch-free query path (numpy preprocessing, the BPE tokenizer
of :mod:`fashrec.encoder.tokenizer`, onnxruntime with the runtime's session options) reproduces the torch encoder on
a probe set: every probe image and text must reach cosine >= 0.9999 with the torch embedding, the
token ids must be identical, and the preprocessed pixels must agree. Anything else, or any exception
on the way, refuses the export with a reason; nothing is written then, so a reader never sees a
partial or unverified folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from PIL import Image, ImageDraw

from fashrec.catalog.images import load_rgb, to_rgb
from fashrec.encoder.onnx_encoder import OnnxEncoder
from fashrec.encoder.onnx_files import (
    EXPORT_FILE,
    FORMAT,
    ExportInvalid,
    ExportRecord,
    atomic_write_text,
    default_root,
    folder_name,
    read_export,
    read_refusal,
    write_refusal,
    write_stamp,
)
from fashrec.encoder.preprocess import PreprocessConfig, Preprocessor, PreprocessUnsupported
from fashrec.encoder.tokenizer import ClipTokenizer, TokenizerConfig, TokenizerUnsupported

COSINE_MIN = 0.9999
DEFAULT_OPSET = 17
# Probe texts: catalog-like titles, the prompts fashrec builds, and the tokenizer's edge cases
# (empty, whitespace only, HTML entities, accents, non-Latin scripts, emoji, over-long text).
PROBE_TEXTS = (
    "a photo of a red dress", "men's navy blue t-shirt", "Women Black Slim Fit Jeans",
    "same style in linen, under 60", "not black, something more formal", "a darker one with long sleeves",
    "a photo of a product whose colour is beige", "sneakers for men", "kurta", "size 42 / EU 8.5",
    "", "   ", "Café crème &amp; <b>bold</b>", "naïve façade — “quoted” ‘text’", "日本語のテキスト",
    "👗 summer dress 🌞", "ÀÉÎÕÜ ß ﬁ ligature", "tab\tand\nnewline", "x" * 300,
    " ".join(["very long description"] * 40),
)


class ExportRefused(Exception):
    """This encoder cannot be served from ONNX; the message says why."""


@dataclass
class ExportReport:
    ok: bool
    identifier: str
    folder: Path | None = None
    reason: str | None = None
    verification: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    # "exported" (made and verified now), "found" (a verified export was already there), "refused"
    # (cannot be served from ONNX; ``reason`` says why), "refused before" (recorded with these versions)
    status: str = ""

    def __post_init__(self) -> None:
        self.status = self.status or ("exported" if self.ok else "refused")

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "status": self.status, "identifier": self.identifier,
                "folder": str(self.folder) if self.folder else None, "reason": self.reason,
                "verification": self.verification, "seconds": round(self.seconds, 2)}


# -- probes -----------------------------------------------------------------------------------------
def drawn_probe_images(seed: int = 0):
    """Deterministic synthetic images covering the geometry cases: portrait, landscape, square,
    already at size, very thin, tiny, large, and an L / RGBA / P mode image."""
    rng = np.random.default_rng(seed)
    sizes = [(60, 80), (80, 60), (64, 64), (32, 32), (13, 200), (300, 17), (1, 1), (3, 5), (720, 960), (257, 129)]
    images = []
    for w, h in sizes:
        yy, xx = np.mgrid[0:h, 0:w]
        base = np.stack([(xx * 255 // max(w - 1, 1)), (yy * 255 // max(h - 1, 1)),
                         ((xx + yy) * 7) % 256], axis=-1).astype(np.int32)
        noise = rng.integers(-40, 40, size=(h, w, 3))
        im = Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8), "RGB")
        draw = ImageDraw.Draw(im)
        if w > 4 and h > 4:
            draw.ellipse([w // 5, h // 5, w * 3 // 4, h * 4 // 5], fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
            draw.rectangle([w // 3, h // 10, w // 2, h // 2], outline=(255, 255, 255))
        images.append(im)
    images.append(images[0].convert("L"))
    rgba = images[1].convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(rgba.size))
    images.append(rgba)
    images.append(images[2].convert("P"))
    return images


# -- torch side ---------------------------------------------------------------------------------------
def _tokenizer_config(tokenizer) -> dict[str, Any]:
    """What a torch-free tokenizer must reproduce, read off open_clip's tokenizer object."""
    from open_clip import tokenizer as oc_tok

    if type(tokenizer) is not oc_tok.SimpleTokenizer:
        raise ExportRefused(f"tokenizer {type(tokenizer).__name__} has no torch-free equivalent "
                            "(only open_clip's SimpleTokenizer, CLIP BPE)")
    if getattr(tokenizer, "reduction_fn", None) is not None:
        raise ExportRefused("the tokenizer uses a reduction mask (random/syntax token dropping)")
    clean = {oc_tok._clean_lower: "lower", oc_tok._clean_whitespace: "whitespace",
             oc_tok._clean_canonicalize: "canonicalize"}.get(tokenizer.clean_fn)
    if clean is None:
        raise ExportRefused(f"unknown tokenizer clean function {tokenizer.clean_fn!r}")
    special = [tokenizer.decoder[i] for i in tokenizer.all_special_ids]
    if special[:2] != ["<start_of_text>", "<end_of_text>"]:
        raise ExportRefused(f"unexpected special tokens {special[:2]}")
    return {"type": "SimpleTokenizer", "context_length": int(tokenizer.context_length), "clean": clean,
            "additional_special_tokens": special[2:], "reduction_mask": ""}


def _merges_of(tokenizer) -> list[str]:
    """open_clip's merges in rank order, as "first second" lines (read off the tokenizer object, so a
    tokenizer built from another merges file is exported faithfully)."""
    ranked = sorted(tokenizer.bpe_ranks.items(), key=lambda kv: kv[1])
    if [r for _, r in ranked] != list(range(len(ranked))):
        raise ExportRefused("the tokenizer's merge ranks are not 0..n-1")
    lines = [f"{a} {b}" for (a, b), _ in ranked]
    if any(len(line.split(" ")) != 2 for line in lines):
        raise ExportRefused("a BPE merge symbol contains a space")
    return lines


class _Tower:
    """A torch module wrapping one of ``encode_image`` / ``encode_text`` (unnormalised, as the
    torch encoder's output before fashrec normalises it)."""

    @staticmethod
    def make(model, which: str):
        import torch

        class Tower(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.model = model

            def forward(self, x):
                return self.model.encode_image(x) if which == "image" else self.model.encode_text(x)

        return Tower().eval()


def _export_tower(model, which: str, example, path: Path, opset: int) -> str:
    """Write one tower to ``path``; returns the exporter used.

    The TorchScript-based exporter first: it needs nothing beyond torch and handles open_clip's towers.
    torch deprecates it (from 2.9 the torch.export-based one is the default, and it needs the
    ``onnxscript`` package), so that one is the fallback; verification decides either way.
    """
    import warnings

    import torch

    module = _Tower.make(model, which)
    name = "image" if which == "image" else "tokens"
    common = dict(input_names=[name], output_names=["embedding"], opset_version=opset)
    errors = []
    for exporter in ("torchscript", "dynamo"):
        try:
            # Gradients on (not no_grad) while tracing: under no_grad, nn.MultiheadAttention takes its
            # fused inference kernel (aten::_native_multi_head_attention), which has no ONNX symbolic.
            with _grad_tracing(module), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if exporter == "torchscript":
                    torch.onnx.export(module, (example,), str(path), dynamo=False, do_constant_folding=True,
                                      dynamic_axes={name: {0: "batch"}, "embedding": {0: "batch"}}, **common)
                else:
                    batch = torch.export.Dim("batch", min=1)
                    torch.onnx.export(module, (example,), str(path), dynamo=True, external_data=False,
                                      dynamic_shapes=({0: batch},), **common)
            return exporter
        except Exception as exc:  # any failure: try the other exporter, then refuse with both reasons
            errors.append(f"{exporter} exporter: {type(exc).__name__}: {str(exc)[:500]}")
            path.unlink(missing_ok=True)
    raise ExportRefused(f"the {which} tower cannot be exported to ONNX ({'; '.join(errors)})")


@contextmanager
def _grad_tracing(module):
    """Trace with autograd enabled and every parameter requiring grad (restored afterwards)."""
    import torch

    was_enabled = torch.is_grad_enabled()
    frozen = [p for p in module.parameters() if not p.requires_grad]
    torch.set_grad_enabled(True)
    for p in frozen:
        p.requires_grad_(True)
    try:
        yield
    finally:
        for p in frozen:
            p.requires_grad_(False)
        torch.set_grad_enabled(was_enabled)


def _check_model_state(model) -> None:
    import torch

    if model.training:
        raise ExportRefused("the model is in training mode (the export needs eval mode)")
    dtypes = {p.dtype for p in model.parameters()}
    if dtypes != {torch.float32}:
        raise ExportRefused(f"the model's weights are {sorted(map(str, dtypes))}, the export needs float32")
    devices = {p.device.type for p in model.parameters()}
    if devices != {"cpu"}:
        raise ExportRefused(f"the model is on {sorted(devices)}, the export runs on the CPU")


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)


def _summary(cos: np.ndarray) -> dict[str, float]:
    return {"n": int(len(cos)), "min": float(cos.min()), "mean": float(cos.mean())} if len(cos) else {"n": 0}


def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": platform.python_version()}
    for name in ("torch", "open_clip_torch", "onnx", "onnxruntime", "numpy", "pillow", "fashrec"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


# -- the export ---------------------------------------------------------------------------------------
def export_encoder(encoder, *, root: Path | None = None, probe_images: Sequence = (),
                   probe_texts: Sequence[str] = (), opset: int = DEFAULT_OPSET, threshold: float = COSINE_MIN,
                   replace: bool = False) -> ExportReport:
    """Export a loaded :class:`fashrec.encoder.OpenClipEncoder` and verify it; never raises for a model
    that cannot be exported (the report says why, ``ok=False``).

    ``probe_images`` (paths or PIL images, e.g. a sample of the catalog being indexed) and
    ``probe_texts`` are checked next to the built-in drawn images and texts. With ``replace=False`` an
    existing valid export for the identifier is kept as it is.
    """
    started = time.perf_counter()
    identifier = encoder.identifier
    root = Path(root) if root else default_root()
    final = root / folder_name(identifier)
    existing = None if replace else _valid_export(final, identifier)
    if existing is not None:
        return ExportReport(True, identifier, final, verification=existing.meta["verification"],
                            seconds=time.perf_counter() - started, status="found")
    tmp: Path | None = None
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=root))
        verification = _export_into(encoder, tmp, probe_images, probe_texts, opset, threshold)
        _publish(tmp, final)
        tmp = None
        write_stamp(ExportRecord(final, json.loads((final / EXPORT_FILE).read_text())))
        return ExportReport(True, identifier, final, verification=verification,
                            seconds=time.perf_counter() - started)
    except ExportRefused as exc:
        return ExportReport(False, identifier, reason=str(exc), seconds=time.perf_counter() - started)
    except Exception as exc:  # torch.onnx, onnx and onnxruntime raise many kinds: all mean "cannot"
        concurrent = _valid_export(final, identifier)  # another process may have published meanwhile
        if concurrent is not None:
            return ExportReport(True, identifier, final, verification=concurrent.meta["verification"],
                                seconds=time.perf_counter() - started)
        return ExportReport(False, identifier, reason=f"{type(exc).__name__}: {exc}".strip()[:2000],
                            seconds=time.perf_counter() - started)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def ensure_export(identifier: str, load: Callable[[], Any], *, root: Path | None = None,
                  probes: Callable[[], tuple[Sequence, Sequence[str]]] | None = None) -> ExportReport:
    """A verified export for ``identifier``: the one already there (no torch, ~1 ms), else one made now
    from ``load()`` (the torch encoder), checked on ``probes()`` (images, texts) too. Never raises: a
    model that cannot be exported gets a report saying why, and the refusal is remembered with the
    versions that refused it, so that every later index update does not load torch to fail again."""
    started = time.perf_counter()
    root = Path(root) if root else default_root()
    existing = _valid_export(root / folder_name(identifier), identifier)
    if existing is not None:
        return ExportReport(True, identifier, existing.folder, verification=existing.meta["verification"],
                            seconds=time.perf_counter() - started, status="found")
    versions = _versions()
    before = read_refusal(identifier, versions, root)
    if before is not None:
        return ExportReport(False, identifier, reason=before, status="refused before",
                            seconds=time.perf_counter() - started)
    try:
        encoder = load()
    except Exception as exc:  # ModelError and whatever open_clip raises: the build itself goes on
        return ExportReport(False, identifier, reason=f"the encoder did not load: {exc}",
                            seconds=time.perf_counter() - started)
    images, texts = probes() if probes else ((), ())
    report = export_encoder(encoder, root=root, probe_images=images, probe_texts=texts)
    if not report.ok:
        write_refusal(identifier, report.reason or "refused", versions, root)
    return report


def _valid_export(folder: Path, identifier: str) -> ExportRecord | None:
    try:
        return read_export(folder, identifier)
    except ExportInvalid:
        return None


def _torch_free_configs(encoder) -> tuple[PreprocessConfig, dict[str, Any], list[str]]:
    """(preprocessing, tokenizer config, BPE merges) the torch-free path must reproduce, or refused."""
    model = encoder.model
    _check_model_state(model)
    try:
        pp_cfg = PreprocessConfig.from_dict(model.visual.preprocess_cfg)
    except (PreprocessUnsupported, AttributeError) as exc:
        raise ExportRefused(f"image preprocessing cannot be reproduced without torch: {exc}") from exc
    try:
        tok_cfg = _tokenizer_config(encoder.tokenizer)
    except TokenizerUnsupported as exc:
        raise ExportRefused(str(exc)) from exc
    merges = _merges_of(encoder.tokenizer)
    if ClipTokenizer(TokenizerConfig.from_dict(tok_cfg), merges=merges).encoder != encoder.tokenizer.encoder:
        raise ExportRefused("the torch-free tokenizer's vocabulary differs from open_clip's")
    return pp_cfg, tok_cfg, merges


def _write_towers(encoder, folder: Path, pp_cfg: PreprocessConfig, opset: int) -> dict[str, str]:
    """image.onnx and text.onnx in ``folder``, each checked by onnx; {tower: exporter used}."""
    import onnx
    import torch

    h, w = pp_cfg.size
    examples = {"image": torch.zeros(2, 3, h, w), "text": encoder.tokenizer(["a photo", "of a dress"])}
    exporters = {}
    for which, example in examples.items():
        exporters[which] = _export_tower(encoder.model, which, example, folder / f"{which}.onnx", opset)
        onnx.checker.check_model(str(folder / f"{which}.onnx"))
    return exporters


def _export_into(encoder, folder: Path, probe_images: Sequence, probe_texts: Sequence[str], opset: int,
                 threshold: float) -> dict[str, Any]:
    pp_cfg, tok_cfg, merges = _torch_free_configs(encoder)
    (folder / "merges.txt").write_text("\n".join(merges), encoding="utf-8")
    exporters = _write_towers(encoder, folder, pp_cfg, opset)
    names = {"image": "image.onnx", "text": "text.onnx", "merges": "merges.txt"}
    files = {part: {"name": name, "bytes": (folder / name).stat().st_size,
                    "sha256": hashlib.sha256((folder / name).read_bytes()).hexdigest()} for part, name in names.items()}
    h, w = pp_cfg.size
    meta: dict[str, Any] = {
        "format": FORMAT, "identifier": encoder.identifier, "spec": getattr(encoder.spec, "raw", str(encoder.spec)),
        "dimension": int(encoder.dimension), "opset": opset, "dtype": "float32", "exporters": exporters,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "versions": _versions(),
        "files": files, "preprocess": pp_cfg.to_dict(), "tokenizer": tok_cfg,
        "io": {"image": {"input": "image", "output": "embedding", "shape": ["batch", 3, h, w], "dtype": "float32"},
               "text": {"input": "tokens", "output": "embedding", "shape": ["batch", tok_cfg["context_length"]],
                        "dtype": "int64"}},
        "runtime": {"graph_optimization": "extended", "intra_op_threads": 1},
        "verification": {"passed": False},
    }
    # Verify the whole torch-free path, built from exactly what the reader will read.
    fast = OnnxEncoder(ExportRecord(folder, meta), threads=1)
    verification = _verify(encoder, fast, Preprocessor(pp_cfg), probe_images, probe_texts, threshold)
    meta["verification"] = verification
    atomic_write_text(folder / EXPORT_FILE, json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    for path in (folder, *folder.iterdir()):  # mkdtemp/mkstemp make them private; exports are shareable
        path.chmod(0o755 if path.is_dir() else 0o644)
    return verification


def _verify(encoder, fast, preprocessor, probe_images: Sequence, probe_texts: Sequence[str],
            threshold: float) -> dict[str, Any]:
    drawn = [to_rgb(im) for im in drawn_probe_images()]
    given = [to_rgb(im) if isinstance(im, Image.Image) else load_rgb(im) for im in probe_images]
    images = drawn + given
    pixel_diff = max(float(np.abs(encoder.preprocess(im).numpy() - preprocessor.to_array(im)).max()) for im in images)
    ref_img = encoder.encode_images(images)
    got_img = fast.encode_images(images)
    cos_img = _cosines(ref_img, got_img)
    texts = list(PROBE_TEXTS) + [str(t) for t in probe_texts]
    ref_tokens = encoder.tokenizer(texts).numpy()
    got_tokens = fast.tokenizer(texts)
    token_rows_differ = [texts[i][:60] for i in np.flatnonzero((ref_tokens != got_tokens).any(axis=1))]
    cos_txt = _cosines(encoder.encode_texts(texts), fast.encode_texts(texts))
    # Queries encode one item at a time: a batch of one must give the batch's row.
    batch_check = max(float(np.abs(fast.encode_texts(texts[:1]) - fast.encode_texts(texts)[:1]).max()),
                      float(np.abs(fast.encode_images(images[:1]) - got_img[:1]).max()))
    result = {
        "threshold": threshold, "images": {"drawn": len(drawn), "given": len(given), **_summary(cos_img)},
        "texts": {"n": len(texts), **_summary(cos_txt)}, "pixel_max_abs_diff": pixel_diff,
        "token_rows_differ": len(token_rows_differ), "batch_of_one_max_abs_diff": batch_check,
    }
    problems = []
    if token_rows_differ:
        problems.append(f"the torch-free tokenizer differs from open_clip's on {len(token_rows_differ)} probe "
                        f"texts (first: {token_rows_differ[0]!r})")
    if pixel_diff > 1e-5:
        problems.append(f"preprocessing differs from open_clip's by up to {pixel_diff:.3g}")
    if cos_img.min() < threshold:
        problems.append(f"image embeddings differ from torch's (min cosine {cos_img.min():.6f} < {threshold})")
    if cos_txt.min() < threshold:
        problems.append(f"text embeddings differ from torch's (min cosine {cos_txt.min():.6f} < {threshold})")
    if batch_check > 1e-5:
        problems.append(f"a batch of one differs from the same row in a batch by {batch_check:.3g}")
    if not np.isfinite(ref_img).all() or not np.isfinite(got_img).all():
        problems.append("non-finite image embeddings")
    if problems:
        raise ExportRefused("verification failed: " + "; ".join(problems))
    result["passed"] = True
    return result


def _publish(tmp: Path, final: Path) -> None:
    """Rename the finished folder into place; an older folder is moved aside first, then removed."""
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}-{time.time_ns()}")
        os.replace(final, old)
    os.replace(tmp, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m fashrec.encoder.onnx_export [MODEL] [--root DIR] [--images GLOB]``: export, verify, report."""
    import argparse
    import glob

    from fashrec.encoder.openclip import OpenClipEncoder

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default=None)
    parser.add_argument("--root", type=Path, default=None)
    parser.add_argument("--images", default=None, help="glob of real photos to add to the probe set")
    parser.add_argument("--max-images", type=int, default=32)
    parser.add_argument("--replace", action="store_true")
    args = parser.parse_args(argv)
    encoder = OpenClipEncoder(args.model)
    images = sorted(glob.glob(args.images))[: args.max_images] if args.images else []
    report = export_encoder(encoder, root=args.root, probe_images=images, replace=args.replace)
    print(json.dumps(report.to_dict(), indent=2))
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
