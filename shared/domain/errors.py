"""Errors raised by pure domain rules; the HTTP layer renders them as 400s."""


class InvalidInput(ValueError):
    """Input that breaks a rule of the API; the message names the offending field."""


class Unknown(LookupError):
    """An id that names nothing (a session, content, user, question...): a 404 whose message
    says which."""


class Conflict(Exception):
    """Too many concurrent writers changed the same object; the client may retry."""


class Unavailable(Exception):
    """A dependency (the queue) did not answer after retries; nothing was changed, and the
    same request may be sent again shortly."""
