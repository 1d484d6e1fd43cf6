"""Flask extensions, created unbound and bound in ``create_app``."""

from flask_babel import Babel
from flask_limiter import Limiter
from flask_migrate import Migrate
from flask_wtf import CSRFProtect

from idp.security.clientip import client_ip
from idp.store.base import db

migrate = Migrate()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=client_ip, default_limits=[], headers_enabled=True)

__all__ = ["babel", "csrf", "db", "limiter", "migrate"]
