"""phrase_tokens' shortcut for phrases already in normal form: the same tuples as the full tokenizer, and
so the same grounder, for less start-up work."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from planner_support import VOCABULARIES

from fashrec.planner import lexicon, tokens
from fashrec.planner.grounding import Grounder


def tokenized(value: str) -> tuple[str, ...]:
    """What phrase_tokens gave before the shortcut: every phrase through the tokenizer."""
    return tuple(t for t in tokens.tokenize(value) if t not in (tokens.CLAUSE_BREAK, tokens.COMMA))


def lexicon_phrases() -> list[str]:
    surfaces = [s for group, _ in lexicon.cue_entries() for s in group]
    surfaces += [s for group, _ in lexicon.attribute_word_entries() for s in group]
    surfaces += [s for group, _, _ in lexicon.relative_entries() for s in group]
    return surfaces + [s for entry in lexicon.value_entries() for s in entry.surfaces]


def vocabulary_phrases() -> list[str]:
    return [text for v in VOCABULARIES.values()
            for text in [*(x for a in v.attributes() for x in v.values(a)), *v.brands, *v.sizes]]


TRICKY = ["", " ", "navy  blue", " navy blue ", "T-Shirt", "t-shirt", "women's", "don\u2019t", "navy\tblue",
          "\uff4e\uff41\uff56\uff59", "3.5", "size 7.5", "black/white", "a, b", "a.b", "blue\u2014green",
          "polo_neck", "Navy Blue", "caf\u00e9", "x (slim)"]


def test_a_plain_phrase_skips_the_tokenizer_and_any_other_goes_through_it(monkeypatch):
    calls = []
    monkeypatch.setattr(tokens, "tokenize", lambda text: calls.append(text) or ["x"])
    assert tokens.phrase_tokens("navy blue") == ("navy", "blue")
    assert tokens.phrase_tokens("size 42") == ("size", "42")
    assert calls == []
    assert tokens.phrase_tokens("T-Shirt") == ("x",)
    assert calls == ["T-Shirt"]


@pytest.mark.parametrize("source", ["lexicon", "vocabularies", "tricky"])
def test_phrase_tokens_are_the_tokenizers_on_every_phrase_a_grounder_reads(source):
    phrases = {"lexicon": lexicon_phrases, "vocabularies": vocabulary_phrases, "tricky": lambda: TRICKY}[source]()
    assert phrases
    for phrase in phrases:
        assert tokens.phrase_tokens(phrase) == tokenized(phrase), phrase


@given(st.text(alphabet="ab9 .,-_'A\t\u2019\u00e9/", max_size=12))
def test_phrase_tokens_are_the_tokenizers_on_any_text(text):
    assert tokens.phrase_tokens(text) == tokenized(text)


@pytest.mark.parametrize("name", sorted(VOCABULARIES))
def test_the_grounder_is_the_same_with_and_without_the_shortcut(name, monkeypatch):
    vocabulary = VOCABULARIES[name]
    fast = Grounder.build(vocabulary)
    monkeypatch.setattr(tokens, "_PLAIN", re.compile(r"(?!)"))  # matches nothing: every phrase tokenized
    slow = Grounder.build(vocabulary)
    assert fast.index and fast.index == slow.index
    assert (fast.tails, fast.max_len, fast.known_tokens) == (slow.tails, slow.max_len, slow.known_tokens)
