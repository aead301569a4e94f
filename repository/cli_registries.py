"""`kho registries ...`: links to the national registries (docs/registries.md).

kho registries verify [--registry R] [--status S|all] [--older-than-days N] [--all-units]
kho registries status [--json]
kho registries simulate [--host H] [--port 5050]
kho registries ping [--wait SECONDS]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from repository.config import Settings
from repository.registry_links import REGISTRY_NAMES, STATUSES

if TYPE_CHECKING:
    from repository.store import Store

Add = Callable[..., argparse.ArgumentParser]
EXIT_OK = 0


def _say(msg: str) -> None:
    from repository.cli import _progress

    _progress(msg)


def cmd_registries(args: argparse.Namespace, settings: Settings) -> int:
    if args.registries_command == "simulate":
        from harvesters.registry_sim import serve

        serve(args.host, args.port)
        return EXIT_OK
    if args.registries_command == "ping":
        return _ping(settings, args.wait)
    from repository.store import open_store

    store = open_store(settings)
    if args.registries_command == "status":
        return _status(store, settings, args.json)
    return _verify(store, settings, args)


def _verify(store: Store, settings: Settings, args: argparse.Namespace) -> int:
    from harvesters.registries import Registries
    from repository.ocr import progress_bar
    from repository.registry_links import ensure_links
    from repository.registry_verify import verify

    setup = ensure_links(
        store,
        settings,
        all_units=args.all_units,
        province=args.province,
        progress=_say,
    )
    with Registries(settings) as registries:
        report = verify(
            store,
            settings,
            registries,
            registry=args.registry,
            status=None if args.status == "all" else args.status,
            older_than_days=args.older_than_days,
            progress=progress_bar("Kiểm tra / verify", every=100),
        )
    if report.changed_subjects:  # what search knows of their links (W3) follows the store
        from repository import record_index

        record_index.update(store, settings, sorted(report.changed_subjects))
    if args.json:
        out = report.to_json() | {
            "link_setup": {"agencies": setup.agencies, "units": setup.units, "new": setup.added}
        }
        print(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        print(report.text())
    return EXIT_OK  # it ran: errors are recorded on the links and listed


def _ping(settings: Settings, wait: float) -> int:
    """Does each registry answer HTTP at its base URL? With `wait`, keep asking that long."""
    import time

    import requests

    urls = {name: getattr(settings, f"registry_{name}_url") for name in REGISTRY_NAMES}
    answered: dict[str, str] = {}
    deadline = time.monotonic() + wait
    while True:
        for name, url in urls.items():
            if name in answered:
                continue
            try:
                answered[name] = f"HTTP {requests.get(url, timeout=2).status_code}"
            except requests.RequestException:
                pass
        if len(answered) == len(urls) or time.monotonic() >= deadline:
            break
        time.sleep(0.2)
    for name, url in urls.items():
        state = answered.get(name, "không trả lời / no answer")
        print(f"{name:11} {url}  {state}")
    if len(answered) < len(urls):
        print(
            "Sổ đăng ký không trả lời: kiểm tra KHO_REGISTRY_<NAME>_URL, hoặc chạy "
            "`kho registries simulate`. / A registry did not answer: check "
            "KHO_REGISTRY_<NAME>_URL, or start `kho registries simulate`.",
            file=sys.stderr,
        )
        return 1
    return EXIT_OK


def _status(store: Store, settings: Settings, as_json: bool) -> int:
    from repository.registry_links import status_counts

    counts = status_counts(store, settings)
    if as_json:
        print(json.dumps(counts, indent=2))
        return EXIT_OK
    print(f"{'registry':12}" + "".join(f"{s:>16}" for s in STATUSES))
    for registry, by_status in counts.items():
        print(f"{registry:12}" + "".join(f"{by_status.get(s, 0):>16}" for s in STATUSES))
    return EXIT_OK


def _days(value: str) -> int:
    try:
        days = int(value)
    except ValueError:
        days = -1
    if days < 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of days (0 or more).")
    return days


def register(add: Add) -> None:
    p = add(
        "registries", cmd_registries, "Links to the national registries: verify, status, simulate."
    )
    sub = p.add_subparsers(dest="registries_command", required=True)
    v = sub.add_parser(
        "verify",
        help="create missing agency/unit links, then check links against the registries "
        "(errors are recorded on the links; exit 0 when it ran)",
    )
    v.add_argument("--registry", choices=REGISTRY_NAMES, help="only this registry's links")
    v.add_argument(
        "--status",
        choices=[*STATUSES, "all"],
        default="all",
        help="only links with this status (default: all)",
    )
    v.add_argument(
        "--older-than-days",
        type=_days,
        metavar="N",
        help="only links never checked or checked more than N days ago",
    )
    v.add_argument(
        "--all-units",
        action="store_true",
        help="also link every unit version of a province (--province) to the land registry",
    )
    v.add_argument("--province", default="01", help="province code for --all-units (default 01)")
    v.add_argument("--json", action="store_true", help="print the report as JSON")
    s = sub.add_parser("status", help="links per registry and verification status")
    s.add_argument("--json", action="store_true", help="print JSON")
    m = sub.add_parser("simulate", help="serve the registry simulator (all four registries)")
    m.add_argument("--host", default="127.0.0.1")
    m.add_argument("--port", type=int, default=5050)
    g = sub.add_parser("ping", help="does each registry answer at its URL? (exit 1 if not)")
    g.add_argument("--wait", type=float, default=0, metavar="SECONDS", help="keep asking this long")
