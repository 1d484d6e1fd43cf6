#!/usr/bin/env python3
"""Start our app under gunicorn with extra gunicorn settings (bench experiments).

Same app and config as ``idp serve`` ($IDP_CONFIG, ``idp.create_app``, the
CLI's ``serve_with_gunicorn``); argv[1] is a JSON object of gunicorn settings,
e.g. ``{"bind": "127.0.0.1:8001", "workers": "2", "worker_class": "gthread",
"threads": "4"}``. Used by ``run_idp.py --gunicorn KEY=VALUE``.
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    from idp import create_app
    from idp.cli import serve_with_gunicorn
    from idp.config import load_config

    options = json.loads(sys.argv[1])
    config = load_config()
    serve_with_gunicorn(lambda: create_app(config), **options)


if __name__ == "__main__":
    main()
