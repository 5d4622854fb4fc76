"""`--server URL` (and $FASHREC_SERVER): search, similar and refine sent to a running `fashrec serve` print
what answering locally prints, and load no model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHIRT = REPO / "examples/anchors/white-cotton-shirt.jpg"
DRESS = REPO / "examples/anchors/red-floral-dress.jpg"


def _same(remote: dict, local: dict) -> None:
    def strip(doc):
        return {k: v for k, v in doc.items() if k not in ("timing_ms", "line")}
    assert strip(remote) == strip(local)


def test_refine_search_and_similar_print_the_same_documents(fashrec, server, example_index):
    local = ("--index", example_index)
    for args in (("refine", SHIRT, "but in linen", "-k", "5"), ("refine", DRESS, "not red, under 80", "--explain"),
                 ("search", "linen shirt", "-k", "4", "--where", "gender=men"), ("similar", DRESS, "-k", "3")):
        extra = ("--planner", "rules") if args[0] == "refine" else ()
        here = fashrec(*args, *local, *extra, "--json")
        there = fashrec(*args, "--server", server, "--json")
        assert here.returncode == there.returncode == 0, there.stderr
        _same(there.json(), here.json())
    # and for a person: the same rendering
    here = fashrec("refine", SHIRT, "but in linen", "-k", "3", *local, "--planner", "rules")
    there = fashrec("refine", SHIRT, "but in linen", "-k", "3", "--server", server)
    assert there.returncode == 0 and there.stdout == here.stdout


def test_batch_lines_and_their_errors_are_the_same(fashrec, server, example_index):
    lines = "\n".join([json.dumps({"image": str(SHIRT), "text": "but in linen", "k": 2}),
                       json.dumps({"text": 5, "image": str(SHIRT)}),
                       json.dumps({"image": str(REPO / "examples/missing.jpg"), "text": "x"}),
                       "{broken", json.dumps({"image": 5, "text": "x"})]) + "\n"
    here = fashrec("refine", "--batch", "-", "--index", example_index, "--planner", "rules", input=lines)
    there = fashrec("refine", "--batch", "-", "--server", server, input=lines)
    assert here.returncode == there.returncode == 1
    remote = [json.loads(line) for line in there.stdout.splitlines()]
    for a, b in zip(remote, [json.loads(line) for line in here.stdout.splitlines()], strict=True):
        _same(a, b)
    assert [r.get("error") for r in remote] == [None, "usage", "image", "usage", "usage"]
    assert remote[4]["field"] == "image"   # the line's photo is checked here before it is uploaded


def test_a_session_through_the_server(fashrec, server):
    first = fashrec("refine", SHIRT, "but in linen", "--session", "remote-1", "-k", "3", "--server", server, "--json")
    assert first.returncode == 0, first.stderr
    assert first.json()["session"]["turn"] == 1 and first.json()["anchor"]["image"] == str(SHIRT)
    second = fashrec("refine", "not white", "--session", "remote-1", "-k", "3", "--server", server, "--json").json()
    assert second["session"]["turn"] == 2 and second["plan"]["set"] == {"material": "linen"}
    picked = fashrec("refine", "--pick", "1", "--session", "remote-1", "--server", server, "--json").json()
    assert picked["anchor"]["catalog_id"] == second["results"][0]["id"]


# What a command sending its request to a server must not import: no model, and none of the local
# answering stack (the numpy-heavy index, the AMMR loop, onnxruntime, hnswlib), nor the server's own.
LOCAL_STACK = ("torch", "open_clip", "llama_cpp", "onnxruntime", "hnswlib", "numpy", "pydantic", "fastapi",
               "fashrec.index", "fashrec.ammr", "fashrec.encoder", "fashrec.service.handlers",
               "fashrec.service.runtime")


def test_the_environment_names_the_server_and_nothing_of_the_local_stack_is_loaded(fashrec_env, server):
    for argv in (["search", "red dress"], ["similar", str(DRESS), "-k", "2"],
                 ["refine", str(SHIRT), "but in linen", "-k", "2"]):
        code = (f"import sys\nfrom fashrec.cli import main\nsys.argv = ['fashrec', *{argv!r}, '--json']\n"
                "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
                f"loaded = [m for m in {LOCAL_STACK!r} if m in sys.modules]\n"
                "assert not loaded, loaded\n")
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env={**fashrec_env, "FASHREC_SERVER": server}, timeout=120)
        assert run.returncode == 0, (argv, run.stderr[-2000:])
        assert json.loads(run.stdout)["results"], argv


def test_an_unreachable_server_and_a_refused_request_are_clear(fashrec, server, tmp_path):
    run = fashrec("search", "red", "--server", "http://127.0.0.1:9", "--json")
    assert run.returncode == 4
    err = json.loads(run.stderr)
    assert err["error"] == "index" and "cannot reach the fashrec server" in err["message"]
    run = fashrec("similar", tmp_path / "nope.jpg", "--server", server, "--json")
    assert run.returncode == 3 and "image not found" in json.loads(run.stderr)["message"]
    fake = tmp_path / "fake.jpg"
    fake.write_text("not a photo")
    run = fashrec("refine", fake, "x", "--server", server, "--json")
    assert run.returncode == 3 and "not an image" in json.loads(run.stderr)["message"]
    run = fashrec("search", "red", "--server", "ftp://example", "--json")
    assert run.returncode == 2


def test_a_bad_sort_reads_the_same_with_a_server_as_without(fashrec, server, example_index):
    from fashrec.search import SORTS
    from fashrec.service.requests import SORTS as REQUEST_SORTS

    assert REQUEST_SORTS == SORTS           # the light copy the CLI checks --sort with, before sending
    for args in (("search", "linen shirt"), ("refine", SHIRT, "but in linen")):
        here = fashrec(*args, "--sort", "cheapest", "--index", example_index, "--json")
        there = fashrec(*args, "--sort", "cheapest", "--server", server, "--json")
        assert here.returncode == there.returncode == 2, there.stderr
        assert json.loads(there.stderr) == json.loads(here.stderr)
        assert json.loads(there.stderr)["message"] == "sort must be one of relevance, price, -price, got 'cheapest'"


def test_a_bad_strategy_fails_here_before_any_request(fashrec, fashrec_env, example_index):
    from fashrec.ammr import available_strategies
    from fashrec.evaluation import baselines  # noqa: F401  (registers the single-shot strategies)
    from fashrec.service.requests import STRATEGIES

    assert list(STRATEGIES) == available_strategies()   # the light copy --server checks --strategy with
    nobody = "http://127.0.0.1:9"   # nothing listens: a request sent would be exit 4, "cannot reach"
    here = fashrec("refine", SHIRT, "x", "--strategy", "magic", "--index", example_index, "--json")
    there = fashrec("refine", SHIRT, "x", "--strategy", "magic", "--server", nobody, "--json")
    assert here.returncode == there.returncode == 2, there.stderr
    assert json.loads(there.stderr) == json.loads(here.stderr)
    assert json.loads(there.stderr)["message"] == "--strategy must be one of ammr, fusion, image, text"
    code = (f"import sys\nfrom fashrec.cli import main\nsys.argv = ['fashrec', 'refine', {str(SHIRT)!r}, 'x', "
            f"'--strategy', 'magic', '--server', {nobody!r}]\n"
            "try:\n    main()\nexcept SystemExit as e:\n    assert e.code == 2, e.code\n"
            f"loaded = [m for m in {LOCAL_STACK!r} if m in sys.modules]\nassert not loaded, loaded\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=fashrec_env, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]


def test_the_running_server_answers_head_with_the_get_s_headers_and_no_body(server):
    """What `fashrec serve` itself sends for a HEAD, read off the socket (an HTTP client would not read a
    HEAD's body even if one came): the GET's status line and Content-Length, then nothing."""
    import socket
    import urllib.parse

    address = urllib.parse.urlsplit(server)

    def raw(method: str, path: str) -> tuple[str, dict[str, str], bytes]:
        with socket.create_connection((address.hostname, address.port), timeout=30) as conn:
            conn.sendall(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while chunk := conn.recv(65536):
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        status, *lines = head.decode("latin-1").split("\r\n")
        return status, {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}, body

    for path in ("/healthz", "/items/no-such-item", "/"):
        got, head = raw("GET", path), raw("HEAD", path)
        assert head[0] == got[0] and head[0].split()[1] in ("200", "404"), (path, head[0])
        assert head[1]["content-length"] == got[1]["content-length"] == str(len(got[2])), path
        assert got[2] and head[2] == b"", (path, head[2][:200])
