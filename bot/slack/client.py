"""The Slack Web API client: honours SLACK_API_URL, retries 429s and transient errors, and keeps its connections.

slack_sdk's WebClient opens a new connection for every call (urllib sends `Connection: close`): against Slack that is
a TLS handshake per call, and a check-in answer makes two or three calls. `KeepAliveWebClient` sends the same requests
over one kept-alive connection per thread and host; everything else (the retry handlers, HTTPError for a non-2xx
status, the parsed response) is WebClient's own.
"""

from __future__ import annotations

import http.client
import io
import logging
import select
import ssl
import threading
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlsplit
from urllib.request import Request

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from bot.i18n import t
from bot.settings import Settings

log = logging.getLogger(__name__)


# A reused connection the server has closed meanwhile (idle keep-alive timeout) fails at once like this; the request is
# then sent again, once, on a new connection. A new connection that fails is an error as before.
_STALE: tuple[type[BaseException], ...] = (
    http.client.RemoteDisconnected,
    ConnectionResetError,
    BrokenPipeError,
    ConnectionAbortedError,
)


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """An idle kept-alive connection that is readable has been closed by the server (or sent what nobody asked)."""
    sock = conn.sock
    if sock is None:
        return False  # not connected yet: `request` connects
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


class KeepAliveWebClient(WebClient):
    """A WebClient whose calls reuse one kept-alive HTTP(S) connection per thread and host."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._local = threading.local()

    def _connection(self, scheme: str, netloc: str) -> tuple[http.client.HTTPConnection, bool]:
        conns: dict[tuple[str, str], http.client.HTTPConnection] = self._local.__dict__.setdefault("conns", {})
        conn = conns.get((scheme, netloc))
        if conn is not None and not _dropped(conn):
            return conn, False
        if conn is not None:
            conn.close()
        if scheme == "https":
            context = self.ssl or ssl.create_default_context()
            conn = http.client.HTTPSConnection(netloc, timeout=self.timeout, context=context)
        else:
            conn = http.client.HTTPConnection(netloc, timeout=self.timeout)
        conns[(scheme, netloc)] = conn
        return conn, True

    def _forget(self, scheme: str, netloc: str) -> None:
        conn = self._local.__dict__.get("conns", {}).pop((scheme, netloc), None)
        if conn is not None:
            conn.close()

    def _perform_urllib_http_request_internal(self, url: str, req: Request) -> dict[str, Any]:
        parts = urlsplit(url)
        if self.proxy is not None or parts.scheme not in ("http", "https"):
            return super()._perform_urllib_http_request_internal(url, req)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = dict(req.header_items())
        while True:
            conn, fresh = self._connection(parts.scheme, parts.netloc)
            try:
                conn.request("POST", path, body=req.data, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
            except _STALE:
                self._forget(parts.scheme, parts.netloc)
                if fresh:
                    raise
                continue
            except BaseException:
                self._forget(parts.scheme, parts.netloc)
                raise
            break
        if resp.will_close:
            self._forget(parts.scheme, parts.netloc)
        if not 200 <= resp.status < 300:  # as urllib does; WebClient's retry handlers take it from there
            raise HTTPError(url, resp.status, resp.reason, resp.msg, io.BytesIO(data))
        if resp.msg.get_content_type() == "application/gzip":
            return {"status": resp.status, "headers": resp.msg, "body": data}
        body = data.decode(resp.msg.get_content_charset() or "utf-8")
        return {"status": resp.status, "headers": resp.msg, "body": body}


def make_client(settings: Settings, *, retries: bool = True) -> WebClient:
    client = KeepAliveWebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=15)
    if retries:
        client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=3))
        client.retry_handlers.append(ConnectionErrorRetryHandler(max_retry_count=2))
    return client


def tell_error(client: WebClient, *, user: str, channel: str, locale: str | None, thread_ts: str | None = None) -> None:
    """Tell `user` privately that something failed on our side and nothing they typed is lost (never raises)."""
    try:
        client.chat_postEphemeral(
            channel=channel,
            user=user,
            text=t("generic_error", locale),
            **({"thread_ts": thread_ts} if thread_ts else {}),
        )
    except Exception:
        log.warning("could not tell the user about the error")
