"""The console's people screens end to end (用户分层 and 用户标签): the layers page shows the
API's RFM groups, stage counts and stage transitions after a refresh, and a tag made on the tags
page is given to a person on their profile. Same browser, server and demo data as
``test_console_e2e``; screenshots go to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx

# Without the test extra the fixtures below skip every test; the names are then not needed.
with contextlib.suppress(ImportError):
    from playwright.sync_api import Page, Response, expect

from test_console_e2e import (  # noqa: F401
    Console,
    _needs_browser_and_build,
    browser,
    console,
    page,
    pick,
    settled,
    shoot,
    sign_in,
)

STAGES = ("new", "active", "resurrected", "silent", "churned")
# The stages' names on screen in English (web/src/i18n/dict.ts, layers.stage.*).
STAGE_NAMES = {"new": "New", "active": "Active", "resurrected": "Resurrected",
               "silent": "Silent (at risk)", "churned": "Churned"}  # fmt: skip


def _api(console: Console) -> httpx.Client:  # noqa: F811
    return httpx.Client(base_url=console.url + "/api/projects/demo", timeout=120,
                        headers={"Authorization": f"Bearer {console.key}"})  # fmt: skip


def _posted(path: str) -> Callable[[Response], bool]:
    """The answer to the page's POST to the demo project's ``path``."""
    return lambda r: r.request.method == "POST" and r.url.endswith("/api/projects/demo" + path)


def _ok(answer: httpx.Response) -> Any:
    assert answer.is_success, answer.text
    return answer.json()


def test_the_layers_page_shows_the_apis_groups_stages_and_transitions(
    page: Page,  # noqa: F811
    console: Console,  # noqa: F811
) -> None:
    api = _api(console)
    refreshed = _ok(api.post("/computed-properties/refresh", json={}))
    assert refreshed["persons"] > 0
    groups = _ok(api.get("/rfm"))
    assert [g["group"] for g in groups][:1] == ["important_value"]
    assert sum(g["persons"] for g in groups) > 0  # the demo shop has orders
    stages = _ok(api.get("/lifecycle-stages"))

    sign_in(page, console, "owner@example.com")
    with page.expect_response(lambda r: "/lifecycle-stages/transitions?" in r.url) as answered:
        page.goto(console.url + "/p/demo/layers")
    expect(page.get_by_test_id("page-layers")).to_be_visible()
    for group in groups:
        expect(page.get_by_test_id(f"rfm-persons-{group['group']}")).to_have_text(
            f"{group['persons']:,}"
        )
    for stage in STAGES:
        expect(page.get_by_test_id(f"stage-count-{stage}")).to_have_text(
            f"{stages['counts'][stage]:,}"
        )

    # The week up to the stages' day, as the page asked for it; every cell of the matrix.
    asked = parse_qs(urlparse(answered.value.url).query)
    assert asked["end"] == [stages["day"]]
    flows = _ok(api.get("/lifecycle-stages/transitions",
                        params={"start": asked["start"][0], "end": asked["end"][0]}))  # fmt: skip
    cells = {(f["from"], f["to"]): f["persons"] for f in flows}
    assert sum(cells.values()) > 0, flows  # a week of demo traffic moves someone
    for before in ("", *STAGES):
        for after in STAGES:
            expect(page.get_by_test_id(f"transition-{before or 'first'}-{after}")).to_have_text(
                f"{cells.get((before, after), 0):,}"
            )
    expect(page.get_by_test_id("highlight-active-silent")).to_have_text(
        f"{cells.get(('active', 'silent'), 0):,}"
    )
    expect(page.get_by_test_id("highlight-churned-resurrected")).to_have_text(
        f"{cells.get(('churned', 'resurrected'), 0):,}"
    )
    expect(page.get_by_test_id("transitions-sankey").locator("svg")).to_be_visible()
    expect(page.get_by_test_id("rfm-chart").locator("svg")).to_be_visible()
    page.wait_for_timeout(1500)  # the charts' entry animation, for the screenshot
    shoot(page, "layers")

    # Refresh now from the page: it says when, and the groups are the API's again.
    with page.expect_response(lambda r: r.url.endswith("/computed-properties/refresh")) as done:
        page.get_by_test_id("people-refresh").click()
    assert done.value.status == 200
    expect(page.get_by_test_id("last-refresh")).to_contain_text("persons")
    groups = _ok(api.get("/rfm"))
    for group in groups:
        expect(page.get_by_test_id(f"rfm-persons-{group['group']}")).to_have_text(
            f"{group['persons']:,}"
        )

    # A group saved as a segment ($rfm_group, a person property) has the group's persons.
    biggest = max(groups, key=lambda g: g["persons"])
    with page.expect_response(_posted("/segments")) as saved:
        page.get_by_test_id(f"rfm-segment-{biggest['group']}").click()
    segment = saved.value.json()
    # Named with the time to the second (in the project's zone): two saves a minute apart differ.
    assert re.search(r"\d{2}:\d{2}:\d{2}$", segment["name"]), segment["name"]
    page.wait_for_url(re.compile(rf"/p/demo/segments/{segment['id']}$"))
    _ok(api.post(f"/segments/{segment['id']}/refresh"))
    assert _ok(api.get(f"/segments/{segment['id']}"))["size"] == biggest["persons"]

    # The operator's words in Chinese (the glossary's 用户分层, 沉默, 流失, 回流).
    page.evaluate("window.localStorage.setItem('userops.lang', 'zh-CN')")
    page.goto(console.url + "/p/demo/layers")
    expect(page.get_by_test_id("stages-card")).to_contain_text("沉默用户")
    expect(page.get_by_test_id("rfm-table")).to_contain_text("重要价值客户")
    page.wait_for_timeout(1500)
    shoot(page, "layers-zh")


def test_a_tag_made_on_the_tags_page_is_given_to_a_person_on_their_profile(
    page: Page,  # noqa: F811
    console: Console,  # noqa: F811
) -> None:
    api = _api(console)
    name = "E2E big spenders"
    person = _ok(api.get("/persons", params={"limit": 1}))["persons"][0]
    sign_in(page, console, "owner@example.com")
    page.goto(console.url + "/p/demo/tags")
    expect(page.get_by_test_id("page-tags")).to_be_visible()
    page.get_by_test_id("new-tag").click()
    page.get_by_test_id("tag-name").fill(name)
    with page.expect_response(_posted("/tags")) as created:
        page.get_by_test_id("tag-save").click()
    assert created.value.status == 201, created.value.text()
    tag = created.value.json()
    assert tag["kind"] == "manual"
    row = page.get_by_test_id(f"tag-row-{name}")
    expect(row).to_be_visible()
    expect(page.get_by_test_id(f"tag-persons-{tag['id']}")).to_have_text("0")
    shoot(page, "tags")

    # The profile's computed properties as of the last refresh (the layers test's, or one now).
    computed = _ok(api.get(f"/persons/{person['person_id']}"))["computed"]
    if "$lifecycle_stage" not in computed or "$orders" not in computed:
        _ok(api.post("/computed-properties/refresh", json={}))
        computed = _ok(api.get(f"/persons/{person['person_id']}"))["computed"]
    assert {"$orders", "$lifecycle_stage"} <= computed.keys(), computed

    page.goto(f"{console.url}/p/demo/persons/{person['person_id']}")
    expect(page.get_by_test_id("person-tags-card")).to_be_visible()
    expect(page.get_by_test_id("computed-$orders")).to_have_text(f"{computed['$orders']:,}")
    expect(page.get_by_test_id("computed-$lifecycle_stage")).to_have_text(
        STAGE_NAMES[computed["$lifecycle_stage"]]
    )
    expect(page.get_by_test_id("person-segments")).to_be_visible()
    pick(page, "person-tag-select", name)
    with page.expect_response(lambda r: r.url.endswith(f"/tags/{tag['id']}/persons")) as given:
        page.get_by_test_id("person-tag-add").click()
    assert given.value.json()["added"] == 1, given.value.text()
    expect(page.get_by_test_id(f"person-tag-{tag['id']}")).to_contain_text(name)
    held = _ok(api.get(f"/persons/{person['person_id']}/tags"))
    assert tag["id"] in [t["id"] for t in held]
    shoot(page, "person-tags")

    # The tags page counts the new holder.
    page.goto(console.url + "/p/demo/tags")
    expect(page.get_by_test_id(f"tag-persons-{tag['id']}")).to_have_text("1")
