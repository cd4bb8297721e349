"""Reading the deployment files the way Compose and kustomize would, offline.

``render`` follows a kustomization's ``resources:`` (files and directories), inline ``$patch:
delete`` patches and JSON 6902 patches (``add``, ``replace``, ``remove``; inline or a ``path:``,
aimed by a ``target:`` of kind and name) itself, without kubectl; any other kustomize feature
fails loudly, so a new one cannot be silently ignored by the tests. Like kustomize it refuses a
cycle: a directory resource that is, or contains, the kustomization naming it or any kustomization
that led there (test_kustomize.py checks both agree, with kubectl where there is one).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).parents[2]
K8S = ROOT / "deploy" / "k8s"
# The production set; deploy/k8s/kustomization.yaml only names it, and the overlays build on it.
BASE = K8S / "base"
COMPOSE_FILE = ROOT / "docker-compose.yml"
# (kind, name) of what `kubectl apply -k deploy/k8s` runs in production.
PRODUCTION = {
    ("Namespace", "trail-etl"),
    ("PersistentVolumeClaim", "schedule-outbox"),
    ("CronJob", "schedule-jobs"),
    ("Deployment", "fetch-weather"),
    ("Deployment", "categorize-trail-conditions"),
    ("Deployment", "weather-service"),
    ("Service", "weather-service"),
    ("HorizontalPodAutoscaler", "fetch-weather"),
}
SECRET_EXAMPLE = BASE / "secret.example.yaml"
# The Kubernetes version the manifests are checked against (kubernetes-validate ships its schemas).
K8S_VERSION = "1.30.0"
# The kustomize name of the trail-etl image (``images:`` in deploy/k8s/base/kustomization.yaml).
IMAGE = "trail-etl"
KUSTOMIZE_KEYS = {"apiVersion", "kind", "namespace", "labels", "resources", "images", "patches"}
CLUSTER_SCOPED = {"Namespace"}
Doc = dict[str, Any]


def load_all(path: Path) -> list[Doc]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]


def load_one(path: Path) -> Doc:
    docs = load_all(path)
    assert len(docs) == 1, f"{path}: expected one YAML document, found {len(docs)}"
    return docs[0]


def yaml_files() -> list[Path]:
    return [COMPOSE_FILE, *sorted(K8S.rglob("*.yaml")), *sorted(K8S.rglob("*.yml"))]


def kustomizations() -> list[Path]:
    return sorted(path.parent for path in K8S.rglob("kustomization.yaml"))


class KustomizeCycleError(ValueError):
    """A directory resource kustomize refuses: it is or contains a root already being built."""


def render(directory: Path = K8S) -> list[Doc]:
    """The objects ``kubectl apply -k directory`` sends (without kustomize's labels/images)."""
    return _render(directory.resolve(), ())


def _render(directory: Path, referrers: tuple[Path, ...]) -> list[Doc]:
    """``referrers``: the kustomization roots (resolved) that led to ``directory``, outermost
    first. kustomize refuses a directory resource that is, or is an ancestor of, ``directory`` or
    any of them ("cycle detected"): building it would build the kustomization naming it again."""
    kustomization = load_one(directory / "kustomization.yaml")
    unsupported = set(kustomization) - KUSTOMIZE_KEYS
    assert not unsupported, f"{directory}: render() does not handle {sorted(unsupported)}"
    visited = (*referrers, directory)
    docs: list[Doc] = []
    for entry in kustomization["resources"]:
        path = (directory / entry).resolve()
        if not path.is_dir():
            docs.extend(copy.deepcopy(load_all(path)))
            continue
        for root in reversed(visited):
            if path == root or path in root.parents:
                raise KustomizeCycleError(
                    f"{directory}: resource {entry!r}: cycle detected: candidate root '{path}'"
                    f" contains visited root '{root}'"
                )
        docs.extend(_render(path, visited))
    for patch in kustomization.get("patches", []):
        body = yaml.safe_load(patch.get("patch", ""))
        if "path" in patch:
            assert "patch" not in patch, f"{directory}: a patch is inline or a path, not both"
            body = yaml.safe_load((directory / patch["path"]).read_text(encoding="utf-8"))
        if isinstance(body, list):
            docs = _apply_json_patch(directory, patch, body, docs)
        else:
            docs = _apply_delete_patch(directory, patch, docs)
    namespace = kustomization.get("namespace")
    for doc in docs:
        if namespace and doc["kind"] not in CLUSTER_SCOPED:
            doc.setdefault("metadata", {})["namespace"] = namespace
    return docs


def _apply_json_patch(
    directory: Path, patch: Doc, operations: list[Doc], docs: list[Doc]
) -> list[Doc]:
    """A JSON 6902 patch on the one object its ``target`` (kind and name, nothing else) names."""
    target = patch.get("target", {})
    assert set(target) == {"kind", "name"}, f"{directory}: target by kind and name only: {patch}"
    doc = find(docs, target["kind"], target["name"])
    for operation in operations:
        op, path = operation["op"], operation["path"]
        assert op in {"add", "replace", "remove"}, f"{directory}: render() does not handle {op}"
        parts = [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]
        parent: Any = doc
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent[part]
        last = parts[-1]
        if isinstance(parent, list):
            if op == "add":
                parent.insert(len(parent) if last == "-" else int(last), operation["value"])
            elif op == "replace":
                parent[int(last)] = operation["value"]
            else:
                del parent[int(last)]
        elif op == "add":
            parent[last] = operation["value"]
        else:
            assert last in parent, f"{directory}: {op} {path}: no such member"
            if op == "replace":
                parent[last] = operation["value"]
            else:
                del parent[last]
    return docs


def _apply_delete_patch(directory: Path, patch: Doc, docs: list[Doc]) -> list[Doc]:
    body = yaml.safe_load(patch["patch"]) if "patch" in patch else None
    assert body is not None and body.get("$patch") == "delete", (
        f"{directory}: render() handles only inline `$patch: delete` patches, not {patch}"
    )
    kept = [doc for doc in docs if (doc["kind"], name(doc)) != (body["kind"], name(body))]
    assert len(kept) == len(docs) - 1, f"{directory}: the patch deletes nothing: {body}"
    return kept


def name(doc: Doc) -> str:
    return str(doc["metadata"]["name"])


def find(docs: list[Doc], kind: str, object_name: str) -> Doc:
    matches = [doc for doc in docs if doc["kind"] == kind and name(doc) == object_name]
    assert len(matches) == 1, f"expected one {kind}/{object_name}, found {len(matches)}"
    return matches[0]


def pod_spec(doc: Doc) -> Doc | None:
    spec = doc.get("spec", {})
    if doc["kind"] == "CronJob":
        return spec["jobTemplate"]["spec"]["template"]["spec"]
    if doc["kind"] in {"Deployment", "StatefulSet", "DaemonSet", "Job"}:
        return spec["template"]["spec"]
    return None


def pod_template_metadata(doc: Doc) -> Doc:
    spec = doc["spec"]
    template = (
        spec["jobTemplate"]["spec"]["template"] if doc["kind"] == "CronJob" else spec["template"]
    )
    return template.get("metadata", {})


def containers(docs: list[Doc]) -> Iterator[tuple[Doc, Doc, Doc]]:
    """(workload, pod spec, container) for every container of every workload."""
    for doc in docs:
        spec = pod_spec(doc)
        if spec is not None:
            for container in [*spec.get("initContainers", []), *spec["containers"]]:
                yield doc, spec, container


def trail_containers(docs: list[Doc]) -> Iterator[tuple[Doc, Doc, Doc]]:
    for doc, spec, container in containers(docs):
        if container["image"].split(":")[0] == IMAGE:
            yield doc, spec, container


def container_env(docs: list[Doc], container: Doc) -> dict[str, str | None]:
    """Every variable a container gets: ``envFrom`` ConfigMaps (values), ``env`` (values, or None
    when taken from a Secret)."""
    env: dict[str, str | None] = {}
    for source in container.get("envFrom", []):
        assert set(source) == {"configMapRef"}, f"only ConfigMaps via envFrom: {source}"
        env.update(find(docs, "ConfigMap", source["configMapRef"]["name"])["data"])
    for item in container.get("env", []):
        env[item["name"]] = item.get("value")
    return env


# Kubernetes' dependent variables: $(NAME) in an env value is NAME's value when NAME comes earlier.
DEPENDENT_VARIABLE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def composing_variables(container: Doc) -> set[str]:
    """The ``env`` entries a later entry of the same container takes in as ``$(NAME)`` (a password
    put into a URL): there for Kubernetes to expand, not for the settings class to read."""
    seen: set[str] = set()
    used: set[str] = set()
    for item in container.get("env", []):
        for referenced in DEPENDENT_VARIABLE.findall(str(item.get("value", ""))):
            assert referenced in seen, (
                f"{container['name']}: {item['name']} uses $({referenced}) before it is defined:"
                " Kubernetes would leave it as it is"
            )
            used.add(referenced)
        seen.add(item["name"])
    return used


def secret_refs(container: Doc) -> list[tuple[str, str, str]]:
    """(variable, secret name, key) of every ``secretKeyRef`` of a container."""
    refs = []
    for item in container.get("env", []):
        ref = item.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            refs.append((item["name"], ref["name"], ref["key"]))
    return refs


def compose() -> Doc:
    return load_one(COMPOSE_FILE)


def compose_trail_services() -> dict[str, Doc]:
    """The Compose services that run the trail-etl image (built from the Dockerfile)."""
    return {
        service_name: service
        for service_name, service in compose()["services"].items()
        if "build" in service
    }


def compose_env(service: Doc) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}
