"""A real HTTP server on 127.0.0.1 that speaks the OpenAI chat-completions API.

A test double for the network, not for the product: the `openai` client, instructor and
tenacity run for real against it. Each request is answered by the next scripted `Reply`, or
by `default` when the script is empty; faults (status codes, Retry-After, resets, delays,
broken JSON) are replies like any other.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    content: str | None = None
    """The assistant message text of a 200 answer."""
    status: int = 200
    body: bytes | None = None
    """Raw body, sent as is (for error statuses or a truncated answer)."""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    reset: bool = False
    """Close the connection without answering."""


def completion_body(content: str, prompt_tokens: int = 11, completion_tokens: int = 7) -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": "test-model",
            "choices": [
                {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
    ).encode()


def schema_name(request: dict[str, Any]) -> str:
    fmt = request.get("response_format") or {}
    return (fmt.get("json_schema") or {}).get("name", "")


def article_of(request: dict[str, Any]) -> str:
    """The article text inside the prompt (between the template's markers)."""
    text = "\n".join(m["content"] for m in request["messages"] if m["role"] == "user")
    start = text.find("<<<ARTICLE\n")
    end = text.find("\nARTICLE>>>")
    return text[start + len("<<<ARTICLE\n") : end] if start >= 0 and end > start else ""


def plausible_answer(request: dict[str, Any]) -> Reply:
    """A valid answer for any section call: an overview, or one item quoting the article."""
    name = schema_name(request)
    first_sentence = article_of(request).split(". ")[0].strip()[:300] or "unknown"
    evidence = [{"quote": first_sentence}]
    answers: dict[str, Any] = {
        "Overview": {"headline": "A headline", "summary": "A summary.", "conflict": None},
        "TalksSection": {"ceasefire_talks": []},
        "GuaranteesSection": {"security_guarantees": []},
        "AttacksSection": {
            "attacks": [
                {
                    "evidence": evidence,
                    "attacker": None,
                    "target": "oil depot",
                    "target_kind": "fuel",
                    "weapon": "drone",
                    "location": None,
                    "country": None,
                    "date": None,
                    "killed": None,
                    "injured": None,
                }
            ]
        },
        "TerritorySection": {"territorial_control": []},
    }
    return Reply(content=json.dumps(answers.get(name, {})))


class ChatServer:
    """Start with `with ChatServer() as server:`; point clients at `server.base_url`."""

    def __init__(self, default: Callable[[dict[str, Any]], Reply] = plausible_answer):
        self.script: deque[Reply] = deque()
        self.default = default
        self.requests: list[dict[str, Any]] = []
        self.headers_seen: list[dict[str, str]] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes; with Nagle's algorithm the second waits
            # for the client's delayed ACK, about 40 ms a request.
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                request = json.loads(self.rfile.read(length) or b"{}")
                with server._lock:
                    server.requests.append(request)
                    server.headers_seen.append({k.lower(): v for k, v in self.headers.items()})
                    reply = server.script.popleft() if server.script else None
                    server.in_flight += 1
                    server.most_in_flight = max(server.most_in_flight, server.in_flight)
                try:
                    self._answer(request, reply)
                finally:
                    with server._lock:
                        server.in_flight -= 1

            def _answer(self, request: dict[str, Any], reply: Reply | None) -> None:
                if reply is None:
                    reply = server.default(request)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                if reply.reset:
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                    )
                    self.connection.close()
                    self.close_connection = True
                    return
                body = reply.body if reply.body is not None else completion_body(reply.content or "")
                self.send_response(reply.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # the default listen backlog of 5 refuses bursts of clients

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # clients that time out or hang up are part of the faults under test

        self._httpd = Server(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self) -> ChatServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
