"""Errors raised by pure domain rules; the HTTP layer renders them as 400s."""


class InvalidInput(ValueError):
    """Input that breaks a rule of the API; the message names the offending field."""
