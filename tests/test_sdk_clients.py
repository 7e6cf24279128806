"""Official SDKs, unmodified, against a real `userops serve`; then the stored rows, field by field.

Also payloads from Segment's spec (the documented analytics.js examples) posted as they are.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from server_helpers import Server, new_project
from userops.config import load_settings
from userops.runtime import Runtime
from userops.store import rows

pytestmark = pytest.mark.usefixtures("clean_environment")

UTC = dt.UTC
T0 = dt.datetime(2026, 11, 20, 8, 30, 15, 123000, tzinfo=UTC)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Server, str]]:
    data_dir = tmp_path / "data"
    key = new_project(data_dir)
    server = Server(data_dir)
    server.start()
    try:
        yield server, key
    finally:
        if server.process and server.process.poll() is None:
            server.stop()


COLUMNS = ("message_id, type, event, distinct_id, anonymous_id, user_id, previous_id, group_id, "
           "name, timestamp, properties, traits, context, utm_source, utm_medium, utm_campaign, "
           "os, browser, device_type, app_version, country, person_id")  # fmt: skip


def stored(data_dir: Path) -> dict[str, dict[str, Any]]:
    settings = load_settings({"data_dir": str(data_dir)}, environ={})
    with Runtime.open(settings) as runtime:
        table = runtime.store.arrow(f"SELECT {COLUMNS} FROM events")  # noqa: S608
    by_id: dict[str, dict[str, Any]] = {}
    for row in table.to_pylist():
        for name in ("properties", "traits", "context"):
            row[name] = json.loads(row[name]) if row[name] else {}
        by_id[row["message_id"]] = row
    return by_id


def test_segment_python_sdk(served: tuple[Server, str]) -> None:
    from segment.analytics import Client

    server, key = served
    errors: list[Any] = []
    client = Client(key, host=server.url, sync_mode=True, gzip=True,
                    on_error=lambda error, batch: errors.append(error))  # fmt: skip
    client.track(anonymous_id="anon-1", event="Order Completed", message_id="t1", timestamp=T0,
                 properties={"revenue": 99.5, "currency": "CNY", "items": [{"sku": "a"}]},
                 context={"campaign": {"source": "wechat", "medium": "social",
                                       "name": "cny"}})  # fmt: skip
    client.identify(user_id="user-1", anonymous_id="anon-1", message_id="i1", timestamp=T0,
                    traits={"city": "上海", "plan": "pro"})  # fmt: skip
    client.page(user_id="user-1", category="Docs", name="Pricing", message_id="p1", timestamp=T0,
                properties={"url": "https://shop.example/pricing?utm_source=baidu"})  # fmt: skip
    client.screen(user_id="user-1", name="Cart", message_id="s1", timestamp=T0)
    client.group(user_id="user-1", group_id="org-9", traits={"name": "Initech"},
                 message_id="g1", timestamp=T0)  # fmt: skip
    client.alias(previous_id="legacy-7", user_id="user-1", message_id="a1", timestamp=T0)
    client.flush()
    assert errors == []
    # A clean shutdown flushes the log into the store (uvicorn re-raises SIGTERM once done).
    assert server.stop() in (0, -signal.SIGTERM)
    events = stored(server.data_dir)
    assert set(events) == {"t1", "i1", "p1", "s1", "g1", "a1"}

    track = events["t1"]
    assert (track["type"], track["event"], track["distinct_id"], track["anonymous_id"]) == (
        "track", "Order Completed", "anon-1", "anon-1")  # fmt: skip
    assert track["timestamp"] == T0
    assert track["properties"] == {"revenue": 99.5, "currency": "CNY", "items": [{"sku": "a"}]}
    assert track["context"]["library"]["name"] == "analytics-python"
    assert "ip" not in track["context"]  # the project does not store IPs (the default)
    assert (track["utm_source"], track["utm_medium"], track["utm_campaign"]) == (
        "wechat", "social", "cny")  # fmt: skip

    identify = events["i1"]
    assert (identify["type"], identify["event"], identify["user_id"]) == (
        "identify", "$identify", "user-1")  # fmt: skip
    assert identify["traits"] == {"city": "上海", "plan": "pro"}

    page = events["p1"]
    assert (page["type"], page["event"], page["name"], page["utm_source"]) == (
        "page", "$pageview", "Pricing", "baidu")  # fmt: skip
    assert page["properties"]["url"] == "https://shop.example/pricing?utm_source=baidu"

    assert (events["s1"]["type"], events["s1"]["name"]) == ("screen", "Cart")
    assert (events["g1"]["group_id"], events["g1"]["traits"]) == ("org-9", {"name": "Initech"})
    assert (events["a1"]["type"], events["a1"]["previous_id"], events["a1"]["user_id"]) == (
        "alias", "legacy-7", "user-1")  # fmt: skip
    # anon-1, user-1 and legacy-7 are one person (resolved: stamped or overridden).
    settings = load_settings({"data_dir": str(server.data_dir)}, environ={})
    with Runtime.open(settings) as runtime:
        from userops.analysis.resolved import RESOLVED_EVENTS, RESOLVED_PERSON

        persons = rows(runtime.store, f"SELECT uniqExact({RESOLVED_PERSON}) "  # noqa: S608
                                      f"FROM {RESOLVED_EVENTS}", {"project": 1})  # fmt: skip
    assert persons == [(1,)]


# Segment's spec, "Common Fields": the documented example of a full analytics.js track call.
SPEC_TRACK: dict[str, Any] = {
    "anonymousId": "507f191e810c19729de860ea",
    "context": {
        "active": True,
        "app": {"name": "InitechGlobal", "version": "545", "build": "3.0.1.545",
                "namespace": "com.production.segment"},
        "campaign": {"name": "TPS Innovation Newsletter", "source": "Newsletter",
                     "medium": "email", "term": "tps reports", "content": "image link"},
        "device": {"id": "B5372DB0-C21E-11E4-8DFC-AA07A5B093DB",
                   "advertisingId": "7A3CBEA0-BDF5-11E4-8DFC-AA07A5B093DB",
                   "adTrackingEnabled": True, "manufacturer": "Apple", "model": "iPhone7,2",
                   "name": "maguro", "type": "ios",
                   "token": "ff15bc0c20c4aa6cd50854ff165fd265c838e5405bfeb9571066395b8c9da449"},
        "ip": "8.8.8.8",
        "library": {"name": "analytics.js", "version": "2.11.1"},
        "locale": "en-US",
        "location": {"city": "San Francisco", "country": "United States",
                     "latitude": 40.2964197, "longitude": -76.9411617, "speed": 0},
        "network": {"bluetooth": False, "carrier": "T-Mobile US", "cellular": True,
                    "wifi": False},
        "os": {"name": "iPhone OS", "version": "8.1.3"},
        "page": {"path": "/academy/", "referrer": "", "search": "", "title": "Analytics Academy",
                 "url": "https://segment.com/academy/"},
        "referrer": {"id": "ABCD582CDEFFFF01919", "type": "dataxu"},
        "screen": {"width": 320, "height": 568, "density": 2},
        "groupId": "12345",
        "timezone": "Europe/Amsterdam",
        "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 9_1 like Mac OS X) AppleWebKit/601.1.46 "
                     "(KHTML, like Gecko) Version/9.0 Mobile/13B143 Safari/601.1",
    },
    "event": "Course Clicked",
    "integrations": {"All": True, "Mixpanel": False, "Salesforce": False},
    "messageId": "022bb90c-bbac-11e4-8dfc-aa07a5b093db",
    "receivedAt": "2015-12-10T04:08:31.909Z",
    "sentAt": "2015-12-10T04:08:31.581Z",
    "timestamp": "2015-12-10T04:08:31.905Z",
    "type": "track",
    "userId": "97980cfea0067",
    "version": 2,
}  # fmt: skip

# Segment's spec, "Page": the documented analytics.js page call (userAgent, locale, UTM in URL).
SPEC_PAGE: dict[str, Any] = {
    "anonymousId": "507f191e810c19729de860ea",
    "channel": "browser",
    "context": {
        "ip": "8.8.8.8",
        "locale": "zh-CN",
        "timezone": "Asia/Shanghai",
        "page": {"path": "/academy/", "referrer": "https://www.baidu.com/",
                 "search": "?utm_source=baidu&utm_medium=cpc&utm_campaign=spring",
                 "title": "Analytics Academy",
                 "url": "https://segment.com/academy/?utm_source=baidu&utm_medium=cpc&"
                        "utm_campaign=spring"},
        "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
                     "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    },
    "integrations": {},
    "messageId": "ajs-f8ca1e4de5024d9430b3928bd8ac6b96",
    "name": "Home",
    "properties": {"title": "Welcome | Initech", "url": "http://www.example.com"},
    "receivedAt": "2015-02-23T22:28:55.387Z",
    "sentAt": "2015-02-23T22:28:55.111Z",
    "timestamp": "2015-02-23T22:28:55.111Z",
    "type": "page",
    "userId": "97980cfea0067",
    "version": "1.1",
}  # fmt: skip


def test_segment_spec_examples(served: tuple[Server, str]) -> None:
    server, key = served
    response = httpx.post(server.url + "/v1/batch", auth=(key, ""),
                          json={"batch": [SPEC_TRACK, SPEC_PAGE]})  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True, "status": 1, "accepted": 2}
    server.stop()
    events = stored(server.data_dir)
    track = events["022bb90c-bbac-11e4-8dfc-aa07a5b093db"]
    assert track["timestamp"] == dt.datetime(2015, 12, 10, 4, 8, 31, 905000, tzinfo=UTC)
    assert (track["utm_source"], track["utm_medium"], track["utm_campaign"]) == (
        "Newsletter", "email", "TPS Innovation Newsletter")  # fmt: skip
    # What the client said wins over what the user agent says.
    assert (track["os"], track["device_type"], track["app_version"], track["country"]) == (
        "iPhone OS", "ios", "545", "United States")  # fmt: skip
    assert track["browser"] == "Mobile Safari"  # not sent: parsed from the user agent
    assert track["context"]["locale"] == "en-US"
    assert track["context"]["timezone"] == "Europe/Amsterdam"
    assert "ip" not in track["context"]
    page = events["ajs-f8ca1e4de5024d9430b3928bd8ac6b96"]
    assert (page["type"], page["name"], page["distinct_id"]) == ("page", "Home", "97980cfea0067")
    assert (page["utm_source"], page["utm_medium"], page["utm_campaign"]) == (
        "baidu", "cpc", "spring")  # fmt: skip
    assert (page["os"], page["browser"], page["device_type"]) == ("Mac OS X", "Chrome", "desktop")
    assert page["context"]["locale"] == "zh-CN"


U = [f"0190b3c4-0000-7000-8000-0000000000{n:02d}" for n in range(1, 8)]


def test_posthog_python_sdk(served: tuple[Server, str]) -> None:
    from posthog import Posthog

    server, key = served
    errors: list[Any] = []
    client = Posthog(key, host=server.url, sync_mode=True, gzip=True,
                     on_error=lambda error, batch: errors.append(error))  # fmt: skip
    client.capture("order_completed", distinct_id="anon-ph", timestamp=T0, uuid=U[0],
                   properties={"revenue": 12.5, "$set": {"plan": "pro"},
                               "$set_once": {"first_seen_plan": "free"},
                               "$current_url": "https://shop.example/?utm_source=douyin",
                               "$ip": "203.0.113.7"})  # fmt: skip
    client.capture("$pageview", distinct_id="anon-ph", timestamp=T0, uuid=U[1],
                   properties={"$current_url": "https://shop.example/p/1",
                               "$title": "商品"})  # fmt: skip
    client.set(distinct_id="user-ph", properties={"city": "北京"}, timestamp=T0, uuid=U[2])
    client.alias(previous_id="anon-ph", distinct_id="user-ph", timestamp=T0, uuid=U[3])
    client.group_identify("company", "acme", properties={"size": 50}, timestamp=T0, uuid=U[4],
                          distinct_id="user-ph")  # fmt: skip
    client.flush()
    assert errors == []
    server.stop()
    events = stored(server.data_dir)
    assert set(events) == set(U[:5])

    order = events[U[0]]
    assert (order["type"], order["event"], order["distinct_id"]) == (
        "track", "order_completed", "anon-ph")  # fmt: skip
    # PostHog's rule: now - (sent_at - timestamp), so T0 plus the request's time in flight.
    assert dt.timedelta(0) <= order["timestamp"] - T0 < dt.timedelta(seconds=5)
    assert order["properties"]["revenue"] == 12.5
    assert "$ip" not in order["properties"] and "ip" not in order["context"]  # PIPL default
    assert order["traits"] == {"plan": "pro"}
    assert order["utm_source"] == "douyin"
    assert order["context"]["library"]["name"] == "posthog-python"

    page = events[U[1]]
    assert (page["type"], page["event"], page["name"]) == ("page", "$pageview", "商品")
    assert (events[U[2]]["type"], events[U[2]]["traits"]) == ("identify", {"city": "北京"})
    alias = events[U[3]]
    assert (alias["type"], alias["previous_id"], alias["user_id"]) == (
        "alias", "anon-ph", "user-ph")  # fmt: skip
    group = events[U[4]]
    assert (group["type"], group["group_id"], group["traits"]) == ("group", "acme", {"size": 50})
    settings = load_settings({"data_dir": str(server.data_dir)}, environ={})
    with Runtime.open(settings) as runtime:
        from userops.analysis.resolved import RESOLVED_EVENTS, RESOLVED_PERSON

        persons = rows(runtime.store, f"SELECT uniqExact({RESOLVED_PERSON}) "  # noqa: S608
                                      f"FROM {RESOLVED_EVENTS}", {"project": 1})  # fmt: skip
        once = rows(runtime.store, "SELECT traits_once FROM events WHERE message_id = {m:String}",
                    {"m": U[0]})  # fmt: skip
    assert persons == [(1,)]  # the alias made anon-ph and user-ph one person
    assert json.loads(once[0][0]) == {"first_seen_plan": "free"}


@pytest.mark.parametrize("path", ["/batch/", "/capture/", "/e/", "/i/v0/e/"])
def test_posthog_endpoints_take_gzip_and_report_bad_events_by_index(
    served: tuple[Server, str], path: str
) -> None:
    import gzip

    server, key = served
    body = {"api_key": key, "batch": [
        {"event": "tap", "distinct_id": "d1", "uuid": U[5], "timestamp": "2026-11-20T08:00:00Z"},
        {"event": "tap", "uuid": U[6]},
    ]}  # fmt: skip
    response = httpx.post(server.url + path, content=gzip.compress(json.dumps(body).encode()),
                          headers={"Content-Encoding": "gzip",
                                   "Content-Type": "application/json"})  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 1
    assert response.json()["errors"][0]["index"] == 1
    assert response.json()["errors"][0]["field"] == "distinct_id"
    wrong = httpx.post(server.url + path, json={**body, "api_key": "phc_wrong"})
    assert wrong.status_code == 401
