"""The in-repo renderer (``manifests.render``) refuses the cycles kustomize refuses, offline.

kustomize refuses a directory resource that is, or contains, the root of the kustomization naming
it or of any kustomization that led there ("cycle detected: candidate root ... contains visited
root ..."): the overlays naming ``../..`` (deploy/k8s, their own ancestor) hit exactly that. The
layouts here are small trees in a temporary directory; test_kustomize.py runs the same ones
through ``kubectl kustomize`` to check both agree.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy.manifests import KustomizeCycleError, name, render


def _config_map(object_name: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {object_name}\ndata: {{}}\n"


def _kustomization(*resources: str) -> str:
    return "resources:\n" + "".join(f"  - {resource}\n" for resource in resources)


# Each layout: (the directory to build, {file: content}).
Layout = tuple[str, dict[str, str]]

CYCLES: dict[str, Layout] = {
    # The layout deploy/k8s had: the overlay names ../.., which contains the overlay.
    "overlay-names-its-ancestor": (
        "overlays/x",
        {
            "kustomization.yaml": _kustomization("cm.yaml"),
            "cm.yaml": _config_map("base"),
            "overlays/x/kustomization.yaml": _kustomization("../..", "cm.yaml"),
            "overlays/x/cm.yaml": _config_map("extra"),
        },
    ),
    "names-itself": (
        "self",
        {
            "self/kustomization.yaml": _kustomization("cm.yaml", "."),
            "self/cm.yaml": _config_map("a"),
        },
    ),
    # Not the directory being built but the one that named it: the chain of referrers counts.
    "names-its-referrer": (
        "a",
        {
            "a/kustomization.yaml": _kustomization("b"),
            "a/b/kustomization.yaml": _kustomization("cm.yaml", ".."),
            "a/b/cm.yaml": _config_map("b"),
        },
    ),
    # The same through a directory outside: top/a -> elsewhere/c -> top, which contains top/a.
    "names-an-ancestor-of-its-referrer": (
        "top/a",
        {
            "top/kustomization.yaml": _kustomization("cm.yaml"),
            "top/cm.yaml": _config_map("top"),
            "top/a/kustomization.yaml": _kustomization("../../elsewhere/c"),
            "elsewhere/c/kustomization.yaml": _kustomization("../../top"),
        },
    ),
}

ACCEPTED: dict[str, tuple[str, dict[str, str], set[tuple[str, str]]]] = {
    # The layout deploy/k8s has now: the base beside the overlays, the top level naming it.
    "overlay-names-a-sibling-base": (
        "overlays/x",
        {
            "kustomization.yaml": _kustomization("base"),
            "base/kustomization.yaml": _kustomization("cm.yaml"),
            "base/cm.yaml": _config_map("base"),
            "overlays/x/kustomization.yaml": _kustomization("../../base", "cm.yaml"),
            "overlays/x/cm.yaml": _config_map("extra"),
        },
        {("ConfigMap", "base"), ("ConfigMap", "extra")},
    ),
    "top-level-names-its-base": (
        ".",
        {
            "kustomization.yaml": _kustomization("base"),
            "base/kustomization.yaml": _kustomization("cm.yaml"),
            "base/cm.yaml": _config_map("base"),
        },
        {("ConfigMap", "base")},
    ),
    # A subdirectory of a visited root, reached another way, is no cycle: it does not contain it.
    "names-a-subdirectory-of-its-referrer": (
        "a",
        {
            "a/kustomization.yaml": _kustomization("../c"),
            "c/kustomization.yaml": _kustomization("../a/inner"),
            "a/inner/kustomization.yaml": _kustomization("cm.yaml"),
            "a/inner/cm.yaml": _config_map("inner"),
        },
        {("ConfigMap", "inner")},
    ),
}


def write_tree(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize("case", CYCLES)
def test_the_renderer_refuses_a_cycle(tmp_path: Path, case: str) -> None:
    directory, files = CYCLES[case]
    write_tree(tmp_path, files)
    with pytest.raises(KustomizeCycleError, match="cycle detected: candidate root"):
        render(tmp_path / directory)


@pytest.mark.parametrize("case", ACCEPTED)
def test_the_renderer_builds_what_is_no_cycle(tmp_path: Path, case: str) -> None:
    directory, files, expected = ACCEPTED[case]
    write_tree(tmp_path, files)
    assert {(doc["kind"], name(doc)) for doc in render(tmp_path / directory)} == expected


def test_the_old_overlay_layout_is_refused_and_names_both_roots(tmp_path: Path) -> None:
    directory, files = CYCLES["overlay-names-its-ancestor"]
    write_tree(tmp_path, files)
    with pytest.raises(KustomizeCycleError) as refused:
        render(tmp_path / directory)
    root = tmp_path.resolve()
    assert f"candidate root '{root}' contains visited root '{root / directory}'" in str(
        refused.value
    )
