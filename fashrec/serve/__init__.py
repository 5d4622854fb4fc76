"""Server layer: ``fashrec serve``, the commands over HTTP and a web page for shoppers, in one warm process.

- :mod:`.state`: what the process loads once (index, encoder, planners) and its limits.
- :mod:`.app`: the routes (FastAPI): POST bodies are ``--batch`` lines, answers the ``--json`` documents.
- :mod:`.uploads`: JSON and multipart bodies, uploads kept in a private temporary folder, allowed paths.
- :mod:`.thumbs`: catalog photos as cached thumbnails.
- :mod:`.guards`: the Host names answered, body-size limit, security headers, error statuses.
- ``static/``: the shopper's page (plain HTML, CSS and JavaScript; nothing is fetched from elsewhere).
"""

from __future__ import annotations

import ipaddress
from typing import Iterable

from fashrec.serve.app import create_app
from fashrec.serve.guards import host_pattern
from fashrec.serve.state import Loaded, ServerConfig

LOOPBACK_NAMES = {"localhost"}


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def trusted_hosts(host: str, extra: Iterable[str] = ()) -> list[str] | None:
    """The Host headers a server listening on ``host`` answers (None: any), against DNS rebinding.

    A loopback server answers its loopback names, and ``extra`` too (a name in /etc/hosts, a local reverse
    proxy's). Beyond this machine any Host is answered unless ``extra`` names some: then only those, and the
    address it listens on when that is one (an IP address cannot be rebound; 0.0.0.0 is no Host anyone
    sends). ``extra`` is checked first (:func:`~fashrec.serve.guards.host_pattern`): a bad name is refused
    before anything loads."""
    names = {host_pattern(name) for name in extra}
    if is_loopback(host):   # ::1 too, which is_loopback counts (no warning) and was left answering any Host
        return sorted({"127.0.0.1", "localhost", host_pattern(host, given_as="--host"), *names})
    if not names:
        return None
    try:
        listening = ipaddress.ip_address(host)
    except ValueError:
        listening = None   # a name to listen on (resolved by the server): a name clients may use too
    if listening is None or not listening.is_unspecified:
        names.add(host_pattern(host, given_as="--host"))
    return sorted(names)


def server_url(host: str, port: int) -> str:
    """The address to open a server listening on ``host`` at, as start-up prints it. An IPv6 address goes in
    brackets (``http://[::1]:8000/``): bare, its colons would read as the port's (RFC 3986). A wildcard
    (0.0.0.0, ::) is where the server listens, not an address to open: this machine's loopback is."""
    try:
        address = ipaddress.ip_address(host.removeprefix("[").removesuffix("]"))
    except ValueError:
        return f"http://{host}:{port}/"   # a name (localhost, shop.lan)
    if address.is_unspecified:
        address = ipaddress.ip_address("::1" if address.version == 6 else "127.0.0.1")
    shown = f"[{address}]" if address.version == 6 else str(address)
    return f"http://{shown}:{port}/"


def run(config: ServerConfig, *, hosts: list[str] | None, host: str = "127.0.0.1", port: int = 8000,
        log_level: str = "info") -> None:
    """Load everything, then serve until interrupted; ``hosts``: the Host headers answered (None: any), as
    :func:`trusted_hosts` gives them, asked for by name so no caller leaves a server open by omission."""
    import uvicorn  # deferred: only the serve command needs the web server itself

    app = create_app(Loaded.load(config), trusted_hosts=hosts)
    uvicorn.run(app, host=host, port=port, log_level=log_level)


__all__ = ["Loaded", "ServerConfig", "create_app", "is_loopback", "run", "server_url", "trusted_hosts"]
