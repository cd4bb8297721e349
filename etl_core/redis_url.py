"""The Sentinel form of a Redis URL, parsed.

``redis+sentinel://[user:password@]host[:port][,host[:port]...]/master-name[/db]`` names the
sentinels to ask and the master they monitor; ``rediss+sentinel://`` is the same with TLS to the
sentinels and the data nodes. The user name and password are the data nodes' (percent-escapes are
decoded; the userinfo ends at the last ``@``, so a password may hold ``@``, ``/`` or ``,``); the
sentinels' own credentials, when they need any, are separate settings, as the two often differ. A
port left out is Sentinel's 26379, a db left out is 0.

Errors name the part of the URL that is wrong by position, never quoting it: in a mistyped URL a
password can land where a host, a port or the master name belongs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote

SENTINEL_SCHEMES = {"redis+sentinel": False, "rediss+sentinel": True}  # scheme -> TLS
DEFAULT_SENTINEL_PORT = 26379
# What Sentinel accepts in practice, and nothing a URL would need escaped.
_MASTER_NAME = re.compile(r"^[A-Za-z0-9._-]+$")
_HOST_PORT = re.compile(r"^(?:\[(?P<ipv6>[0-9A-Fa-f:.]+)\]|(?P<host>[^:\[\]]+))(?::(?P<port>.*))?$")


class RedisUrlError(ValueError):
    """A Sentinel URL that cannot be used; the message names the problem, never the password."""


@dataclass(frozen=True, slots=True)
class SentinelUrl:
    """Where the sentinels are, which master to ask them for, and how to talk to it."""

    sentinels: tuple[tuple[str, int], ...]
    master_name: str
    db: int = 0
    username: str | None = None
    # repr=False: a settings object or a traceback may show this dataclass.
    password: str | None = field(default=None, repr=False)
    tls: bool = False


def is_sentinel_url(url: str) -> bool:
    return url.partition("://")[0].lower() in SENTINEL_SCHEMES


def parse_sentinel_url(url: str) -> SentinelUrl:
    """``url`` (a ``redis+sentinel://`` or ``rediss+sentinel://`` URL) as a ``SentinelUrl``;
    ``RedisUrlError`` saying what is wrong with it."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in SENTINEL_SCHEMES:
        raise RedisUrlError("a Sentinel URL starts with redis+sentinel:// or rediss+sentinel://")
    if "?" in rest or "#" in rest:
        raise RedisUrlError("a Sentinel URL takes no query or fragment")
    # Hosts and the path hold no '@', so the last one ends the userinfo, whatever the password.
    userinfo, at, rest = rest.rpartition("@")
    username, password = _credentials(userinfo) if at else (None, None)
    hosts, _slash, path = rest.partition("/")
    sentinels = (
        tuple(_address(n, part) for n, part in enumerate(hosts.split(","), 1)) if hosts else ()
    )
    if not sentinels:
        raise RedisUrlError("no sentinel host:port before the master name")
    master_name, _slash, db_text = path.partition("/")
    if not master_name:
        raise RedisUrlError("no master name after the sentinel hosts (.../master-name[/db])")
    if not _MASTER_NAME.match(master_name):
        raise RedisUrlError("the master name may hold only letters, digits, '.', '_' and '-'")
    db_text = db_text.removesuffix("/")
    if db_text and not (db_text.isascii() and db_text.isdigit()):
        raise RedisUrlError("the db after the master name is not a number")
    return SentinelUrl(
        sentinels=sentinels,
        master_name=master_name,
        db=int(db_text) if db_text else 0,
        username=username,
        password=password,
        tls=SENTINEL_SCHEMES[scheme.lower()],
    )


def _credentials(userinfo: str) -> tuple[str | None, str | None]:
    user, colon, password = userinfo.partition(":")
    return (unquote(user) or None, unquote(password) if colon else None)


def _address(number: int, part: str) -> tuple[str, int]:
    match = _HOST_PORT.match(part.strip())
    if match is None:
        raise RedisUrlError(f"sentinel address {number} is not host:port")
    host = match.group("ipv6") or match.group("host")
    port_text = match.group("port")
    if port_text is None:
        return host, DEFAULT_SENTINEL_PORT
    if not (port_text.isascii() and port_text.isdigit()) or not 0 < int(port_text) < 65536:
        raise RedisUrlError(f"sentinel address {number} has a bad port (not 1-65535)")
    return host, int(port_text)


def check_plain_url(url: str) -> None:
    """Raise ``RedisUrlError`` for a ``redis://`` or ``rediss://`` URL redis-py could not use: a
    port that is not a number from 1 to 65535, or a database that is not a number. Nothing is
    quoted, for the same reason as above."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        return
    try:
        port = parts.port
    except ValueError:
        raise RedisUrlError("the port is not a number from 1 to 65535") from None
    if port == 0:
        raise RedisUrlError("the port is not a number from 1 to 65535")
    if not parts.hostname:
        raise RedisUrlError("it names no host")
    db = parts.path.strip("/")
    if db and not db.isdigit():
        raise RedisUrlError("the database after the host's / is not a number")
