"""The Kubernetes manifests: valid against the API schemas, and wired the way the code needs."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import kubernetes_validate
import pytest

from tests.deploy.manifests import (
    K8S,
    K8S_VERSION,
    PRODUCTION,
    SECRET_EXAMPLE,
    Doc,
    container_env,
    find,
    kustomizations,
    load_all,
    load_one,
    name,
    pod_spec,
    pod_template_metadata,
    render,
    secret_refs,
    trail_containers,
)

KEDA = K8S / "overlays" / "keda"
WITH_REDIS = K8S / "overlays" / "with-redis"
SECRET_NAME = "trail-etl-secrets"


def _validate(doc: Doc) -> None:
    try:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        pytest.fail(f"{doc['kind']}/{name(doc)}: {exc.message} at {list(exc.absolute_path)}")


@pytest.mark.parametrize("directory", kustomizations(), ids=lambda p: str(p.relative_to(K8S)))
def test_every_rendered_object_validates_strictly(directory: Path) -> None:
    for doc in render(directory):
        if doc["apiVersion"].startswith("keda.sh/"):
            continue  # a CRD: no schema shipped; checked by hand below
        _validate(doc)


def test_the_example_secret_validates_and_is_not_applied_by_default() -> None:
    secret = load_one(SECRET_EXAMPLE)
    _validate(secret)
    assert name(secret) == SECRET_NAME
    assert all(
        value.startswith("REPLACE-ME") or "REPLACE-ME" in value
        for value in secret["stringData"].values()
    ), "placeholders only"
    for directory in kustomizations():
        resources = load_one(directory / "kustomization.yaml")["resources"]
        assert not any("secret" in entry for entry in resources), directory
        assert not any(doc["kind"] == "Secret" for doc in render(directory)), directory


def test_the_base_has_what_production_runs() -> None:
    docs = render()
    kinds = {(doc["kind"], name(doc)) for doc in docs}
    assert kinds >= PRODUCTION
    assert not any(doc["apiVersion"].startswith("keda.sh/") for doc in docs)
    assert not any(doc["kind"] == "StatefulSet" for doc in docs), "Redis is not in the base"
    assert all(
        doc["metadata"].get("namespace") == "trail-etl"
        for doc in docs
        if doc["kind"] != "Namespace"
    )


def test_secret_references_name_keys_of_the_example_secret_and_all_are_used() -> None:
    keys = set(load_one(SECRET_EXAMPLE)["stringData"])
    used = set()
    for _doc, _spec, container in trail_containers(render()):
        for _variable, secret, key in secret_refs(container):
            assert secret == SECRET_NAME
            assert key in keys, f"{container['name']}: {key} is not in secret.example.yaml"
            used.add(key)
    assert used == keys, f"keys no container reads: {keys - used}"


def test_every_config_map_is_read_by_some_container() -> None:
    docs = render()
    read = {
        source["configMapRef"]["name"]
        for _doc, _spec, container in trail_containers(docs)
        for source in container.get("envFrom", [])
    }
    assert {name(doc) for doc in docs if doc["kind"] == "ConfigMap"} == read


def test_the_schedule_cron_job() -> None:
    docs = render()
    cron = find(docs, "CronJob", "schedule-jobs")
    spec = cron["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["startingDeadlineSeconds"] > 0
    assert spec["successfulJobsHistoryLimit"] >= 1 and spec["failedJobsHistoryLimit"] >= 1
    assert spec["jobTemplate"]["spec"]["backoffLimit"] >= 1
    pod = pod_spec(cron)
    assert pod is not None
    (container,) = pod["containers"]
    outbox = PurePosixPath(str(container_env(docs, container)["OUTBOX_PATH"]))
    claims = {
        v["name"]: v["persistentVolumeClaim"]["claimName"]
        for v in pod["volumes"]
        if "persistentVolumeClaim" in v
    }
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert str(outbox.parent) in mounts, f"OUTBOX_PATH {outbox} is not on a mounted volume"
    claim = claims[mounts[str(outbox.parent)]]
    find(docs, "PersistentVolumeClaim", claim)


@pytest.mark.parametrize("directory", kustomizations(), ids=lambda p: str(p.relative_to(K8S)))
def test_workloads_are_locked_down_and_sized(directory: Path) -> None:
    for doc, spec, container in trail_containers(render(directory)):
        where = f"{directory.name}: {doc['kind']}/{name(doc)}"
        pod_security = spec.get("securityContext", {})
        security = container.get("securityContext", {})
        assert pod_security.get("runAsNonRoot") or security.get("runAsNonRoot"), where
        assert security.get("readOnlyRootFilesystem") is True, where
        assert security.get("allowPrivilegeEscalation") is False, where
        assert security.get("capabilities", {}).get("drop") == ["ALL"], where
        resources = container["resources"]
        assert {"cpu", "memory"} <= set(resources["requests"]), where
        assert {"cpu", "memory"} <= set(resources["limits"]), where
        assert "command" not in container, f"{where}: use args (the ENTRYPOINT is trail-etl)"
        mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
        assert "/tmp" in mounts, f"{where}: a writable /tmp with the read-only root"


def test_selectors_match_their_pod_labels() -> None:
    for directory in kustomizations():
        for doc in render(directory):
            if doc["kind"] in {"Deployment", "StatefulSet"}:
                labels = pod_template_metadata(doc)["labels"]
                selector = doc["spec"]["selector"]["matchLabels"]
                assert selector.items() <= labels.items(), name(doc)
            if doc["kind"] == "Service":
                pods = [
                    pod_template_metadata(other)["labels"]
                    for other in render(directory)
                    if other["kind"] in {"Deployment", "StatefulSet"}
                ]
                assert any(doc["spec"]["selector"].items() <= p.items() for p in pods), name(doc)


def test_autoscalers_target_existing_deployments() -> None:
    docs = render()
    hpa = find(docs, "HorizontalPodAutoscaler", "fetch-weather")
    target = hpa["spec"]["scaleTargetRef"]
    deployment = find(docs, target["kind"], target["name"])
    assert "replicas" not in deployment["spec"], "the HPA owns the replica count"
    assert find(docs, "Deployment", "categorize-trail-conditions")["spec"]["replicas"] == 2


def test_the_keda_scaled_object_by_hand() -> None:
    from services import pipeline_keys

    docs = render(KEDA)
    assert not any(doc["kind"] == "HorizontalPodAutoscaler" for doc in docs), (
        "KEDA makes its own HPA: the CPU one must go"
    )
    (scaled,) = [doc for doc in docs if doc["kind"] == "ScaledObject"]
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    assert name(scaled) and scaled["metadata"]["namespace"] == "trail-etl"
    spec = scaled["spec"]
    find(docs, "Deployment", spec["scaleTargetRef"]["name"])
    assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
    assert spec["triggers"], "a ScaledObject needs at least one trigger"
    for trigger in spec["triggers"]:
        assert trigger["type"] == "redis-streams"
        meta = trigger["metadata"]
        assert meta["stream"] == pipeline_keys.INGESTION_STREAM
        assert meta["consumerGroup"] == pipeline_keys.FETCH_GROUP
        assert "address" in meta or {"host", "port"} <= set(meta)
        counts = {"pendingEntriesCount", "streamLength", "lagCount"} & set(meta)
        assert len(counts) == 1 and int(meta[counts.pop()]) > 0
        assert all(isinstance(value, str) for value in meta.values()), "metadata values are strings"


def test_the_example_redis_is_one_primary_with_aof_on_a_volume() -> None:
    docs = render(WITH_REDIS)
    redis = find(docs, "StatefulSet", "redis")
    assert redis["spec"]["replicas"] == 1
    (container,) = redis["spec"]["template"]["spec"]["containers"]
    args = container["args"]
    assert args[args.index("--appendonly") + 1] == "yes"
    data_dir = args[args.index("--dir") + 1]
    assert data_dir in {m["mountPath"] for m in container["volumeMounts"]}
    assert redis["spec"]["volumeClaimTemplates"]
    service = find(docs, "Service", "redis")
    pipeline = find(docs, "ConfigMap", "trail-etl-pipeline")["data"]
    host_port = pipeline["REDIS_URL"].split("//")[1].split("/")[0]
    assert host_port == f"{name(service)}:{service['spec']['ports'][0]['port']}"
    keda = load_all(KEDA / "scaledobject-fetch-weather.yaml")[0]
    address = keda["spec"]["triggers"][0]["metadata"]["address"]
    assert address == f"{name(service)}.trail-etl.svc.cluster.local:6379"
