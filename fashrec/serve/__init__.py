"""Server layer: ``fashrec serve``, the commands over HTTP and a web page for shoppers, in one warm process.

- :mod:`.state`: what the process loads once (index, encoder, planners) and its limits.
- :mod:`.app`: the routes (FastAPI): POST bodies are ``--batch`` lines, answers the ``--json`` documents.
- :mod:`.uploads`: JSON and multipart bodies, uploads kept in a private temporary folder, allowed paths.
- :mod:`.thumbs`: catalog photos as cached thumbnails.
- :mod:`.guards`: body-size limit, security headers, error statuses.
- ``static/``: the shopper's page (plain HTML, CSS and JavaScript; nothing is fetched from elsewhere).
"""

from __future__ import annotations

import ipaddress

from fashrec.serve.app import create_app
from fashrec.serve.state import Loaded, ServerConfig

LOOPBACK_NAMES = {"localhost"}


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def trusted_hosts(host: str) -> list[str] | None:
    """The Host headers a loopback server answers (a web page elsewhere cannot rebind a name onto it)."""
    if host in LOOPBACK_NAMES or host.startswith("127."):
        return sorted({"127.0.0.1", "localhost", host})
    return None


def run(config: ServerConfig, *, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info") -> None:
    """Load everything, then serve until interrupted."""
    import uvicorn  # deferred: only the serve command needs the web server itself

    app = create_app(Loaded.load(config), trusted_hosts=trusted_hosts(host))
    uvicorn.run(app, host=host, port=port, log_level=log_level)


__all__ = ["Loaded", "ServerConfig", "create_app", "is_loopback", "run", "trusted_hosts"]
