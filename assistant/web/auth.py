"""Web sessions: signed revocable cookies, the /login and /logout pages, each request's role."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import html
import json
import os
import secrets
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from assistant.errors import AssistantError
from assistant.search.access import Role
from assistant.settings import Settings
from assistant.web.throttle import LoginThrottle, wait_message
from assistant.web.users import User, UserStore

COOKIE = "pvd_session"
ROLE_LABELS = {"public": "public", "elu": "élu", "agate": "Agate", "admin": "administrateur"}
# Paths reachable without a session even when anonymous access is off.
OPEN_PATHS = ("/login", "/logout", "/healthz")


@dataclass(frozen=True)
class Visitor:
    """Who is asking: a user name (None when anonymous) and the role in force."""

    name: str | None
    role: Role

    @property
    def label(self) -> str:
        text = ROLE_LABELS.get(self.role.name, self.role.name)
        return f"{text} {self.role.commune}" if self.role.commune else text


def load_secret(settings: Settings) -> bytes:
    """The signing key in ``index_dir/secret.key``; created (mode 600) on first use."""
    path = settings.secret_path
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first
            pass
        else:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(secrets.token_hex(32))
    key = path.read_text(encoding="ascii").strip()
    if not key:
        raise AssistantError(f"clé de session vide : {path}")
    return key.encode("ascii")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Session:
    """What a valid cookie says: the user and the account generation it was issued for."""

    name: str
    generation: int


def make_session(settings: Settings, name: str, *, generation: int = 0,
                 now: float | None = None) -> str:
    """Cookie value: payload (user, generation, expiry) and its HMAC-SHA256 under the key."""
    issued = time.time() if now is None else now
    payload = {"u": name, "g": generation, "exp": issued + settings.session_hours * 3600}
    body = _b64(json.dumps(payload, separators=(",", ":")).encode("utf-8"))
    sig = hmac.new(load_secret(settings), body.encode("ascii"), hashlib.sha256).hexdigest()
    return f"{body}.{sig}"


def read_session(settings: Settings, value: str | None, *,
                 now: float | None = None) -> Session | None:
    """The session of a valid, unexpired cookie value; None otherwise."""
    if not value or "." not in value:
        return None
    body, sig = value.rsplit(".", 1)
    expected = hmac.new(load_secret(settings), body.encode("ascii", "replace"),
                        hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, sig):
        return None
    try:
        payload = json.loads(_unb64(body))
        name, expires = str(payload["u"]), float(payload["exp"])
        generation = int(payload["g"])
    except (ValueError, KeyError, TypeError):
        return None
    if (time.time() if now is None else now) >= expires:
        return None
    return Session(name, generation)


def csrf_token(settings: Settings, cookie_value: str) -> str:
    """The token forms must send back (logout): bound to the session cookie it came with."""
    return hmac.new(load_secret(settings), b"csrf:" + cookie_value.encode("ascii", "replace"),
                    hashlib.sha256).hexdigest()[:32]


def is_https(request: Any) -> bool:
    """Served over https: the request's scheme, or the proxy's X-Forwarded-Proto."""
    forwarded = (request.headers.get("x-forwarded-proto") or "").split(",")[0].strip().lower()
    return forwarded == "https" or request.url.scheme == "https"


def visitor_from_cookies(settings: Settings, cookies: Mapping[str, str] | None,
                         store: UserStore | None = None) -> Visitor | None:
    """The logged-in visitor, or None (no cookie, bad signature, expired, account removed,
    session ended by a logout or a new password)."""
    session = read_session(settings, (cookies or {}).get(COOKIE))
    if session is None:
        return None
    user = (store or UserStore(settings.users_path)).get(session.name)
    if user is None or user.generation != session.generation:
        return None
    try:
        return Visitor(user.name, user.parsed_role)
    except AssistantError:
        return None


def request_cookies(request: Any) -> dict[str, str]:
    """Cookies of a Starlette request or a gr.Request (parsed from the header if need be)."""
    if request is None:
        return {}
    cookies = getattr(request, "cookies", None)
    if cookies:
        return dict(cookies)
    headers = getattr(request, "headers", None) or {}
    raw = headers.get("cookie", "") if hasattr(headers, "get") else ""
    parsed = SimpleCookie()
    try:
        parsed.load(raw)
    except CookieError:
        return {}
    return {k: m.value for k, m in parsed.items()}


def anonymous(settings: Settings) -> Visitor | None:
    return Visitor(None, Role("public")) if settings.allow_anonymous else None


def visitor_for(settings: Settings, request: Any, store: UserStore | None = None) -> Visitor | None:
    """The logged-in user, else the public visitor when anonymous access is allowed, else None."""
    return visitor_from_cookies(settings, request_cookies(request), store) or anonymous(settings)


# -- pages ------------------------------------------------------------------------------------

_STYLE = (
    "body{font-family:system-ui,sans-serif;background:#f5f7fa;color:#1f2933;margin:0}"
    "main{max-width:24rem;margin:4rem auto;padding:2rem;background:#fff;border-radius:.75rem;"
    "box-shadow:0 1px 4px rgba(0,0,0,.12)}h1{font-size:1.5rem;margin-top:0}"
    "label{display:block;margin:.8rem 0 .3rem;font-weight:600}"
    "input{width:100%;box-sizing:border-box;padding:.55rem;font-size:1rem;border:1px solid #9aa5b1;"
    "border-radius:.4rem}button{margin-top:1.2rem;width:100%;padding:.65rem;font-size:1rem;"
    "background:#1d4ed8;color:#fff;border:0;border-radius:.4rem;cursor:pointer}"
    ".error{background:#fdecea;color:#8a1c1c;padding:.6rem;border-radius:.4rem}"
    ".alt{margin-top:1.2rem;text-align:center}a{color:#1d4ed8}"
)


def login_page(settings: Settings, *, error: str = "", name: str = "") -> str:
    """The French login form; ``error`` shown above it."""
    message = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    alt = ('<p class="alt"><a href="/" id="pvd-anonymous">Continuer sans compte</a></p>'
           if settings.allow_anonymous else "")
    return (
        '<!doctype html><html lang="fr"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Connexion – Assistant PVD</title><style>{_STYLE}</style></head><body><main>"
        f"<h1>Connexion</h1>{message}"
        '<form method="post" action="/login">'
        '<label for="username">Identifiant</label>'
        f'<input id="username" name="username" autocomplete="username" required '
        f'value="{html.escape(name)}" autofocus>'
        '<label for="password">Mot de passe</label>'
        '<input id="password" name="password" type="password" autocomplete="current-password" '
        "required>"
        '<button type="submit" id="pvd-login">Se connecter</button></form>'
        f"{alt}</main></body></html>"
    )


def header_html(visitor: Visitor | None, csrf: str = "") -> str:
    """The page header's account line: who is connected, with «Se connecter» or a
    «Se déconnecter» button (a POST form carrying ``csrf``)."""
    if visitor is None or visitor.name is None:
        return ('<div class="pvd-account" id="pvd-account">Accès public · '
                '<a href="/login">Se connecter</a></div>')
    return (f'<div class="pvd-account" id="pvd-account">Connecté : '
            f"<strong>{html.escape(visitor.name)}</strong> ({html.escape(visitor.label)}) · "
            f'{logout_form(csrf)}</div>')


def logout_form(csrf: str) -> str:
    return ('<form method="post" action="/logout" class="pvd-logout" style="display:inline">'
            f'<input type="hidden" name="csrf" value="{html.escape(csrf)}">'
            # Looks like the «Se connecter» link beside it, not like a Gradio button.
            '<button type="submit" id="pvd-logout" style="background:none;border:0;'
            "padding:0;margin:0;box-shadow:none;color:#1d4ed8;text-decoration:underline;"
            'font:inherit;cursor:pointer">Se déconnecter</button></form>')


def account_line(settings: Settings, request: Any, store: UserStore | None = None) -> str:
    """header_html for the visitor of ``request``, with the CSRF token of its session."""
    cookie = request_cookies(request).get(COOKIE, "")
    visitor = visitor_for(settings, request, store)
    return header_html(visitor, csrf_token(settings, cookie) if cookie else "")


def _logout_page(settings: Settings, csrf: str) -> str:
    return (
        '<!doctype html><html lang="fr"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Déconnexion – Assistant PVD</title><style>{_STYLE}</style></head><body><main>"
        "<h1>Déconnexion</h1><p>Fermer votre session sur cet appareil et les autres ?</p>"
        '<form method="post" action="/logout">'
        f'<input type="hidden" name="csrf" value="{html.escape(csrf)}">'
        '<button type="submit" id="pvd-logout">Se déconnecter</button></form>'
        '<p class="alt"><a href="/">Revenir à l\'assistant</a></p></main></body></html>'
    )


class PasswordChecks:
    """argon2 checks in a small pool of their own: a flood of logins waits (or is refused)
    there instead of taking the CPU and the threads every page needs."""

    def __init__(self, store: UserStore, workers: int) -> None:
        self.store = store
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pvd-login")
        self.max_waiting = workers * 4
        self._waiting = 0
        self._lock = threading.Lock()

    async def verify(self, name: str, password: str) -> User | bool | None:
        """The user, None for a wrong password, False when too many checks are waiting."""
        with self._lock:
            if self._waiting >= self.max_waiting:
                return False
            self._waiting += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self.pool, self._verify, name, password)
        finally:
            with self._lock:
                self._waiting -= 1

    def _verify(self, name: str, password: str) -> User | None:
        try:
            return self.store.verify(name, password)
        except AssistantError:
            return None


def client_address(request: Request) -> str:
    return request.client.host if request.client else "inconnu"


def add_auth_routes(app: Any, settings: Settings) -> None:
    """/login (GET form, POST check), /logout (POST with a CSRF token), and the redirect of
    anonymous visitors when anonymous access is off."""
    store = UserStore(settings.users_path)
    load_secret(settings)  # created at start, not during the first login
    throttle = LoginThrottle(settings)
    checks = PasswordChecks(store, settings.login_workers)
    app.state.login_throttle = throttle

    def _cookie_kwargs(request: Request) -> dict[str, Any]:
        return {"httponly": True, "samesite": "lax", "path": "/", "secure": is_https(request)}

    @app.get("/login", response_class=HTMLResponse)
    def login_form() -> HTMLResponse:
        return HTMLResponse(login_page(settings))

    @app.post("/login")
    async def login(request: Request, username: str = Form(""),
                    password: str = Form("")) -> Response:
        address = client_address(request)
        # Checked before the password: a locked account costs no hashing and the right
        # password is refused as well until the lock ends.
        wait = throttle.wait_seconds(username, address)
        if wait > 0:
            page = login_page(settings, error=wait_message(wait), name=username)
            return HTMLResponse(page, status_code=429,
                                headers={"Retry-After": str(int(wait) + 1)})
        user = await checks.verify(username, password)
        if user is False:
            page = login_page(settings, error="Le serveur reçoit trop de connexions : "
                              "réessayez dans un instant.", name=username)
            return HTMLResponse(page, status_code=503, headers={"Retry-After": "5"})
        if not isinstance(user, User):
            throttle.failure(username, address)
            page = login_page(settings, error="Identifiant ou mot de passe incorrect.",
                              name=username)
            return HTMLResponse(page, status_code=401)
        throttle.success(username)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            COOKIE, make_session(settings, user.name, generation=user.generation),
            max_age=int(settings.session_hours * 3600), **_cookie_kwargs(request),
        )
        return response

    @app.get("/logout", response_class=HTMLResponse)
    def logout_confirm(request: Request) -> Response:
        # A GET never logs out (a link or an <img> on another site could): it asks.
        cookie = request.cookies.get(COOKIE, "")
        if not cookie:
            return RedirectResponse("/" if settings.allow_anonymous else "/login",
                                    status_code=303)
        return HTMLResponse(_logout_page(settings, csrf_token(settings, cookie)))

    @app.post("/logout")
    def logout(request: Request, csrf: str = Form("")) -> Response:
        cookie = request.cookies.get(COOKIE, "")
        if cookie and not hmac.compare_digest(csrf, csrf_token(settings, cookie)):
            return HTMLResponse(_text_error("Demande de déconnexion refusée (jeton invalide). "
                                            "Rechargez la page et réessayez."), status_code=403)
        session = read_session(settings, cookie)
        if session is not None:
            user = store.get(session.name)
            if user is not None and user.generation == session.generation:
                store.end_sessions(session.name)  # the cookie stops working everywhere
        response = RedirectResponse("/" if settings.allow_anonymous else "/login",
                                    status_code=303)
        response.delete_cookie(COOKIE, **_cookie_kwargs(request))
        return response

    if not settings.allow_anonymous:
        @app.middleware("http")
        async def require_login(request: Request, call_next: Any) -> Any:
            path = request.url.path
            if path in OPEN_PATHS or visitor_from_cookies(settings, request.cookies, store):
                return await call_next(request)
            if request.method == "GET":
                return RedirectResponse("/login", status_code=303)
            return Response("Connexion requise", status_code=401)


def _text_error(message: str) -> str:
    return (
        '<!doctype html><html lang="fr"><head><meta charset="utf-8">'
        f"<title>Assistant PVD</title><style>{_STYLE}</style></head><body><main>"
        f'<p class="error" role="alert">{html.escape(message)}</p>'
        '<p class="alt"><a href="/">Revenir à l\'assistant</a></p></main></body></html>'
    )
