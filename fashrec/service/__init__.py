"""Service layer: what the command line and the server share below their own frameworks.

- :mod:`.runtime`: what a command (or the server process) loads: the index, encoder, planners, profile.
- :mod:`.schema`: the request documents (a ``--batch`` line, an HTTP body) and the answers, as models.
- :mod:`.handlers`: one request in, its JSON-ready answer out, the same for both.
"""
