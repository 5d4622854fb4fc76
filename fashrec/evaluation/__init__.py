"""Evaluations: each measures one part of fashrec on a catalog and returns a report dataclass."""
