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

from assistant.embedding.adapter import (
    ADAPTER_NAME,
    DEFAULT_PATH,
    SENTENCE_ADAPTER_NAME,
    SENTENCE_DEFAULT_PATH,
    QueryAdapter,
    load_adapter,
)
from assistant.embedding.embedders import Embedder, make_embedder
from assistant.errors import AssistantError, ConfigError, IndexBusyError, IndexUnavailableError
from assistant.indexing.catalog import Catalog, StoredDocument
from assistant.indexing.embedcache import CachedEmbedder
from assistant.indexing.lexical import analyze
from assistant.indexing.store import VectorStore, chunk_metadata, open_client
from assistant.ingest.chunking import chunk_document
from assistant.ingest.loaders import TEXT_EXTRACTION, ParseLimits
from assistant.ingest.metadata import MANIFEST_NAME, Manifest, build_meta, read_manifest
from assistant.ingest.sandbox import ParserPool
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
        # Adapters by file name (None: none fitted for this embedder), and whether this
        # index holds the corpus each was fitted on, by ingest generation.
        self._adapters: dict[str, QueryAdapter | None] = {}
        self._adapters_checked: dict[str, tuple[str, bool]] = {}
        self._store: VectorStore | None = None
        # The ingest generation the open store has seen; another process's committed
        # ingest bumps it, and the store is reopened before the next query.
        self._store_generation = ""
        self._store_lock = threading.RLock()

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = make_embedder(self.settings.embedder)
        return self._embedder

    @property
    def query_adapter(self) -> QueryAdapter | None:
        """The adapter moving query vectors before the dense search, when one was fitted
        for this embedder and this corpus and the settings use it."""
        if not self.settings.query_adapter:
            return None
        return self._bound_adapter(ADAPTER_NAME, DEFAULT_PATH)

    @property
    def sentence_adapter(self) -> QueryAdapter | None:
        """The adapter moving query vectors to rank the sentences of the passages read,
        on the same terms."""
        if not self.settings.sentence_adapter:
            return None
        return self._bound_adapter(SENTENCE_ADAPTER_NAME, SENTENCE_DEFAULT_PATH)

    def _bound_adapter(self, name: str, shipped: Path) -> QueryAdapter | None:
        if name not in self._adapters:
            # An adapter fitted for this index's own corpus, else the shipped corpus's.
            own = self.settings.index_dir / name
            self._adapters[name] = load_adapter(own if own.exists() else shipped,
                                                self.embedder.model_id)
        adapter = self._adapters[name]
        if adapter is None:
            return None
        # Whether this index holds the corpus it was fitted on, read again after an ingest
        # (the app builds its index on first run, after opening it).
        generation = self.catalog.ingest_generation()
        checked = self._adapters_checked.get(name)
        if checked is None or checked[0] != generation:
            checked = (generation, adapter.fits(self.catalog.count_with_sha(adapter.corpus)))
            self._adapters_checked[name] = checked
        return adapter if checked[1] else None

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
        store = self._store
        if store is not None:
            return store
        with self._store_lock:
            if self._store is None:
                generation = self.catalog.ingest_generation()
                client = open_client(self.settings.chroma_dir, self.settings.chroma_url)
                self._store = VectorStore(client, self.embedder, self.settings.embedder)
                self._store_generation = generation
                if self.catalog.get("model_id") != self.embedder.model_id:
                    self.catalog.set("model_id", self.embedder.model_id)
            return self._store

    # -- sharing the index with other processes ---------------------------------------

    def refresh(self) -> bool:
        """Reopen the embedded Chroma client when another process committed an ingest
        since it was opened (its in-memory segments would not know the new ids)."""
        if self._store is None or self.settings.chroma_url:
            return False  # a Chroma server serves every process the same data
        if self.catalog.ingest_generation() == self._store_generation:
            return False
        return self._reopen(self._store, "index changed by another process")

    def _reopen(self, seen: VectorStore | None, why: str) -> bool:
        """Close ``seen`` and open a new client, unless another thread already did."""
        with self._store_lock:
            if self._store is not seen or seen is None:
                return False
            self._store = None
            seen.close()
            log.info("%s: vector store reopened", why)
        _ = self.store
        return True

    def dense_query(
        self, vector: Any, k: int, where: dict[str, Any] | None = None
    ) -> list[tuple[str, float]] | None:
        """The vector store's ranking; the store is reopened first if another process
        wrote the index. ``None`` while another process's ingest is half-written (the
        caller ranks lexically); a store that stays unreadable is an IndexUnavailableError."""
        from chromadb.errors import ChromaError

        self.refresh()
        store = self.store
        try:
            return store.query(vector, k, where)
        except (ChromaError, AttributeError) as first:
            # AttributeError: another thread closed this client (a reopen) mid-query.
            log.warning("vector store query failed (%s); reopening it", first)
        if not self.settings.chroma_url:
            self._reopen(store, "vector store query failed")
        for _ in range(3):
            # Reopens can follow each other (another process's ingest commits often): a
            # client closed under this query by yet another reopen is tried again.
            try:
                return self.store.query(vector, k, where)
            except AttributeError as again:
                log.warning("vector store closed mid-query (%s); retrying", again)
            except ChromaError:
                break
        try:
            return self.store.query(vector, k, where)
        except ChromaError as exc:
            if self.ingest_running_elsewhere():
                log.warning("vector store unreadable during another ingest: lexical only")
                return None
            raise IndexUnavailableError(
                "l'index vectoriel est momentanément illisible (une indexation lancée par "
                "un autre processus l'a modifié) : réessayez dans un instant. Si l'application "
                "et la ligne de commande écrivent souvent dans l'index, utilisez un serveur "
                "Chroma (ASSISTANT_CHROMA_URL)"
            ) from exc

    def similarities(self, vector: Any, ids: list[str]) -> dict[str, float]:
        """The stored vectors' similarity to ``vector`` (see ``VectorStore.similarities``),
        retried on the new client when a reopen closed the one in use."""
        return self._on_store(lambda store: store.similarities(vector, ids))

    def vectors(self, ids: list[str]) -> dict[str, Any]:
        """The stored vectors of ``ids``, retried like ``similarities``."""
        return self._on_store(lambda store: store.vectors(ids))

    def present(self, ids: list[str]) -> set[str]:
        """Which of ``ids`` the vector store holds, retried like ``similarities``."""
        return self._on_store(lambda store: store.present(ids))

    def _on_store(self, call: Any) -> Any:
        # AttributeError: another thread's reopen closed this client mid-call.
        for _ in range(3):
            store = self.store
            try:
                return call(store)
            except AttributeError as exc:
                log.warning("vector store closed mid-call (%s); retrying", exc)
                self._reopen(store, "vector store closed mid-call")
        return call(self.store)

    def ingest_running_elsewhere(self) -> bool:
        """Another live process holds the ingest lock (its pid is written in the file)."""
        try:
            text = (self.settings.index_dir / "ingest.lock").read_text().strip()
            pid = int(text) if text else 0
        except (OSError, ValueError):
            return False
        if pid <= 0 or pid == os.getpid():
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def _committed(self) -> None:
        """Bump the ingest generation; this process's own store already has the writes."""
        generation = self.catalog.bump_ingest_generation()
        if self._store is not None:
            self._store_generation = generation

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
                    "une autre indexation est en cours sur cet index "
                    f"({self.settings.index_dir}) : réessayez quand elle sera terminée"
                ) from exc
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            try:
                yield
            finally:
                # An empty file says "no ingest running" to processes reading the index.
                handle.seek(0)
                handle.truncate()
                handle.flush()
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
        """Index files and folders; unchanged files are skipped, changed ones replaced
        (only their metadata when only that changed), files gone from an ingested folder
        removed. One bad file never stops the rest.

        Files are parsed in child processes under the ``parse_*`` limits unless a
        ``loader`` is given (tests), which then runs in this process. ``settings`` carries
        the caller's per-call knobs (size limits, chunk sizes); the index's own when None.
        """
        knobs = settings or self.settings
        pool: ParserPool | None = None
        if loader is None:
            pool = ParserPool(
                ParseLimits(
                    max_pages=knobs.max_pages,
                    docx_max_unpacked_mb=knobs.docx_max_unpacked_mb,
                    docx_max_ratio=knobs.docx_max_ratio,
                ),
                memory_mb=knobs.parse_memory_mb,
                timeout_s=knobs.parse_timeout_s,
            )
            loader = pool.load
        report = IngestReport()
        try:
            with self.lock():
                self._ingest_locked(paths, report, loader, progress, visibility, knobs)
        finally:
            if pool is not None:
                pool.close()
        report.chunks = self.catalog.counts()[1]
        return report

    def _ingest_locked(
        self,
        paths: list[Path],
        report: IngestReport,
        loader: Callable[[Path], LoadedDocument],
        progress: Progress | None,
        visibility: str | None,
        knobs: Settings,
    ) -> None:
        self.refresh()  # another process may have written since this store was opened
        repaired = self.reconcile()
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
                    self._prefetch(jobs[i + 1], manifest_for, prefetch, visibility, knobs)
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
        if report.added or report.updated or report.removed or any(repaired.values()):
            self._committed()

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
        visibility: str | None,
        knobs: Settings,
    ) -> None:
        """Start parsing ``job``'s file ahead, unless it is unchanged or too big."""
        try:
            if job.path.stat().st_size / 1e6 > knobs.max_file_mb:
                return
            manifest = manifest_for(job)
            existing = self.catalog.document(document_id(str(job.root), job.source))
            key = _meta_key(manifest, job.source, _override(manifest, job, visibility, existing))
            if _unchanged(existing, file_sha256(job.path), key):
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
        override = _override(manifest, job, visibility, existing)
        key = _meta_key(manifest, job.source, override)
        if _unchanged(existing, sha, key):
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
        if loaded.warnings:
            report.warnings.append({"source": job.source, "warnings": list(loaded.warnings)})
        meta = build_meta(
            job.source, loaded, manifest, sha256=sha, path=job.path,
            visibility_override=override,
        )
        meta.extra["manifest_hash"] = key
        if override is not None:
            # Remembered: a later ingest without --visibility keeps it (never reverts to public).
            meta.extra["visibility_override"] = override
        meta.extra["format"] = loaded.format
        chunks = chunk_document(
            loaded,
            doc_id,
            min_tokens=knobs.chunk_min_tokens,
            max_tokens=knobs.chunk_max_tokens,
            overlap_tokens=knobs.chunk_overlap_tokens,
        )
        if existing is not None and existing.sha256 == sha and self._rewrite_metadata(
            existing, meta, chunks
        ):
            report.updated += 1
            return
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

    def _rewrite_metadata(
        self, existing: StoredDocument, meta: DocumentMeta, chunks: list[Chunk]
    ) -> bool:
        """Same bytes, new metadata (visibility, communes, type...): rewrite it in both
        stores, vectors kept. False when the embedded texts differ (a new title is part
        of every embedded passage), then the caller re-indexes the document."""
        stored = self.catalog.chunks_of(existing.doc_id)
        if meta.title != existing.meta.get("title") or [
            (c["id"], c["text"]) for c in stored
        ] != [(c.id, c.text) for c in chunks]:
            return False
        aliases = existing.meta.get("extra", {}).get("aliases")
        if aliases:
            meta.extra["aliases"] = aliases
        new = {c.id: chunk_metadata(c, meta) for c in chunks}
        # Chroma first: a crash in between leaves the catalog's old manifest key, so the
        # next ingest redoes this; retrieval checks both stores' metadata meanwhile.
        if new:
            self.store.update_metadata(new, {c["id"]: c["meta"] for c in stored})
        self.catalog.update_metadata(meta, existing.doc_id, new)
        return True

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
            self._committed()
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


def _unchanged(existing: StoredDocument | None, sha: str, key: str) -> bool:
    """Same bytes and same metadata key (see ``_meta_key``) as when it was indexed."""
    return (
        existing is not None
        and existing.sha256 == sha
        and existing.meta.get("extra", {}).get("manifest_hash") == key
    )


def _override(
    manifest: Manifest, job: _Job, visibility: str | None, existing: StoredDocument | None
) -> str | None:
    """The --visibility that applies to this file: none when the manifest lists it (the
    manifest decides), else the one given now, else the one given at an earlier ingest."""
    if manifest.get(job.source) is not None:
        return None
    if visibility is not None:
        return visibility
    if existing is not None:
        stored = existing.meta.get("extra", {}).get("visibility_override")
        return str(stored) if stored else None
    return None


def _meta_key(manifest: Manifest, source: str, override: str | None) -> str:
    """What decides «unchanged» besides the bytes: the manifest entry (title, type,
    communes, epci, date, exemple, visibility...) and the --visibility that applies.
    Without an override it is the plain entry hash, as in indexes built before."""
    entry = _entry_hash(manifest, source)
    if override is None:
        return entry
    return hashlib.sha1(f"{entry}|visibility={override}".encode()).hexdigest()[:12]


def _entry_hash(manifest: Manifest, source: str) -> str:
    """A manifest edit must re-index the file even when the file itself is unchanged."""
    entry = {**manifest.defaults, **(manifest.get(source) or {})}
    # A change in how files are read (tables read row by row) re-reads them too.
    entry["_text_extraction"] = TEXT_EXTRACTION
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
