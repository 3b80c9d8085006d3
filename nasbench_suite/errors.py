"""The exceptions the CLI turns into a single line and a non-zero exit."""

from methods.base import MethodError
from spaces.base import SpaceError


class UsageError(Exception):
    """Bad input or an unusable environment: the message is the whole story, no traceback."""


# Everything a user can cause; anything else is a bug and keeps its traceback.
USER_ERRORS = (UsageError, SpaceError, MethodError)
