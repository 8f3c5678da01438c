"""Mend: a real-time shared workspace for couples who are repairing trust.

Importing this package is cheap on purpose: `mend run` must choose and apply the async
mode (gevent monkey-patching) before Flask, SQLAlchemy or sockets are imported.
"""
