"""Backstage's filter predicates: checked where they enter, matched as Backstage matches them."""
from __future__ import annotations

import pytest

from catalog.predicates import PredicateError, predicate_check, predicate_match

ENTITY = {"kind": "Component", "metadata": {"name": "checkout", "tags": ["python", "payments"],
                                            "annotations": {"backstage.io/orphan": "true"}},
          "spec": {"type": "service", "replicas": 3, "ports": [{"name": "http", "port": 80}]}}


@pytest.mark.parametrize("predicate,expected", [
    (None, True),
    ({"kind": "component"}, True),  # case is ignored
    ({"kind": "api"}, False),
    ({"spec.replicas": "3"}, True),  # numbers compare as text
    ({"spec.replicas": 3, "kind": "Component"}, True),
    ({"metadata.tags": "python"}, True),  # through arrays
    ({"metadata.annotations.backstage.io/orphan": "true"}, True),  # keys with dots
    ({"spec.ports.name": "http"}, True),
    ({"spec.owner": {"$exists": False}}, True),
    ({"spec.type": {"$exists": True}}, True),
    ({"kind": {"$in": ["API", "component"]}}, True),
    ({"metadata.name": {"$hasPrefix": "CHECK"}}, True),
    ({"metadata.name": {"$hasPrefix": "x"}}, False),
    ({"spec.ports": {"$contains": {"port": 80}}}, True),
    ({"spec.ports": {"$contains": {"port": 81}}}, False),
    ({"$all": [{"kind": "component"}, {"spec.type": "service"}]}, True),
    ({"$all": [{"kind": "component"}, {"spec.type": "website"}]}, False),
    ({"$any": [{"kind": "api"}, {"spec.type": "service"}]}, True),
    ({"$not": {"kind": "component"}}, False),
    ({"$not": {"$any": [{"kind": "api"}, {"kind": "group"}]}}, True),
])
def test_predicates_match_as_backstage_matches(predicate, expected):
    predicate_check(predicate)
    assert predicate_match(ENTITY, predicate) is expected


@pytest.mark.parametrize("predicate,message", [
    ({"$nope": []}, "unknown operator"),
    ({"kind": {"$regex": ".*"}}, "not a matcher"),
    ({"$all": {"kind": "x"}}, "$all: an array"),
    ({"$all": [{"kind": "x"}], "kind": "y"}, "stands alone"),
    ({"kind": ["a"]}, "kind:"),
    ({"kind": {"$in": [{"a": 1}]}}, "kind: $in"),
    ([], "an object"),
    ({"$not": {"$not": {"$not": {"$not": {"kind": "x"}}}}}, "deeper than 3"),
    ({"kind": {"$in": ["x"] * 2000}}, "more than 1000"),
])
def test_a_predicate_wayline_cannot_read_is_an_error_naming_where(predicate, message):
    with pytest.raises(PredicateError, match=message.replace("$", r"\$")):
        predicate_check(predicate, depth=3)
