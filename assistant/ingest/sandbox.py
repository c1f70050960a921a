"""Parse files in child processes under a memory cap and a timeout, reused across files.

A hostile or broken file (a zip bomb, a PDF whose text extraction never ends) must cost
one failed file, not the ingest or the server: each file is parsed by a worker process
whose address space is capped with ``RLIMIT_AS``; the parent waits at most the timeout,
then kills it. Workers are started once per ingest and reused; a failed one is replaced.
"""

from __future__ import annotations

import os
import pickle
import select
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO

from assistant import errors
from assistant.errors import LoaderError
from assistant.ingest.loaders import ParseLimits
from assistant.types import LoadedDocument

_HEADER = struct.Struct("!Q")
_READY = b"ok"
_START_TIMEOUT_S = 120.0  # importing the parsers on a busy machine


def _write(stream: BinaryIO, obj: Any) -> None:
    body = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    data = memoryview(_HEADER.pack(len(body)) + body)
    while data:
        written = stream.write(data)
        data = data[written if written is not None else len(data):]
    stream.flush()


def _read_exact(stream: BinaryIO, size: int) -> bytes:
    chunks = []
    while size:
        chunk = stream.read(size)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _read(stream: BinaryIO) -> Any:
    (size,) = _HEADER.unpack(_read_exact(stream, _HEADER.size))
    return pickle.loads(_read_exact(stream, size))


class _Worker:
    """One child process: requests are (path, limits), answers ("ok", doc) or an error."""

    def __init__(self, memory_mb: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "assistant.ingest.sandbox", str(memory_mb * 1024 * 1024)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin: BinaryIO = self.proc.stdin
        self.stdout: BinaryIO = self.proc.stdout
        if not self._wait(_START_TIMEOUT_S) or _read_exact(self.stdout, 2) != _READY:
            self.kill()
            raise LoaderError("le processus d'analyse des fichiers n'a pas démarré")

    def _wait(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.stdout], [], [], timeout)
        return bool(ready)

    def parse(self, path: Path, limits: ParseLimits, timeout: float) -> Any:
        _write(self.stdin, (str(path), limits))
        if not self._wait(timeout):
            raise TimeoutError
        return _read(self.stdout)

    def kill(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.kill()
        for stream in (self.stdin, self.stdout):
            try:
                stream.close()
            except OSError:
                pass  # the child is gone; its pipe may already be broken
        return self.proc.wait()

    def close(self) -> None:
        try:
            self.stdin.close()  # EOF: the worker's loop ends
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass  # killed below
        self.kill()


class ParserPool:
    """``load(path)`` parses in a worker; safe to call from two threads (the parse-ahead)."""

    def __init__(self, limits: ParseLimits, memory_mb: int, timeout_s: float) -> None:
        self.limits = limits
        self.memory_mb = memory_mb
        self.timeout_s = timeout_s
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._closed = False

    def _take(self) -> _Worker:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return _Worker(self.memory_mb)

    def _give_back(self, worker: _Worker) -> None:
        with self._lock:
            if not self._closed:
                self._idle.append(worker)
                return
        worker.close()

    def load(self, path: Path) -> LoadedDocument:
        worker = self._take()
        t0 = time.monotonic()
        try:
            answer = worker.parse(path, self.limits, self.timeout_s)
        except TimeoutError:
            worker.kill()
            raise LoaderError(
                f"analyse interrompue au bout de {time.monotonic() - t0:.0f} s (limite "
                f"{self.timeout_s:g} s, réglage ASSISTANT_PARSE_TIMEOUT_S)"
            ) from None
        except (EOFError, OSError, pickle.UnpicklingError, struct.error):
            code = worker.kill()
            raise LoaderError(
                f"analyse interrompue : le lecteur s'est arrêté (code {code}), mémoire "
                f"dépassée ({self.memory_mb} Mo, réglage ASSISTANT_PARSE_MEMORY_MB) ou "
                "fichier piégé"
            ) from None
        kind = answer[0]
        if kind == "ok":
            self._give_back(worker)
            return answer[1]
        if kind == "memory":
            worker.kill()  # its heap may be in pieces; start afresh
            raise LoaderError(
                f"analyse interrompue : le fichier demande plus de {self.memory_mb} Mo de "
                "mémoire (réglage ASSISTANT_PARSE_MEMORY_MB)"
            )
        self._give_back(worker)
        if kind == "assistant":
            cls = getattr(errors, answer[1], None)
            if not (isinstance(cls, type) and issubclass(cls, errors.AssistantError)):
                cls = LoaderError
            raise cls(answer[2])
        raise LoaderError(f"{answer[1]}: {answer[2]}")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.close()


def _serve(memory_bytes: int) -> None:
    """The worker's loop: read a request, parse, answer; ends at EOF on stdin."""
    import resource

    from assistant.errors import AssistantError
    from assistant.ingest.loaders import load_document

    # The protocol owns the real stdout; anything a library prints goes to stderr.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    inp = sys.stdin.buffer
    # Import the parsers before the cap and the clock (both are for the file's work).
    for module in ("assistant.ingest.loaders.pdf", "assistant.ingest.loaders.office",
                   "assistant.ingest.loaders.text", "pypdf", "docx"):
        try:
            __import__(module)
        except ImportError:
            pass  # the loader reports the missing dependency for the file that needs it
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        memory_bytes = min(memory_bytes, hard)  # a cap inherited from above only lowers it
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    out.write(_READY)
    out.flush()
    while True:
        try:
            path, limits = _read(inp)
        except EOFError:
            return
        try:
            answer: tuple[Any, ...] = ("ok", load_document(Path(path), limits))
        except MemoryError:
            answer = ("memory",)
        except AssistantError as exc:
            answer = ("assistant", type(exc).__name__, str(exc))
        except Exception as exc:  # any library failure belongs to this file, not the ingest
            answer = ("error", type(exc).__name__, str(exc))
        try:
            _write(out, answer)
        except MemoryError:
            _write(out, ("memory",))


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
