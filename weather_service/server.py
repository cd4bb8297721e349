"""Run the service: load settings, migrate the schema, serve with uvicorn until SIGTERM."""

from __future__ import annotations

import uvicorn

from etl_core.gc_tuning import tune_gc
from etl_core.logging import configure_logging, get_logger
from weather_service.app import create_app
from weather_service.migrate import migrate
from weather_service.settings import WeatherServiceSettings

GRACEFUL_SHUTDOWN_S = 20
# An idle kept-alive connection stays open longer than any of our clients keeps one idle
# (services.http_transport.CLIENT_KEEPALIVE_S) and than the usual load balancer idle timeout
# (60 s): a client must never reuse a connection the server has just closed, which fails the
# request with "connection reset" (uvicorn's own default is 5 s).
KEEP_ALIVE_S = 75

log = get_logger(__name__)  # unbound: stays lazy until configure_logging() has run


def serve(host: str, port: int) -> None:
    """Serve the weather service on ``host:port``. Settings come from the environment; a bad one
    raises ``ConfigurationError`` naming it before anything starts."""
    settings = WeatherServiceSettings.load()
    configure_logging(level=settings.weather_service_log_level)
    if settings.weather_service_migrate_on_start:
        migrate(settings.database_url)
    app = create_app(settings.model_copy(update={"weather_service_migrate_on_start": False}))
    tune_gc()
    log.info("serving", host=host, port=port)
    uvicorn.run(
        app,
        host=host,
        port=port,
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        timeout_keep_alive=KEEP_ALIVE_S,
        proxy_headers=False,
        server_header=False,  # no "server: uvicorn": it only tells a scanner what to try
    )
