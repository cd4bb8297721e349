"""Deployment files and code cannot drift: every command they run exists in the CLI, every
variable they set is read by the settings class of the deployable that gets it, and every probe
and scrape port and path is one the code serves."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.routing import APIRoute

from etl_core.worker.probes import LIVENESS_PATH, METRICS_PATH, READINESS_PATH
from mock_owm.app import create_app as create_mock_app
from mock_owm.settings import MockOwmSettings
from services.cli import app as cli_app
from services.worker_settings import WorkerSettings
from tests.deploy.cli_tree import (
    UsageError,
    default_of,
    env_names,
    resolve,
    settings_of,
)
from tests.deploy.manifests import (
    K8S,
    compose,
    compose_env,
    compose_trail_services,
    composing_variables,
    container_env,
    find,
    kustomizations,
    name,
    pod_template_metadata,
    render,
    trail_containers,
)
from weather_service.api import health
from weather_service.app import create_app as create_weather_app
from weather_service.server import GRACEFUL_SHUTDOWN_S
from weather_service.settings import WeatherServiceSettings

URL_IN_HEALTHCHECK = re.compile(r"https?://[^'\"\s]+")


def _k8s_containers() -> list[tuple[str, Any, Any, Any, list[Any]]]:
    out = []
    for directory in kustomizations():
        docs = render(directory)
        for doc, spec, container in trail_containers(docs):
            where = f"{directory.relative_to(K8S.parent)}: {doc['kind']}/{name(doc)}"
            out.append((where, doc, spec, container, docs))
    return out


def _weather_route(endpoint: Any) -> str:
    (path,) = [
        r.path for r in health.router.routes if isinstance(r, APIRoute) and r.endpoint is endpoint
    ]
    return path


def _weather_paths(tmp_path: Path) -> set[str]:
    settings = WeatherServiceSettings(
        database_url=f"sqlite:///{tmp_path}/probe.db", weather_service_allow_anonymous_writes=True
    )
    return set(create_weather_app(settings).openapi()["paths"])


def _port_arg(argv: list[str]) -> int:
    return int(argv[argv.index("--port") + 1])


# --- commands -----------------------------------------------------------------------------------


def test_the_resolver_refuses_what_the_cli_refuses() -> None:
    assert resolve(["worker", "fetch-weather", "--concurrency", "4"]) == ("worker", "fetch-weather")
    assert resolve(["schedule", "--every", "5m"]) == ("schedule",)
    for bad in (
        ["worker", "fetch"],
        ["schedule", "--evry", "5m"],
        ["serve", "weather-service", "--port", "0"],
        ["locations"],
        ["status", "extra"],
    ):
        with pytest.raises(UsageError):
            resolve(bad)


def test_every_compose_command_is_a_trail_etl_command() -> None:
    for service_name, service in compose_trail_services().items():
        assert resolve(service["command"]), service_name
        assert "entrypoint" not in service, f"{service_name}: the image's ENTRYPOINT is trail-etl"


def test_every_kubernetes_command_is_a_trail_etl_command() -> None:
    containers = _k8s_containers()
    assert len(containers) >= 4 * len(kustomizations())
    for where, _doc, _spec, container, _docs in containers:
        assert resolve(container["args"]), where


def test_the_image_default_command_is_the_help() -> None:
    from typer.testing import CliRunner

    result = CliRunner().invoke(cli_app, ["--help"])
    assert result.exit_code == 0 and "worker" in result.stdout


# --- environment variables ----------------------------------------------------------------------


def test_every_compose_variable_is_read_by_its_deployable() -> None:
    for service_name, service in compose_trail_services().items():
        cls = settings_of(service["command"])
        unknown = set(compose_env(service)) - env_names(cls)
        assert not unknown, f"compose {service_name}: {cls.__name__} reads no {sorted(unknown)}"


def test_every_kubernetes_variable_is_read_by_its_deployable() -> None:
    for where, _doc, _spec, container, docs in _k8s_containers():
        cls = settings_of(container["args"])
        # A variable only there to be expanded into another ($(REDIS_PASSWORD) in REDIS_URL).
        helpers = composing_variables(container)
        unknown = set(container_env(docs, container)) - env_names(cls) - helpers
        assert not unknown, f"{where}: {cls.__name__} reads no {sorted(unknown)}"


def test_required_settings_are_given_everywhere() -> None:
    """A setting without a default must be set, else the deployable exits 2 at start."""
    for service_name, service in compose_trail_services().items():
        _assert_required(f"compose {service_name}", service["command"], set(compose_env(service)))
    for where, _doc, _spec, container, docs in _k8s_containers():
        _assert_required(where, container["args"], set(container_env(docs, container)))


def _assert_required(where: str, argv: list[str], given: set[str]) -> None:
    cls = settings_of(argv)
    prefix = (cls.model_config.get("env_prefix") or "").upper()
    required = {prefix + n.upper() for n, f in cls.model_fields.items() if f.is_required()}
    assert required <= given, f"{where}: {sorted(required - given)} not set"


# --- probes, ports, scrape annotations ----------------------------------------------------------


def _container_port(container: Any, port: int | str) -> int:
    if isinstance(port, int):
        return port
    (number,) = [p["containerPort"] for p in container["ports"] if p["name"] == port]
    return int(number)


def test_worker_probes_and_scraping_use_the_metrics_port() -> None:
    workers = [c for c in _k8s_containers() if c[3]["args"][0] == "worker"]
    assert len(workers) >= 2 * len(kustomizations())
    for where, doc, spec, container, docs in workers:
        cls = settings_of(container["args"])
        env = container_env(docs, container)
        port = int(env.get("METRICS_PORT") or default_of(cls, "METRICS_PORT"))
        assert port == WorkerSettings.model_fields["metrics_port"].default or "METRICS_PORT" in env
        live, ready = container["livenessProbe"]["httpGet"], container["readinessProbe"]["httpGet"]
        assert live["path"] == LIVENESS_PATH, where
        assert ready["path"] == READINESS_PATH, where
        assert _container_port(container, live["port"]) == port, where
        assert _container_port(container, ready["port"]) == port, where
        annotations = pod_template_metadata(doc)["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert int(annotations["prometheus.io/port"]) == port, where
        assert annotations["prometheus.io/path"] == METRICS_PATH
        grace = float(
            env.get("WORKER_SHUTDOWN_GRACE_S") or default_of(cls, "WORKER_SHUTDOWN_GRACE_S")
        )
        assert spec["terminationGracePeriodSeconds"] > grace, where


def test_weather_service_probes_are_its_routes(tmp_path: Path) -> None:
    liveness, readiness = _weather_route(health.health), _weather_route(health.ready)
    served = _weather_paths(tmp_path)
    assert {liveness, readiness, "/metrics"} <= served
    services = [c for c in _k8s_containers() if c[3]["args"][:2] == ["serve", "weather-service"]]
    assert services
    for where, doc, spec, container, docs in services:
        port = _port_arg(container["args"])
        for probe, path in (
            ("startupProbe", liveness),
            ("livenessProbe", liveness),
            ("readinessProbe", readiness),
        ):
            get = container[probe]["httpGet"]
            assert get["path"] == path, f"{where} {probe}"
            assert _container_port(container, get["port"]) == port, f"{where} {probe}"
        assert int(pod_template_metadata(doc)["annotations"]["prometheus.io/port"]) == port
        assert spec["terminationGracePeriodSeconds"] > GRACEFUL_SHUTDOWN_S, where
        service = find(docs, "Service", "weather-service")
        (service_port,) = service["spec"]["ports"]
        assert _container_port(container, service_port["targetPort"]) == port
        url = urlsplit(
            str(find(docs, "ConfigMap", "trail-etl-pipeline")["data"]["WEATHER_SERVICE_URL"])
        )
        assert (url.hostname, url.port) == (name(service), service_port["port"]), where


def test_compose_healthchecks_and_urls_match_the_services(tmp_path: Path) -> None:
    services = compose()["services"]
    weather_port = _port_arg(services["weather-service"]["command"])
    mock_port = _port_arg(services["mock-owm"]["command"])
    (ready_url,) = URL_IN_HEALTHCHECK.findall(
        " ".join(services["weather-service"]["healthcheck"]["test"])
    )
    assert urlsplit(ready_url).path == _weather_route(health.ready)
    assert urlsplit(ready_url).port == weather_port
    (mock_url,) = URL_IN_HEALTHCHECK.findall(" ".join(services["mock-owm"]["healthcheck"]["test"]))
    assert urlsplit(mock_url).path in create_mock_app(MockOwmSettings.load()).openapi()["paths"]
    assert urlsplit(mock_url).port == mock_port
    for service_name, service in compose_trail_services().items():
        env = compose_env(service)
        if "WEATHER_SERVICE_URL" in env:
            url = urlsplit(env["WEATHER_SERVICE_URL"])
            assert (url.hostname, url.port) == ("weather-service", weather_port), service_name
    owm = urlsplit(
        compose_env(services["fetch-weather"])["OWM_BASE_URL"].split(":-", 1)[1].rstrip("}")
    )
    assert (owm.hostname, owm.port) == ("mock-owm", mock_port)


def test_compose_workers_get_time_to_finish_their_tasks() -> None:
    for service_name in ("fetch-weather", "categorize-trail-conditions"):
        service = compose()["services"][service_name]
        cls = settings_of(service["command"])
        grace = float(
            compose_env(service).get("WORKER_SHUTDOWN_GRACE_S")
            or default_of(cls, "WORKER_SHUTDOWN_GRACE_S")
        )
        assert int(service["stop_grace_period"].rstrip("s")) > grace, service_name
