"""HTTP mode: `POST /slack/events` (events, commands, interactivity) and `GET /healthz`, on a pooled threaded server."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

log = logging.getLogger(__name__)


REQUEST_THREADS = 8


class _PooledMixIn:
    """Each request on one of a fixed pool of threads.

    socketserver's ThreadingMixIn starts a thread per request and its accept loop waits until that thread runs; with
    the GIL busy that wait is a scheduler slice per request, so under load the accept loop itself became the queue
    (p50 above a second at 50 req/s on two cores) and every request paid a thread start. A pool hands the accepted
    socket over without waiting, and bounds the threads competing for the GIL.
    """

    pool: ThreadPoolExecutor | None = None

    def process_request(self, request: Any, client_address: Any) -> None:
        if self.pool is None:
            self.pool = ThreadPoolExecutor(max_workers=REQUEST_THREADS, thread_name_prefix="http-request")
        self.pool.submit(self._handle, request, client_address)

    def _handle(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)  # type: ignore[attr-defined]
        except Exception:
            self.handle_error(request, client_address)  # type: ignore[attr-defined]
        finally:
            self.shutdown_request(request)  # type: ignore[attr-defined]

    def server_close(self) -> None:
        super().server_close()  # type: ignore[misc]
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)


class _ThreadingWSGIServer(_PooledMixIn, WSGIServer):
    allow_reuse_address = True
    request_queue_size = 1024  # a burst waits in the kernel's queue instead of being dropped (a SYN retry: +1 s)

    def server_bind(self) -> None:
        if hasattr(socket, "SO_REUSEPORT"):  # several worker processes may share the port
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        super().server_bind()


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        log.debug("%s " + format, self.address_string(), *args)


def make_wsgi(app: App, ready: Callable[[], bool]) -> Callable[..., Iterable[bytes]]:
    bolt = SlackRequestHandler(app, path="/slack/events")

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz" and environ.get("REQUEST_METHOD") == "GET":
            ok = ready()
            body = json.dumps({"status": "ok" if ok else "starting"}).encode()
            start_response("200 OK" if ok else "503 Service Unavailable",
                           [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        stamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "")
        if environ.get("PATH_INFO") == "/slack/events" and not (stamp.isascii() and stamp.isdigit()):
            # Slack signs with whole seconds; anything else is no signature at all (slack_sdk's verifier would raise
            # on it, and the error would reach the app's error handler as a failed listener: a 500)
            log.warning("refused a request without a valid signature timestamp")
            start_response("401 Unauthorized", [("Content-Type", "text/plain"), ("Content-Length", "0")])
            return [b""]
        try:
            return bolt(environ, start_response)
        except Exception as exc:  # noqa: BLE001 - Bolt parses the body before it verifies the signature, and a
            # malformed one (bad JSON, `payload=null`) raises there: the sender's fault, never a 5xx. Listener errors
            # do not come here (the app's error handler answers them).
            log.warning("refused a malformed request to %s (%s)", environ.get("PATH_INFO"), type(exc).__name__)
            start_response("400 Bad Request", [("Content-Type", "text/plain"), ("Content-Length", "0")])
            return [b""]

    return wsgi


class HttpServer:
    """A threaded WSGI server; `start()` runs it in the background, `serve_forever()` in the foreground."""

    def __init__(self, app: App, host: str = "127.0.0.1", port: int = 3000,
                 ready: Callable[[], bool] = lambda: True) -> None:
        self.server = make_server(host, port, make_wsgi(app, ready), server_class=_ThreadingWSGIServer,
                                  handler_class=_QuietHandler)
        self.port = self.server.server_address[1]
        self.url = f"http://{host}:{self.port}"

    def start(self) -> HttpServer:
        threading.Thread(target=self.server.serve_forever, daemon=True, name="http").start()
        return self

    def serve_forever(self) -> None:
        self.server.serve_forever()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
