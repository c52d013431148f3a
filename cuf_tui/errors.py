"""The one error type the command line reports as a one-line message instead of a traceback."""


class CufError(Exception):
    """Bad input or an impossible request; the message says what and where."""
