"""Service layer: what the command line and the server share below their own frameworks.

- :mod:`.runtime`: what a command (or the server process) loads: the index, encoder, planners, profile.
- :mod:`.requests`: the request records (a ``--batch`` line, an HTTP body, a command's options).
- :mod:`.schema`: the same requests and the answers as pydantic models (validation, OpenAPI).
- :mod:`.handlers`: one request in, its JSON-ready answer out, the same for both.
"""
