"""The content package's one error, in a module of its own so that the loaders of single
step files (server.content.review) can raise it without importing the package."""


class ContentError(Exception):
    """A track file is not valid; the message names the file and the problem."""
