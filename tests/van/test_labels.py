import itertools
import random

import pytest

from van.labels import (
    LabelError, Requirement, Selector, Tag, selector_from_k8s, selector_minus, selector_parse, short_name, tag_parse, tags_parse,
    tags_to_labels,
)


def test_plain_and_key_value_tags():
    assert tags_parse("gpu, region=eu  tier=gold,gpu") == [Tag("gpu"), Tag("region", "eu"), Tag("tier", "gold")]
    assert tags_to_labels(tags_parse("gpu region=eu")) == {"gpu": "", "region": "eu"}
    assert str(tag_parse("example.com/zone=a-1")) == "example.com/zone=a-1"


@pytest.mark.parametrize("text, fragment", [
    ("-gpu", "must start and end with a letter or digit"),
    ("region=", "the value after '=' is empty"),
    ("region=eu west", None),  # split into two tags: 'west' is fine on its own, so check below separately
    ("a" * 64, "64 characters long; 63 at most"),
    ("zone=" + "b" * 64, "63 at most"),
    ("Example.COM/zone=a", "must be a DNS subdomain"),
    ("wayline.io/van=x", "reserved"),
    ("sub.kubernetes.io/x", "reserved"),
    ("/zone", "prefix before '/' is empty"),
    ("zone=a/b", "may contain only letters"),
])
def test_invalid_tags_say_what_is_wrong(text, fragment):
    if fragment is None:
        assert tags_parse(text) == [Tag("region", "eu"), Tag("west")]
        return
    with pytest.raises(LabelError) as exc:
        tags_parse(text)
    assert fragment in str(exc.value)
    assert "tag 1" in str(exc.value)


def test_one_value_per_key():
    with pytest.raises(LabelError, match="tag 2: 'region=us' conflicts with 'region=eu'"):
        tags_parse(["region=eu", "region=us"])


def test_selector_syntax_round_trips_through_the_kubernetes_object():
    text = "region=eu, tier in (gold, silver), tier notin (bronze), gpu, !legacy, zone!=a"
    selector = selector_parse(text)
    k8s = selector.to_k8s()
    assert k8s["matchLabels"] == {"region": "eu"}
    assert {"key": "legacy", "operator": "DoesNotExist"} in k8s["matchExpressions"]
    assert {"key": "tier", "operator": "In", "values": ["gold", "silver"]} in k8s["matchExpressions"]
    assert selector_from_k8s(k8s) == selector
    assert selector_parse(str(selector)) == selector
    assert selector_parse("") == Selector() and Selector().to_k8s() == {}


@pytest.mark.parametrize("text, fragment", [
    ("region=eu,,gpu", "requirement 2: empty"),
    ("tier in ()", "needs at least one value"),
    ("a b", "not understood"),
    ("Region==EU!", "not understood"),
    ("zone=" + "x" * 70, "63 at most"),
    ("argocd.argoproj.io/secret-type=cluster", "reserved"),
])
def test_invalid_selectors_name_the_requirement(text, fragment):
    with pytest.raises(LabelError) as exc:
        selector_parse(text)
    assert fragment in str(exc.value)


@pytest.mark.parametrize("selector, labels, expected", [
    ("region=eu", {"region": "eu"}, True),
    ("region=eu", {}, False),
    ("region!=eu", {}, True),  # NotIn matches objects without the key (Kubernetes semantics)
    ("region!=eu", {"region": "eu"}, False),
    ("tier in (gold,silver)", {"tier": "silver"}, True),
    ("tier notin (gold)", {"tier": "silver"}, True),
    ("gpu", {"gpu": ""}, True),
    ("gpu", {"gpu": "a100"}, True),
    ("!gpu", {"gpu": ""}, False),
    ("gpu, region=eu", {"gpu": "", "region": "us"}, False),
])
def test_evaluator(selector, labels, expected):
    assert selector_parse(selector).matches(labels) is expected


def test_selector_minus_is_exact_and_disjoint():
    """Brute force over every label set on a small alphabet: pieces partition selector AND NOT earlier."""
    rng = random.Random(7)
    keys, values = ["a", "b", "c"], ["x", "y"]
    label_sets = []
    for choice in itertools.product([None] + values, repeat=len(keys)):
        label_sets.append({k: v for k, v in zip(keys, choice) if v is not None} | ({"d": ""} if rng.random() < 0.5 else {}))
    ops = ["a=x", "a!=x", "b in (x,y)", "b notin (y)", "c", "!c", "d", "a in (y)"]
    for _ in range(200):
        sel = selector_parse(", ".join(rng.sample(ops, rng.randint(0, 2))))
        earlier = [selector_parse(", ".join(rng.sample(ops, rng.randint(1, 3)))) for _ in range(rng.randint(1, 3))]
        pieces = selector_minus(sel, earlier)
        for labels in label_sets:
            want = sel.matches(labels) and not any(e.matches(labels) for e in earlier)
            hits = sum(p.matches(labels) for p in pieces)
            assert hits == int(want), (str(sel), [str(e) for e in earlier], labels)


def test_selector_minus_refuses_explosions():
    earlier = [selector_parse(f"k{i}=a, j{i}=b, m{i}=c") for i in range(6)]
    with pytest.raises(LabelError, match="too many ways"):
        selector_minus(selector_parse("z"), earlier, limit=50)


def test_unsatisfiable_selectors_are_detected():
    assert not Selector((Requirement("a", "In", ("x",)), Requirement("a", "DoesNotExist"))).satisfiable()
    assert not Selector((Requirement("a", "In", ("x",)), Requirement("a", "NotIn", ("x",)))).satisfiable()
    assert Selector((Requirement("a", "NotIn", ("x",)), Requirement("a", "DoesNotExist"))).satisfiable()


def test_short_names_are_deterministic_bounded_and_distinct():
    long_a, long_b = "payments-" + "a" * 60, "payments-" + "a" * 59 + "b"
    assert short_name("short", 30) == "short"
    assert short_name(long_a, 30) == short_name(long_a, 30)
    assert short_name(long_a, 30) != short_name(long_b, 30)
    assert len(short_name(long_a, 30)) <= 30
