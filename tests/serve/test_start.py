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


def test_the_start_up_url_is_one_a_browser_opens():
    """The address `fashrec serve` says to open: an IPv6 host in brackets (bare, ``http://::1:8000/`` reads
    its colons as a port's and opens nothing), a name or IPv4 address as given, a wildcard as the loopback."""
    from fashrec.serve import server_url

    assert server_url("127.0.0.1", 8000) == "http://127.0.0.1:8000/"
    assert server_url("192.168.1.20", 8080) == "http://192.168.1.20:8080/"
    assert server_url("localhost", 8000) == "http://localhost:8000/"
    assert server_url("shop.lan", 80) == "http://shop.lan:80/"
    assert server_url("::1", 8000) == "http://[::1]:8000/"
    assert server_url("[::1]", 8000) == "http://[::1]:8000/"
    assert server_url("fd00:0:0:0:0:0:0:20", 8000) == "http://[fd00::20]:8000/"
    assert server_url("0.0.0.0", 8000) == "http://127.0.0.1:8000/"
    assert server_url("::", 8000) == "http://[::1]:8000/"


def test_serve_says_to_open_an_ipv6_host_in_brackets(fashrec, tmp_path):
    """Through the real command, with no index, so it says where to open it and stops before serving."""
    run = fashrec("serve", "--host", "::1", "--port", "8765", "--index", tmp_path / "no-such-index")
    assert run.returncode == 4, run.stderr
    assert "then open http://[::1]:8765/" in run.stderr, run.stderr
