"""`python -m webapp [host] [port]`: serve the app with the KHO_* settings, like `kho serve`."""

from __future__ import annotations

import sys

from repository.config import Settings
from webapp import serve

if __name__ == "__main__":
    host = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1"
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
    serve(Settings.from_env(), host=host, port=port)
