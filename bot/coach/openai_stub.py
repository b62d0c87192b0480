"""A local OpenAI-compatible chat-completions server for tests, the bench and `demo --llm stub`.

It answers `POST /v1/chat/completions` (also without `/v1`) on loopback with a JSON reply built by a responder,
records every request body, reports token usage, and can delay a reply to simulate a timeout. Replies come from
`script` (a queue of dicts or strings, consumed first) or else from `responder(body) -> dict | str` — by default a
small rule-based "model" that reads the delimited answers and returns schema-shaped JSON (see `default_responder`).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = dict[str, Any] | str
Responder = Callable[[dict[str, Any]], Reply]

_BLOCK = re.compile(r"<untrusted-(\w+)[^>]*>\n?(.*?)\n?</untrusted-\1>", re.S)
_ANSWER = re.compile(r"<answer [^>]*>\n?(.*?)\n?</answer>", re.S)
# The rule-based stand-in model: gap phrases it "notices" and the competency it maps them to.
_RULES = [
    (re.compile(r"slides?|deck|present|汇报|讲不清", re.I), "communication"),
    (re.compile(r"saying yes|every request|priorit|evenings|时间不够|优先级|拖到晚上|全部接", re.I), "planning"),
    (re.compile(r"data|dashboard|数据|分析", re.I), "data_analysis"),
    (re.compile(r"feedback|反馈", re.I), "feedback"),
    (re.compile(r"stakeholder|leadership|领导", re.I), "stakeholder_management"),
]


@dataclass
class Request:
    path: str
    body: dict[str, Any]
    at: float

    @property
    def schema_name(self) -> str:
        fmt = self.body.get("response_format") or {}
        return str((fmt.get("json_schema") or {}).get("name", ""))

    @property
    def text(self) -> str:
        """All message contents, joined (what the model was shown)."""
        return "\n".join(str(m.get("content", "")) for m in self.body.get("messages", []))


@dataclass
class OpenAIStub:
    """`start()` it, point OPENAI_BASE_URL at `url`; `script`, `responder`, `delay_s` steer the replies."""

    responder: Responder | None = None
    delay_s: float = 0.0
    script: deque[Reply] = field(default_factory=deque)
    requests: list[Request] = field(default_factory=list)
    status: int = 200

    def __post_init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the stub first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> OpenAIStub:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                return

            def do_POST(self) -> None:  # noqa: N802 - http.server API
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                status, payload = stub._answer(self.path, body)
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
                    pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True, name="openai-stub").start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def enqueue(self, *replies: Reply) -> None:
        """Replies to give, in order, before the responder is used again."""
        self.script.extend(replies)

    def _answer(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        req = Request(path, body, time.time())
        with self._lock:
            self.requests.append(req)
            reply = self.script.popleft() if self.script else None
        if not path.rstrip("/").endswith("/chat/completions"):
            return 404, {"error": {"message": f"unknown path {path}", "type": "invalid_request_error"}}
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.status != 200:
            return self.status, {"error": {"message": "stub failure", "type": "server_error"}}
        if reply is None:
            reply = (self.responder or default_responder)(body)
        content = reply if isinstance(reply, str) else json.dumps(reply, ensure_ascii=False)
        prompt_tokens = max(1, len(req.text) // 4)
        completion_tokens = max(1, len(content) // 4)
        return 200, {
            "id": f"chatcmpl-stub{len(self.requests)}", "object": "chat.completion", "created": int(req.at),
            "model": body.get("model", "stub"),
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": content, "refusal": None}}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        }


def answers_in(body: dict[str, Any]) -> list[str]:
    """The answer texts inside the delimited untrusted block(s) of a request."""
    text = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
    out: list[str] = []
    for block in _BLOCK.finditer(text):
        out.extend(a.strip() for a in _ANSWER.findall(block.group(2)))
    return out


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?。！？；;])\s*", text) if len(s.strip()) > 3]


def default_responder(body: dict[str, Any]) -> Reply:
    """A deterministic stand-in model: grounded, schema-shaped replies for each of our three schemas."""
    name = str(((body.get("response_format") or {}).get("json_schema") or {}).get("name", ""))
    answers = answers_in(body)
    system = str((body.get("messages") or [{}])[0].get("content", ""))
    zh = "Simplified Chinese" in system or any(re.search(r"[\u4e00-\u9fff]", a) for a in answers)
    if name == "FollowUpQuestion":
        clauses = [c.strip() for c in re.split(r"[.!?。！？;；,，:：]", answers[-1] if answers else "")]
        clauses = [c for c in clauses if len(c) > 3 and "[" not in c]
        if not clauses:
            return {"question": None}
        focus = max(clauses, key=len)
        if zh:
            return {"question": f"你提到“{focus[:40]}”，当时具体发生了什么？"}
        return {"question": f"You said \"{focus[:80]}\" — what happened the last time?"}
    if name == "LearningReply":
        user = "\n".join(str(m.get("content", "")) for m in body.get("messages", []) if m.get("role") == "user")
        ids = re.findall(r"^- \[course:([\w.-]+)\]", user, re.M)
        first = ids[0] if ids else ""
        text = (f"从 [course:{first}] 开始最合适，它直接对应你的问题。" if zh
                else f"Start with [course:{first}]: it speaks most directly to your question.")
        return {"reply": text, "course_ids": [first] if first else []}
    points: list[dict[str, Any]] = []
    seen: set[str] = set()
    for a in answers:
        for s in _sentences(a):
            for rx, cid in _RULES:
                if rx.search(s) and cid not in seen:
                    seen.add(cid)
                    points.append({"competency": cid, "evidence": s, "confidence": 0.7,
                                   "reason": "引用的句子描述了一个反复出现的困难" if zh
                                   else "the quoted sentence describes a recurring difficulty"})
                    break
    themes = [p["competency"].replace("_", " ") for p in points]
    summary = (f"本次谈话共 {len(answers)} 条回答；值得练习的主题：{'、'.join(themes) or '无'}。" if zh
               else f"A {len(answers)}-answer conversation; themes worth working on: {', '.join(themes) or 'none'}.")
    actions = ["每周找一位同事彩排一次汇报" if zh else "Rehearse the next update with a peer and ask for one change"]
    return {"summary": summary, "development_points": points[:3], "proposed_actions": actions if points else []}
