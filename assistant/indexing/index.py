"""The index: catalog (lexical) and vector store kept in step, with incremental ingest."""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.embedding.embedders import Embedder, make_embedder
from assistant.errors import AssistantError, ConfigError, IndexBusyError
from assistant.indexing.catalog import Catalog, StoredDocument
from assistant.indexing.embedcache import CachedEmbedder
from assistant.indexing.lexical import analyze
from assistant.indexing.store import VectorStore, chunk_metadata, open_client
from assistant.ingest.chunking import chunk_document
from assistant.ingest.metadata import MANIFEST_NAME, Manifest, build_meta, read_manifest
from assistant.settings import Settings
from assistant.types import (
    SUPPORTED_SUFFIXES,
    Chunk,
    DocumentMeta,
    IngestFailure,
    IngestReport,
    LoadedDocument,
)

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def corpus_files(root: Path) -> list[Path]:
    """The files an ingest of folder ``root`` picks up: supported, not hidden, no manifest."""
    files = []
    for file in sorted(root.rglob("*")):
        rel = file.relative_to(root)
        if not file.is_file() or any(p.startswith(".") for p in rel.parts):
            continue
        if file.name == MANIFEST_NAME or file.suffix.lower() not in SUPPORTED_SUFFIXES:
            continue
        files.append(file)
    return files


def document_id(root: str, source: str) -> str:
    return hashlib.sha1(f"{root}\0{source}".encode()).hexdigest()[:16]


def embedding_text(chunk: Chunk, meta: DocumentMeta) -> str:
    """What gets embedded and lexically indexed: the passage under its title and headings."""
    context = " > ".join([meta.title, *chunk.heading_path])
    return f"{context}\n{chunk.text}"


@dataclass
class _Job:
    root: Path
    path: Path
    source: str


class Index:
    """One index folder: ``catalog.sqlite3`` plus a Chroma store (embedded or a server)."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        settings.index_dir.mkdir(parents=True, exist_ok=True)
        self.catalog = Catalog(settings.catalog_path)
        self._embedder = embedder
        self._passage_embedder: Embedder | None = None
        self._store: VectorStore | None = None

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = make_embedder(self.settings.embedder)
        return self._embedder

    @property
    def passage_embedder(self) -> Embedder:
        """The embedder for ingest: behind the content-hash cache unless it is disabled."""
        if self._passage_embedder is None:
            self._passage_embedder = (
                CachedEmbedder(self.embedder, self.settings.embed_cache_path)
                if self.settings.embed_cache
                else self.embedder
            )
        return self._passage_embedder

    @property
    def store(self) -> VectorStore:
        if self._store is None:
            client = open_client(self.settings.chroma_dir, self.settings.chroma_url)
            self._store = VectorStore(client, self.embedder, self.settings.embedder)
            if self.catalog.get("model_id") != self.embedder.model_id:
                self.catalog.set("model_id", self.embedder.model_id)
        return self._store

    # -- locking ---------------------------------------------------------------------

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive ingest lock; a second ingest on the same index is refused, not queued."""
        path = self.settings.index_dir / "ingest.lock"
        handle = path.open("a+")
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise IndexBusyError(
                    f"another ingest is running on this index ({self.settings.index_dir}); "
                    "try again when it has finished"
                ) from exc
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()

    # -- consistency -----------------------------------------------------------------

    def reconcile(self) -> dict[str, int]:
        """Bring Chroma and the catalog back to the same chunk ids after a crash."""
        in_store = self.store.all_ids()
        in_catalog = self.catalog.chunk_ids()
        extra = sorted(in_store - in_catalog)
        missing = sorted(in_catalog - in_store)
        if extra:
            self.store.delete(extra)
        forgotten = self.catalog.delete_chunks(missing)
        if extra or missing:
            log.warning(
                "index repaired: %d vectors without catalog entry removed, %d documents "
                "with missing vectors will be indexed again", len(extra), len(forgotten)
            )
        return {"extra_vectors": len(extra), "forgotten_documents": len(forgotten)}

    # -- ingest ----------------------------------------------------------------------

    def ingest(
        self,
        paths: list[Path],
        *,
        progress: Progress | None = None,
        visibility: str | None = None,
        loader: Callable[[Path], LoadedDocument] | None = None,
        settings: Settings | None = None,
    ) -> IngestReport:
        """Index files and folders; unchanged files are skipped, changed ones replaced,
        files gone from an ingested folder removed. One bad file never stops the rest.

        ``settings`` carries the caller's per-call knobs (size limits, chunk sizes); the
        index's own settings are used when it is None.
        """
        knobs = settings or self.settings
        if loader is None:
            from assistant.ingest.loaders import load_document as loader
        report = IngestReport()
        with self.lock():
            self.reconcile()
            jobs, roots = self._collect(paths)
            manifests: dict[Path, Manifest] = {}

            def manifest_for(job: _Job) -> Manifest:
                if job.root not in manifests:
                    manifests[job.root] = read_manifest(job.root)
                return manifests[job.root]

            prefetch = _Prefetcher(loader)
            try:
                for i, job in enumerate(jobs):
                    if progress:
                        progress(i, len(jobs), job.source)
                    if i + 1 < len(jobs):
                        self._prefetch(jobs[i + 1], manifest_for, prefetch, knobs)
                    try:
                        manifest = manifest_for(job)
                        self._ingest_one(job, manifest, report, prefetch.load, visibility, knobs)
                    except AssistantError as exc:
                        report.failed.append(IngestFailure(job.source, str(exc)))
                    except (
                        OSError, ValueError, KeyError, IndexError, TypeError, RuntimeError
                    ) as exc:
                        # A library choking on a malformed file must not stop the ingest.
                        log.exception("unexpected failure on %s", job.path)
                        report.failed.append(
                            IngestFailure(job.source, f"{type(exc).__name__}: {exc}")
                        )
            finally:
                prefetch.close()
            seen = {(str(j.root), j.source) for j in jobs}
            for root in roots:
                for doc in self.catalog.documents(root=str(root)):
                    if (doc.root, doc.source) not in seen:
                        self._remove(doc.doc_id)
                        report.removed += 1
            if progress:
                progress(len(jobs), len(jobs), "")
            self.catalog.set("last_ingest", f"{time.time():.0f}")
        report.chunks = self.catalog.counts()[1]
        return report

    def _collect(self, paths: list[Path]) -> tuple[list[_Job], list[Path]]:
        jobs: list[_Job] = []
        roots: list[Path] = []
        for raw in paths:
            path = raw.expanduser().resolve()
            if path.is_dir():
                roots.append(path)
                jobs += [_Job(path, f, f.relative_to(path).as_posix()) for f in corpus_files(path)]
            elif path.is_file():
                jobs.append(_Job(path.parent, path, path.name))
            else:
                raise ConfigError(f"no such file or folder: {raw}")
        return jobs, roots

    def _prefetch(
        self,
        job: _Job,
        manifest_for: Callable[[_Job], Manifest],
        prefetch: _Prefetcher,
        knobs: Settings,
    ) -> None:
        """Start parsing ``job``'s file ahead, unless it is unchanged or too big."""
        try:
            if job.path.stat().st_size / 1e6 > knobs.max_file_mb:
                return
            existing = self.catalog.document(document_id(str(job.root), job.source))
            if _unchanged(existing, file_sha256(job.path), manifest_for(job), job.source):
                return
        except (AssistantError, OSError, ValueError):
            # Not prefetching is always safe: the file's own turn reports the problem.
            return
        prefetch.start(job.path)

    def _ingest_one(
        self,
        job: _Job,
        manifest: Manifest,
        report: IngestReport,
        loader: Callable[[Path], LoadedDocument],
        visibility: str | None,
        knobs: Settings,
    ) -> None:
        size_mb = job.path.stat().st_size / 1e6
        if size_mb > knobs.max_file_mb:
            raise ConfigError(
                f"fichier trop volumineux : {size_mb:.1f} Mo (limite "
                f"{knobs.max_file_mb:g} Mo, réglage ASSISTANT_MAX_FILE_MB)"
            )
        sha = file_sha256(job.path)
        doc_id = document_id(str(job.root), job.source)
        existing = self.catalog.document(doc_id)
        if _unchanged(existing, sha, manifest, job.source):
            report.unchanged += 1
            return
        twin = self.catalog.document_with_sha(sha, str(job.root)) if existing is None else None
        if twin is not None and twin.source != job.source and (job.root / twin.source).is_file():
            # The same bytes under a second name: indexed once, both paths known.
            self.catalog.add_alias(twin.doc_id, job.source)
            report.duplicates.append({"source": job.source, "same_as": twin.source})
            return
        loaded = loader(job.path)
        if len(loaded.pages) > knobs.max_pages:
            raise ConfigError(
                f"trop de pages : {len(loaded.pages)} (limite {knobs.max_pages})"
            )
        meta = build_meta(
            job.source, loaded, manifest, sha256=sha, path=job.path,
            visibility_override=visibility,
        )
        meta.extra["manifest_hash"] = _entry_hash(manifest, job.source)
        meta.extra["format"] = loaded.format
        chunks = chunk_document(
            loaded,
            doc_id,
            min_tokens=knobs.chunk_min_tokens,
            max_tokens=knobs.chunk_max_tokens,
            overlap_tokens=knobs.chunk_overlap_tokens,
        )
        texts = [embedding_text(c, meta) for c in chunks]
        vectors = self.passage_embedder.embed(texts, is_query=False)
        metas = [chunk_metadata(c, meta) for c in chunks]
        old_ids = self.catalog.chunk_ids(doc_id)
        new_ids = [c.id for c in chunks]
        stale = sorted(old_ids - set(new_ids))
        if stale:
            self.store.delete(stale)
        if chunks:
            self.store.upsert(new_ids, vectors, [c.text for c in chunks], metas)
        self.catalog.replace_document(
            str(job.root), meta, doc_id, loaded.pages, chunks,
            [analyze(t) for t in texts], metas,
        )
        if existing is None:
            report.added += 1
        else:
            report.updated += 1

    def _remove(self, doc_id: str) -> None:
        ids = sorted(self.catalog.chunk_ids(doc_id))
        if ids:
            self.store.delete(ids)
        self.catalog.delete_document(doc_id)

    def remove_document(self, doc_id: str) -> bool:
        """Remove one document from both indexes (the web app's "supprimer")."""
        with self.lock():
            if self.catalog.document(doc_id) is None:
                return False
            self._remove(doc_id)
            return True

    # -- info ------------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        docs, chunks = self.catalog.counts()
        size = sum(f.stat().st_size for f in self.settings.index_dir.rglob("*") if f.is_file())
        last = self.catalog.get("last_ingest")
        return {
            "index": str(self.settings.index_dir),
            "documents": docs,
            "chunks": chunks,
            "model": self.catalog.get("model_id") or self.settings.embedder,
            "chroma": self.settings.chroma_url or str(self.settings.chroma_dir),
            "size_bytes": size,
            "last_ingest": (
                time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(float(last))) if last else None
            ),
        }


class _Prefetcher:
    """Parses one file ahead on a background thread; ``load`` falls back to a plain call.

    PDF parsing is Python and the embedder spends its time in onnxruntime or C with the
    GIL released, so reading the next file overlaps the current one's embedding. A
    loader error is raised by ``load`` for that file, exactly as a direct call would.
    """

    def __init__(self, loader: Callable[[Path], LoadedDocument]) -> None:
        self._loader = loader
        self._pool: ThreadPoolExecutor | None = None
        self._pending: dict[Path, Future[LoadedDocument]] = {}

    def start(self, path: Path) -> None:
        if path in self._pending:
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="ingest-prefetch")
        self._pending[path] = self._pool.submit(self._loader, path)

    def load(self, path: Path) -> LoadedDocument:
        future = self._pending.pop(path, None)
        return future.result() if future is not None else self._loader(path)

    def close(self) -> None:
        for future in self._pending.values():
            future.cancel()
        self._pending.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


def _unchanged(
    existing: StoredDocument | None, sha: str, manifest: Manifest, source: str
) -> bool:
    """Same bytes and same manifest entry as when the catalog's document was indexed."""
    return (
        existing is not None
        and existing.sha256 == sha
        and existing.meta.get("extra", {}).get("manifest_hash") == _entry_hash(manifest, source)
    )


def _entry_hash(manifest: Manifest, source: str) -> str:
    """A manifest edit must re-index the file even when the file itself is unchanged."""
    entry = {**manifest.defaults, **(manifest.get(source) or {})}
    return hashlib.sha1(repr(sorted(entry.items())).encode()).hexdigest()[:12]


_INDEXES: dict[tuple[str, str, str], Index] = {}
_INDEXES_LOCK = threading.Lock()


def open_index(settings: Settings) -> Index:
    """One Index per (folder, server, model) and process, so models load once.

    The Index keeps the settings it was opened with: callers pass their per-call knobs
    (``retrieve(settings=)``, ``Index.ingest(settings=)``) instead of changing shared state.
    """
    key = (str(settings.index_dir.resolve()), settings.chroma_url or "", settings.embedder)
    with _INDEXES_LOCK:
        index = _INDEXES.get(key)
        if index is None:
            index = _INDEXES[key] = Index(settings)
        return index
