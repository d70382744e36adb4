"""Parsing, placeholders, validation and relations, without the database."""
from __future__ import annotations

import json
import re

import pytest

from catalog.parsing import parse_documents
from catalog.processing import process_tree
from catalog.refs import parse_ref
from catalog.relations import derive_relations
from catalog.validation import EntityInvalid, validate_entity

from tests.catalog.conftest import EXAMPLES, VERDICTS



def verdict_field(message: str) -> str:
    """The field a Backstage verdict message names, dotted (``/spec`` + missing ``lifecycle`` -> spec.lifecycle)."""
    missing = re.match(r"^/(\S*) must have required property '([^']+)'", message)
    if missing:
        return ".".join([*filter(None, missing.group(1).split("/")), missing.group(2)])
    pointer = re.match(r"^/(\S+) ", message)
    if pointer:
        return pointer.group(1).replace("/", ".")
    quoted = re.match(r'^"([^"]+)" is not valid', message)
    if quoted:
        return quoted.group(1)
    return ""


def test_parse_documents_keeps_line_numbers_per_document_and_field():
    text = "# first\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: a\n  tags: [x, y]\n---\n---\nkind: API\nspec:\n  owner: team-a\n"
    documents, errors = parse_documents(text)
    assert errors == []
    assert [d.index for d in documents] == [0, 1]
    assert [d.line for d in documents] == [2, 9]
    assert documents[0].line_of("metadata.tags.1") == 6
    assert documents[1].line_of("spec.owner") == 11
    assert documents[1].line_of("spec.missing") == 10  # nearest present parent
    assert documents[1].text == "kind: API\nspec:\n  owner: team-a\n"


def test_a_broken_document_is_an_error_of_its_own_and_the_others_still_load():
    """As Backstage's parseAllDocuments: the error names its document and line; documents after it load."""
    documents, errors = parse_documents("kind: A\n---\nkind: [B\nx: 1\n---\nkind: C\n...\nkind: D\n")
    assert [(d.index, d.data) for d in documents] == [(0, {"kind": "A"}), (2, {"kind": "C"}), (3, {"kind": "D"})]
    assert [d.line for d in documents] == [1, 6, 8]
    assert len(errors) == 1 and errors[0].doc_index == 1 and errors[0].line == 4
    assert errors[0].message.startswith("YAML syntax error: ")


def test_yaml_is_read_with_the_yaml_1_2_core_schema_as_backstage_reads_it():
    documents, errors = parse_documents(
        "a: yes\nb: on\nc: NO\nd: true\ne: 2024-01-02\nf: 017\ng: 0o17\nh: ~\n"
        "base: &base {x: 1}\nmerged:\n  <<: *base\n"
    )
    assert errors == []
    assert documents[0].data == {"a": "yes", "b": "on", "c": "NO", "d": True, "e": "2024-01-02", "f": 17, "g": 15,
                                 "h": None, "base": {"x": 1}, "merged": {"<<": {"x": 1}}}


def test_duplicate_keys_are_an_error_on_the_line_of_the_second_key():
    documents, errors = parse_documents("kind: A\n---\nmetadata:\n  name: a\n  name: b\n")
    assert [d.data for d in documents] == [{"kind": "A"}]
    assert [(e.doc_index, e.line) for e in errors] == [(1, 5)]
    assert "'name' appears twice" in errors[0].message


def test_parsed_data_is_json_data():
    """NaN and infinity become null and keys become strings (JSON.stringify in Backstage does the same),
    so no document can break the database write of a whole refresh."""
    documents, errors = parse_documents("a: .nan\nb: [-.inf, 1.5]\n2: two\ntrue: yes\n? [x, y]\n: pair\n")
    assert errors == []
    data = documents[0].data
    assert data == {"a": None, "b": [None, 1.5], "2": "two", "true": "yes", '["x", "y"]': "pair"}
    json.dumps(data, allow_nan=False)


def test_alias_expansion_is_bounded():
    levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i, name in enumerate("bcdefg"):
        previous = "abcdefg"[i]
        levels.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 10)}]")
    documents, errors = parse_documents("\n".join(levels) + "\n")
    assert documents == [] and len(errors) == 1 and "alias" in errors[0].message


def test_entity_refs_resolve_like_backstage():
    assert str(parse_ref("payments", default_kind="Group")) == "group:default/payments"
    assert str(parse_ref("user:ops/jane", default_kind="Group")) == "user:ops/jane"
    assert parse_ref("api:petstore", default_namespace="shop").key == "api:shop/petstore"
    try:
        parse_ref("payments")
    except ValueError as exc:
        assert "no kind" in str(exc)
    else:
        raise AssertionError("a ref without kind and without a default must fail")


def _example_documents():
    cache = {}
    for verdict in VERDICTS:
        if verdict["file"] not in cache:
            documents, errors = parse_documents((EXAMPLES / verdict["file"]).read_text())
            assert errors == [], verdict["file"]
            cache[verdict["file"]] = [document.data for document in documents]
        yield verdict, cache[verdict["file"]][verdict["index"]]


@pytest.mark.conformance
def test_validation_agrees_with_backstage_on_every_raw_document():
    """Without placeholder resolution, the verdict and the field named are Backstage's own."""
    checked = 0
    for verdict, document in _example_documents():
        if verdict["verdict"] == "no-validator":
            continue
        try:
            validate_entity(document)
            got, field = "valid", None
        except EntityInvalid as exc:
            got, field = "invalid", exc.error.field
        assert got == verdict["verdict"], (verdict, field)
        if got == "invalid" and verdict["kind"] is not None:
            assert field == verdict_field(verdict["message"]), (verdict, field)
        checked += 1
    assert checked == 102


@pytest.mark.conformance
def test_kinds_without_a_validator_are_rejected_naming_kind():
    """Wayline's decision for Backstage's "no-validator" documents: rejected, as catalog-backend rejects
    an entity no processor recognises."""
    seen = 0
    for verdict, document in _example_documents():
        if verdict["verdict"] != "no-validator":
            continue
        try:
            validate_entity(document)
        except EntityInvalid as exc:
            assert exc.error.field == "kind" and document["kind"] in exc.error.message
        else:
            raise AssertionError(f"{verdict['file']} should be rejected")
        seen += 1
    assert seen == 6


@pytest.mark.conformance
def test_placeholder_documents_pass_once_their_placeholder_is_a_string():
    """README: the twelve ``$text`` API documents are valid once the placeholder is replaced."""
    passed = 0
    for verdict, document in _example_documents():
        definition = (document or {}).get("spec", {}).get("definition") if isinstance(document, dict) else None
        if isinstance(definition, dict) and "$text" in definition:
            document = {**document, "spec": {**document["spec"], "definition": "openapi: 3.0.0"}}
            validate_entity(document)
            passed += 1
    assert passed == 12


def test_field_format_rules():
    base = {"apiVersion": "backstage.io/v1alpha1", "kind": "Group", "metadata": {"name": "g"},
            "spec": {"type": "team", "children": []}}
    validate_entity(base)
    cases = [
        ("metadata", "namespace", "Not_OK", "metadata.namespace"),
        ("metadata", "labels", {"bad key!": "x"}, "metadata.labels.bad key!"),
        ("metadata", "annotations", {"example.com/ok": 5}, "metadata.annotations.example.com/ok"),
        ("metadata", "tags", ["ok", "Not-Lower"], "metadata.tags.1"),
        ("metadata", "links", [{"url": "not a url"}], "metadata.links.0.url"),
    ]
    for section, key, value, field in cases:
        document = json.loads(json.dumps(base))
        document[section][key] = value
        try:
            validate_entity(document)
        except EntityInvalid as exc:
            assert exc.error.field == field, exc.error
        else:
            raise AssertionError(f"{key}={value!r} should be rejected")
    try:
        validate_entity({**base, "extra": 1})
    except EntityInvalid as exc:
        assert exc.error.field == "extra" and "forbidden root field" in exc.error.message
    else:
        raise AssertionError("foreign root field accepted")


def test_relations_in_both_directions():
    entity = validate_entity({
        "apiVersion": "backstage.io/v1alpha1", "kind": "Component",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"type": "website", "lifecycle": "production", "owner": "team-a", "system": "store",
                 "providesApis": ["cart"], "consumesApis": ["default/payments"],
                 "dependsOn": ["resource:db"], "subcomponentOf": "frontend"},
    })
    relations = set(derive_relations(entity))
    me = "component:shop/web"
    assert (me, "ownedBy", "group:shop/team-a") in relations
    assert ("group:shop/team-a", "ownerOf", me) in relations
    assert (me, "partOf", "system:shop/store") in relations and ("system:shop/store", "hasPart", me) in relations
    assert (me, "providesApi", "api:shop/cart") in relations and ("api:shop/cart", "apiProvidedBy", me) in relations
    assert (me, "consumesApi", "api:default/payments") in relations
    assert ("api:default/payments", "apiConsumedBy", me) in relations
    assert (me, "dependsOn", "resource:shop/db") in relations and ("resource:shop/db", "dependencyOf", me) in relations
    assert (me, "partOf", "component:shop/frontend") in relations
    assert len(relations) == 12


def test_depends_on_without_kind_is_an_error_naming_the_item():
    entity = validate_entity({
        "apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": "web"},
        "spec": {"type": "service", "lifecycle": "production", "owner": "a", "dependsOn": ["resource:db", "cache"]},
    })
    try:
        derive_relations(entity)
    except EntityInvalid as exc:
        assert exc.error.field == "spec.dependsOn.1"
    else:
        raise AssertionError("dependsOn without kind accepted")


def test_process_tree_resolves_placeholders_and_reports_line(tmp_path):
    (tmp_path / "apis").mkdir()
    (tmp_path / "apis" / "openapi.yaml").write_text("openapi: 3.0.0\ninfo: {title: Cart}\n")
    (tmp_path / "apis" / "schema.json").write_text('{"a": 1}')
    (tmp_path / "catalog-info.yaml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: cart\n"
        "spec:\n  type: openapi\n  lifecycle: production\n  owner: team-a\n"
        "  config: {$json: apis/schema.json}\n"
        "  definition:\n    $text: ./apis/openapi.yaml\n"
        "---\n"
        "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: broken\n"
        "spec:\n  type: openapi\n  lifecycle: production\n  owner: team-a\n"
        "  definition:\n    $text: ./apis/missing.yaml\n"
        "---\n"
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: more\nspec:\n  targets: [./more/*.yaml]\n"
    )
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "x.yaml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: x\n"
        "spec:\n  type: service\n  lifecycle: production\n"
    )
    result = process_tree(tmp_path, ["catalog-info.yaml"])
    by_key = {entity.key: entity for entity in result.entities}
    assert by_key["api:default/cart"].data["spec"]["definition"].startswith("openapi: 3.0.0")
    assert by_key["api:default/cart"].data["spec"]["config"] == {"a": 1}
    errors = {(e.path, e.doc_index): e for e in result.errors}
    broken = errors[("catalog-info.yaml", 1)]
    assert broken.field == "spec.definition" and "missing.yaml" in broken.message and broken.line == 21
    missing_owner = errors[("more/x.yaml", 0)]
    assert missing_owner.field == "spec.owner" and missing_owner.line == 5
    assert "location:default/more" in by_key


def test_location_targets_that_are_urls_into_the_same_repository_are_followed(tmp_path):
    (tmp_path / "teams").mkdir()
    (tmp_path / "teams" / "a.yaml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: a}\nspec: {type: team, children: []}\n"
    )
    (tmp_path / "all.yaml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: all}\nspec:\n  targets:\n"
        "    - https://git.example.com/org/repo/blob/main/teams/a.yaml\n"
        "    - https://elsewhere.example.com/other.yaml\n"
    )
    result = process_tree(tmp_path, ["all.yaml"], base_urls=("https://git.example.com/org/repo/blob/main",))
    assert "group:default/a" in {e.key for e in result.entities}
    [error] = result.errors
    assert error.field == "spec.targets.1" and error.code == "unreadable" and error.line == 7


def test_overlong_refs_are_an_error_on_their_field():
    entity = validate_entity({
        "apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": "web"},
        "spec": {"type": "service", "lifecycle": "production", "owner": "x" * 500},
    })
    try:
        derive_relations(entity)
    except EntityInvalid as exc:
        assert exc.error.field == "spec.owner" and "longer than 400" in exc.error.message
    else:
        raise AssertionError("an owner ref too long to store was accepted")


_DIGEST = """
import json, multiprocessing, sys
from pathlib import Path
from catalog import processing

processing.PARALLEL_MIN_FILES = 2
submitted = []
forked_call = processing._ForkedCall
processing._ForkedCall = lambda fn, *args: submitted.append(len(args[2])) or forked_call(fn, *args)


def digest(out):
    result = processing.process_tree(Path(sys.argv[1]), ["**/*.yaml"], processes=int(sys.argv[2]))
    out.put(json.dumps({
        "entities": [[e.key, e.path, e.doc_index, e.hash, e.relations] for e in result.entities],
        "errors": [str(e) for e in result.errors], "fingerprints": result.fingerprints, "submitted": submitted,
    }))


out = multiprocessing.get_context("fork").SimpleQueue()
if sys.argv[3] == "daemon":  # as in a Celery prefork worker, whose pool processes are daemonic
    worker = multiprocessing.get_context("fork").Process(target=digest, args=(out,), daemon=True)
    worker.start()
    print(out.get())
    worker.join()
else:
    digest(out)
    print(out.get())
"""


@pytest.mark.conformance
@pytest.mark.parametrize("reader", ["main", "daemon"])
def test_reading_in_two_processes_gives_what_one_gives(tmp_path, reader):
    """The conformance examples plus a duplicate ref and a Location target: same entities, errors, order.

    Run in a fresh interpreter: the other process is forked only from a process with no other threads,
    and a test session may have some (the browser tests' live server). ``daemon``: read from a daemonic
    process, as a Celery prefork worker's pool process is.
    """
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    root = tmp_path / "examples"
    shutil.copytree(EXAMPLES, root)
    (root / "zz-dup.yaml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: artist-lookup\n"
        "spec: {type: service, lifecycle: production, owner: team-a}\n"
    )
    (root / "zz-more").mkdir()
    (root / "zz-more" / "x.yaml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: from-target\n"
        "spec: {type: service, lifecycle: production, owner: team-a}\n"
    )
    (root / "zz-loc.yaml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: more\nspec:\n  targets: [./zz-more/*.yaml]\n"
    )

    def outcome(processes: int) -> dict:
        run = subprocess.run([sys.executable, "-c", _DIGEST, str(root), str(processes), reader], capture_output=True,
                             text=True, timeout=120, cwd=Path(__file__).resolve().parents[2])
        assert run.returncode == 0, run.stderr
        assert "reading" not in run.stderr, run.stderr  # no process fell back to reading another's share
        return json.loads(run.stdout)

    one, two = outcome(1), outcome(2)
    assert one["submitted"] == []
    assert two["submitted"] and sum(two["submitted"]) < len(one["fingerprints"])  # another process read a share
    assert {key: value for key, value in two.items() if key != "submitted"} == \
        {key: value for key, value in one.items() if key != "submitted"}
    assert any("artist-lookup is already defined" in error for error in one["errors"])
    assert any(key == "component:default/from-target" for key, *_ in one["entities"])


_FAILING_CHILD = """
import os, sys
from pathlib import Path
from catalog import processing

processing.PARALLEL_MIN_FILES = 2
parent, read_chunk = os.getpid(), processing._read_chunk


def failing_in_children(*args):
    if os.getpid() != parent:
        raise MemoryError("simulated")
    return read_chunk(*args)


processing._read_chunk = failing_in_children
print(len(processing.process_tree(Path(sys.argv[1]), ["**/*.yaml"], processes=int(sys.argv[2])).entities))
"""


@pytest.mark.conformance
def test_a_reader_process_that_fails_leaves_its_share_to_this_one():
    import subprocess
    import sys
    from pathlib import Path

    def run(processes: int):
        return subprocess.run([sys.executable, "-c", _FAILING_CHILD, str(EXAMPLES), str(processes)], capture_output=True,
                              text=True, timeout=120, cwd=Path(__file__).resolve().parents[2])

    one, two = run(1), run(2)
    assert one.returncode == two.returncode == 0, two.stderr
    assert int(two.stdout) == int(one.stdout) > 0
    assert "a reader process failed" in two.stderr and "MemoryError: simulated" in two.stderr


def test_forked_call_returns_the_value_or_says_why_the_child_failed():
    import os

    from catalog.processing import _ForkedCall

    assert _ForkedCall(os.getpid).result() != os.getpid()
    with pytest.raises(RuntimeError, match="ValueError: invalid literal .*bad input"):
        _ForkedCall(int, "bad input").result()
    with pytest.raises(RuntimeError, match="exited with code 3"):
        _ForkedCall(os._exit, 3).result()


def test_only_paths_through_a_symlink_are_resolved_and_those_leading_out_are_not_read(tmp_path):
    """A symlinked directory or file out of the location is skipped; one that stays inside is read."""
    doc = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {{name: {name}}}\nspec: {{type: service, lifecycle: x, owner: t}}\n"
    outside = tmp_path / "outside"
    (outside / "deep").mkdir(parents=True)
    (outside / "deep" / "leak.yaml").write_text(doc.format(name="leaked"))
    (outside / "file.yaml").write_text(doc.format(name="leaked-file"))
    root = tmp_path / "repo"
    (root / "svc").mkdir(parents=True)
    (root / "svc" / "a.yaml").write_text(doc.format(name="a"))
    (root / "dir-out").symlink_to(outside / "deep", target_is_directory=True)
    (root / "file-out.yaml").symlink_to(outside / "file.yaml")
    (root / "dir-in").symlink_to(root / "svc", target_is_directory=True)
    # "**" does not descend into symlinked directories (Python 3.11); a pattern naming one goes through it
    result = process_tree(root, ["**/*.yaml", "dir-in/*.yaml", "dir-out/*.yaml"])
    names = sorted(entity.data["metadata"]["name"] for entity in result.entities)
    assert names == ["a"], names  # dir-in/a.yaml is the same ref as svc/a.yaml: read, and a conflict within the location
    assert "dir-in/a.yaml" in result.files and not any(f.startswith(("dir-out", "file-out")) for f in result.files)


def test_a_symlink_loop_or_a_link_into_git_is_an_error_on_its_file_not_a_crash(tmp_path):
    """Found by a hostile review: Python 3.11's resolve() raises RuntimeError on a loop, which stopped the refresh;
    a link to ``.git`` let a location read the checkout's own git files."""
    import subprocess

    root = tmp_path / "repo"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / "loop").symlink_to(root / "loop")
    (root / "g").symlink_to(root / ".git", target_is_directory=True)
    (root / "a.yaml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: a\n  description: {$text: ./loop}\n"
        "spec: {type: service, lifecycle: x, owner: t}\n")
    (root / "b.yaml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: b\n  description: {$text: ./g/config}\n"
        "spec: {type: service, lifecycle: x, owner: t}\n")
    result = process_tree(root, ["*.yaml", "loop", "g/config"])
    assert result.entities == []
    messages = " | ".join(str(e) for e in result.errors)
    assert "a.yaml" in messages and "b.yaml" in messages, messages
    assert "g/config" not in result.files and "loop" not in result.files
    assert "[core]" not in messages  # nothing of .git/config was read


def test_a_file_fingerprint_is_gits_blob_id(tmp_path):
    import subprocess

    from catalog.processing import _sha

    for data in (b"", b"hello\n", b"blob 5\0hello"):
        path = tmp_path / "f"
        path.write_bytes(data)
        assert _sha(path) == subprocess.run(["git", "hash-object", str(path)], capture_output=True, text=True,
                                            check=True).stdout.strip()
