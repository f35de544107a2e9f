"""A real HTTP server on 127.0.0.1 that speaks OpenAI's Files and Batches endpoints.

Files are uploaded (multipart), batches created, retrieved, listed, and their output and error
files downloaded, as the `openai` client does against the real API. Each request line of a batch
is answered by `answer` (chat_server's replies: a JSON answer, or an error status that becomes a
failed line); `/v1/chat/completions` answers synchronous reasks the same way. A batch finishes
`duration_s` after its creation, its requests done in proportion meanwhile; one in `expire`
expires half done instead.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from chat_server import Reply, completion_body, plausible_answer

Answer = Callable[[dict[str, Any]], Reply]


class BatchServer:
    """Start with `with BatchServer() as server:`; point clients at `server.base_url`."""

    def __init__(self, answer: Answer = plausible_answer, duration_s: float = 0.0):
        self.answer = answer
        self.duration_s = duration_s
        self.expire: set[int] = set()
        """Which batches (1 for the first created) expire half done."""
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.lines: dict[str, list[dict[str, Any]]] = {}
        self.created = self.retrieved = self.sync_requests = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                with server._lock:
                    status, body = server.get(self.path.split("?")[0])
                self._send(status, body)

            def do_POST(self) -> None:
                data = self.rfile.read(int(self.headers.get("content-length", 0)))
                with server._lock:
                    status, body = server.post(self.path, self.headers.get("content-type", ""), data)
                self._send(status, body)

            def _send(self, status: int, body: bytes | dict[str, Any]) -> None:
                raw = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self) -> BatchServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def post(self, path: str, content_type: str, data: bytes) -> tuple[int, bytes | dict[str, Any]]:
        if path == "/v1/files":
            content = _multipart_file(content_type, data)
            file_id = f"file-{len(self.files) + 1}"
            self.files[file_id] = content
            return 200, _file(file_id, len(content))
        if path == "/v1/batches":
            request = json.loads(data)
            self.created += 1
            batch_id = f"batch_{self.created}"
            lines = [json.loads(line) for line in self.files[request["input_file_id"]].splitlines()]
            self.lines[batch_id] = lines
            self.batches[batch_id] = {
                "id": batch_id,
                "object": "batch",
                "endpoint": request["endpoint"],
                "input_file_id": request["input_file_id"],
                "completion_window": request["completion_window"],
                "status": "validating",
                "created_at": int(time.time()),
                "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
                "metadata": request.get("metadata"),
                "_started": time.monotonic(),
                "_number": self.created,
            }
            return 200, self._public(batch_id)
        if path == "/v1/chat/completions":
            self.sync_requests += 1
            reply = self.answer(json.loads(data))
            return reply.status, reply.body if reply.body is not None else completion_body(
                reply.content or ""
            )
        return 404, {"error": {"message": f"no route {path}"}}

    def get(self, path: str) -> tuple[int, bytes | dict[str, Any]]:
        if path == "/v1/batches":
            data = [self._public(batch_id) for batch_id in reversed(self.batches)]
            return 200, {"object": "list", "data": data, "has_more": False}
        if path.startswith("/v1/batches/"):
            batch_id = path.removeprefix("/v1/batches/")
            self.retrieved += 1
            self._advance(batch_id)
            return 200, self._public(batch_id)
        if path.startswith("/v1/files/") and path.endswith("/content"):
            return 200, self.files[path.removeprefix("/v1/files/").removesuffix("/content")]
        return 404, {"error": {"message": f"no route {path}"}}

    def _public(self, batch_id: str) -> dict[str, Any]:
        return {k: v for k, v in self.batches[batch_id].items() if not k.startswith("_")}

    def _advance(self, batch_id: str) -> None:
        """Run the share of the batch's requests that its age calls for; finish it when all ran."""
        batch = self.batches[batch_id]
        if batch["status"] in ("completed", "expired", "failed", "cancelled"):
            return
        lines = self.lines[batch_id]
        age = time.monotonic() - batch["_started"]
        share = 1.0 if age >= self.duration_s else age / self.duration_s
        expiring = batch["_number"] in self.expire
        due = int(len(lines) * (min(share, 0.5) if expiring else share))
        outputs, errors = batch.setdefault("_outputs", []), batch.setdefault("_errors", [])
        for line in lines[len(outputs) + len(errors) : due]:
            reply = self.answer(line["body"])
            body = json.loads(reply.body if reply.body is not None else completion_body(reply.content or ""))
            result = {
                "id": f"batch_req_{len(outputs) + len(errors)}",
                "custom_id": line["custom_id"],
                "response": {"status_code": reply.status, "request_id": "req", "body": body},
                "error": None,
            }
            (outputs if reply.status == 200 else errors).append(result)
        batch["status"] = "in_progress"
        batch["request_counts"].update(completed=len(outputs), failed=len(errors))
        if expiring and share >= 0.5:
            for line in lines[len(outputs) + len(errors) :]:
                errors.append(
                    {
                        "id": "batch_req_expired",
                        "custom_id": line["custom_id"],
                        "response": None,
                        "error": {
                            "code": "batch_expired",
                            "message": "not executed before the window expired",
                        },
                    }
                )
            batch["status"] = "expired"
        elif len(outputs) + len(errors) == len(lines):
            batch["status"] = "completed"
        else:
            return
        for kind, results in (("output_file_id", outputs), ("error_file_id", errors)):
            if results:
                file_id = f"file-{len(self.files) + 1}"
                self.files[file_id] = "".join(json.dumps(r) + "\n" for r in results).encode()
                batch[kind] = file_id


def _file(file_id: str, size: int) -> dict[str, Any]:
    return {
        "id": file_id,
        "object": "file",
        "bytes": size,
        "created_at": int(time.time()),
        "filename": "input.jsonl",
        "purpose": "batch",
        "status": "processed",
    }


def _multipart_file(content_type: str, data: bytes) -> bytes:
    """The `file` field of a multipart/form-data body."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + data)
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "file":
            return part.get_payload(decode=True)
    raise ValueError("no file in the upload")
