"""``python -m clients.portal [PORT]``: run the demo portal on 127.0.0.1."""

import sys

from clients.portal import create_portal

port = int(sys.argv[1]) if len(sys.argv) > 1 else 5001
create_portal().run(host="127.0.0.1", port=port, use_reloader=False)
