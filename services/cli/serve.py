"""``trail-etl serve``: run one of the HTTP services with uvicorn."""

from __future__ import annotations

from collections.abc import Callable

import typer

from etl_core.errors import ConfigurationError
from services.cli.common import fail
from services.settings_types import WEATHER_SERVICE_PORT

app = typer.Typer(help="Run an HTTP service (uvicorn).", no_args_is_help=True)

HOST_HELP = "Interface to bind."
PORT_HELP = "TCP port to listen on."


@app.command("weather-service")
def weather_service(
    host: str = typer.Option("127.0.0.1", help=HOST_HELP),
    port: int = typer.Option(WEATHER_SERVICE_PORT, min=1, max=65535, help=PORT_HELP),
) -> None:
    """The weather service (settings: DATABASE_URL, WEATHER_SERVICE_API_KEYS, ...)."""
    from weather_service.server import serve

    _run(serve, host, port)


@app.command("mock-owm")
def mock_owm(
    host: str = typer.Option("127.0.0.1", help=HOST_HELP),
    port: int = typer.Option(8001, min=1, max=65535, help=PORT_HELP),
) -> None:
    """The OpenWeatherMap One Call 3.0 mock (settings: MOCK_OWM_*)."""
    from mock_owm.server import serve

    _run(serve, host, port)


def _run(serve: Callable[[str, int], None], host: str, port: int) -> None:
    """A wrong setting is one clear line naming it, not a traceback."""
    try:
        serve(host, port)
    except ConfigurationError as exc:
        raise fail(str(exc)) from None
