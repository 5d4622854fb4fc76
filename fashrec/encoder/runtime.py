"""Encoder layer: which runtime serves a query -- the verified ONNX export when there is one, else torch.

``runtime="auto"`` (the default, ``$FASHREC_RUNTIME``) uses onnxruntime when a verified export for the
encoder identifier exists and onnxruntime imports, and otherwise falls back to the torch encoder with
a note saying why. ``runtime="onnx"`` refuses instead of falling back; ``runtime="torch"`` never looks
for an export. Nothing here imports torch unless the torch encoder is what gets built.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from fashrec import settings
from fashrec.encoder.interface import Encoder
from fashrec.encoder.onnx_encoder import OnnxEncoder
from fashrec.encoder.onnx_files import find_export
from fashrec.encoder.openclip import load_encoder
from fashrec.encoder.spec import identify
from fashrec.errors import ModelError, UsageError

RUNTIMES = settings.RUNTIMES


@dataclass
class LoadedEncoder:
    encoder: Encoder         # OnnxEncoder or OpenClipEncoder
    runtime: str             # "onnx" | "torch"
    note: str | None = None  # why the fast path was not taken (None when it was, or not asked for)


def onnxruntime_available() -> tuple[bool, str]:
    try:
        import onnxruntime  # noqa: F401
    except Exception as exc:  # ImportError, or a broken wheel raising anything at import
        return False, f"onnxruntime is not importable ({type(exc).__name__}: {exc})"
    return True, ""


def try_onnx(identifier: str, *, roots: Iterable[Path] | None = None, threads: int = 1,
             fallback: Callable[[], Encoder] | None = None,
             notify: Callable[[str], None] | None = None) -> tuple[OnnxEncoder | None, str]:
    """(OnnxEncoder, "") when the fast path can serve ``identifier``, else (None, the reason).

    ``fallback`` (a function building the torch encoder) covers the one failure only a session can
    reveal, an export onnxruntime will not load here; see :class:`OnnxEncoder`."""
    record, reason = find_export(identifier, roots)
    if record is None:
        return None, reason
    ok, reason = onnxruntime_available()
    if not ok:
        return None, reason
    try:
        return OnnxEncoder(record, threads=threads, fallback=fallback, notify=notify), ""
    except Exception as exc:  # an export.json whose configs this version cannot run
        return None, f"the export at {record.folder} cannot be used: {exc}"


def planned_runtime(identifier: str, runtime: str | None = None) -> tuple[str, str]:
    """(the runtime a query would use, why), without building an encoder: for ``fashrec info``."""
    chosen = check_runtime(runtime)
    if chosen == "torch":
        return "torch", "asked for (--runtime torch or $FASHREC_RUNTIME)"
    record, reason = find_export(identifier)
    if record is None:
        return "torch", reason
    ok, reason = onnxruntime_available()
    if not ok:
        return "torch", reason
    return "onnx", f"verified export at {record.folder}"


def check_runtime(runtime: str | None) -> str:
    chosen = (runtime or settings.runtime()).strip().lower()
    if chosen not in RUNTIMES:
        raise UsageError(f"unknown encoder runtime {chosen!r} (choose from {', '.join(RUNTIMES)}; "
                         "from --runtime or $FASHREC_RUNTIME)")
    return chosen


def load_query_encoder(spec: str | None = None, *, runtime: str | None = None, interactive: bool = True,
                       roots: Iterable[Path] | None = None, identifier: str | None = None,
                       notify: Callable[[str], None] | None = None) -> LoadedEncoder:
    """The encoder a query command should use for ``spec`` (an index's recorded encoder spec).

    ``identifier`` is the encoder the index's vectors were made with (its manifest's); the export is
    looked up by it, so the vectors and the queries always come from the same weights. It defaults to
    ``identify(spec)`` (a file hash, no model load). ``notify`` hears of a fallback that only the
    first encoding can reveal (onnxruntime refusing a file that passed its checks).
    """
    chosen = check_runtime(runtime)
    note = None
    if chosen in ("auto", "onnx"):
        ident = identifier or identify(spec)
        late = None if chosen == "onnx" else (lambda: load_encoder(spec, interactive=interactive))
        fast, reason = try_onnx(ident, roots=roots, threads=settings.threads(interactive=interactive),
                                fallback=late, notify=notify)
        if fast is not None:
            return LoadedEncoder(fast, "onnx")
        if chosen == "onnx":
            raise ModelError(f"the ONNX runtime cannot serve encoder {ident}: {reason}",
                             hint="run fashrec index to export it, or use --runtime torch")
        note = f"using torch: {reason}"
    return LoadedEncoder(load_encoder(spec, interactive=interactive), "torch", note)
