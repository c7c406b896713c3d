"""The Python API of a scan: ``tdmguard.Scanner``.

One object, three ways in:

- ``scanner.keep(example)`` / ``scanner(batch)``: predicates for
  ``datasets.Dataset.filter(scanner.keep)`` and ``.filter(scanner, batched=True)``
  (keep media columns undecoded: ``cast_column("audio", Audio(decode=False))``);
- ``scanner.filter_ray(ds)``: a Ray Data dataset filtered by ``map_batches`` on an actor
  pool, each actor opening the index once;
- ``scanner.scan(source, out)``: the same as ``tdmguard scan`` (files, report, resume).

The registry is read once when the scanner is made (what a scan needs of it is a small
picklable view); the checks (an index, engines) are opened on first use in each process, so
a scanner pickles cheaply to ``datasets`` workers and Ray actors.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from tdmguard.config import Settings
from tdmguard.errors import InputError
from tdmguard.registry.store import Registry
from tdmguard.scan.checks import CHECK_FACTORIES
from tdmguard.scan.decide import DecisionSettings, decide_record
from tdmguard.scan.job import Executor, ScanJob, registry_view
from tdmguard.scan.readers import ReadOptions, record_from_row
from tdmguard.scan.runner import preflight, run_scan
from tdmguard.scan.shard import WorkerChecks, build_checks, evaluate_record
from tdmguard.vocab import DecisionKind, Purpose, Use

__all__ = ["ScanResult", "Scanner"]

ScanResult = dict[str, Any]


class Scanner:
    """Decide dataset items against the registry and the signals, in Python.

    ``actor`` is who will use the data (licences are per organisation); ``use``,
    ``purpose``, ``at`` and ``unknown`` are the scan's flags; ``db``/``index`` default to
    ``TDMGUARD_DB``/``TDMGUARD_INDEX`` as for the CLI; ``checks`` defaults to all.
    """

    def __init__(
        self,
        *,
        actor: str,
        use: str = "ai-train",
        purpose: str = "commercial",
        at: date | None = None,
        unknown: str = "keep",
        db: str | None = None,
        index: str | Path | None = None,
        checks: Sequence[str] | None = None,
        check_options: Mapping[str, str] | None = None,
        text_column: str = "text",
        id_column: str = "id",
        settings: Settings | None = None,
    ) -> None:
        if not actor.strip():
            raise InputError("say who will use the data (licences are per organisation)",
                             where="actor")
        settings = settings or Settings.load(
            db=db, index=str(index) if index is not None else None
        )
        try:
            decision = DecisionSettings(
                use=Use(use),
                purpose=Purpose(purpose),
                actor=actor.strip(),
                at=at or date.today(),
                unknown=DecisionKind(unknown),
                research_exception=settings.research_exception,
            )
        except ValueError as exc:
            raise InputError(str(exc), where="Scanner") from exc
        registry = Registry.open(settings.db_url, create=False)
        try:
            view = registry_view(registry)
        finally:
            registry.close()
        self.job = ScanJob(
            source="",
            out_dir=Path(tempfile.gettempdir()),
            index_dir=settings.index_dir,
            decision=decision,
            view=view,
            checks=tuple(checks or CHECK_FACTORIES),
            check_options=dict(check_options or {}),
            read=ReadOptions(text_column=text_column, id_column=id_column),
        )
        preflight(self.job)  # a missing index or a broken check fails here, not per row
        self._worker: WorkerChecks | None = None
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        self._row = 0

    # Pickled to datasets' worker processes and Ray actors without opened checks.
    def __getstate__(self) -> dict[str, Any]:
        return {"job": self.job}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.job = state["job"]
        self._worker = None
        self._scratch = None
        self._row = 0

    def _checks(self) -> tuple[WorkerChecks, Path]:
        if self._worker is None:
            self._worker = build_checks(self.job)
        if self._scratch is None:
            self._scratch = tempfile.TemporaryDirectory(prefix="tdmguard-scan-")
        return self._worker, Path(self._scratch.name)

    def decide(self, row: Mapping[str, Any], *, base: str = ".") -> dict[str, Any]:
        """The decision for one row (a dict of columns, as ``datasets`` and manifests give
        them): ``{"id", "decision", "reasons", "evidence", "matches"}``, or ``decision:
        "error"`` with ``error`` when the row cannot be read or checked (never a keep)."""
        self._row += 1
        record = record_from_row(
            row, base=base, where=f"row {self._row}", default_id=f"row-{self._row}",
            options=self.job.read,
        )
        if "error" in record.meta:
            return {"id": record.id, "decision": "error", "error": str(record.meta["error"])}
        worker, scratch = self._checks()
        outcomes, failure = evaluate_record(worker, record, scratch, {})
        if failure is not None:
            return {"id": record.id, "decision": "error", "error": f"{failure[0]}: {failure[1]}"}
        decision, matches = decide_record(record, outcomes, self.job.view, self.job.decision)
        return {"id": record.id} | decision.to_json() | {
            "matches": [m.to_json() for m in matches]
        }

    def keep(self, row: Mapping[str, Any]) -> bool:
        """True when the row may be used (a predicate for ``Dataset.filter``)."""
        return bool(self.decide(row)["decision"] == DecisionKind.KEEP.value)

    def keep_batch(self, batch: Mapping[str, Sequence[Any]]) -> list[bool]:
        """One boolean per row of a columnar batch (``Dataset.filter(..., batched=True)``)."""
        columns = list(batch)
        if not columns:
            return []
        n = len(batch[columns[0]])
        return [self.keep({c: batch[c][i] for c in columns}) for i in range(n)]

    __call__ = keep_batch

    def filter_ray(self, dataset: Any, *, concurrency: int = 2, batch_size: int = 64) -> Any:
        """A Ray Data dataset with only the rows to keep, filtered on an actor pool of
        ``concurrency`` actors (each opens the index once). Extra ``ray``."""
        import ray.data

        return dataset.map_batches(
            _RayFilter,
            fn_constructor_args=(self,),
            compute=ray.data.ActorPoolStrategy(size=concurrency),
            batch_size=batch_size,
            batch_format="pyarrow",
        )

    def scan(
        self,
        source: str | Path,
        out: str | Path,
        *,
        workers: int = 1,
        shard_size: int | None = None,
        resume: bool = False,
        write_kept: bool = False,
        executor: str = "local",
    ) -> ScanResult:
        """Scan a whole source into ``out`` (see ``tdmguard scan``); returns the report."""
        text = str(source)
        literal = "://" in text or any(c in text for c in "{*?[")
        job = replace(
            self.job,
            source=text if literal else Path(text).resolve(),
            out_dir=Path(out).resolve(),
            workers=workers,
            shard_size=shard_size,
            write_kept=write_kept,
            executor=Executor(executor),
        )
        return run_scan(job, resume=resume)


class _RayFilter:
    """Ray Data actor: one scanner (checks opened once), a boolean mask per batch."""

    def __init__(self, scanner: Scanner) -> None:
        self.scanner = scanner

    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa

        mask = [self.scanner.keep(row) for row in batch.to_pylist()]
        return batch.filter(pa.array(mask, type=pa.bool_()))
