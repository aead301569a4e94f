"""Users, their roles and grants, sign-in throttling and the audit log, in one SQLite file.

Users are not archival data, so they stay out of the RDF store (no password hash is ever one
SPARQL query away). Passwords are hashed with scrypt (RFC 7914; n=2^15, r=8, p=1, 16-byte salt),
compared in constant time. Sign-in is throttled per user name and per client address: after
`MAX_FAILURES` failures within `WINDOW` the next attempt waits, doubling with each further
failure. Every sign-in (success, failure or refused while waiting), sign-out, user change and
each read of restricted material (conditional or secret records, personal data) is written to
the audit log.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from repository.access import GRANTS, ROLES, Reader, mask_personal
from repository.errors import BadRequest, KhoError, NotFound
from repository.text import nfc

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
MIN_PASSWORD = 10
MAX_NAME = 64
MAX_FAILURES = 5  # per user name within WINDOW, before sign-in waits
MAX_FAILURES_ADDRESS = 20  # per client address within WINDOW
WINDOW = timedelta(minutes=15)
BASE_DELAY = 30  # seconds; doubles with every failure past the limit, at most an hour

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
  name TEXT PRIMARY KEY,
  full_name TEXT NOT NULL DEFAULT '',
  role TEXT NOT NULL,
  grants TEXT NOT NULL DEFAULT '[]',
  password TEXT NOT NULL,
  active INTEGER NOT NULL DEFAULT 1,
  created TEXT NOT NULL,
  changed TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS attempts (
  at TEXT NOT NULL, name TEXT NOT NULL, address TEXT NOT NULL, ok INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_name ON attempts(name, at);
CREATE INDEX IF NOT EXISTS attempts_address ON attempts(address, at);
CREATE TABLE IF NOT EXISTS audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
  target TEXT NOT NULL DEFAULT '', address TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT ''
);
"""


class Throttled(KhoError):
    """Too many failed sign-ins: wait `retry_after` seconds."""

    status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"Quá nhiều lần đăng nhập sai; thử lại sau {retry_after} giây. / Too many failed "
            f"sign-ins; try again in {retry_after} seconds."
        )
        self.retry_after = retry_after


@dataclass(frozen=True)
class User:
    name: str
    full_name: str
    role: str
    grants: frozenset[str]
    active: bool
    created: str
    changed: str

    def reader(self) -> Reader:
        return Reader(name=self.name, role=self.role, grants=self.grants)


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: str
    actor: str
    action: str
    target: str
    address: str
    detail: str


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=2**26, dklen=32
    )
    b64 = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    found = hashlib.scrypt(
        password.encode(),
        salt=base64.b64decode(salt),
        n=int(n),
        r=int(r),
        p=int(p),
        maxmem=2**26,
        dklen=32,
    )
    return hmac.compare_digest(found, base64.b64decode(digest))


_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))  # unknown names cost the same time


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


class Users:
    """The users file: open it with the path from Settings.users_path."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._db() as db:
            db.execute("PRAGMA journal_mode=WAL")  # kept in the file
            db.executescript(_SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """A transaction on this thread's connection. Each thread keeps its own open: a new
        connection reads the schema again at its first statement, 0.25 ms of every signed-in
        request's 0.3 (WAL: each transaction still reads what other processes committed)."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = sqlite3.connect(self.path, timeout=30)
        with db:
            yield db

    # -- users -----------------------------------------------------------------------------------

    def add(
        self,
        name: str,
        password: str,
        role: str,
        grants: set[str] | frozenset[str] = frozenset(),
        full_name: str = "",
        actor: str = "cli",
    ) -> User:
        name = _check_name(name)
        _check_role(role, grants)
        _check_password(password)
        now = _iso(_now())
        with self._db() as db:
            if db.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise BadRequest(
                    f"Người dùng {name!r} đã có. / User {name!r} exists; "
                    "change it with `kho users set` or choose another name."
                )
            db.execute(
                "INSERT INTO users VALUES (?, ?, ?, ?, ?, 1, ?, ?)",
                (name, nfc(full_name), role, _grants(grants), hash_password(password), now, now),
            )
        self.audit(actor, "user-add", name, detail=f"role={role} grants={sorted(grants)}")
        return self.get(name)

    def get(self, name: str) -> User:
        with self._db() as db:
            row = db.execute(
                "SELECT name, full_name, role, grants, active, created, changed FROM users "
                "WHERE name = ?",
                (nfc(name).strip().lower(),),
            ).fetchone()
        if row is None:
            raise NotFound(
                f"Không có người dùng {name!r}. / No user {name!r} (see `kho users list`)."
            )
        return _user(row)

    def list(self) -> list[User]:
        with self._db() as db:
            rows = db.execute(
                "SELECT name, full_name, role, grants, active, created, changed FROM users "
                "ORDER BY name"
            ).fetchall()
        return [_user(r) for r in rows]

    def update(
        self,
        name: str,
        *,
        role: str | None = None,
        grants: set[str] | frozenset[str] | None = None,
        password: str | None = None,
        active: bool | None = None,
        full_name: str | None = None,
        actor: str = "cli",
    ) -> User:
        user = self.get(name)
        role = role or user.role
        grants = user.grants if grants is None else frozenset(grants)
        _check_role(role, grants)
        changes = []
        with self._db() as db:
            db.execute(
                "UPDATE users SET role = ?, grants = ?, changed = ? WHERE name = ?",
                (role, _grants(grants), _iso(_now()), user.name),
            )
            if role != user.role:
                changes.append(f"role {user.role}->{role}")
            if grants != user.grants:
                changes.append(f"grants {sorted(user.grants)}->{sorted(grants)}")
            if password is not None:
                _check_password(password)
                db.execute(
                    "UPDATE users SET password = ? WHERE name = ?",
                    (hash_password(password), user.name),
                )
                changes.append("password")
            if active is not None and active != user.active:
                db.execute("UPDATE users SET active = ? WHERE name = ?", (int(active), user.name))
                changes.append("enabled" if active else "disabled")
            if full_name is not None:
                db.execute(
                    "UPDATE users SET full_name = ? WHERE name = ?", (nfc(full_name), user.name)
                )
        if changes:
            self.audit(actor, "user-change", user.name, detail="; ".join(changes))
        return self.get(user.name)

    # -- sign-in ---------------------------------------------------------------------------------

    def authenticate(self, name: str, password: str, address: str = "") -> User | None:
        """The user if the password is right and the account active; None otherwise. Raises
        Throttled (before checking anything) while this name or address must wait."""
        name = nfc(name or "").strip().lower()[: MAX_NAME + 1]  # longer: no user; logs stay short
        now = _now()
        try:
            self._check_throttle(name, address, now)
        except Throttled as waiting:  # refused unheard, and logged: a guesser leaves a trace
            self.audit(name or "?", "sign-in-throttled", name, address, f"{waiting.retry_after}s")
            raise
        with self._db() as db:
            row = db.execute(
                "SELECT name, full_name, role, grants, active, created, changed, password "
                "FROM users WHERE name = ?",
                (name,),
            ).fetchone()
        ok = verify_password(password or "", row[7] if row else _DUMMY_HASH)
        ok = ok and row is not None and bool(row[4])
        with self._db() as db:
            db.execute("INSERT INTO attempts VALUES (?, ?, ?, ?)", (_iso(now), name, address, ok))
            db.execute("DELETE FROM attempts WHERE at < ?", (_iso(now - 4 * WINDOW),))
        self.audit(name or "?", "sign-in" if ok else "sign-in-failed", name, address)
        return _user(row[:7]) if ok and row else None

    def _check_throttle(self, name: str, address: str, now: datetime) -> None:
        since = _iso(now - WINDOW)
        with self._db() as db:
            waits = []
            for column, value, limit in (
                ("name", name, MAX_FAILURES),
                ("address", address, MAX_FAILURES_ADDRESS),
            ):
                if not value:
                    continue
                rows = db.execute(
                    f"SELECT at FROM attempts WHERE {column} = ? AND at >= ? AND ok = 0 "
                    f"AND at > COALESCE((SELECT MAX(at) FROM attempts WHERE {column} = ? "
                    "AND ok = 1), '') ORDER BY at",
                    (value, since, value),
                ).fetchall()
                if len(rows) >= limit:
                    delay = min(3600, BASE_DELAY * 2 ** (len(rows) - limit))
                    last = datetime.fromisoformat(rows[-1][0])
                    left = int((last + timedelta(seconds=delay) - now).total_seconds()) + 1
                    if left > 0:
                        waits.append(left)
        if waits:
            raise Throttled(max(waits))

    # -- audit -----------------------------------------------------------------------------------

    def audit(
        self, actor: str, action: str, target: str = "", address: str = "", detail: str = ""
    ) -> None:
        with self._db() as db:
            db.execute(
                "INSERT INTO audit (at, actor, action, target, address, detail) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    _iso(_now()),
                    actor,
                    action,
                    mask_personal(target),
                    address,
                    mask_personal(detail),
                ),
            )

    def audit_many(
        self, actor: str, action: str, targets: list[tuple[str, str]], address: str = ""
    ) -> None:
        """Many entries (target, detail) of one request, in one transaction. Like `audit`, the
        log never keeps a citizen's number a reader typed (a query, a path): it is masked."""
        if not targets:
            return
        at = _iso(_now())
        with self._db() as db:
            db.executemany(
                "INSERT INTO audit (at, actor, action, target, address, detail) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (at, actor, action, mask_personal(target), address, mask_personal(detail))
                    for target, detail in targets
                ],
            )

    def audit_log(
        self, limit: int = 200, actor: str | None = None, action: str | None = None
    ) -> list[AuditEntry]:
        where, args = [], []
        if actor:
            where.append("actor = ?")
            args.append(actor)
        if action:
            where.append("action = ?")
            args.append(action)
        sql = "SELECT id, at, actor, action, target, address, detail FROM audit"
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._db() as db:
            rows = db.execute(sql + " ORDER BY id DESC LIMIT ?", (*args, limit)).fetchall()
        return [AuditEntry(*r) for r in rows]


def _user(row: tuple[object, ...]) -> User:
    name, full_name, role, grants, active, created, changed = row
    return User(
        name=str(name),
        full_name=str(full_name),
        role=str(role),
        grants=frozenset(json.loads(str(grants))),
        active=bool(active),
        created=str(created),
        changed=str(changed),
    )


def _grants(grants: set[str] | frozenset[str]) -> str:
    return json.dumps(sorted(grants))


def _check_name(name: str) -> str:
    name = nfc(name or "").strip().lower()
    if not name or len(name) > MAX_NAME or not all(c.isalnum() or c in "._-@" for c in name):
        raise BadRequest(
            f"Tên {name!r} không hợp lệ. / User name {name!r} is not valid: use 1–64 letters, "
            "digits, '.', '_', '-' or '@'."
        )
    return name


def _check_role(role: str, grants: set[str] | frozenset[str]) -> None:
    if role not in ROLES or role == "anonymous":
        raise BadRequest(
            f"Vai trò {role!r} không có. / Unknown role {role!r}: choose researcher, archivist "
            "or administrator."
        )
    unknown = set(grants) - set(GRANTS)
    if unknown:
        raise BadRequest(
            f"Quyền {sorted(unknown)} không có. / Unknown grant {sorted(unknown)}: grants are "
            f"{', '.join(GRANTS)}."
        )


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise BadRequest(
            f"Mật khẩu cần ít nhất {MIN_PASSWORD} ký tự. / A password needs at least "
            f"{MIN_PASSWORD} characters."
        )
