"""Every deployment file parses; the Dockerfile and .dockerignore keep their promises."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.deploy.manifests import ROOT, kustomizations, load_all, load_one, yaml_files

DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
SECRET_WORDS = ("KEY", "SECRET", "PASSWORD", "TOKEN")


@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_yaml_file_parses(path: Path) -> None:
    docs = load_all(path)
    if path in _json_patch_files():  # a list of operations (op, path[, value])
        assert len(docs) == 1 and isinstance(docs[0], list) and docs[0]
        assert all(isinstance(op, dict) and {"op", "path"} <= set(op) for op in docs[0]), path
        return
    assert docs and all(isinstance(doc, dict) for doc in docs)


def _json_patch_files() -> set[Path]:
    """The files kustomizations name as ``patches: - path:``."""
    return {
        (directory / patch["path"]).resolve()
        for directory in kustomizations()
        for patch in load_one(directory / "kustomization.yaml").get("patches", [])
        if "path" in patch
    }


def test_yaml_files_are_found() -> None:
    assert len(yaml_files()) >= 10


@pytest.mark.parametrize("directory", kustomizations(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_kustomization_resource_exists(directory: Path) -> None:
    for entry in load_one(directory / "kustomization.yaml")["resources"]:
        target = directory / entry
        assert target.is_file() or (target / "kustomization.yaml").is_file(), target


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, args = line.partition(" ")
            out.append((word.upper(), " ".join(args.split())))
    return out


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for instruction in _instructions():
        if instruction[0] == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages


def _global_args() -> dict[str, str]:
    args = {}
    for word, rest in _instructions():
        if word == "FROM":
            break
        if word == "ARG" and "=" in rest:
            key, value = rest.split("=", 1)
            args[key] = value
    return args


def _base_image(stage: list[tuple[str, str]]) -> str:
    image = stage[0][1].split()[0]
    return re.sub(r"\$\{(\w+)\}", lambda m: _global_args()[m.group(1)], image)


def test_multi_stage_uv_builder_and_slim_final_stage() -> None:
    builder, final = _stages()[0], _stages()[-1]
    assert len(_stages()) >= 2
    runs = " ".join(args for word, args in builder if word == "RUN")
    assert "uv sync --locked --no-dev" in runs
    assert "UV_PROJECT_ENVIRONMENT=/app/.venv" in " ".join(a for w, a in builder if w == "ENV")
    assert _base_image(final) == "python:3.11-slim"
    copies = [args for word, args in final if word == "COPY"]
    assert any(args.startswith("--from=builder /app/.venv ") for args in copies)
    assert not any(word == "RUN" and "uv " in args for word, args in final), "no uv in the final"


def test_final_stage_runs_trail_etl_as_a_numeric_non_root_user() -> None:
    final = _stages()[-1]
    users = [args for word, args in final if word == "USER"]
    assert users, "the final stage sets no USER"
    user = users[-1].split(":")[0]
    assert user.isdigit() and int(user) != 0, f"USER {users[-1]}: numeric and not root"
    entrypoint = [json.loads(args) for word, args in final if word == "ENTRYPOINT"]
    assert entrypoint == [["trail-etl"]]
    cmd = [json.loads(args) for word, args in final if word == "CMD"]
    assert cmd == [["--help"]]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert "trail-etl" in scripts


def test_unbuffered_output_and_no_secret_baked_in() -> None:
    env = " ".join(args for word, args in _stages()[-1] if word == "ENV")
    assert "PYTHONUNBUFFERED=1" in env
    for word, args in _instructions():
        if word in {"ENV", "ARG"}:
            for name in re.findall(r"([A-Z_][A-Z0-9_]*)=", args):
                assert not any(secret in name for secret in SECRET_WORDS), f"{word} {name}"


def test_dockerignore_keeps_the_venv_git_and_env_files_out() -> None:
    lines = {
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", ".git", ".env"} <= lines


def test_what_the_dockerfile_copies_is_in_the_build_context() -> None:
    ignored = {
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith(("#", "!"))
    }
    for word, args in _stages()[0]:
        if word == "COPY" and not args.startswith("--from"):
            *sources, _dest = args.split()
            for source in sources:
                assert (ROOT / source).exists(), source
                assert source not in ignored, f"{source} is in .dockerignore"


def test_env_example_is_valid_dotenv_with_only_development_values() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    assert "DEVELOPMENT" in text.upper()
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            assert re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S*", line), line
    assert ".env" in (ROOT / ".gitignore").read_text().split()


def test_yaml_safe_load_is_what_compose_anchors_need() -> None:
    merged = yaml.safe_load("a: &x {k: 1}\nb:\n  <<: *x\n  j: 2\n")
    assert merged["b"] == {"k": 1, "j": 2}
