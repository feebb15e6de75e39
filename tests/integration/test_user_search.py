"""GET /users/search through HTTP on DynamoDB Local: the index, its order and its cursor."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.integration.conftest import ApiClient


def ids(page: dict[str, object]) -> list[str]:
    data = page["data"]
    assert isinstance(data, list)
    return [user["id"] for user in data]


def test_search_by_id_email_or_name_prefix_ignoring_case(api: ApiClient) -> None:
    for user_id, attributes in [
        ("u-1", {"name": "Émile Zola", "email": "emile@novel.fr"}),
        ("u-2", {"name": "Emma Bovary", "email": "EMMA@novel.fr"}),
        ("emperor", {"email": "nap@empire.fr"}),
        ("u-3", {"name": "Victor Hugo"}),
    ]:
        assert api.request("POST", "/users", json={"id": user_id, "attributes": attributes}).ok

    found = api.request("GET", "/users/search", query=[("q", "EM")])
    assert found.status == 200
    # Index order of the first matching text: "emile@novel.fr", "emma bovary", "emperor".
    assert ids(found.json()) == ["u-1", "u-2", "emperor"]
    assert ids(api.request("GET", "/users/search", query=[("q", "émile z")]).json()) == ["u-1"]
    assert ids(api.request("GET", "/users/search", query=[("q", "victor")]).json()) == ["u-3"]
    assert ids(api.request("GET", "/users/search", query=[("q", "nap@")]).json()) == ["emperor"]


def test_every_match_once_across_pages(api: ApiClient) -> None:
    def create(n: int) -> bool:
        body = {"id": f"p{n:02d}", "attributes": {"name": f"Pat {n:02d}", "email": f"p{n}@x.io"}}
        return api.request("POST", "/users", json=body).ok

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert all(pool.map(create, range(25)))
    seen: list[str] = []
    page = api.request("GET", "/users/search", query=[("q", "p"), ("limit", "4")]).json()
    while True:
        seen += ids(page)
        if not page["has_more"]:
            break
        page = api.request("GET", page["next_page_url"]).json()
    assert sorted(seen) == [f"p{n:02d}" for n in range(25)]
    assert len(seen) == 25


def test_a_user_named_search_cannot_be_made_but_search_answers(api: ApiClient) -> None:
    refused = api.request("POST", "/users", json={"id": "search"})
    assert refused.status == 400
    assert "reserved" in refused.json()["error"]["message"]
    answered = api.request("GET", "/users/search", query=[("q", "search")])
    assert answered.status == 200 and answered.json()["data"] == []
