"""Secrets out of what is shown: the one place that redacts a URL's password.

Every URL or setting a message, log line or exception shows goes through here first. A URL may
carry a password in its userinfo (``redis://user:pw@host``, ``redis://:pw@host``) or in its query
(``?password=pw``, which redis-py reads too, or ``?sentinel_password=pw``); both become ``***``,
and the rest is kept, so the message still says where it went. A Sentinel URL
(``redis+sentinel://user:pw@h1:26379,h2:26379/master``) has one userinfo before all its hosts;
one written with credentials before a later host (``...h1:26379,:pw@h2...``) is redacted from its
first host to the last ``@``, hiding a port rather than risking a password.
"""

from __future__ import annotations

import re

REDACTED = "***"
# Query parameters that hold a credential (redis-py reads ``password``; the others are common).
SECRET_QUERY_PARAMS = ("password", "pass", "pwd", "secret", "token", "api_key", "apikey", "appid")

# ``scheme://userinfo@``: the userinfo runs to the last ``@`` before a space or a quote, since a
# password may hold ``@``, ``:`` or even ``/`` unescaped, and redacting too much is the safe way.
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^\s'\"]*)@")
# A parameter named so or ending so after an underscore (``sentinel_password``).
_QUERY_SECRET = re.compile(
    r"(?P<name>[?&;](?:\w*_)?(?:" + "|".join(SECRET_QUERY_PARAMS) + r")=)[^&;#\s'\"]*",
    re.IGNORECASE,
)
_WHOLE_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>.*)@", re.DOTALL)


def _userinfo(match: re.Match[str]) -> str:
    user, sep, _password = match.group("userinfo").partition(":")
    return (
        f"{match.group('scheme')}{user}:{REDACTED}@"
        if sep
        else f"{match.group('scheme')}{REDACTED}@"
    )


def redact_text(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***``: in the userinfo (the
    user name is kept) and in query parameters such as ``password=``. For messages that quote a
    URL, and validation errors that echo a setting."""
    return _QUERY_SECRET.sub(
        lambda m: f"{m.group('name')}{REDACTED}", _USERINFO.sub(_userinfo, text)
    )


def redact_url(url: str) -> str:
    """``url`` as it may be shown: ``redis://:***@host:6379/0``, ``redis://app:***@host``.

    ``url`` is known to be one URL, so its userinfo runs to its last ``@`` even across a space
    or a quote (which ``redact_text``, looking for URLs inside prose, stops at)."""
    return redact_text(_WHOLE_URL.sub(_userinfo, url.strip(), count=1))
