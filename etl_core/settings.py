"""The base of every deployable's settings class.

The library itself reads no environment variables: each deployable (a service, the CLI) defines one
subclass of ``ServiceSettings``, reads it once at start, and passes plain values into the library.
A wrong or missing setting fails at start with a message naming the environment variable; it
echoes the wrong value, except a secret's (a name with KEY, SECRET, PASSWORD or TOKEN in it) and
the password of a URL (``etl_core.redact``). Secret settings are ``SecretStr`` fields, so a
settings object shown in a log or traceback shows ``**********`` for them.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from etl_core.errors import ConfigurationError
from etl_core.redact import redact_text, redact_url

# A setting whose name contains one of these is never echoed back in an error message.
SECRET_WORDS = ("KEY", "SECRET", "PASSWORD", "TOKEN")


class ServiceSettings(BaseSettings):
    """Fields map to upper-case environment variables (``redis_url`` -> ``REDIS_URL``)."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False, frozen=True)

    @classmethod
    def load(cls, **overrides: Any) -> Any:
        """Read the environment; raise ``ConfigurationError`` naming each bad variable.

        ``overrides`` (field names) win over the environment. Unknown environment variables are
        ignored, as a pod's environment holds many, but an unknown override is a ``TypeError``:
        it is a typo in code, which would otherwise be dropped without a word.
        """
        unknown = sorted(set(overrides) - set(cls.model_fields))
        if unknown:
            raise TypeError(f"{cls.__name__}.load: unknown settings {', '.join(unknown)}")
        try:
            return cls(**overrides)
        except ValidationError as exc:
            problems = []
            prefix = cls.model_config.get("env_prefix", "") or ""
            for err in exc.errors():
                name = (prefix + "_".join(str(p) for p in err["loc"])).upper() or cls.__name__
                value = err.get("input")
                secret = any(word in name for word in SECRET_WORDS)
                if isinstance(value, str):
                    value = redact_url(value)  # a URL's password, even one with a space in it
                shown = "" if isinstance(value, dict) or secret else f" (got {value!r})"
                problems.append(redact_text(f"{name}: {err['msg']}{shown}"))
            raise ConfigurationError(
                "invalid settings: " + "; ".join(problems)
            ) from None
