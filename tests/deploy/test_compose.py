"""docker-compose.yml: the services of the simulation, their order of start, the ops profile."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from tests.deploy.manifests import ROOT, compose, compose_env, compose_trail_services

PIPELINE = {
    "redis",
    "postgres",
    "weather-service",
    "mock-owm",
    "seed-locations",
    "schedule-jobs",
    "fetch-weather",
    "categorize-trail-conditions",
}
OPS = {"redisinsight", "adminer"}
SENTINEL = {"redis-replica", "redis-sentinel-1", "redis-sentinel-2", "redis-sentinel-3"}
PROFILE_OF = {**{s: ["ops"] for s in OPS}, **{s: ["sentinel"] for s in SENTINEL}}
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
SECRET_WORDS = ("KEY", "SECRET", "PASSWORD", "TOKEN")
INTERPOLATION = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::?-([^}]*))?\}")


def _services() -> dict[str, dict]:
    return compose()["services"]


def test_the_services_and_the_ops_profile() -> None:
    services = _services()
    assert set(services) == PIPELINE | OPS | SENTINEL
    for service_name, service in services.items():
        assert service.get("profiles") == PROFILE_OF.get(service_name), service_name


def test_worker_replicas() -> None:
    services = _services()
    assert services["fetch-weather"]["deploy"]["replicas"] == 3
    assert services["categorize-trail-conditions"]["deploy"]["replicas"] == 2


def test_healthchecks() -> None:
    services = _services()
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    for service_name in ("weather-service", "mock-owm"):
        test = services[service_name]["healthcheck"]["test"]
        assert test[:2] == ["CMD", "python"], f"{service_name}: the slim image has no curl"


def test_redis_and_postgres_images_and_their_volumes() -> None:
    services = _services()
    volumes = set(compose()["volumes"])
    assert services["redis"]["image"].startswith("redis:7")
    command = services["redis"]["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert services["postgres"]["image"].startswith("postgres:16")
    for service_name in ("redis", "postgres", "schedule-jobs"):
        named = [v.split(":")[0] for v in services[service_name]["volumes"]]
        assert named and set(named) <= volumes, service_name


def test_depends_on_uses_conditions_that_can_be_met() -> None:
    services = _services()
    for service_name, service in services.items():
        depends = service.get("depends_on", {})
        assert isinstance(depends, dict), f"{service_name}: depends_on with conditions"
        for other, rule in depends.items():
            assert other in services, f"{service_name} depends on unknown {other}"
            assert rule["condition"] in CONDITIONS
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in services[other], f"{other} has no healthcheck"
            if rule["condition"] == "service_completed_successfully":
                assert services[other].get("restart") == "no", f"{other} must be one-shot"
    assert services["seed-locations"]["depends_on"]["weather-service"]["condition"] == (
        "service_healthy"
    )
    assert services["schedule-jobs"]["depends_on"]["seed-locations"]["condition"] == (
        "service_completed_successfully"
    )
    for worker in ("fetch-weather", "categorize-trail-conditions", "schedule-jobs"):
        for needed in ("redis", "weather-service"):
            assert services[worker]["depends_on"][needed]["condition"] == "service_healthy"
    assert services["fetch-weather"]["depends_on"]["mock-owm"]["condition"] == "service_healthy"
    assert services["weather-service"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_every_trail_service_is_the_one_image() -> None:
    trail = compose_trail_services()
    assert set(trail) == PIPELINE - {"redis", "postgres"}
    assert len({(s["image"], str(s["build"])) for s in trail.values()}) == 1


def test_the_scheduler_repeats_and_keeps_its_outbox_on_the_volume() -> None:
    service = _services()["schedule-jobs"]
    command = service["command"]
    assert command[:1] == ["schedule"] and "--every" in command
    outbox = PurePosixPath(compose_env(service)["OUTBOX_PATH"])
    assert str(outbox.parent) in {v.split(":")[1] for v in service["volumes"]}


def test_the_seed_file_is_in_the_image() -> None:
    command = _services()["seed-locations"]["command"]
    assert command[:2] == ["locations", "import"]
    assert (ROOT / command[2]).is_file(), "the path inside the image (WORKDIR /app)"


def test_secrets_are_only_development_defaults_overridable_from_dotenv() -> None:
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    documented = set(re.findall(r"^#?\s*([A-Z_][A-Z0-9_]*)=", example, flags=re.MULTILINE))
    for service_name, service in _services().items():
        for variable, value in compose_env(service).items():
            for outer, _default in INTERPOLATION.findall(value):
                assert outer in documented, f"{service_name}: ${{{outer}}} not in .env.example"
            if any(word in variable for word in SECRET_WORDS):
                assert INTERPOLATION.fullmatch(value), f"{service_name}: {variable} is literal"


def test_the_keys_on_both_sides_agree() -> None:
    """The default write key the clients send is one the weather service accepts; the mock
    accepts the default OWM key."""
    services = _services()
    weather = compose_env(services["weather-service"])["WEATHER_SERVICE_API_KEYS"]
    mock = compose_env(services["mock-owm"])["MOCK_OWM_API_KEYS"]
    for service_name in ("seed-locations", "schedule-jobs", "fetch-weather"):
        assert compose_env(services[service_name])["WEATHER_SERVICE_API_KEY"] == weather
    assert compose_env(services["fetch-weather"])["OWM_API_KEY"] == mock


PUBLISHED_PORT = re.compile(r"\$\{([A-Z_][A-Z0-9_]*_BIND):-127\.0\.0\.1\}:(\d+):(\d+)")


def test_published_ports_listen_on_loopback_unless_overridden() -> None:
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    published = {}
    for service_name, service in _services().items():
        for port in service.get("ports", []):
            assert isinstance(port, str), f"{service_name}: write ports as strings"
            match = PUBLISHED_PORT.fullmatch(port)
            assert match, f"{service_name}: {port} is not ${{<NAME>_BIND:-127.0.0.1}}:host:guest"
            assert f"\n{match[1]}=127.0.0.1\n" in example, f"{match[1]} not in .env.example"
            published[service_name] = int(match[2])
    assert set(published) == {"weather-service", "mock-owm", "redisinsight", "adminer"}


def test_the_mock_control_token_is_set_from_dotenv_or_made_by_the_mock() -> None:
    env = compose_env(_services()["mock-owm"])
    assert env["MOCK_OWM_ADMIN_TOKEN"] == "${MOCK_OWM_ADMIN_TOKEN:-}"  # empty: made and logged
