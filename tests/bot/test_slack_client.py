"""The Slack client keeps one connection per thread and host, resends once on a connection the server dropped, and
leaves WebClient's status handling (429 retries, errors) as it was. Against a loopback HTTP/1.1 server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.slack import client as client_module
from bot.slack.client import KeepAliveWebClient


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        self.seen: list[tuple[int, str, str]] = []  # (client port, path, body)
        self.drop_after_reply = False  # close the connection after each reply without saying so (an idle timeout)
        self.statuses: list[int] = []  # statuses to answer first, in order (then 200)
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        with self.server.lock:
            self.server.seen.append((self.client_address[1], self.path, body))
            status = self.server.statuses.pop(0) if self.server.statuses else 200
        data = json.dumps({"ok": status == 200, "error": None if status == 200 else "ratelimited"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        if status == 429:
            self.send_header("Retry-After", "0")
        self.end_headers()
        self.wfile.write(data)
        if self.server.drop_after_reply:
            self.close_connection = True


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server()
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _client(server: _Server, **kw: Any) -> KeepAliveWebClient:
    return KeepAliveWebClient(token="xoxb-test", base_url=f"http://127.0.0.1:{server.server_address[1]}/api/", **kw)


def test_calls_of_one_thread_share_one_connection_and_threads_have_their_own(server: _Server) -> None:
    client = _client(server)
    for i in range(5):
        assert client.chat_postMessage(channel="C1", text=f"hello {i}")["ok"] is True
    assert [path for _, path, _ in server.seen] == ["/api/chat.postMessage"] * 5
    assert json.loads(server.seen[3][2]) == {"channel": "C1", "text": "hello 3"}
    assert len({port for port, _, _ in server.seen}) == 1
    other = threading.Thread(target=lambda: client.auth_test())
    other.start()
    other.join()
    assert len({port for port, _, _ in server.seen}) == 2


@pytest.mark.parametrize("seen_before_use", [True, False], ids=["found-idle", "found-on-send"])
def test_a_connection_the_server_dropped_is_replaced_and_nothing_is_sent_twice(
    server: _Server, seen_before_use: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not seen_before_use:  # the server closes it just as it is reused: the send fails, and is made once more
        monkeypatch.setattr(client_module, "_dropped", lambda conn: False)
    client = _client(server)
    server.drop_after_reply = True
    for i in range(4):
        assert client.chat_postMessage(channel="C1", text=f"m{i}")["ok"] is True
    assert [json.loads(body)["text"] for _, _, body in server.seen] == ["m0", "m1", "m2", "m3"]
    assert len({port for port, _, _ in server.seen}) == 4


def test_statuses_reach_webclients_handling_as_before(server: _Server) -> None:
    client = _client(server, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)])
    server.statuses = [429]
    assert client.chat_postMessage(channel="C1", text="retried")["ok"] is True  # 429 + Retry-After: sent again
    assert len(server.seen) == 2
    server.statuses = [500]
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C1", text="failed")
    assert err.value.response.status_code == 500
    assert client.chat_postMessage(channel="C1", text="after")["ok"] is True  # the connection is still usable


def test_a_server_that_is_gone_is_an_error_not_a_loop() -> None:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    client = KeepAliveWebClient(token="x", base_url=f"http://127.0.0.1:{port}/api/", timeout=2)
    with pytest.raises(ConnectionRefusedError):
        client.auth_test()
