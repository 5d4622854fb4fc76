"""Load test of `fashrec serve` on loopback: N concurrent clients POST /refine for a fixed time.

Starts the real server (``python -m fashrec serve``) on a free 127.0.0.1 port over an existing index,
warms it up, then runs the clients (threads, one keep-alive connection each) for ``--seconds``. A request
anchors either on a catalog product (``{"id": ...}``) or, with ``--upload-share``, on an uploaded photo of
a product that is *not* in the index (so its attributes are read from the pixels). Reports throughput,
client-side p50/p95 latency, errors (any non-200 answer), and the server's resident memory after
warm-up and after each round (``--rounds``), so growth would show. ``--compare N`` then times one request
at a time three ways, on the same photos and wishes: a cold ``fashrec refine PHOTO TEXT --json`` (loads the
index and encoder every call), the same command with ``--server`` (no model loading), and a bare HTTP
upload to the warm server.

    python bench/serve_load.py --index ~/.cache/fashrec-data/catalog.eval-refine/index \\
        --catalog ~/.cache/fashrec-data/catalog.jsonl --clients 20 --seconds 30 --json /tmp/serve-load.json

Only loopback is ever contacted; the loops are bounded by time and stop by themselves.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from common import REPO, log, markdown_table, percentiles_ms, report_header, write_json

TEXTS = ["but in red", "not black", "same in blue, for women", "a darker one", "in white", "more formal",
         "cheaper", "but in black", "not blue, casual", "for men", "in green", "something lighter"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def start_server(index: Path, port: int, planner: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "fashrec", "serve", "--index", str(index), "--port", str(port),
           "--planner", planner]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the server exited: " + proc.stderr.read()[-3000:])
        try:
            status, _ = request(("127.0.0.1", port), "GET", "/healthz")
            if status == 200:
                return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("the server did not become ready in 300 s")


def request(address, method: str, path: str, body: bytes | None = None, kind: str = "application/json",
            conn: http.client.HTTPConnection | None = None) -> tuple[int, bytes]:
    own = conn is None
    conn = conn or http.client.HTTPConnection(*address, timeout=120)
    try:
        conn.request(method, path, body=body, headers={"content-type": kind} if body is not None else {})
        answer = conn.getresponse()
        return answer.status, answer.read()
    finally:
        if own:
            conn.close()


def multipart(photo: bytes, request_doc: dict) -> tuple[bytes, str]:
    b = uuid.uuid4().hex
    body = (f'--{b}\r\nContent-Disposition: form-data; name="request"\r\n\r\n{json.dumps(request_doc)}\r\n'
            f'--{b}\r\nContent-Disposition: form-data; name="image"; filename="anchor.jpg"\r\n'
            f"Content-Type: image/jpeg\r\n\r\n").encode() + photo + f"\r\n--{b}--\r\n".encode()
    return body, f"multipart/form-data; boundary={b}"


def anchors(catalog: Path, indexed: Path, n: int, seed: int) -> tuple[list[str], list[Path]]:
    """``n`` indexed product ids and ``n`` photos of products outside the index."""
    rng = random.Random(seed)
    inside = {json.loads(line)["id"] for line in indexed.open()}
    rows = [json.loads(line) for line in catalog.open()]
    ids = rng.sample(sorted(inside), n)
    outside = [r for r in rows if r["id"] not in inside]
    photos = [Path(r["image"]) if Path(r["image"]).is_absolute() else catalog.parent / r["image"]
              for r in rng.sample(outside, min(n, len(outside)))]
    return ids, photos


class Client(threading.Thread):
    def __init__(self, address, number: int, until: float, ids, photos, upload_share: float, seed: int):
        super().__init__(daemon=True)
        self.address, self.until = address, until
        self.ids, self.photos, self.upload_share = ids, photos, upload_share
        self.rng = random.Random(seed * 1000 + number)
        self.latencies: list[float] = []
        self.errors: list[str] = []

    def run(self) -> None:
        conn = http.client.HTTPConnection(*self.address, timeout=120)
        while time.time() < self.until:
            doc = {"text": self.rng.choice(TEXTS), "k": 10}
            if self.photos and self.rng.random() < self.upload_share:
                body, kind = multipart(self.rng.choice(self.photos).read_bytes(), doc)
            else:
                body, kind = json.dumps({**doc, "id": self.rng.choice(self.ids)}).encode(), "application/json"
            started = time.perf_counter()
            try:
                status, data = request(self.address, "POST", "/refine", body, kind, conn)
            except (OSError, http.client.HTTPException) as exc:
                self.errors.append(f"{type(exc).__name__}: {exc}")
                conn.close()
                conn = http.client.HTTPConnection(*self.address, timeout=120)
                continue
            self.latencies.append(time.perf_counter() - started)
            if status != 200 or not json.loads(data).get("results"):
                self.errors.append(f"HTTP {status}: {data[:200]!r}")
        conn.close()


def compare_paths(url: str, address, index: Path, photos: list[Path], n: int, planner: str, seed: int) -> dict:
    """Seconds per request, one at a time: cold command, command with --server, bare HTTP upload."""
    rng = random.Random(seed)
    cases = [(photos[i % len(photos)], rng.choice(TEXTS)) for i in range(n)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    base = [sys.executable, "-m", "fashrec", "refine"]
    ways: dict[str, list[float]] = {"cold command": [], "command --server": [], "HTTP upload": []}
    for photo, text in cases:
        for way, extra in (("cold command", ["--index", str(index), "--planner", planner]),
                           ("command --server", ["--server", url])):
            started = time.perf_counter()
            run = subprocess.run([*base, str(photo), text, "--json", *extra], env=env, capture_output=True,
                                 text=True, timeout=600)
            ways[way].append(time.perf_counter() - started)
            if run.returncode != 0 or not json.loads(run.stdout).get("results"):
                raise SystemExit(f"{way} failed: {run.stderr[-2000:]}")
        body, kind = multipart(photo.read_bytes(), {"text": text, "k": 10})
        started = time.perf_counter()
        status, data = request(address, "POST", "/refine", body, kind)
        ways["HTTP upload"].append(time.perf_counter() - started)
        if status != 200:
            raise SystemExit(f"HTTP upload failed: {status} {data[:300]!r}")
    return {way: percentiles_ms(times) for way, times in ways.items()}


def round_of_load(address, args, ids, photos, seed: int) -> dict:
    until = time.time() + args.seconds
    started = time.perf_counter()
    clients = [Client(address, i, until, ids, photos, args.upload_share, seed) for i in range(args.clients)]
    for c in clients:
        c.start()
    for c in clients:
        c.join(args.seconds + 180)
    wall = time.perf_counter() - started
    latencies = [x for c in clients for x in c.latencies]
    errors = [e for c in clients for e in c.errors]
    return {"requests": len(latencies), "errors": len(errors), "first_errors": errors[:5], "wall_s": wall,
            "throughput_rps": len(latencies) / wall, **percentiles_ms(latencies)}


def print_report(report: dict) -> None:
    rounds, memory, compare = report["rounds"], report["server_rss_mib"], report["one_at_a_time_ms"]
    print(f"server ready in {report['ready_s']:.1f} s; {report['clients']} clients x {report['seconds']:.0f} s, "
          f"{report['upload_share']:.0%} uploads, planner {report['planner']}")
    print(markdown_table(["round", "requests", "throughput (req/s)", "p50 ms", "p95 ms", "errors"],
                         [[i + 1, r["requests"], r["throughput_rps"], r["p50"], r["p95"], r["errors"]]
                          for i, r in enumerate(rounds)]))
    print(markdown_table(["server RSS (MiB)", *memory], [["", *memory.values()]]))
    if compare:
        cold = compare["cold command"]["p50"]
        print(markdown_table(["one request at a time", "p50 ms", "p95 ms", "x faster than cold (p50)"],
                             [[way, c["p50"], c["p95"], cold / c["p50"]] for way, c in compare.items()]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--catalog", type=Path, required=True, help="the full catalog (for photos outside the index)")
    parser.add_argument("--indexed", type=Path, help="JSONL of the indexed products (default: indexed.jsonl "
                        "next to the index folder)")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--upload-share", type=float, default=0.25)
    parser.add_argument("--planner", default="hybrid")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--compare", type=int, default=0, metavar="N",
                        help="then time N single requests: cold command, command --server, bare HTTP")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    info = report_header("The server under load", ("numpy", "hnswlib", "onnxruntime", "fastapi", "uvicorn"))
    indexed = args.indexed or args.index.parent / "indexed.jsonl"
    ids, photos = anchors(args.catalog, indexed, 200, args.seed)
    port = free_port()
    address = ("127.0.0.1", port)
    started = time.perf_counter()
    proc = start_server(args.index, port, args.planner)
    ready_s = time.perf_counter() - started
    try:
        memory = {"ready": server_rss_mib(proc.pid)}
        warm = round_of_load(address, argparse.Namespace(**{**vars(args), "clients": 2, "seconds": 5}), ids, photos,
                             args.seed + 99)
        memory["after warm-up"] = server_rss_mib(proc.pid)
        rounds = []
        for n in range(args.rounds):
            log(f"round {n + 1}: {args.clients} clients for {args.seconds:.0f} s")
            rounds.append(round_of_load(address, args, ids, photos, args.seed + n))
            memory[f"after round {n + 1}"] = server_rss_mib(proc.pid)
        compare = compare_paths(f"http://127.0.0.1:{port}", address, args.index, photos, args.compare,
                                args.planner, args.seed) if args.compare else {}
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    info["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
    report = {"machine": info, "index": str(args.index), "clients": args.clients, "seconds": args.seconds,
              "upload_share": args.upload_share, "planner": args.planner, "ready_s": ready_s, "warm_up": warm,
              "rounds": rounds, "server_rss_mib": memory, "one_at_a_time_ms": compare}
    print_report(report)
    write_json(args.json, report)


if __name__ == "__main__":
    main()
