"""The real kustomize (``kubectl kustomize``) on deploy/k8s and every overlay, and the in-repo
renderer (``manifests.render``) checked against it.

Everything else in tests/deploy reads the kustomizations through ``render``; these tests keep that
honest: kustomize must build each one (it refused every overlay while they named ``../..``), with
the objects expected, and ``render`` must give the same objects. Local files only, no network and
no cluster: ``kubectl kustomize`` only reads the directory. Skipped where kubectl is not on PATH.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy.manifests import K8S, PRODUCTION, Doc, kustomizations, load_one, name, render
from tests.deploy.test_render import ACCEPTED, CYCLES, write_tree

KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(
    KUBECTL is None,
    reason="kubectl is not on PATH: the real kustomize (`kubectl kustomize`) cannot run here"
    " (test_render.py still checks the in-repo renderer offline)",
)

HPA = ("HorizontalPodAutoscaler", "fetch-weather")
# Per kustomization (relative to deploy/k8s): (objects it must have, objects it must not have).
EXPECTED: dict[str, tuple[set[tuple[str, str]], set[tuple[str, str]]]] = {
    ".": (PRODUCTION, {("ScaledObject", "fetch-weather"), ("StatefulSet", "redis")}),
    "base": (PRODUCTION, {("ScaledObject", "fetch-weather"), ("StatefulSet", "redis")}),
    "overlays/keda": ((PRODUCTION - {HPA}) | {("ScaledObject", "fetch-weather")}, {HPA}),
    "overlays/sentinel": (
        PRODUCTION
        | {
            ("StatefulSet", "redis"),
            ("StatefulSet", "redis-sentinel"),
            ("Service", "redis"),
            ("Service", "redis-sentinel"),
            ("PodDisruptionBudget", "redis"),
            ("PodDisruptionBudget", "redis-sentinel"),
            ("ConfigMap", "redis-sentinel-config"),
        },
        {("ScaledObject", "fetch-weather")},
    ),
    "overlays/with-redis": (
        PRODUCTION | {("StatefulSet", "redis"), ("Service", "redis")},
        {("ScaledObject", "fetch-weather"), ("StatefulSet", "redis-sentinel")},
    ),
}


def _relative(directory: Path) -> str:
    return str(directory.relative_to(K8S))


def _kustomize(directory: Path) -> subprocess.CompletedProcess[str]:
    assert KUBECTL is not None
    return subprocess.run(
        [KUBECTL, "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _built(directory: Path) -> list[Doc]:
    result = _kustomize(directory)
    assert result.returncode == 0, f"kubectl kustomize {directory} failed:\n{result.stderr}"
    docs = list(yaml.safe_load_all(result.stdout))
    assert docs, f"{directory}: kustomize built nothing"
    for doc in docs:
        assert isinstance(doc, dict), f"{directory}: not an object: {doc!r}"
        assert doc.get("apiVersion") and doc.get("kind") and name(doc), doc
    return docs


def _ids(docs: list[Doc]) -> list[tuple[str, str | None, str]]:
    return sorted((doc["kind"], doc["metadata"].get("namespace"), name(doc)) for doc in docs)


def test_every_kustomization_has_its_expectations() -> None:
    assert {_relative(directory) for directory in kustomizations()} == set(EXPECTED)


@needs_kubectl
@pytest.mark.parametrize("directory", kustomizations(), ids=_relative)
def test_kustomize_builds_it_with_the_expected_objects(directory: Path) -> None:
    built = {(doc["kind"], name(doc)) for doc in _built(directory)}
    present, absent = EXPECTED[_relative(directory)]
    assert present <= built, f"missing: {sorted(present - built)}"
    assert not absent & built, f"should not be there: {sorted(absent & built)}"


@needs_kubectl
@pytest.mark.parametrize("directory", kustomizations(), ids=_relative)
def test_the_renderer_gives_the_objects_kustomize_gives(directory: Path) -> None:
    assert _ids(render(directory)) == _ids(_built(directory))


def _undo_labels_and_images(doc: Doc) -> Doc:
    """``doc`` without what the kustomizations' ``labels:`` and ``images:`` add, which render()
    leaves out: so the rest of each object can be compared with kustomize's."""
    pairs: dict[str, str] = {}
    images: dict[str, str] = {}
    for directory in kustomizations():
        kustomization = load_one(directory / "kustomization.yaml")
        for entry in kustomization.get("labels", []):
            assert set(entry) == {"pairs"}, f"{directory}: only plain label pairs are undone here"
            pairs.update(entry["pairs"])
        for image in kustomization.get("images", []):
            assert set(image) <= {"name", "newName", "newTag"}, f"{directory}: {image}"
            new = image.get("newName", image["name"])
            images[f"{new}:{image['newTag']}" if "newTag" in image else new] = image["name"]
    doc = json.loads(json.dumps(doc))
    labels = doc["metadata"].get("labels", {})
    for key, value in pairs.items():
        if labels.get(key) == value:
            del labels[key]
    if "labels" in doc["metadata"] and not labels:
        del doc["metadata"]["labels"]
    text = json.dumps(doc)
    for built, original in images.items():
        text = text.replace(json.dumps(built), json.dumps(original))
    return json.loads(text)


@needs_kubectl
@pytest.mark.parametrize("directory", kustomizations(), ids=_relative)
def test_the_renderer_agrees_with_kustomize_object_for_object(directory: Path) -> None:
    ours = {(doc["kind"], name(doc)): doc for doc in render(directory)}
    for doc in _built(directory):
        key = (doc["kind"], name(doc))
        assert _undo_labels_and_images(doc) == ours[key], f"{_relative(directory)}: {key}"


@needs_kubectl
@pytest.mark.parametrize("case", CYCLES)
def test_kustomize_refuses_the_cycles_the_renderer_refuses(tmp_path: Path, case: str) -> None:
    directory, files = CYCLES[case]
    write_tree(tmp_path, files)
    result = _kustomize(tmp_path / directory)
    assert result.returncode != 0, f"kustomize built a cycle:\n{result.stdout}"
    assert "cycle detected: candidate root" in result.stderr, result.stderr


@needs_kubectl
@pytest.mark.parametrize("case", ACCEPTED)
def test_kustomize_builds_what_the_renderer_builds(tmp_path: Path, case: str) -> None:
    directory, files, expected = ACCEPTED[case]
    write_tree(tmp_path, files)
    assert {(doc["kind"], name(doc)) for doc in _built(tmp_path / directory)} == expected
