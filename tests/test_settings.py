"""Every environment variable and thread policy is read in fashrec.settings."""

from __future__ import annotations

from fashrec import settings


def test_llm_threads_stay_within_bounds(monkeypatch):
    monkeypatch.delenv("FASHREC_THREADS", raising=False)
    assert 1 <= settings.llm_threads() <= 2
    assert settings.llm_threads(limit=1) == 1


def test_fashrec_threads_sets_every_runtime(monkeypatch):
    monkeypatch.setenv("FASHREC_THREADS", "3")
    assert settings.threads() == 3
    assert settings.threads(interactive=True) == 3
    assert settings.llm_threads() == 3       # the README promises it for llama.cpp too


def test_interactive_queries_use_one_thread_by_default(monkeypatch):
    monkeypatch.delenv("FASHREC_THREADS", raising=False)
    assert settings.threads(interactive=True) == 1
    assert settings.threads() >= 1


def test_a_nonsense_thread_count_is_ignored(monkeypatch):
    monkeypatch.setenv("FASHREC_THREADS", "lots")
    assert settings.threads(interactive=True) == 1


def test_home_and_index_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("FASHREC_HOME", str(tmp_path / "h"))
    monkeypatch.setenv("FASHREC_INDEX", str(tmp_path / "i"))
    assert settings.home_dir() == tmp_path / "h"
    assert settings.index_from_env() == tmp_path / "i"
    settings.write_state(last_index="x")
    assert settings.read_state() == {"last_index": "x"}
