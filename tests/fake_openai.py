"""A tiny OpenAI-compatible chat server for fast unit tests of the failure cases."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeOpenAI:
    """``behaviour`` is one of: "ok" (streams ``reply``), "slow", "http500", "malformed",
    "empty". ``requests`` keeps every request body received."""

    def __init__(self) -> None:
        self.behaviour = "ok"
        self.reply = ""
        self.delay = 5.0
        self.word_delay = 0.0  # seconds between streamed words (to watch them arrive)
        self.requests: list[dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep pytest output clean
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(body)
                fake.handle(self, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def handle(self, h: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        if self.behaviour == "http500":
            h.send_response(500)
            h.send_header("Content-Type", "application/json")
            h.end_headers()
            h.wfile.write(b'{"error": {"message": "boom"}}')
            return
        if self.behaviour == "slow":
            time.sleep(self.delay)
        h.send_response(200)
        stream = bool(body.get("stream"))
        h.send_header("Content-Type", "text/event-stream" if stream else "application/json")
        h.end_headers()
        if self.behaviour == "malformed":
            h.wfile.write(b"data: {not json\n\n" if stream else b"{not json")
            return
        text = "" if self.behaviour == "empty" else self.reply
        if not stream:
            h.wfile.write(json.dumps(_completion(text)).encode())
            return
        for word in _pieces(text):
            try:
                h.wfile.write(f"data: {json.dumps(_chunk(word))}\n\n".encode())
                h.wfile.flush()
            except OSError:
                return  # the client stopped reading
            time.sleep(self.word_delay)
        h.wfile.write(f"data: {json.dumps(_chunk('', 'stop'))}\n\n".encode())
        h.wfile.write(b"data: [DONE]\n\n")


def _pieces(text: str) -> list[str]:
    words = text.split(" ")
    return [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words) if w]


def _chunk(content: str, finish: str | None = None) -> dict[str, Any]:
    return {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "fake",
            "choices": [{"index": 0, "delta": {"content": content} if content else {},
                         "finish_reason": finish}]}


def _completion(content: str) -> dict[str, Any]:
    return {"id": "x", "object": "chat.completion", "created": 0, "model": "fake",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
