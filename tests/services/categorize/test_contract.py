"""The contract: results as JSON, and loading a classifier from an import path."""

from __future__ import annotations

import json

import pytest

from services.categorize import (
    RuleBasedClassifier,
    RuleThresholds,
    TrailClassifier,
    load_classifier,
)
from services.categorize.contract import LABELS
from tests.services.categorize.builders import NOW, TRAITS, Hours, classify

FAKES = "tests.services.categorize.fake_classifiers"


def test_reasons_json_is_plain_json() -> None:
    result = classify(Hours().rain(3, 15.0))
    text = json.dumps(result.reasons_json())
    assert json.loads(text) == [
        {"metric": "p24_mm", "value": 15.0, "threshold": 12.7, "unit": "mm", "comparison": ">="},
    ]


def test_result_carries_label_version_and_window() -> None:
    result = classify(Hours())
    assert result.label in LABELS
    assert result.classifier_version == "rules-1.1"
    assert result.valid_for == NOW
    assert result.window_start < result.valid_for < result.window_end


def test_the_default_classifier_satisfies_the_protocol() -> None:
    assert isinstance(RuleBasedClassifier(), TrailClassifier)


def test_load_the_default_classifier() -> None:
    loaded = load_classifier("services.categorize.rules:RuleBasedClassifier")
    assert isinstance(loaded, RuleBasedClassifier)
    result = loaded.classify(now=NOW, hours=Hours().records(), traits=TRAITS)
    assert result.label == "dry"


def test_load_passes_keyword_arguments() -> None:
    thresholds = RuleThresholds(muddy_p24_mm=20.0)
    loaded = load_classifier("services.categorize.rules:RuleBasedClassifier", thresholds=thresholds)
    assert isinstance(loaded, RuleBasedClassifier) and loaded.thresholds is thresholds
    assert load_classifier(f"{FAKES}:Tagged", tag="x").version == "tagged-x"


def test_load_accepts_a_factory_function() -> None:
    assert isinstance(load_classifier(f"{FAKES}:make_default"), RuleBasedClassifier)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("services.categorize.no_such_module:Classifier", "cannot import module"),
        ("no_such_package.anything:Classifier", "cannot import module"),
        ("services.categorize.rules:NoSuchClass", "has no 'NoSuchClass'"),
        ("services.categorize.rules", "must look like"),
        (":RuleBasedClassifier", "must look like"),
        ("services.categorize.rules:", "must look like"),
        (f"{FAKES}:NOT_CALLABLE", "not a class or factory"),
        (f"{FAKES}:VersionOnly", "no callable 'classify'"),
        (f"{FAKES}:ClassifyOnly", "no 'version' string"),
        (f"{FAKES}:Tagged", "cannot build"),  # its required keyword is missing
    ],
)
def test_load_refuses_with_a_clear_error_naming_the_path(path: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        load_classifier(path)
    assert repr(path) in str(caught.value)
