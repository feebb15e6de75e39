"""The route table's matcher: the local stack picks the function API Gateway would."""

from __future__ import annotations

import pytest

from infra.routes import API_FUNCTIONS, FunctionRoute, match, specificity

# Listed variable-first on purpose: the order of the table must not matter.
ROUTES = (
    FunctionRoute(
        name="things",
        handler="functions.things.handler.lambda_handler",
        paths=("/things/{thing_id}", "/things/{thing_id}/parts/{part_id}", "/things/search"),
    ),
    FunctionRoute(
        name="parts",
        handler="functions.parts.handler.lambda_handler",
        paths=("/things/{thing_id}/parts/top",),
    ),
)


@pytest.mark.parametrize(
    ("path", "function", "template", "parameters"),
    [
        ("/things/search", "things", "/things/search", {}),
        ("/things/searching", "things", "/things/{thing_id}", {"thing_id": "searching"}),
        ("/things/a%2Fb", "things", "/things/{thing_id}", {"thing_id": "a%2Fb"}),
        ("/things/t1/parts/top", "parts", "/things/{thing_id}/parts/top", {"thing_id": "t1"}),
        (
            "/things/t1/parts/p1",
            "things",
            "/things/{thing_id}/parts/{part_id}",
            {"thing_id": "t1", "part_id": "p1"},
        ),
    ],
)
def test_a_static_segment_wins_over_a_variable_one_as_in_api_gateway(
    path: str, function: str, template: str, parameters: dict[str, str]
) -> None:
    found = match(path, ROUTES)
    assert found is not None
    route, resource, values = found
    assert (route.name, resource, values) == (function, template, parameters)


def test_an_unknown_path_matches_nothing() -> None:
    assert match("/things", ROUTES) is None
    assert match("/nothing/here") is None


def test_specificity_ranks_segment_by_segment() -> None:
    assert specificity("/users/search") < specificity("/users/{user_id}")
    assert specificity("/a/{b}/c") < specificity("/a/{b}/{c}") < specificity("/{a}/b/c")


def test_no_two_templates_of_the_api_are_equally_specific_for_one_path() -> None:
    templates = [path for route in API_FUNCTIONS for path in route.paths]
    shapes = [tuple("{}" if p.startswith("{") else p for p in t.split("/")) for t in templates]
    assert len(shapes) == len(set(shapes))
