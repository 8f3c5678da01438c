"""The session state machine and per-viewer visibility.

Pure Python on plain data: no Flask, no SQLAlchemy, no clock (time is passed in). Every
rule that protects a partner's privacy or moves a session forward lives here, so it can be
tested exhaustively without a server.
"""

from server.engine.errors import MendError

__all__ = ["MendError"]
