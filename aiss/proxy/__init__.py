"""The gateway role: one public port in front of the other roles."""

from .owners import Owners
from .server import Proxy
from .table import ROUTES, role_for

__all__ = ["ROUTES", "Owners", "Proxy", "role_for"]
