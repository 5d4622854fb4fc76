"""Evaluation layer: each benchmark measures one part of fashrec on a catalog and returns a report.

One module per benchmark (encoder, anchor, planner, refine, search, dialogue, outfit), the single-shot
baselines AMMR is compared with (baselines.py) and the measures they share (metrics.py).
"""
