import copy
from pathlib import Path

import pytest
import yaml

from portal.crd_validation import CONFORMANCE_DIR, CRDValidationError, assert_valid, validate_object, validate_yaml_text

pytestmark = pytest.mark.conformance

EXAMPLES = sorted((CONFORMANCE_DIR / "argocd" / "examples").glob("*.yaml"))

SITE = {"apiVersion": "skupper.io/v2alpha1", "kind": "Site", "metadata": {"name": "hub", "namespace": "skupper"}, "spec": {"linkAccess": "default"}}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_upstream_examples_validate(path: Path):
    assert validate_yaml_text(path.read_text(), file=path.name) == []


def test_errors_name_file_line_and_field():
    text = EXAMPLES[0].read_text().replace("goTemplate: true", "goTemplate: sure")
    if "goTemplate" not in text:
        text = text.replace("spec:\n", "spec:\n  goTemplate: sure\n", 1)
    errors = validate_yaml_text(text, file="repo/appset.yaml")
    assert len(errors) == 1
    error = errors[0]
    assert error.path == "spec.goTemplate" and error.file == "repo/appset.yaml"
    assert text.splitlines()[error.line - 1].strip().startswith("goTemplate:")
    assert str(error).startswith(f"repo/appset.yaml:{error.line}, ApplicationSet/guestbook, field spec.goTemplate")


def test_unknown_fields_are_reported_not_pruned():
    site = copy.deepcopy(SITE)
    site["spec"]["linkAcess"] = "typo"
    errors = validate_object(site)
    assert [e.path for e in errors] == ["spec"] and "linkAcess" in errors[0].message


def test_preserve_unknown_fields_and_int_or_string():
    doc = yaml.safe_load(EXAMPLES[0].read_text())
    doc["spec"]["template"]["spec"]["source"]["helm"] = {"valuesObject": {"anything": {"goes": [1, 2]}}}
    doc["spec"]["strategy"] = {"type": "RollingSync", "rollingSync": {"steps": [{"matchExpressions": [], "maxUpdate": "25%"}]}}
    assert validate_object(doc) == []
    doc["spec"]["strategy"]["rollingSync"]["steps"][0]["maxUpdate"] = 2
    assert validate_object(doc) == []
    doc["spec"]["strategy"]["rollingSync"]["steps"][0]["maxUpdate"] = [2]
    assert [e.path for e in validate_object(doc)] == ["spec.strategy.rollingSync.steps[0].maxUpdate"]


def test_required_fields_and_metadata_rules():
    link = {"apiVersion": "skupper.io/v2alpha1", "kind": "Link", "metadata": {"name": "Bad_Name", "namespace": "skupper",
            "labels": {"ok": "-bad-"}}, "spec": {}}
    paths = {e.path for e in validate_object(link)}
    assert {"spec", "metadata.name", "metadata.labels.ok"} <= paths
    with pytest.raises(CRDValidationError, match="metadata.name"):
        assert_valid(link)


def test_unknown_kind_is_an_error():
    assert validate_object({"apiVersion": "example.com/v1", "kind": "Nope", "metadata": {"name": "x"}})[0].path == "apiVersion"
