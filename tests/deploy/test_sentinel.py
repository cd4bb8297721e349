"""Redis Sentinel: deploy/k8s/overlays/sentinel and the compose profile `sentinel`, offline.

The URLs are read with the project's own parser (``etl_core.redis_url``) and settings, and the
pods' start scripts are run with a stand-in ``redis-cli`` to check which node they make the master.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from etl_core.redis_url import SentinelUrl, is_sentinel_url, parse_sentinel_url
from services.redis_settings import RedisSettings
from tests.deploy.manifests import (
    K8S,
    ROOT,
    Doc,
    compose,
    compose_env,
    compose_trail_services,
    find,
    load_one,
    name,
    pod_spec,
    render,
    secret_refs,
    trail_containers,
)

SENTINEL = K8S / "overlays" / "sentinel"
SECRET_EXAMPLE = SENTINEL / "secret-redis.example.yaml"
COMPOSE_OVERRIDE = ROOT / "deploy" / "compose" / "sentinel.yml"
COMPOSE_SENTINEL_CONF = ROOT / "deploy" / "compose" / "sentinel.conf"
NAMESPACE = "trail-etl"
PASSWORD = "0123456789abcdef" * 4  # what `openssl rand -hex 32` gives: URL-safe as it is
MONITOR = re.compile(r"^sentinel monitor (\S+) (\S+) (\d+) (\d+)$", re.MULTILINE)


def _docs() -> list[Doc]:
    return render(SENTINEL)


def _container(doc: Doc) -> Doc:
    spec = pod_spec(doc)
    assert spec is not None
    (container,) = spec["containers"]
    return container


def _env_values(container: Doc) -> dict[str, str]:
    return {item["name"]: item["value"] for item in container.get("env", []) if "value" in item}


def _conf(text: str) -> dict[str, str]:
    """``directive value`` lines of a Redis configuration (comments and blanks dropped)."""
    lines = [line.split(None, 1) for line in text.splitlines() if line.strip()]
    return {parts[0]: parts[1] for parts in lines if not parts[0].startswith("#")}


def _app_urls(docs: list[Doc]) -> dict[str, SentinelUrl]:
    """REDIS_URL of every trail-etl container, the password from the Secret put in."""
    urls = {}
    for doc, _spec, container in trail_containers(docs):
        value = _env_values(container).get("REDIS_URL")
        if value is not None:
            url = value.replace("$(REDIS_PASSWORD)", PASSWORD)
            RedisSettings(redis_url=url)  # the settings' own validation, as at start
            urls[f"{doc['kind']}/{name(doc)}"] = parse_sentinel_url(url)
    return urls


# --- Kubernetes: the overlay --------------------------------------------------------------------


def test_three_data_nodes_and_three_sentinels_behind_headless_services() -> None:
    docs = _docs()
    for workload, port in (("redis", 6379), ("redis-sentinel", 26379)):
        sts = find(docs, "StatefulSet", workload)
        assert sts["spec"]["replicas"] == 3, workload
        service = find(docs, "Service", sts["spec"]["serviceName"])
        assert service["spec"]["clusterIP"] == "None", f"{workload}: pods need their own names"
        assert service["spec"]["publishNotReadyAddresses"] is True, "found while they start"
        (service_port,) = service["spec"]["ports"]
        (container_port,) = _container(sts)["ports"]
        assert service_port["port"] == port == container_port["containerPort"]
        assert service_port["targetPort"] == container_port["name"]
        pdb = find(docs, "PodDisruptionBudget", workload)
        assert pdb["spec"]["maxUnavailable"] == 1, "a drain keeps the quorum and a replica"
    assert find(docs, "StatefulSet", "redis")["spec"]["volumeClaimTemplates"]


def test_redis_url_names_the_three_sentinels_and_the_master() -> None:
    docs = _docs()
    urls = _app_urls(docs)
    assert set(urls) == {
        "Deployment/fetch-weather",
        "Deployment/categorize-trail-conditions",
        "CronJob/schedule-jobs",
    }
    sts = find(docs, "StatefulSet", "redis-sentinel")
    service = find(docs, "Service", sts["spec"]["serviceName"])
    port = service["spec"]["ports"][0]["port"]
    expected = {
        (f"{name(sts)}-{i}.{name(service)}.{NAMESPACE}.svc.cluster.local", port)
        for i in range(sts["spec"]["replicas"])
    }
    masters = {
        _env_values(_container(find(docs, "StatefulSet", w)))["REDIS_MASTER_NAME"]
        for w in ("redis", "redis-sentinel")
    }
    assert len(masters) == 1, "the data nodes and the sentinels name one master"
    for where, url in urls.items():
        assert set(url.sentinels) == expected and len(url.sentinels) == 3, where
        assert {url.master_name} == masters, where
        assert url.password == PASSWORD and url.username is None, where
        assert url.db == 0 and not url.tls, where


def test_no_config_map_holds_a_redis_url_and_secrets_come_from_the_example_secret() -> None:
    docs = _docs()
    for doc in docs:
        if doc["kind"] == "ConfigMap":
            assert "REDIS_URL" not in doc["data"], f"{name(doc)}: the URL carries the password"
            assert not any(is_sentinel_url(str(v)) for v in doc["data"].values()), name(doc)
    example = load_one(SECRET_EXAMPLE)
    assert name(example) == "trail-etl-redis" and example["kind"] == "Secret"
    assert all(value.startswith("REPLACE-ME") for value in example["stringData"].values())
    resources = load_one(SENTINEL / "kustomization.yaml")["resources"]
    assert SECRET_EXAMPLE.name not in resources
    used = set()
    for doc in docs:
        spec = pod_spec(doc)
        for container in spec["containers"] if spec else []:
            for variable, secret, key in secret_refs(container):
                if secret == name(example):
                    assert key in example["stringData"], f"{name(doc)}: {variable}"
                    used.add(key)
                    assert variable == key, f"{name(doc)}: {variable} is the secret's {key}"
    assert used == set(example["stringData"]), "every key read, none missing"


def test_the_data_nodes_keep_what_they_acknowledged_and_wait_for_a_replica() -> None:
    conf = _conf(find(_docs(), "ConfigMap", "redis-sentinel-config")["data"]["redis.conf"])
    assert conf["appendonly"] == "yes"
    assert conf["maxmemory-policy"] == "noeviction"
    assert int(conf["min-replicas-to-write"]) == 1
    assert 0 < int(conf["min-replicas-max-lag"]) <= 10
    assert "requirepass" not in conf and "replicaof" not in conf, "added at start by the script"


def test_the_pods_run_the_start_scripts_of_the_config_map() -> None:
    docs = _docs()
    scripts = find(docs, "ConfigMap", "redis-sentinel-config")
    for workload, script in (("redis", "start-redis.sh"), ("redis-sentinel", "start-sentinel.sh")):
        sts = find(docs, "StatefulSet", workload)
        container = _container(sts)
        assert container["command"] == ["sh", f"/etc/redis/{script}"]
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in _volumes(sts)}
        assert volumes[mounts["/etc/redis"]]["configMap"]["name"] == name(scripts)
        assert script in scripts["data"]
        run_dir = "/run/redis" if workload == "redis" else "/run/sentinel"
        assert f"conf_dir={run_dir}\n" in scripts["data"][script]
        assert "emptyDir" in volumes[mounts[run_dir]], f"{workload}: the passwords stay in memory"
        assert container["securityContext"]["readOnlyRootFilesystem"] is True


def _volumes(doc: Doc) -> list[Doc]:
    spec = pod_spec(doc)
    assert spec is not None
    return list(spec.get("volumes", []))


# --- Kubernetes: which node the start scripts make the master -----------------------------------

FAKE_REDIS_CLI = """#!/bin/sh
# A stand-in redis-cli: FAKE_SENTINEL_ANSWER is what every sentinel says (unset: none answers),
# FAKE_MASTER_NODE the data node that says role:master (unset: none does).
host=""
while [ $# -gt 0 ]; do
  case "$1" in
    -h) host="$2"; shift 2 ;;
    SENTINEL)
      echo "sentinel $host" >> "$FAKE_LOG"
      if [ -n "${FAKE_SENTINEL_ANSWER+set}" ]; then
        printf '%s\\n6379\\n' "$FAKE_SENTINEL_ANSWER"; exit 0
      fi
      echo "Could not connect to Redis at $host:26379" >&2; exit 1 ;;
    INFO)
      echo "node $host" >> "$FAKE_LOG"
      if [ "$host" = "${FAKE_MASTER_NODE:-}" ]; then echo "role:master"; exit 0; fi
      if [ -n "${FAKE_MASTER_NODE:-}" ]; then echo "role:slave"; exit 0; fi
      echo "Could not connect to Redis at $host:6379" >&2; exit 1 ;;
    *) shift ;;
  esac
done
"""
FAKE_SERVER = '#!/bin/sh\ncp "$1" "$FAKE_OUT"\n'


def _node(i: int) -> str:
    return f"redis-{i}.redis.{NAMESPACE}.svc.cluster.local"


def _start(
    tmp_path: Path, script: str, pod: str, *, sentinel_says: str | None, master_node: str | None
) -> tuple[str, str]:
    """Run ``script`` of the ConfigMap as pod ``pod``; (the configuration it starts the server
    with, what it asked)."""
    if shutil.which("sh") is None or shutil.which("timeout") is None:
        pytest.skip("needs sh and timeout")
    data = find(_docs(), "ConfigMap", "redis-sentinel-config")["data"]
    bin_dir, run_dir, etc_dir = tmp_path / "bin", tmp_path / "run", tmp_path / "etc"
    for directory in (bin_dir, run_dir, etc_dir):
        directory.mkdir(exist_ok=True)
    (etc_dir / "redis.conf").write_text(data["redis.conf"])
    for tool, text in (
        ("redis-cli", FAKE_REDIS_CLI),
        ("redis-server", FAKE_SERVER),
        ("redis-sentinel", FAKE_SERVER),
    ):
        (bin_dir / tool).write_text(text)
        (bin_dir / tool).chmod(0o755)
    text = re.sub(r"conf_dir=/run/\w+", f"conf_dir={run_dir}", data[script])
    text = text.replace("/etc/redis/redis.conf", str(etc_dir / "redis.conf"))
    (tmp_path / script).write_text(text)
    env: dict[str, Any] = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "POD_NAME": pod,
        "POD_NAMESPACE": NAMESPACE,
        "CLUSTER_DOMAIN": "cluster.local",
        "REDIS_MASTER_NAME": _env_values(_container(find(_docs(), "StatefulSet", "redis")))[
            "REDIS_MASTER_NAME"
        ],
        "REDIS_PASSWORD": PASSWORD,
        "REDIS_SENTINEL_PASSWORD": PASSWORD[::-1],
        "REDISCLI_AUTH": PASSWORD,
        "FAKE_OUT": str(tmp_path / "started.conf"),
        "FAKE_LOG": str(tmp_path / "asked.log"),
    }
    if sentinel_says is not None:
        env["FAKE_SENTINEL_ANSWER"] = sentinel_says
    if master_node is not None:
        env["FAKE_MASTER_NODE"] = master_node
    subprocess.run(["sh", str(tmp_path / script)], env=env, check=True, timeout=60)
    asked = (tmp_path / "asked.log").read_text() if (tmp_path / "asked.log").exists() else ""
    return (tmp_path / "started.conf").read_text(), asked


@pytest.mark.parametrize(
    ("pod", "sentinel_says", "master_node", "replica_of"),
    [
        ("redis-0", None, None, None),  # the very first start: redis-0 is the master
        ("redis-1", None, None, _node(0)),  # ... and the others replicate it
        ("redis-0", _node(2), None, _node(2)),  # restarted after a failover: not a second master
        ("redis-2", _node(2), None, None),  # the sentinels say it is the master: it stays one
        ("redis-0", None, _node(1), _node(1)),  # no sentinel answers: the node that is master
        ("redis-1", "NOAUTH Authentication required.", None, _node(0)),  # an error, not a host
    ],
)
def test_the_data_node_starts_as_what_the_sentinels_say(
    tmp_path: Path, pod: str, sentinel_says: str | None, master_node: str | None, replica_of: str
) -> None:
    started, asked = _start(
        tmp_path, "start-redis.sh", pod, sentinel_says=sentinel_says, master_node=master_node
    )
    conf = _conf(started)
    assert conf.get("replicaof") == (f"{replica_of} 6379" if replica_of else None)
    assert conf["replica-announce-ip"] == f"{pod}.redis.{NAMESPACE}.svc.cluster.local"
    assert conf["requirepass"] == conf["masterauth"] == f'"{PASSWORD}"'
    assert conf["appendonly"] == "yes" and conf["min-replicas-to-write"] == "1"
    assert asked.startswith("sentinel redis-sentinel-0.redis-sentinel."), "the sentinels first"


@pytest.mark.parametrize(
    ("pod", "peer_says", "master_node", "monitored"),
    [
        ("redis-sentinel-0", None, None, _node(0)),
        ("redis-sentinel-1", _node(2), None, _node(2)),  # restarted: its peers know better
        ("redis-sentinel-2", None, _node(1), _node(1)),  # no peer: the node that is master
    ],
)
def test_the_sentinel_monitors_the_current_master_with_a_quorum_of_two(
    tmp_path: Path, pod: str, peer_says: str | None, master_node: str | None, monitored: str
) -> None:
    started, asked = _start(
        tmp_path, "start-sentinel.sh", pod, sentinel_says=peer_says, master_node=master_node
    )
    assert f"sentinel {pod}." not in asked, "a sentinel does not ask itself"
    ((master_name, host, port, quorum),) = MONITOR.findall(started)
    sentinels = find(_docs(), "StatefulSet", "redis-sentinel")["spec"]["replicas"]
    assert (host, port) == (monitored, "6379")
    assert int(quorum) == 2 and sentinels == 3 and int(quorum) > sentinels // 2
    (url,) = set(_app_urls(_docs()).values())
    assert master_name == url.master_name
    lines = started.splitlines()
    monitor_at = next(i for i, line in enumerate(lines) if line.startswith("sentinel monitor"))
    for needed in ("sentinel resolve-hostnames yes", "sentinel announce-hostnames yes"):
        assert lines.index(needed) < monitor_at, f"{needed} must precede the host name"
    conf = _conf(started)
    assert conf["requirepass"] == f'"{PASSWORD[::-1]}"', "the sentinels' own password"
    assert f'sentinel auth-pass {master_name} "{PASSWORD}"' in lines
    assert f"sentinel announce-ip {pod}.redis-sentinel.{NAMESPACE}.svc.cluster.local" in lines


# --- docker compose: the `sentinel` profile -----------------------------------------------------


def _compose_sentinels() -> dict[str, Doc]:
    return {
        service_name: service
        for service_name, service in compose()["services"].items()
        if service_name.startswith("redis-sentinel-")
    }


def test_the_compose_profile_has_a_replica_and_three_sentinels_of_the_one_image() -> None:
    services = compose()["services"]
    image = services["redis"]["image"]
    sentinels = _compose_sentinels()
    assert set(sentinels) == {f"redis-sentinel-{i}" for i in (1, 2, 3)}
    replica = services["redis-replica"]
    for service_name, service in {**sentinels, "redis-replica": replica}.items():
        assert service["profiles"] == ["sentinel"], service_name
        assert service["image"] == image, service_name
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
        assert "healthcheck" in service, service_name
    command = replica["command"]
    assert command[command.index("--replicaof") + 1 :][:2] == ["redis", "6379"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--replica-announce-ip") + 1] == "redis-replica"
    for service_name, service in sentinels.items():
        assert compose_env(service)["SENTINEL_ANNOUNCE_HOST"] == service_name
        assert "$$SENTINEL_ANNOUNCE_HOST" in service["command"][0], "expanded by sh, not compose"
        (mount,) = service["volumes"]
        source, target = mount.split(":")[:2]
        assert (ROOT / source).resolve() == COMPOSE_SENTINEL_CONF
        assert f"cp {target} " in service["command"][0], "a copy: the sentinel rewrites its file"


def test_the_compose_sentinels_watch_redis_under_the_name_the_app_asks_for() -> None:
    text = COMPOSE_SENTINEL_CONF.read_text(encoding="utf-8")
    ((master_name, host, port, quorum),) = MONITOR.findall(text)
    assert (host, port) == ("redis", "6379")
    assert int(quorum) == 2 and int(quorum) > len(_compose_sentinels()) // 2
    lines = text.splitlines()
    monitor_at = next(i for i, line in enumerate(lines) if line.startswith("sentinel monitor"))
    assert lines.index("sentinel resolve-hostnames yes") < monitor_at
    assert "sentinel announce-hostnames yes" in lines
    override = load_one(COMPOSE_OVERRIDE)["services"]
    trail = compose_trail_services()
    assert set(override) == {
        service_name
        for service_name, service in trail.items()
        if "REDIS_URL" in compose_env(service)
    }, "every service that talks to Redis, and only those"
    for service_name, service in override.items():
        url_text = compose_env(service)["REDIS_URL"]
        RedisSettings(redis_url=url_text)
        url = parse_sentinel_url(url_text)
        assert url.master_name == master_name, service_name
        assert set(url.sentinels) == {(s, 26379) for s in _compose_sentinels()}, service_name
        for needed in [*_compose_sentinels(), "redis-replica"]:
            assert service["depends_on"][needed]["condition"] == "service_healthy"


def test_the_default_compose_up_is_unchanged() -> None:
    """Without the profile and the override, the app still talks to the plain redis."""
    for service_name, service in compose_trail_services().items():
        env = compose_env(service)
        if "REDIS_URL" in env:
            assert env["REDIS_URL"] == "redis://redis:6379/0", service_name
        for needed in service.get("depends_on", {}):
            assert not compose()["services"][needed].get("profiles"), service_name
