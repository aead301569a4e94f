"""`kho users ...` and `kho audit`: manage who may sign in, with which role and grants."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import secrets
import sys
from collections.abc import Callable

from repository.access import GRANTS
from repository.config import Settings
from repository.errors import BadRequest
from repository.users import Users

Add = Callable[..., argparse.ArgumentParser]
ROLE_CHOICES = ["researcher", "archivist", "administrator"]


def _password(args: argparse.Namespace) -> str | None:
    """From --password-stdin, the KHO_PASSWORD variable, or a prompt (asked twice)."""
    if getattr(args, "password_stdin", False):
        return sys.stdin.readline().rstrip("\n")
    if os.environ.get("KHO_PASSWORD"):
        return os.environ["KHO_PASSWORD"]
    if not sys.stdin.isatty():
        return None
    first = getpass.getpass("Mật khẩu / Password: ")
    if first != getpass.getpass("Nhập lại / Again: "):
        raise BadRequest("Hai mật khẩu khác nhau. / The two passwords differ; try again.")
    return first


def cmd_users(args: argparse.Namespace, settings: Settings) -> int:
    users = Users(settings.users_path)  # type: ignore[arg-type]
    actor = "cli:" + (os.environ.get("USER") or "?")
    if args.users_command == "add":
        password = _password(args)
        if password is None:
            raise BadRequest(
                "Cần mật khẩu. / A password is needed: --password-stdin, KHO_PASSWORD, or run "
                "in a terminal to be asked."
            )
        user = users.add(
            args.name, password, args.role, set(args.grant or []), args.full_name or "", actor
        )
        print(f"added {user.name} ({user.role}; grants: {', '.join(sorted(user.grants)) or '-'})")
    elif args.users_command == "set":
        password = _password(args) if args.password else None
        grants = None if args.grant is None else set(args.grant) - {"none"}
        active = True if args.enable else False if args.disable else None
        user = users.update(
            args.name, role=args.role, grants=grants, password=password, active=active, actor=actor
        )
        state = "active" if user.active else "disabled"
        print(f"{user.name}: {user.role}; grants: {', '.join(sorted(user.grants)) or '-'}; {state}")
    elif args.users_command == "demo":
        return _demo_users(users, settings)
    else:
        listed = users.list()
        if args.json:
            print(json.dumps([u.__dict__ | {"grants": sorted(u.grants)} for u in listed]))
        for u in [] if args.json else listed:
            state = "" if u.active else " (disabled)"
            print(f"{u.name:20} {u.role:14} {','.join(sorted(u.grants)) or '-':28}{state}")
    return 0


DEMO_ACCOUNTS = (
    ("nghien-cuu", "researcher", set(), "Nhà nghiên cứu (demo)"),
    ("luu-tru", "archivist", set(), "Lưu trữ viên (demo)"),
    ("quan-tri", "administrator", {"secret", "personal"}, "Quản trị viên (demo)"),
)


def _demo_users(users: Users, settings: Settings) -> int:
    """One account per role for the demo, each with a new random password, written once to
    DATA_DIR/demo-users.txt (mode 600). Accounts that exist are left as they are."""
    path = settings.data_dir / "demo-users.txt"
    existing = {u.name for u in users.list()}
    lines = []
    for name, role, grants, full_name in DEMO_ACCOUNTS:
        if name in existing:
            continue
        password = secrets.token_urlsafe(12)
        users.add(name, password, role, grants, full_name, actor="make demo")
        lines.append(f"{name:12} {role:14} {password}")
    if lines:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a") as out:
            out.write("\n".join(lines) + "\n")
    if path.exists():
        print(f"Demo accounts (user, role, password) — also in {path}:")
        print(path.read_text().rstrip())
    return 0


def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    entries = Users(settings.users_path).audit_log(  # type: ignore[arg-type]
        limit=args.limit, actor=args.actor, action=args.action
    )
    if args.json:
        print(json.dumps([e.__dict__ for e in entries], ensure_ascii=False))
        return 0
    for e in entries:
        print(f"{e.at} {e.actor:16} {e.action:18} {e.target} {e.address} {e.detail}".rstrip())
    return 0


def register(add: Add) -> None:
    us = add("users", cmd_users, "Users who may sign in: add, set (role, grants, password), list.")
    uss = us.add_subparsers(dest="users_command", required=True)
    ua = uss.add_parser("add", help="add a user (password asked, or --password-stdin)")
    ua.add_argument("name")
    ua.add_argument("--role", choices=ROLE_CHOICES, required=True)
    ua.add_argument("--grant", action="append", choices=GRANTS, help="repeat for several")
    ua.add_argument("--full-name", dest="full_name")
    ua.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    st = uss.add_parser("set", help="change a user's role, grants, password or state")
    st.add_argument("name")
    st.add_argument("--role", choices=ROLE_CHOICES)
    st.add_argument(
        "--grant", action="append", choices=[*GRANTS, "none"], help="the full new set; 'none'"
    )
    st.add_argument("--password", action="store_true", help="set a new password (asked)")
    st.add_argument("--password-stdin", action="store_true")
    st.add_argument("--enable", action="store_true")
    st.add_argument("--disable", action="store_true")
    uss.add_parser("demo", help="one demo account per role, random passwords (make demo)")
    ls = uss.add_parser("list", help="list users")
    ls.add_argument("--json", action="store_true")
    au = add("audit", cmd_audit, "The audit log: sign-ins, user changes, reads of restricted data.")
    au.add_argument("--limit", type=int, default=50)
    au.add_argument("--actor")
    au.add_argument("--action", help="e.g. sign-in, sign-in-failed, read-restricted")
    au.add_argument("--json", action="store_true")
