"""Run the mock as a process: ``serve(host, port)`` (the ``trail-etl serve mock-owm`` command
calls it), or ``python -m mock_owm.server --host 127.0.0.1 --port 8081``."""

from __future__ import annotations

import argparse

import uvicorn

from etl_core.gc_tuning import tune_gc
from etl_core.logging import configure_logging, get_logger
from mock_owm.app import create_app
from mock_owm.settings import MockOwmSettings

# The generator allocates many small tuples; with the default thresholds the cyclic collector
# runs thousands of times a second and rescans the caches. None of these objects form cycles.
GC_THRESHOLDS = (50_000, 50, 100)
# Requests still open at shutdown (an injected hang, say) are not waited for longer than this.
GRACEFUL_SHUTDOWN_S = 2
# Longer than the clients keep an idle connection (services.http_transport.CLIENT_KEEPALIVE_S), as
# the real API's front ends are: a client must not reuse a connection the server has just closed.
KEEP_ALIVE_S = 75

log = get_logger(__name__, component="mock_owm")


def serve(host: str, port: int) -> None:
    """Load ``MOCK_OWM_*`` settings, then serve until interrupted."""
    settings = MockOwmSettings.load()
    configure_logging(level=settings.log_level)
    app = create_app(settings)
    mock = app.state.mock
    if mock.admin_token_generated:
        # Printed once, so that whoever started the mock can use its control endpoints; set
        # MOCK_OWM_ADMIN_TOKEN to keep it out of the log.
        log.warning("mock_owm.admin_token_generated", admin_token=mock.admin_token,
                    header="Authorization: Bearer <admin_token>")
    tune_gc(GC_THRESHOLDS)
    log.info("mock_owm.serving", host=host, port=port, api_keys=len(settings.api_keys),
             fixed_now=settings.now.isoformat() if settings.now else None,
             rate_limit_per_minute=settings.rate_limit_per_minute,
             rate_limit_per_day=settings.rate_limit_per_day)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=settings.access_log,
                lifespan="off", timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
                timeout_keep_alive=KEEP_ALIVE_S)


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the OpenWeatherMap mock.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    args = parser.parse_args()
    serve(args.host, args.port)


if __name__ == "__main__":
    main()
