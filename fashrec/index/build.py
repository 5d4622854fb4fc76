"""Index layer: building and incrementally updating an index from a catalog, in three steps.

1. :mod:`~fashrec.index.diff`: what changed since the published generation (content hashes);
2. :mod:`~fashrec.index.encode`: embed what is new or changed;
3. :mod:`~fashrec.index.publish`: write a new generation and publish it with one atomic manifest
   replace, under the writer lock.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from pathlib import Path
from typing import Callable

from fashrec.catalog import CatalogLoad, load_catalog
from fashrec.encoder import DEFAULT_MODEL, identify
from fashrec.encoder.runtime import load_query_encoder
from fashrec.errors import CatalogError, EncoderMismatchError, FashrecIndexError, UsageError
from fashrec.index import index_dir_for, ownership
from fashrec.index.audit import Audit, audit_generation
from fashrec.index.diff import diff_catalog, plan_removals
from fashrec.index.encode import Engine, LocalEngine, encode_changes, export_for_queries
from fashrec.index.lance_store import lance_problem
from fashrec.index.lance_versions import dataset_lock
from fashrec.index.lock import writer_lock
from fashrec.index.manifest import MANIFEST_NAME, Manifest, read_manifest
from fashrec.index.publish import (
    Changes,
    check_free_space,
    clean_strays,
    publish,
)
from fashrec.index.report import IndexReport
from fashrec.index.stores import StoreSpec, parse_store, recorded_store
from fashrec.settings import index_vectors, ray_kill_drill, write_state

ProgressFactory = Callable[[str, int], "Callable[[int], None]"]


def build_index(
    catalog: str | Path,
    index_dir: str | Path | None = None,
    *,
    model: str | None = None,
    rebuild: bool = False,
    strict: bool = False,
    batch_size: int = 64,
    progress: ProgressFactory | None = None,
    export_onnx: bool = True,
    engine: Engine | None = None,
    store: str | None = None,
) -> IndexReport:
    """Create or update the index of ``catalog``. See the module docstring for the guarantees.

    ``export_onnx`` also makes (once per encoder) the verified ONNX export queries run on without torch;
    ``engine`` encodes (default: :class:`LocalEngine`, this process; see :func:`choose_engine`);
    ``store`` says where vectors are searched (``local``, ``lance``, ``lance:URI``; default: the store
    the index already uses, else local; see :mod:`fashrec.index.stores`).
    """
    started = time.perf_counter()
    index_vectors()   # a misspelt $FASHREC_INDEX_VECTORS fails now, not after the encoding
    catalog = Path(catalog).expanduser()
    folder = Path(index_dir).expanduser() if index_dir else index_dir_for(catalog)
    load = _load(catalog, strict)
    ownership.check_writable(folder)
    with writer_lock(folder) as lock, ExitStack() as held:
        current, old = _published(folder, rebuild)
        chosen = parse_store(store, folder) if store else recorded_store(current.store if current else None)
        foreign = clean_strays(lock, current)
        spec, identifier = _encoder(model, current, old, folder, catalog)
        report = IndexReport(index=str(folder), catalog=str(catalog), encoder=identifier, skipped=list(load.problems))
        held.enter_context(dataset_lock(chosen, folder, report.notes))   # before the long part: fail at once
        if foreign:
            report.notes.append(f"not recorded by this index, left alone: {', '.join(foreign)}")
        audit = audit_generation(folder, old) if old else None
        report.notes += repair_notes(audit)
        old_rows = audit.rows if audit else {}
        diff = diff_catalog(load.products, old_rows, catalog, report)
        rows, dimension = [], audit.dimension if audit else None
        if old and diff.to_encode:   # before the long part: refuse now what could not be written later
            check_free_space(folder, old, len(diff.to_encode), int(dimension))
        if diff.to_encode or not old:
            advance = progress("Encoding images", len(diff.to_encode)) if progress else None
            known = set(old_rows) | set(audit.damaged if audit else ())
            rows, dimension = encode_changes(diff.to_encode, spec, known, catalog, report, strict=strict,
                                             batch_size=batch_size, advance=advance, engine=engine)
        encoded = {r[0] for r in rows}
        removals = plan_removals(load, old_rows, diff, encoded, report) + _unrepaired(audit, encoded, report)
        if audit and audit.remap:
            report.notes.append(f"{audit.remap}: written now")
        if export_onnx:  # before publishing: the prompt tables it stores are then embedded without torch
            export_for_queries(spec, identifier, load.products, report)
        if old and audit.clean and not (rows or removals or diff.meta_only or audit.remap) \
                and not _store_differs(chosen, old, folder, report):
            report.notes.append("index already up to date")
            manifest = old
        else:
            changes = Changes(rows, removals, [(p.id, p.metadata()) for p in diff.meta_only])
            manifest = publish(lock, current, old, changes, catalog=catalog,
                               encoder={"spec": spec, "identifier": identifier, "dimension": int(dimension)},
                               prompt_encoder=lambda: load_query_encoder(spec, identifier=identifier,
                                                                         runtime="auto").encoder,
                               store=chosen, notes=report.notes)
        report.total = manifest.count
        report.seconds = time.perf_counter() - started
        _remember(folder)
        return report


ENGINES = ("local", "ray")


def choose_engine(name: str = "local", *, address: str | None = None, workers: int | None = None,
                  gpus: float = 0.0) -> Engine:
    """The encoding engine called ``name``: ``local`` (this process) or ``ray`` (a Ray Data pipeline on
    the cluster at ``address``, or on a local Ray runtime)."""
    if name not in ENGINES:
        raise UsageError(f"unknown engine '{name}': choose {' or '.join(ENGINES)}")
    if name == "local":
        if address or workers or gpus:
            raise UsageError("--ray-address, --ray-workers and --ray-gpus need --engine ray")
        return LocalEngine()
    from fashrec.index.ray_engine import RayEngine

    return RayEngine(address=address, workers=workers, gpus=gpus, drill=ray_kill_drill())


def _store_differs(chosen: StoreSpec, old: Manifest, folder: Path, report: IndexReport) -> bool:
    """Whether this run must publish for the store alone: another store was asked for, or the Lance
    dataset the index names cannot be opened at its version (then it is written again)."""
    if chosen != recorded_store(old.store):
        return True
    if chosen.kind != "lance":
        return False
    problem = lance_problem(old.store, old.count, folder)
    if problem:
        report.notes.append(f"repairing: {problem}")
    return problem is not None


def repair_notes(audit: Audit | None) -> list[str]:
    """What this run repairs of the generation it builds on, in words (nothing when it is sound)."""
    if audit is None:
        return []
    notes = [f"repaired: {problem}" for problem in audit.store]
    if audit.damaged:
        shown = "; ".join(f"'{i}' {why}" for i, why in list(audit.damaged.items())[:5])
        notes.append(f"{len(audit.damaged)} damaged item(s) in the item store, replaced from the catalog: {shown}"
                     + ("; ..." if len(audit.damaged) > 5 else ""))
    if audit.graph:
        notes.append(f"{audit.graph}: rebuilt from the stored vectors")
    return notes


def _unrepaired(audit: Audit | None, encoded: set[str], report: IndexReport) -> list[str]:
    """Damaged rows the catalog could not replace (gone, or its line or image is bad now): removed,
    since a row nothing vouches for must not be served."""
    if audit is None:
        return []
    report.repaired = len(audit.damaged)
    lost = sorted(set(audit.damaged) - encoded)
    if lost:
        report.notes.append(f"{len(lost)} damaged item(s) removed, the catalog has no usable line for them: "
                            + ", ".join(lost[:10]))
    return lost


def _load(catalog: Path, strict: bool) -> CatalogLoad:
    load = load_catalog(catalog, strict=strict)
    if not load.products:
        if load.problems:
            first = load.problems[0]
            raise CatalogError(f"no valid products in {catalog} ({len(load.problems)} bad lines; first: "
                               f"{first.message})")
        raise CatalogError(f"catalog is empty: {catalog}")
    return load


def _published(folder: Path, rebuild: bool) -> tuple[Manifest | None, Manifest | None]:
    """(what readers see now, what this run builds on): the second is None with --rebuild."""
    current = None
    if (folder / MANIFEST_NAME).exists():
        try:
            current = read_manifest(folder)
        except FashrecIndexError:
            if not rebuild:
                raise
    return current, None if rebuild else current


def _encoder(model: str | None, current: Manifest | None, old: Manifest | None, folder: Path,
             catalog: Path) -> tuple[str, str]:
    """(spec, identifier) of the encoder; --rebuild without --model keeps the index's (it repairs, it does
    not switch), and one index never mixes encoders."""
    spec = model or (current.encoder["spec"] if current else DEFAULT_MODEL)
    identifier = identify(spec)
    if old and old.encoder.get("identifier") != identifier:
        raise EncoderMismatchError(
            f"index at {folder} was built with encoder '{old.encoder.get('identifier')}', "
            f"not '{identifier}': one index never mixes encoders",
            hint=f"rebuild it for the new encoder: fashrec index {catalog} --rebuild"
                 + (f" --model {model}" if model else ""),
        )
    return spec, identifier


def _remember(folder: Path) -> None:
    try:
        write_state(last_index=str(folder.resolve()))
    except (OSError, UsageError):
        pass  # remembering is a convenience; a read-only (or misplaced) home must not fail indexing
