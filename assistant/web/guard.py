"""The web server in front of Gradio: only what the page needs, hardened.

`Guard` is ASGI middleware: allowed Host headers only, refused routes (uploads among them: a
pasted article travels in the request, like a question), request bodies bounded, security
headers on every response, failed logins slowed down per client address.
"""

from __future__ import annotations

import socket
import time
from typing import Any

from starlette.responses import PlainTextResponse

from ..config import Settings
from ..errors import ConfigError
from .limits import RateLimiter

LOGIN_FAILURES = 5  # failed logins per client address per LOGIN_WINDOW before a pause
LOGIN_WINDOW = 60.0


# Routes of Gradio the page never uses: uploads (issue: open to any website), the server-side
# URL proxy, monitoring and developer tools. FastAPI's own schema pages are turned off.
REFUSED_PREFIXES = (
    "/upload", "/gradio_api/upload", "/gradio_api/upload_progress", "/gradio_api/proxy=",
    "/gradio_api/process_recording", "/gradio_api/stream/", "/gradio_api/dev/",
    "/gradio_api/vibe", "/gradio_api/undo-vibe", "/gradio_api/runs", "/gradio_api/run-history",
    "/monitoring", "/openapi.json", "/docs", "/redoc",
)

# Fitted to Gradio's page: its scripts and styles are same-origin but partly inline, and
# `js_on_load` code is compiled with `new Function` (hence 'unsafe-eval'); nothing remote.
CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
    "connect-src 'self'; media-src 'self' blob:; worker-src 'self' blob:; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class Guard:
    """ASGI middleware in front of Gradio: allowed Host headers only, refused routes and
    `/file=<url>` (the server would fetch any URL), bodies over `max_body` bytes refused (by
    their Content-Length), security headers on every response, and failed logins slowed down
    per client address."""

    def __init__(self, app: Any, allowed_hosts: tuple[str, ...] = (),
                 login_failures: int = LOGIN_FAILURES, login_window: float = LOGIN_WINDOW,
                 max_body: int = 0):
        self.app = app
        self.allowed_hosts = {h.lower() for h in allowed_hosts}
        self.logins = RateLimiter(login_failures, login_window)
        self.max_body = max_body

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            if scope.get("type") == "websocket" and not self._host_ok(scope):
                return
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        refusal = self._refusal(scope, path)
        if refusal:
            await _plain(refusal[0], refusal[1], scope, receive, send)
            return
        login = path.rstrip("/") in ("/login", "/gradio_api/login") and scope.get("method") == "POST"
        client = str((scope.get("client") or ("unknown",))[0])
        if login:
            blocked = self._login_blocked(client)
            if blocked:
                await _plain(429, f"Too many failed logins. Try again in {blocked} s.",
                             scope, receive, send, [(b"retry-after", str(blocked).encode())])
                return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message.get("type") == "http.response.start":
                if login and message.get("status", 200) >= 400:
                    self._login_failed(client)
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() not in {name for name, _ in SECURITY_HEADERS}]
                message = {**message, "headers": headers + SECURITY_HEADERS}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _host_ok(self, scope: dict[str, Any]) -> bool:
        if not self.allowed_hosts or "*" in self.allowed_hosts:
            return True
        host = ""
        for key, value in scope.get("headers", []):
            if key == b"host":
                host = value.decode("latin-1").lower()
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return host in self.allowed_hosts or name in self.allowed_hosts

    def _refusal(self, scope: dict[str, Any], path: str) -> tuple[int, str] | None:
        if not self._host_ok(scope):
            return 400, "Invalid host header."
        if path.startswith(REFUSED_PREFIXES):
            return 404, "Not found."
        if self.max_body and _content_length(scope) > self.max_body:
            return 413, f"Request too large (at most {self.max_body:,} bytes)."
        _, marker, target = path.partition("/file=")
        if marker and "://" in target:
            return 403, "File not allowed."
        return None

    def _login_blocked(self, client: str) -> int:
        times = self.logins.seen.get(client)
        if not times or len(times) < self.logins.limit:
            return 0
        wait = times[0] + self.logins.window - time.monotonic()
        return max(1, round(wait)) if wait > 0 else 0

    def _login_failed(self, client: str) -> None:
        self.logins.wait(client)


async def _plain(status: int, body: str, scope: dict[str, Any], receive: Any, send: Any,
                 headers: list[tuple[bytes, bytes]] | None = None) -> None:
    response = PlainTextResponse(body, status_code=status)
    response.raw_headers.extend(SECURITY_HEADERS + (headers or []))
    await response(scope, receive, send)


def parse_auth(value: str) -> tuple[str, str] | None:
    """`user:password` -> (user, password); empty -> None (no login page). A user or a password
    that is empty or blank is refused (ConfigError), so a typo never opens the page."""
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user.strip() or not password.strip():
        raise ConfigError(
            "ASSISTANT_UI_AUTH must be user:password with a non-empty user and password "
            f"(got {len(user)} characters of user and {len(password)} of password)"
        )
    return user, password


def allowed_hosts(settings: Settings) -> tuple[str, ...]:
    """The Host headers the page answers to: loopback names, the host it binds to (bound to every
    interface: the machine's names and addresses), and any listed in the settings
    (`ui_allowed_hosts`; "*" allows all, for a proxy that checks the host itself)."""
    hosts = ["127.0.0.1", "localhost", "[::1]", "::1"]
    if settings.ui_host in ("", "0.0.0.0", "::"):
        hosts += _machine_names()
    else:
        hosts.append(settings.ui_host)
    extra = getattr(settings, "ui_allowed_hosts", ())
    if isinstance(extra, str):
        extra = tuple(h.strip() for h in extra.split(",") if h.strip())
    return tuple(dict.fromkeys([*hosts, *extra]))


def _machine_names() -> list[str]:
    names = [socket.gethostname(), socket.getfqdn()]
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None)
    except OSError:
        infos = []
    for info in infos:
        address = str(info[4][0])
        names.append(f"[{address}]" if ":" in address else address)
    return [n for n in names if n]


def _content_length(scope: dict[str, Any]) -> int:
    for key, value in scope.get("headers", []):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


def max_body(settings: Settings) -> int:
    """The largest request body the page accepts: a pasted article at the cap, every character
    JSON-escaped (6 bytes), and room for the rest of the request."""
    return 6 * settings.max_article_chars + 65_536
