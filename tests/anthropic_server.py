"""Replies in the dialects of other providers, served by chat_server's real HTTP server.

`ChatServer` sends a `Reply.body` as is, so these turn a plausible answer into the body that
Anthropic's Messages API, or an OpenAI-compatible server answering a tool call (Ollama), sends.
"""

from __future__ import annotations

import json
from typing import Any

from chat_server import Reply, plausible_answer


def as_openai_request(request: dict[str, Any], tool_name: str) -> dict[str, Any]:
    """The request as chat_server's `plausible_answer` reads it: the schema name and the article."""
    messages = [
        {
            "role": m["role"],
            "content": m["content"] if isinstance(m["content"], str) else json.dumps(m["content"]),
        }
        for m in request["messages"]
    ]
    return {"messages": messages, "response_format": {"json_schema": {"name": tool_name}}}


def message_body(tool_name: str, answer: dict[str, Any], *, stop_reason: str = "tool_use") -> bytes:
    return json.dumps(
        {
            "id": "msg_test",
            "type": "message",
            "role": "assistant",
            "model": "claude-test",
            "content": [{"type": "tool_use", "id": "toolu_test", "name": tool_name, "input": answer}],
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {"input_tokens": 13, "output_tokens": 5, "cache_read_input_tokens": 4},
        }
    ).encode()


def anthropic_answer(request: dict[str, Any]) -> Reply:
    """A Messages API answer calling the tool the request forces, with a plausible input."""
    name = request["tool_choice"]["name"]
    answer = json.loads(plausible_answer(as_openai_request(request, name)).content or "{}")
    return Reply(body=message_body(name, answer))


def tool_call_answer(request: dict[str, Any]) -> Reply:
    """An OpenAI-compatible answer calling the forced function (instructor's TOOLS mode)."""
    name = request["tool_choice"]["function"]["name"]
    arguments = plausible_answer(as_openai_request(request, name)).content
    body = {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": "qwen2.5",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": name, "arguments": arguments},
                        }
                    ],
                },
            }
        ],
        "usage": {"prompt_tokens": 17, "completion_tokens": 9, "total_tokens": 26},
    }
    return Reply(body=json.dumps(body).encode())
