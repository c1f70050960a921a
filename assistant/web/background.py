"""Background ingest of the corpus on first start, with progress others can read."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from assistant import service
from assistant.errors import AssistantError
from assistant.settings import Settings
from assistant.types import IngestReport

log = logging.getLogger(__name__)


@dataclass
class IngestStatus:
    running: bool = False
    done: int = 0
    total: int = 0
    label: str = ""
    error: str = ""
    report: IngestReport | None = None
    finished: bool = False


@dataclass
class BackgroundIngest:
    """One ingest thread per app; the page polls :meth:`snapshot` to show progress."""

    settings: Settings
    _status: IngestStatus = field(default_factory=IngestStatus)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None

    def snapshot(self) -> IngestStatus:
        with self._lock:
            s = self._status
            return IngestStatus(
                s.running, s.done, s.total, s.label, s.error, s.report, s.finished
            )

    @property
    def running(self) -> bool:
        with self._lock:
            return self._status.running

    def _progress(self, done: int, total: int, label: str) -> None:
        with self._lock:
            self._status.done, self._status.total, self._status.label = done, total, label
        # The terminal that runs the server shows the same progress as the page.
        log.info("Indexation : %d / %d fichiers%s", done, total, f" — {label}" if label else "")

    def start(self, paths: list[Path] | None = None) -> bool:
        """Start ingesting (default: the corpus folder); False when one is already running."""
        with self._lock:
            if self._status.running:
                return False
            self._status = IngestStatus(running=True)
        self._thread = threading.Thread(
            target=self._run, args=(paths,), name="pvd-ingest", daemon=True
        )
        self._thread.start()
        return True

    def _run(self, paths: list[Path] | None) -> None:
        report: IngestReport | None = None
        error = ""
        try:
            report = service.ingest(self.settings, paths, progress=self._progress)
        except AssistantError as exc:
            error = str(exc)
            log.warning("background ingest failed: %s", exc)
        except (OSError, RuntimeError, ValueError) as exc:
            # A crash here must not kill the server: the page shows the error instead.
            error = f"{type(exc).__name__}: {exc}"
            log.exception("background ingest crashed")
        if report is not None:
            log.info("Indexation terminée : %d ajoutés, %d inchangés, %d en échec.",
                     report.added + report.updated, report.unchanged, len(report.failed))
        with self._lock:
            self._status.running = False
            self._status.finished = True
            self._status.report = report
            self._status.error = error

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)


def needs_initial_ingest(settings: Settings) -> bool:
    """True when the index holds no document and the corpus folder has files to index."""
    docs, _ = service.open_index(settings).catalog.counts()
    corpus = settings.corpus_dir
    return docs == 0 and corpus.is_dir() and any(p.is_file() for p in corpus.rglob("*"))
