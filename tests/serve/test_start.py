"""What ``fashrec serve`` does once at start-up, beyond loading (see serve.state.Loaded.load)."""

from __future__ import annotations

from pathlib import Path


def test_the_server_moves_its_graph_onto_huge_pages_on_a_background_thread(shop_index, server_home, monkeypatch):
    from fashrec.index import Index
    from fashrec.serve import Loaded, ServerConfig

    calls = []

    def record(self, *, background=False):
        calls.append((Path(self.folder).resolve(), background))
        return False

    monkeypatch.setattr(Index, "collapse_onto_huge_pages", record)
    _, index = shop_index
    Loaded.load(ServerConfig(index=index, planner="rules"))
    # in the background: start-up (and /healthz) must not wait the ~2 s per GiB a large graph takes
    assert calls == [(index.resolve(), True)]
