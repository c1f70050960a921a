"""The guard in front of Gradio's routes: uploads and file-naming requests checked first."""

from __future__ import annotations

import json
import re
from typing import Any

from assistant.errors import AccessError
from assistant.settings import Settings
from assistant.web.uploads import checked_upload_path, file_paths

# POST routes of Gradio that run an event with data sent by the client.
EVENT_ROUTES = re.compile(r"^/gradio_api/(queue/join|call/|run/|api/|stream/)")
# POST routes this app never uses (recordings, Gradio's "vibe" editor): answered 404, so
# none of them receives a file.
UNUSED_ROUTES = re.compile(r"^/gradio_api/(process_recording|vibe|undo-vibe|profiling)")
UPLOAD_ROUTE = "/gradio_api/upload"
MAX_EVENT_BODY = 5_000_000  # bytes of JSON an event may send (a long conversation fits)
MANAGERS_ONLY = "Réservé au personnel d'Agate : connectez-vous."



class UploadGuard:
    """ASGI middleware in front of Gradio's routes, deciding before any file is touched:

    * /gradio_api/upload: Agate staff only; at most ``max_upload_files`` files and their size;
    * event routes (queue/join, call, run, api): a request naming a file is refused unless the
      visitor manages documents and every named file lies in Gradio's upload folder. Gradio
      would copy the file into its cache before the event's function (and its role check)
      ran; mounted in FastAPI it does not check the path itself.
    """

    def __init__(self, app: Any, settings: Settings, store: Any) -> None:
        self.app = app
        self.settings = settings
        self.store = store

    def _is_manager(self, scope: dict[str, Any]) -> bool:
        from starlette.requests import HTTPConnection

        from assistant.web.auth import visitor_from_cookies

        visitor = visitor_from_cookies(self.settings, HTTPConnection(scope).cookies, self.store)
        return visitor is not None and visitor.role.can_manage_documents

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        path = scope["path"].rstrip("/")
        if path == UPLOAD_ROUTE:
            await self._upload(scope, receive, send)
        elif UNUSED_ROUTES.match(path):
            await self._refuse(send, 404, "Not Found")
        elif EVENT_ROUTES.match(scope["path"]):
            await self._event(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _refuse(self, send: Any, status: int, message: str) -> None:
        body = json.dumps({"detail": message, "error": message}, ensure_ascii=False).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json; charset=utf-8"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    async def _event(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_EVENT_BODY:
                await self._refuse(send, 413, "Requête trop volumineuse.")
                return
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        try:
            named = list(file_paths(json.loads(body))) if body else []
        except ValueError:
            named = []  # not JSON: Gradio answers it
        except RecursionError:
            await self._refuse(send, 400, "Requête trop imbriquée.")
            return
        if named:
            if not self._is_manager(scope):
                await self._refuse(send, 403, MANAGERS_ONLY)
                return
            try:
                for raw in named:
                    checked_upload_path(raw)
            except AccessError as exc:
                await self._refuse(send, 400, str(exc)[:1].upper() + str(exc)[1:])
                return
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _upload(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if not self._is_manager(scope):
            await self._refuse(send, 403, MANAGERS_ONLY)
            return
        limit_files = self.settings.max_upload_files
        limit_bytes = int(limit_files * self.settings.max_file_mb * 1e6) + 1_000_000
        headers = dict(scope.get("headers") or [])
        try:
            declared = int(headers.get(b"content-length", b"0") or 0)
        except ValueError:
            declared = 0
        if declared > limit_bytes:
            await self._refuse(send, 413, f"Envoi trop volumineux ({declared / 1e6:.0f} Mo, "
                               f"limite {limit_bytes / 1e6:.0f} Mo).")
            return
        match = re.search(rb"boundary=\"?([^\";]+)", headers.get(b"content-type", b""))
        marker = b"--" + match.group(1) if match else None
        state = {"bytes": 0, "parts": 0, "tail": b"", "over": ""}

        async def counted() -> dict[str, Any]:
            message = await receive()
            if message["type"] != "http.request" or state["over"]:
                return message
            chunk = message.get("body", b"")
            state["bytes"] += len(chunk)
            if marker is not None:
                window = state["tail"] + chunk
                state["parts"] += window.count(marker) - state["tail"].count(marker)
                state["tail"] = window[-(len(marker) - 1):]
            # The closing boundary is one more marker than there are parts.
            if state["parts"] - 1 > limit_files:
                state["over"] = (f"Trop de fichiers dans un envoi ({limit_files} au plus).")
            elif state["bytes"] > limit_bytes:
                state["over"] = f"Envoi trop volumineux (limite {limit_bytes / 1e6:.0f} Mo)."
            if state["over"]:
                return {"type": "http.disconnect"}
            return message

        started = False

        async def guarded_send(message: dict[str, Any]) -> None:
            nonlocal started
            if state["over"]:
                return  # our refusal replaces whatever Gradio answers to the cut request
            started = True
            await send(message)

        try:
            await self.app(scope, counted, guarded_send)
        except Exception:
            if not state["over"]:
                raise
        if state["over"] and not started:
            await self._refuse(send, 413, state["over"])
