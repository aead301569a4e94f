"""Sign-in (flask-login), CSRF protection, the reader of each request, user administration and the
audit log pages. What a reader may see is decided in repository.access; this module only tells
it who is asking."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import LoginManager, current_user, login_user, logout_user

from repository.access import GRANTS, PUBLIC, ROLES, Reader
from repository.errors import BadRequest, Forbidden, KhoError, NotFound
from repository.users import Throttled, User
from webapp import page_cache, site

bp = Blueprint("auth", __name__)
F = TypeVar("F", bound=Callable[..., Any])
_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
SESSION_HOURS = 8


class SignedIn:
    """flask-login's view of a Kho user. The session keeps the name and the time the user last
    changed, so a role change, new grants, a new password or disabling ends older sessions."""

    is_anonymous = False

    def __init__(self, user: User) -> None:
        self.user = user

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.user.active

    def get_id(self) -> str:
        return f"{self.user.name}|{self.user.changed}"


def csrf_exempt(view: F) -> F:
    """Mark a view that takes POST without a form of ours (the SPARQL and OAI-PMH protocols:
    read-only requests other programs send)."""
    view._csrf_exempt = True  # type: ignore[attr-defined]
    return view


def current_reader() -> Reader:
    """Who is asking in this request: a signed-in user's Reader, else the anonymous public."""
    if "reader" in g:
        return g.reader  # type: ignore[no-any-return]
    signed_in = current_user and current_user.is_authenticated
    g.reader = current_user.user.reader() if signed_in else PUBLIC
    return g.reader  # type: ignore[no-any-return]


def client_address() -> str:
    return request.remote_addr or ""


def audit(action: str, target: str = "", detail: str = "") -> None:
    """Write one entry of the audit log for the current reader."""
    reader = current_reader()
    page_cache.record_audit(action, target, detail)
    site().users.audit(reader.name or "anonymous", action, target, client_address(), detail)


def audit_many(action: str, targets: list[tuple[str, str]]) -> None:
    """Several audit entries (target, detail) for the current reader, written at once."""
    reader = current_reader()
    page_cache.record_audit(action, "", list(targets))
    site().users.audit_many(reader.name or "anonymous", action, targets, client_address())


def require_curator() -> Reader:
    """The reader, if an archivist or administrator; otherwise 404 (the page is not there)."""
    reader = current_reader()
    if not reader.curates:
        raise NotFound(f"Không có trang này / No page at {request.path}.")
    return reader


def require_administrator() -> Reader:
    reader = current_reader()
    if not reader.administers:
        raise NotFound(f"Không có trang này / No page at {request.path}.")
    return reader


def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return str(token)


def _check_csrf() -> None:
    if request.method not in _UNSAFE:
        return
    view = request.endpoint and site_app_view(request.endpoint)
    if view is not None and getattr(view, "_csrf_exempt", False):
        return
    if _cross_site():
        raise Forbidden(
            "Yêu cầu đến từ một trang khác (CSRF). / The request came from another site "
            "(Origin or Sec-Fetch-Site is not this one): Kho's forms are sent from Kho's pages "
            "only. Open the page on Kho and send the form again."
        )
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    expected = session.get("csrf") or ""
    if not expected or not hmac.compare_digest(str(sent), str(expected)):
        raise BadRequest(
            "Biểu mẫu đã hết hạn hoặc không đến từ Kho (CSRF). / The form expired or did not "
            "come from Kho (CSRF check failed): reload the page and send it again."
        )


def _cross_site() -> bool:
    """True when the browser says the form came from another site: an Origin that is not this
    host nor the base IRI's (or "null": a sandboxed frame, a file), or Sec-Fetch-Site
    cross-site. Programs that send neither header are judged by the token alone."""
    if request.headers.get("Sec-Fetch-Site", "").lower() == "cross-site":
        return True
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    ours = {request.host.lower(), urlsplit(site().settings.base_iri).netloc.lower()}
    return origin == "null" or urlsplit(origin).netloc.lower() not in ours


def site_app_view(endpoint: str) -> Callable[..., Any] | None:
    from flask import current_app

    return current_app.view_functions.get(endpoint)


def _safe_next(target: str | None) -> str:
    """Only local paths: never send a signed-in user to another site."""
    if not target:
        return url_for("browse.home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("browse.home")
    return target


def init_app(app: Flask) -> None:
    settings = site_settings(app)
    secure = settings.cookie_secure
    if secure == "auto":
        host = urlsplit(settings.base_iri).hostname or ""
        secure_cookie = settings.base_iri.startswith("https://") and host not in (
            "127.0.0.1",
            "localhost",
        )
    else:
        secure_cookie = secure.lower() in ("yes", "true", "1")
    app.config.update(
        SECRET_KEY=settings.session_key(),
        SESSION_COOKIE_NAME="kho_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure_cookie,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=secure_cookie,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
    )
    manager = LoginManager(app)
    manager.login_view = "auth.login"
    manager.session_protection = "strong"

    @manager.user_loader
    def load(user_id: str) -> SignedIn | None:
        name, _, changed = user_id.partition("|")
        try:
            user = site().users.get(name)
        except KhoError:
            return None
        if user.changed != changed or not user.active:
            return None
        return SignedIn(user)

    app.before_request(_check_csrf)
    app.jinja_env.globals.update(
        csrf_token=csrf_token,
        reader=current_reader,
        ui_lang=ui_language,
        ROLES=ROLES,
        GRANTS=GRANTS,
    )
    app.register_blueprint(bp)


def site_settings(app: Flask):  # type: ignore[no-untyped-def]
    return app.extensions["kho"].settings


# -- pages ---------------------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str:
    error = None
    status = 200
    if request.method == "POST":
        name = request.form.get("name", "")
        try:
            user = site().users.authenticate(
                name, request.form.get("password", ""), client_address()
            )
        except Throttled as exc:
            response = Response(
                render_template("login.html", error=exc.message, name=name), status=429
            )
            response.headers["Retry-After"] = str(exc.retry_after)
            return response
        if user is not None:
            session.clear()
            login_user(SignedIn(user))
            g.pop("reader", None)  # who asks changed within this request
            session.permanent = True
            csrf_token()
            return redirect(_safe_next(request.form.get("next")))  # type: ignore[return-value]
        error = (
            "Sai tên đăng nhập hoặc mật khẩu. / Wrong user name or password (after "
            "5 failures, sign-in waits)."
        )
        status = 401
    return Response(
        render_template(
            "login.html",
            error=error,
            name=request.form.get("name", ""),
            next=request.args.get("next"),
        ),
        status=status,
    )


@bp.post("/logout")
def logout() -> Response:
    reader = current_reader()
    if reader.signed_in:
        site().users.audit(reader.name or "", "sign-out", reader.name or "", client_address())
    logout_user()
    g.pop("reader", None)
    session.clear()
    return redirect(url_for("browse.home"))  # type: ignore[return-value]


@bp.route("/account", methods=["GET", "POST"])
def account() -> Response | str:
    reader = current_reader()
    if not reader.signed_in:
        return redirect(url_for("auth.login", next=request.path))  # type: ignore[return-value]
    message = None
    if request.method == "POST":
        users = site().users
        if users.authenticate(reader.name or "", request.form.get("current", ""), client_address()):
            users.update(
                reader.name or "",
                password=request.form.get("password", ""),
                actor=reader.name or "",
            )
            logout_user()
            g.pop("reader", None)
            session.clear()
            return redirect(url_for("auth.login"))  # type: ignore[return-value]
        message = "Mật khẩu hiện tại sai. / The current password is wrong."
    return render_template(
        "account.html", user=site().users.get(reader.name or ""), message=message
    )


@bp.route("/admin/users", methods=["GET", "POST"])
def users() -> Response | str:
    admin = require_administrator()
    message = None
    if request.method == "POST":
        site().users.add(
            request.form.get("name", ""),
            request.form.get("password", ""),
            request.form.get("role", ""),
            set(request.form.getlist("grants")),
            full_name=request.form.get("full_name", ""),
            actor=admin.name or "",
        )
        message = f"Đã thêm / Added {request.form.get('name', '')}"
    return render_template("admin_users.html", users=site().users.list(), message=message)


@bp.route("/admin/users/<name>", methods=["GET", "POST"])
def user(name: str) -> Response | str:
    admin = require_administrator()
    users = site().users
    target = users.get(name)
    if request.method == "POST":
        if target.name == admin.name and request.form.get("role") != "administrator":
            raise BadRequest(
                "Không thể tự bỏ quyền quản trị. / You cannot take away your own administrator "
                "role; ask another administrator."
            )
        users.update(
            target.name,
            role=request.form.get("role") or target.role,
            grants=set(request.form.getlist("grants")),
            active=request.form.get("active") == "on",
            full_name=request.form.get("full_name", target.full_name),
            password=request.form.get("password") or None,
            actor=admin.name or "",
        )
        return redirect(url_for("auth.user", name=target.name))  # type: ignore[return-value]
    log = users.audit_log(limit=50, actor=target.name)
    return render_template("admin_user.html", user=target, log=log)


@bp.get("/admin/audit")
def audit_log() -> str:
    require_administrator()
    action = request.args.get("action") or None
    actor = request.args.get("actor") or None
    entries = site().users.audit_log(limit=500, actor=actor, action=action)
    return render_template("audit.html", entries=entries, action=action, actor=actor)


@bp.get("/lang/<code>")
def language(code: str) -> Response:
    """The English switch: remember the reader's choice of language in a cookie."""
    if code not in ("vi", "en"):
        abort(404)
    response = redirect(_safe_next(request.args.get("next")))
    response.set_cookie("kho_lang", code, max_age=365 * 86400, samesite="Lax", httponly=True)
    return response  # type: ignore[return-value]


def ui_language() -> str:
    if "ui_lang" not in g:
        g.ui_lang = "en" if request.cookies.get("kho_lang") == "en" else "vi"
    return str(g.ui_lang)
