"""CLI layer: `fashrec serve`, the HTTP API and the shopper's web page in one long-lived process."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from fashrec.cli import remarks  # noqa: F401  (styles the loading remarks)
from fashrec.cli.app import app
from fashrec.cli.options import AskBelowOpt, IndexOpt, LlmOpt, PlannerOpt
from fashrec.cli.output import handled, note


@app.command()
def serve(
    index: Optional[Path] = IndexOpt,
    host: str = typer.Option("127.0.0.1", "--host", metavar="ADDR", help="Address to listen on (default: this machine only)."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, metavar="PORT", help="Port to listen on."),
    trusted_host: Optional[List[str]] = typer.Option(None, "--trusted-host", metavar="NAME", help="Also answer "
                                                     "requests for this Host name, e.g. one in /etc/hosts or a "
                                                     "local proxy's (repeatable; '*.example.com' for names under "
                                                     "a domain). Beyond this machine: answer only these."),
    planner: str = PlannerOpt,
    llm: Optional[Path] = LlmOpt,
    allow_images: Optional[List[Path]] = typer.Option(None, "--allow-images", metavar="DIR", help="A folder whose images "
                                                      "requests may name by path (repeatable; default none: "
                                                      "photos are uploaded)."),
    max_upload_mb: int = typer.Option(16, "--max-upload-mb", min=1, max=64, metavar="MB", help="Largest photo accepted."),
    ask_below: Optional[float] = AskBelowOpt,
) -> None:
    """Serve the API and a web page: load the index and models once, answer many requests.

    POST /refine, /search, /similar, /outfit, /plan take the --batch line of each command and answer its
    --json document; the page at / lets a shopper upload a photo, say what to change and see the clothes.

    Examples:
    fashrec serve --index shop.fashrec-index
    fashrec serve --port 8080 --allow-images ~/photos --planner rules
    fashrec serve --trusted-host shop.lan
    """
    # deferred: fashrec.serve imports fastapi and starlette (~1 s), which `fashrec --help` must not pay
    from fashrec.serve import ServerConfig, is_loopback, run, server_url, trusted_hosts

    with handled(False):
        hosts = trusted_hosts(host, trusted_host or ())   # first: a bad name is refused before anything loads
        config = ServerConfig(index=index, planner=planner, llm=llm, allowed_image_dirs=tuple(allow_images or ()),
                              max_upload_bytes=max_upload_mb * 1024 * 1024, ask_below=ask_below)
        if not is_loopback(host):
            note(f"[yellow]Warning:[/] listening on {host}: anyone who can reach this machine can use the server, "
                 "see the catalog and upload photos. Use the default --host 127.0.0.1 unless you mean it."
                 + ("" if hosts is not None else " It answers any Host name; --trusted-host NAME limits it to those."))
        note(f"loading the index and models; then open {server_url(host, port)}")
        run(config, hosts=hosts, host=host, port=port)
