"""The console's segments (用户分群) end to end: a segment built on screen shows the live count
the API previews for the same definition, is saved and refreshed to the API's size, and then
filters a trend to the API's own number for the same spec. Same browser, server and demo data
as ``test_console_e2e``; screenshots go to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
from playwright.sync_api import Page, Request, Response, expect

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


def _api(console: Console) -> httpx.Client:  # noqa: F811
    return httpx.Client(base_url=console.url + "/api/projects/demo", timeout=120,
                        headers={"Authorization": f"Bearer {console.key}"})  # fmt: skip


def _ok(answer: httpx.Response) -> Any:
    assert answer.is_success, answer.text
    return answer.json()


def _shown(value: float) -> str:
    """A number as the console's English number format shows it (at most 2 decimals)."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def test_a_segment_built_on_screen_counts_saves_refreshes_and_filters_a_trend(
    page: Page,  # noqa: F811
    console: Console,  # noqa: F811
) -> None:
    api = _api(console)
    sign_in(page, console, "owner@example.com")
    page.get_by_test_id("nav-segments").click()
    expect(page.get_by_test_id("page-segments")).to_be_visible()
    shoot(page, "segments-empty")

    # Build "performed order_completed at least once in the last 30 days" on screen: the new
    # segment's first condition is "performed ... >= 1 time, last 30 days"; pick the event.
    page.get_by_test_id("new-segment").click()
    expect(page.get_by_test_id("page-segment")).to_be_visible()
    page.get_by_test_id("segment-name").fill("Recent buyers")
    page.get_by_test_id("segment-description").fill("Ordered in the last 30 days")

    def previewed(response: Response) -> bool:
        if not (
            response.request.method == "POST"
            and response.url.endswith("/api/projects/demo/segments/preview")
        ):
            return False
        body = json.loads(response.request.post_data or "{}")
        return "order_completed" in json.dumps(body)

    with page.expect_response(previewed) as answered:
        pick(page, "tree-0-event", "order_completed")
    assert answered.value.status == 200
    definition = json.loads(answered.value.request.post_data or "{}")["definition"]
    assert definition == {"and": [{"kind": "performed", "event": "order_completed",
                                   "operator": "gte", "count": 1,
                                   "window": {"last_days": 30}}]}  # fmt: skip
    expected = _ok(api.post("/segments/preview", json={"definition": definition}))["count"]
    assert expected > 0  # the demo shop has orders in its 30 days
    live = page.get_by_test_id("segment-live-count")
    expect(live).to_have_attribute("data-loading", "false")
    expect(live).to_have_text(_shown(expected))
    shoot(page, "segment-builder")

    # A condition the server refuses (no segment picked yet) shows its message, naming the
    # field by its path, in place of the count; removing it brings the count back.
    page.get_by_test_id("tree-add-condition").click()
    pick(page, "tree-1-kind", "Member of a segment")
    error = page.get_by_test_id("segment-live-error")
    expect(error).to_contain_text("and.1")
    shoot(page, "segment-builder-error")
    page.get_by_test_id("tree-1-remove").click()
    expect(error).to_have_count(0)
    expect(live).to_have_text(_shown(expected))

    with page.expect_response(
        lambda r: r.request.method == "POST" and r.url.endswith("/api/projects/demo/segments")
    ) as saved:
        page.get_by_test_id("segment-save").click()
    assert saved.value.status == 201, saved.value.text()
    segment_id = saved.value.json()["id"]
    expect(page).to_have_url(re.compile(rf"/p/demo/segments/{segment_id}$"))

    refresh = f"/segments/{segment_id}/refresh"
    with page.expect_response(lambda r: r.url.endswith(refresh)) as done:
        page.get_by_test_id("segment-refresh-now").click()
    record = done.value.json()
    assert record["status"] == "ok", record
    stored = _ok(api.get(f"/segments/{segment_id}"))
    assert stored["size"] == record["size"] == expected
    expect(page.get_by_test_id("segment-size")).to_have_text(_shown(stored["size"]))
    expect(page.get_by_test_id("segment-history-chart")).to_be_visible()
    expect(page.locator("[data-testid^='segment-member-']").first).to_be_visible()
    shoot(page, "segment-detail")

    page.get_by_test_id("nav-segments").click()
    expect(page.get_by_test_id(f"segment-size-{segment_id}")).to_have_text(
        _shown(stored["size"]))  # fmt: skip
    row = page.locator(f"tr[data-row-key='{segment_id}']")  # the demo has segments of its own
    expect(row.get_by_test_id("segment-status")).to_contain_text("OK")
    shoot(page, "segments-list")

    # The saved segment as a filter of the trends page: the number is the API's for the spec.
    page.get_by_test_id("nav-trends").click()
    expect(page.get_by_test_id("page-trends")).to_be_visible()
    settled(page)
    page.get_by_test_id("filters-add").click()
    pick(page, "filters-type-0", "Segment")

    def filtered(request: Request) -> bool:
        if not (request.method == "POST" and request.url.endswith("/api/projects/demo/query")):
            return False
        filters = json.loads(request.post_data or "{}").get("filters", [])
        return bool(filters) and filters[0].get("type") == "segment"

    with page.expect_request(filtered) as sent:
        pick(page, "filters-key-0", "Recent buyers")
    settled(page)
    spec = json.loads(sent.value.post_data or "{}")
    assert spec["filters"] == [{"key": str(segment_id), "type": "segment",
                                "operator": "is_set"}]  # fmt: skip
    total = console.query(spec)["series"][0]["total"]
    assert total is not None and total > 0
    expect(page.get_by_test_id("trends-total-0")).to_have_text(_shown(total))
    shoot(page, "trends-segment-filter")

    # Broken down by the segment, the values read as membership.
    pick(page, "breakdown-type", "Segment")
    with page.expect_request(lambda r: r.url.endswith("/api/projects/demo/query")
                             and '"breakdown"' in (r.post_data or "")):  # fmt: skip
        pick(page, "breakdown-key", "Recent buyers")
    settled(page)
    expect(page.get_by_test_id("trends-table")).to_contain_text("In Recent buyers")
    shoot(page, "trends-segment-breakdown")

    # A segment another one refers to cannot be deleted: the server's 409 message shows.
    other = _ok(api.post("/segments", json={
        "name": "Refers", "definition": {"kind": "segment", "id": segment_id}}))  # fmt: skip
    page.get_by_test_id("nav-segments").click()
    page.get_by_test_id(f"segment-delete-{segment_id}").click()
    page.locator(".ant-popconfirm .ant-btn-primary").click()
    expect(page.locator(".ant-message")).to_contain_text("Refers")
    expect(page.get_by_test_id(f"segment-link-{segment_id}")).to_be_visible()
    shoot(page, "segments-delete-refused")

    # A CSV of ids makes the other segment a static list; the unknown id is named by its line.
    members = _ok(api.get(f"/segments/{segment_id}/members", params={"limit": 2}))["persons"]
    known = [person["distinct_ids"][0] for person in members]
    page.get_by_test_id(f"segment-link-{other['id']}").click()
    expect(page.get_by_test_id("page-segment")).to_be_visible()
    csv = "\n".join(["id", *known, "nobody-at-all"]) + "\n"
    page.locator("input[type=file]").set_input_files(
        files=[{"name": "ids.csv", "mimeType": "text/csv", "buffer": csv.encode()}])  # fmt: skip
    result = page.get_by_test_id("segment-upload-result")
    expect(result).to_contain_text(f"{len(known)} persons in the list; 1 ids not found")
    expect(result).to_contain_text("nobody-at-all")
    stored = _ok(api.get(f"/segments/{other['id']}"))
    assert stored["definition"] == {"kind": "distinct_ids", "ids": known}
    expect(page.get_by_test_id("tree-0-ids")).to_have_value("\n".join(known))  # the form too
    shoot(page, "segment-static-upload")

    # Saved again with its list untouched, the list stays out of the request (a long one
    # would be over the server's body limit) and the definition is kept.
    page.get_by_test_id("segment-name").fill("Refers, renamed")
    with page.expect_response(
        lambda r: r.request.method == "PUT" and r.url.endswith(f"/segments/{other['id']}")
    ) as put:
        page.get_by_test_id("segment-save").click()
    assert put.value.status == 200, put.value.text()
    assert "definition" not in json.loads(put.value.request.post_data or "{}")
    stored = _ok(api.get(f"/segments/{other['id']}"))
    assert stored["name"] == "Refers, renamed"
    assert stored["definition"] == {"kind": "distinct_ids", "ids": known}

    # An id that is not a number is no segment.
    page.goto(console.url + "/p/demo/segments/abc")
    expect(page.get_by_test_id("segment-not-found")).to_be_visible()
