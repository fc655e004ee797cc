"""One exception type for every user-facing failure: the CLI prints its message on one line."""


class GoSelfiesError(Exception):
    """A problem with the user's input or machine, reported without a traceback."""
