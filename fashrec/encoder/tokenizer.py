r"""Encoder layer: open_clip's CLIP BPE tokenizer without torch (``open_clip.tokenizer`` imports torch at the top).

The same algorithm as ``open_clip.tokenizer.SimpleTokenizer`` (itself OpenAI CLIP's): clean the text
(ftfy, HTML unescaping twice, whitespace folding, lower-casing), split it with the same regex, map
UTF-8 bytes to the same printable characters, apply the same 48,894 BPE merges (open_clip's bundled
``bpe_simple_vocab_16e6.txt.gz``, or the copy an export keeps beside its ONNX files), add start/end
tokens, pad with 0 and truncate to the context length keeping the end token last. The tests compare it
token for token with open_clip's.

What keeps it cheap on the query path (a cold query tokenizes a handful of short texts):
- ftfy (~40-130 ms to import) is imported only for text that needs it: ``ftfy.fix_text`` returns
  printable ASCII without ``&`` unchanged (there is no mojibake, curly quote, ligature, wide character,
  control character or terminal escape in it to fix; ``&`` could start an HTML entity).
- ``regex`` (~40 ms) is imported only for non-ASCII text: on printable ASCII, ``\p{L}`` and ``\p{N}``
  are ``[A-Za-z]`` and ``[0-9]``, which the standard ``re`` matches the same way.
- no 49k-entry vocabulary dict is built: a merged token's id is 512 + the rank of its merge; and no
  49k-entry rank dict either until a tokenizer has looked up enough pairs to need one
  (:class:`MergeRanks`: a cold refine tokenizes one short text, ~40 lookups in the merges text).
- the merges file is found with ``importlib.util.find_spec("open_clip")``, which locates the package
  without executing it, so open_clip (and torch) are never imported.

Only the "SimpleTokenizer" configuration open_clip uses for CLIP-style models is supported: clean mode
"lower", "whitespace" or "canonicalize", extra special tokens, no reduction mask. Anything else
(HF tokenizers, SigLIP) raises :class:`TokenizerUnsupported`.
"""

from __future__ import annotations

import gzip
import importlib.util
import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

BPE_FILE = "bpe_simple_vocab_16e6.txt.gz"
DEFAULT_CONTEXT_LENGTH = 77
CLEAN_MODES = ("lower", "whitespace", "canonicalize")
# SimpleTokenizer keeps merges[1 : 49152 - 256 - 2 + 1] of the file (line 0 is a header).
_MERGES_END = 49152 - 256 - 2 + 1


class TokenizerUnsupported(ValueError):
    """A tokenizer configuration this module cannot reproduce exactly."""


@dataclass(frozen=True)
class TokenizerConfig:
    context_length: int = DEFAULT_CONTEXT_LENGTH
    clean: str = "lower"
    additional_special_tokens: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, cfg: Mapping[str, Any]) -> "TokenizerConfig":
        kind = cfg.get("type", "SimpleTokenizer")
        if kind != "SimpleTokenizer":
            raise TokenizerUnsupported(f"tokenizer {kind!r} (only open_clip's SimpleTokenizer)")
        if cfg.get("reduction_mask"):
            raise TokenizerUnsupported(f"reduction mask {cfg['reduction_mask']!r}")
        clean = cfg.get("clean", "lower")
        if clean not in CLEAN_MODES:
            raise TokenizerUnsupported(f"clean mode {clean!r}")
        context = int(cfg.get("context_length") or DEFAULT_CONTEXT_LENGTH)
        if context < 2:
            raise TokenizerUnsupported(f"context length {context}")
        return cls(context_length=context, clean=clean,
                   additional_special_tokens=tuple(cfg.get("additional_special_tokens") or ()))

    def to_dict(self) -> dict[str, Any]:
        return {"type": "SimpleTokenizer", "context_length": self.context_length, "clean": self.clean,
                "additional_special_tokens": list(self.additional_special_tokens),
                "reduction_mask": ""}


def bundled_bpe_path() -> Path:
    """open_clip's merges file, located without importing open_clip (or torch)."""
    spec = importlib.util.find_spec("open_clip")
    if spec is None or not spec.submodule_search_locations:
        raise TokenizerUnsupported(f"open_clip is not installed, so its {BPE_FILE} cannot be found")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / BPE_FILE
        if path.is_file():
            return path
    raise TokenizerUnsupported(f"{BPE_FILE} not found in the open_clip package")


@lru_cache()
def bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP's reversible map from the 256 byte values to printable unicode characters."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(2 ** 8):
        if b not in bs:
            bs.append(b)
            cs.append(2 ** 8 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def _is_plain_ascii(text: str) -> bool:
    """Printable ASCII (space to '~') without '&': text ``ftfy.fix_text`` returns unchanged."""
    return text.isascii() and "&" not in text and all(" " <= ch <= "~" for ch in text)


def basic_clean(text: str) -> str:
    """open_clip ``basic_clean``: ftfy, HTML unescaped twice, stripped."""
    if not _is_plain_ascii(text):
        import ftfy  # deferred: most queries are plain ASCII

        text = ftfy.fix_text(text)
    if "&" in text:  # unescape leaves text without one as it is; html.entities costs ~5 ms to import
        import html

        text = html.unescape(html.unescape(text))
    return text.strip()


def whitespace_clean(text: str) -> str:
    return " ".join(text.split()).strip()


_PUNCTUATION = str.maketrans("", "", string.punctuation)


def canonicalize_text(text: str) -> str:
    text = text.replace("_", " ").translate(_PUNCTUATION).lower()
    return " ".join(text.split()).strip()


def clean_text(text: str, mode: str) -> str:
    if mode == "lower":
        return whitespace_clean(basic_clean(text)).lower()
    if mode == "whitespace":
        return whitespace_clean(basic_clean(text))
    if mode == "canonicalize":
        return canonicalize_text(basic_clean(text))
    raise TokenizerUnsupported(f"clean mode {mode!r}")


def read_bundled_merges(path: str | Path | None = None) -> list[str]:
    """The merges SimpleTokenizer uses, one "first second" string each, from the gzipped file."""
    raw = Path(path or bundled_bpe_path()).read_bytes()
    return gzip.decompress(raw).decode("utf-8").split("\n")[1:_MERGES_END]


# For cleaned printable-ASCII text the Unicode classes reduce to ASCII ones (\p{L} = [A-Za-z],
# \p{N} = [0-9]), so the standard library's `re` splits it exactly as `regex` does, without the
# ~40 ms import of `regex`; anything else goes through `regex`, as in open_clip.
_ASCII_PATTERN = r"""|'s|'t|'re|'ve|'m|'ll|'d|[a-zA-Z]+|[0-9]|[^\sa-zA-Z0-9]+"""
_UNICODE_PATTERN = r"""|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""


class MergeRanks:
    """The BPE merges' ranks, from the merges text (one "first second" merge a line, in rank order).

    Building the 48,894-entry dict costs ~17 ms (splitting the text and hashing every line), which is
    most of a cold query's tokenizer when that query tokenizes six words. So the first lookups search
    the text itself: a pair's order is the offset of its line (the same order as the rank), and the rank
    of a merge that applies comes from the offsets of the line breaks. After ``DICT_AFTER`` lookups (an
    index run or a training epoch tokenizes thousands of texts) the dict is built once and used.
    """

    DICT_AFTER = 4096   # lookups at ~30 us each before the dict (~17 ms once) pays for itself

    def __init__(self, merges: str | Sequence[str]) -> None:
        text = (merges if isinstance(merges, str) else "\n".join(merges)).strip("\n")
        self._data = b"\n" + text.encode("utf-8") + b"\n"
        self.count = self._data.count(b"\n") - 1 if text else 0
        self._ranks: dict[str, int] | None = None
        self._breaks: np.ndarray | None = None
        self._lookups = 0

    def settle(self) -> None:
        """Build the dict once enough lookups were made; called between words, never while one word's
        pairs are compared (an offset and a rank are different orders)."""
        if self._ranks is None and self._lookups > self.DICT_AFTER:
            self._ranks = self.as_dict()

    def order(self, pair: str) -> float:
        """A number that sorts merges as their ranks do; infinity for a pair that is not a merge."""
        if self._ranks is not None:
            return self._ranks.get(pair, float("inf"))
        self._lookups += 1
        at = self._data.find(b"\n" + pair.encode("utf-8") + b"\n")
        return float("inf") if at < 0 else at

    def rank(self, pair: str) -> int | None:
        if self._ranks is not None:
            return self._ranks.get(pair)
        at = self._data.find(b"\n" + pair.encode("utf-8") + b"\n")
        if at < 0:
            return None
        if self._breaks is None:
            self._breaks = np.flatnonzero(np.frombuffer(self._data, dtype=np.uint8) == 10)
        return int(np.searchsorted(self._breaks, at))   # the line break before line N is the Nth

    def as_dict(self) -> dict[str, int]:
        """Every merge with its rank."""
        if self._ranks is not None:
            return self._ranks
        lines = self._data[1:-1].decode("utf-8").split("\n")
        return dict(zip(lines, range(len(lines))))


class ClipTokenizer:
    """Token ids for texts, as an int64 N x context_length array (open_clip returns a LongTensor).

    ``merges`` are the BPE merge lines ("first second", in rank order), or the text holding them one a
    line; by default open_clip's bundled file. Token ids follow SimpleTokenizer's vocabulary order: the 256 byte symbols, the same with
    ``</w>``, one token per merge (id 512 + rank), then the special tokens; ids are computed from the
    merge ranks while merging, so no 49k-entry vocabulary dict has to be built at start-up.
    """

    def __init__(self, cfg: TokenizerConfig | None = None, *, merges: str | Sequence[str] | None = None) -> None:
        import re

        self.cfg = cfg or TokenizerConfig()
        self.ranks = MergeRanks(merges if merges is not None else read_bundled_merges())
        n_merges = self._n_merges = self.ranks.count
        self.byte_encoder = bytes_to_unicode()
        self._symbol_ids = {ch: i for i, ch in enumerate(self.byte_encoder.values())}
        self._symbol_ids.update({ch + "</w>": 256 + i for i, ch in enumerate(self.byte_encoder.values())})
        special = ["<start_of_text>", "<end_of_text>", *self.cfg.additional_special_tokens]
        self.special_ids = {t: 512 + n_merges + i for i, t in enumerate(special)}
        self.sot_token_id = self.special_ids["<start_of_text>"]
        self.eot_token_id = self.special_ids["<end_of_text>"]
        self.vocab_size = 512 + n_merges + len(special)
        self.cache: dict[str, list[int]] = {t: [i] for t, i in self.special_ids.items()}
        self._special_alt = "|".join(special)
        self._ascii_pat = re.compile(self._special_alt + _ASCII_PATTERN, re.IGNORECASE)
        self._unicode_pat = None

    @property
    def context_length(self) -> int:
        return self.cfg.context_length

    @property
    def encoder(self) -> dict[str, int]:
        """SimpleTokenizer's token -> id dict (built on demand; only tests and checks need it)."""
        vocab = {**self._symbol_ids}
        for line, rank in self.ranks.as_dict().items():
            vocab[line.replace(" ", "")] = 512 + rank
        vocab.update(self.special_ids)
        return vocab

    def _pattern(self, text: str):
        if text.isascii():
            return self._ascii_pat
        if self._unicode_pat is None:
            import regex  # \p{L} / \p{N} need the `regex` package, as open_clip uses

            self._unicode_pat = regex.compile(self._special_alt + _UNICODE_PATTERN, regex.IGNORECASE)
        return self._unicode_pat

    def bpe(self, token: str) -> list[int]:
        """open_clip ``SimpleTokenizer.bpe`` (the same merge loop, lowest-ranked pair first), as ids."""
        cached = self.cache.get(token)
        if cached is not None:
            return cached
        word = tuple(token[:-1]) + (token[-1] + "</w>",)
        made: dict[str, int] = {}
        ranks = self.ranks
        ranks.settle()
        while len(word) > 1:
            pairs = set(zip(word, word[1:]))
            bigram = min(pairs, key=lambda pair: ranks.order(f"{pair[0]} {pair[1]}"))
            rank = ranks.rank(f"{bigram[0]} {bigram[1]}")
            if rank is None:
                break
            first, second = bigram
            made[first + second] = 512 + rank
            new_word: list[str] = []
            i = 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                except ValueError:
                    new_word.extend(word[i:])
                    break
                new_word.extend(word[i:j])
                i = j
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    new_word.append(first + second)
                    i += 2
                else:
                    new_word.append(word[i])
                    i += 1
            word = tuple(new_word)
        symbol_ids = self._symbol_ids
        out = [made[s] if s in made else symbol_ids[s] for s in word]
        self.cache[token] = out
        return out

    def encode(self, text: str) -> list[int]:
        """BPE ids of one text, without start/end tokens."""
        ids: list[int] = []
        text = clean_text(text, self.cfg.clean)
        byte_encoder = self.byte_encoder
        for token in self._pattern(text).findall(text):
            if token in self.special_ids:
                ids.append(self.special_ids[token])
                continue
            ids.extend(self.bpe("".join(byte_encoder[b] for b in token.encode("utf-8"))))
        return ids

    def __call__(self, texts: str | Sequence[str], context_length: int | None = None) -> np.ndarray:
        if isinstance(texts, str):
            texts = [texts]
        context = context_length or self.cfg.context_length
        out = np.zeros((len(texts), context), dtype=np.int64)
        for row, text in enumerate(texts):
            tokens = [self.sot_token_id, *self.encode(text), self.eot_token_id]
            if len(tokens) > context:  # truncate, keeping the end token last (as open_clip does)
                tokens = tokens[:context]
                tokens[-1] = self.eot_token_id
            out[row, :len(tokens)] = tokens
        return out

