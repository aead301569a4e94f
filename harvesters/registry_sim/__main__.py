"""python -m harvesters.registry_sim [--host 127.0.0.1] [--port 5050] [--config '{"delay": 1}']"""

from __future__ import annotations

import argparse
import json

from harvesters.registry_sim import serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m harvesters.registry_sim",
        description="Serve the four national registries' simulator (docs/registries.md).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5050)
    parser.add_argument(
        "--config", default="{}", help='misbehaviour as JSON, e.g. \'{"delay": 0.5, "flaky": 0.1}\''
    )
    args = parser.parse_args(argv)
    serve(args.host, args.port, json.loads(args.config))


if __name__ == "__main__":
    main()
