"""User-agent parsing and context enrichment for the HTTP ingestion API.

Expected values are what ua-parser (uap-core rules) reports for each real UA string, plus our
device-type rule; a ua-parser-builtins upgrade that renames a family shows up here first.
"""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest

from userops.ingest.enrich import (
    MAX_USER_AGENT_CHARS,
    UserAgentInfo,
    enrich_context,
    parse_user_agent,
    posthog_user_agent,
)

IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
IPAD_SAFARI = (
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1"
)
ANDROID_PHONE_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36"
)
# Chrome's reduced UA: the model is always "K", only the "Mobile" token tells phone from tablet.
ANDROID_PHONE_REDUCED = (
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36"
)
ANDROID_TABLET_REDUCED = (
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
ANDROID_TABLET_SAMSUNG = (
    "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.6367.82 Safari/537.36"
)
HUAWEI_MATEPAD = (
    "Mozilla/5.0 (Linux; Android 12; HarmonyOS; BAH3-W09; HMSCore 6.13.0.302) "
    "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99.0.4844.88 HuaweiBrowser/14.0.5.302 "
    "Safari/537.36"
)
WINDOWS_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
WINDOWS_EDGE = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0"
)
MAC_SAFARI = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4.1 Safari/605.1.15"
)
LINUX_FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
CHROMEOS = (
    "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
WECHAT_IOS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.50(0x1800323a) "
    "NetType/WIFI Language/zh_CN"
)
WECHAT_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; ALN-AL00 Build/HUAWEIALN-AL00; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160065 "
    "MMWEBSDK/20240301 MicroMessenger/8.0.49.2600(0x28003133) WeChat/arm64 Weixin "
    "NetType/5G Language/zh_CN"
)
WECHAT_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/81.0.4044.138 Safari/537.36 NetType/WIFI MicroMessenger/7.0.20.1781(0x6700143B) "
    "WindowsWechat(0x6309092b) XWEB/9105 Flue"
)
VIVO_BROWSER = (
    "Mozilla/5.0 (Linux; Android 13; V2309A) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/118.0.0.0 Mobile Safari/537.36 VivoBrowser/20.1.0.0"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
GOOGLEBOT_SMARTPHONE = (
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36 "
    "(compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
)
BAIDUSPIDER = "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)"
CURL = "curl/8.5.0"
GARBAGE = "asdkjh 1234 !!! ???"

DEVICE_TYPES = {"mobile", "tablet", "desktop", "bot", ""}

CASES = [
    # id, UA, (os, browser, device_type)
    ("iphone-safari", IPHONE_SAFARI, ("iOS", "Mobile Safari", "mobile")),
    ("ipad-safari", IPAD_SAFARI, ("iOS", "Mobile Safari", "tablet")),
    ("android-phone-chrome", ANDROID_PHONE_CHROME, ("Android", "Chrome Mobile", "mobile")),
    ("android-phone-reduced-ua", ANDROID_PHONE_REDUCED, ("Android", "Chrome Mobile", "mobile")),
    ("android-tablet-reduced-ua", ANDROID_TABLET_REDUCED, ("Android", "Chrome", "tablet")),
    ("android-tablet-samsung", ANDROID_TABLET_SAMSUNG, ("Android", "Chrome", "tablet")),
    ("huawei-matepad", HUAWEI_MATEPAD, ("Android", "Huawei Browser", "tablet")),
    ("windows-chrome", WINDOWS_CHROME, ("Windows", "Chrome", "desktop")),
    ("windows-edge", WINDOWS_EDGE, ("Windows", "Edge", "desktop")),
    ("macos-safari", MAC_SAFARI, ("Mac OS X", "Safari", "desktop")),
    ("linux-firefox", LINUX_FIREFOX, ("Linux", "Firefox", "desktop")),
    ("chromeos", CHROMEOS, ("Chrome OS", "Chrome", "desktop")),
    ("wechat-ios", WECHAT_IOS, ("iOS", "WeChat Browser", "mobile")),
    ("wechat-android", WECHAT_ANDROID, ("Android", "WeChat Browser", "mobile")),
    ("wechat-windows", WECHAT_WINDOWS, ("Windows", "WeChat Browser", "desktop")),
    ("vivo-browser", VIVO_BROWSER, ("Android", "VivoBrowser", "mobile")),
    ("googlebot", GOOGLEBOT, ("", "Googlebot", "bot")),
    ("googlebot-smartphone", GOOGLEBOT_SMARTPHONE, ("Android", "Googlebot", "bot")),
    ("baiduspider", BAIDUSPIDER, ("", "Baiduspider", "bot")),
    # A scripted client is not a crawler and not a device: unknown type, its name kept.
    ("curl", CURL, ("", "curl", "")),
    ("empty", "", ("", "", "")),
    ("garbage", GARBAGE, ("", "", "")),
]


@pytest.mark.parametrize(("ua", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_parse_user_agent(ua: str, expected: tuple[str, str, str]) -> None:
    info = parse_user_agent(ua)
    assert (info.os, info.browser, info.device_type) == expected
    assert info.device_type in DEVICE_TYPES


@pytest.mark.parametrize(
    ("ua", "os_version", "browser_version"),
    [
        (IPHONE_SAFARI, "17.5", "17.5"),
        (MAC_SAFARI, "10.15.7", "17.4.1"),
        (ANDROID_PHONE_CHROME, "14", "124.0.6367.82"),
        (WINDOWS_CHROME, "10", "124.0.0.0"),
        (LINUX_FIREFOX, "", "125.0"),
        # The same version format on both platforms (uap-core's WeChat rule keeps three parts).
        (WECHAT_IOS, "17.6.1", "8.0.50"),
        (WECHAT_ANDROID, "14", "8.0.49"),
        (GOOGLEBOT, "", "2.1"),
    ],
)
def test_versions(ua: str, os_version: str, browser_version: str) -> None:
    info = parse_user_agent(ua)
    assert (info.os_version, info.browser_version) == (os_version, browser_version)


def test_unknown_is_all_empty() -> None:
    assert parse_user_agent("") == UserAgentInfo()
    assert parse_user_agent(GARBAGE) == UserAgentInfo()


def test_repeated_ua_is_served_from_the_cache() -> None:
    assert parse_user_agent(WINDOWS_CHROME) is parse_user_agent(WINDOWS_CHROME)


def test_10kb_string_is_truncated_and_fast() -> None:
    # A real UA followed by 10 KB of junk still parses as that UA, quickly.
    padded = WINDOWS_CHROME + " " + "A(" * 5_000
    assert len(padded) > 10_000
    started = time.perf_counter()
    info = parse_user_agent(padded)
    elapsed = time.perf_counter() - started
    assert (info.os, info.browser, info.device_type) == ("Windows", "Chrome", "desktop")
    # Measured ~0.5 ms with ua-parser[regex], <10 ms on the pure-Python fallback; untruncated
    # the fallback takes 45-270 ms. The bound leaves room for a slow CI machine.
    assert elapsed < 0.1
    # Only the prefix is parsed (and cached): variants differing past it share one entry.
    other = padded[:MAX_USER_AGENT_CHARS] + "B" * 10_000
    assert parse_user_agent(other) is parse_user_agent(padded)


def test_10kb_hostile_string_without_a_real_ua_is_fast() -> None:
    hostile = ("Mozilla/5.0 (" + "; ".join(["LinuxLinuxLinux"] * 700) + ")")[:10_240]
    started = time.perf_counter()
    info = parse_user_agent(hostile)
    assert time.perf_counter() - started < 0.1
    assert info.device_type in DEVICE_TYPES


# --- enrich_context -----------------------------------------------------------------------


def test_fills_os_browser_device_from_user_agent() -> None:
    context = {"userAgent": IPHONE_SAFARI, "locale": "zh-CN"}
    out = enrich_context(context, client_ip=None, store_ip=False)
    assert out == {
        "userAgent": IPHONE_SAFARI,
        "locale": "zh-CN",
        "os": {"name": "iOS", "version": "17.5"},
        "browser": {"name": "Mobile Safari", "version": "17.5"},
        "device": {"type": "mobile"},
    }


def test_client_sent_values_are_kept() -> None:
    # A native SDK's own os/device wins over what the UA string says.
    context = {
        "userAgent": WINDOWS_CHROME,
        "os": {"name": "iOS", "version": "17.0"},
        "device": {"id": "d-1", "manufacturer": "Apple", "type": "ios"},
    }
    out = enrich_context(context, client_ip=None, store_ip=False)
    assert out["os"] == {"name": "iOS", "version": "17.0"}
    assert out["device"] == {"id": "d-1", "manufacturer": "Apple", "type": "ios"}
    assert out["browser"] == {"name": "Chrome", "version": "124.0.0.0"}


def test_partial_client_objects_are_completed_not_replaced() -> None:
    context = {
        "userAgent": ANDROID_PHONE_CHROME,
        "os": {"version": "14-custom"},
        "device": {"id": "d-2", "model": "Pixel 8", "type": ""},
    }
    out = enrich_context(context, client_ip=None, store_ip=False)
    assert out["os"] == {"name": "Android", "version": "14-custom"}
    assert out["device"] == {"id": "d-2", "model": "Pixel 8", "type": "mobile"}


def test_non_object_client_value_is_left_alone() -> None:
    out = enrich_context({"userAgent": MAC_SAFARI, "os": "macOS"}, client_ip=None, store_ip=False)
    assert out["os"] == "macOS"
    assert out["browser"] == {"name": "Safari", "version": "17.4.1"}


def test_unknown_or_missing_user_agent_adds_nothing() -> None:
    for context in ({"userAgent": GARBAGE}, {"userAgent": ""}, {"userAgent": 42}, {}):
        assert enrich_context(context, client_ip=None, store_ip=False) == context


def test_unknown_parts_are_not_written_as_empty_strings() -> None:
    out = enrich_context({"userAgent": CURL}, client_ip=None, store_ip=False)
    assert out == {"userAgent": CURL, "browser": {"name": "curl", "version": "8.5.0"}}


def test_ip_removed_when_project_does_not_allow_it() -> None:
    context = {"userAgent": CURL, "ip": "203.0.113.7"}
    out = enrich_context(context, client_ip="198.51.100.1", store_ip=False)
    assert "ip" not in out


def test_ip_added_when_allowed() -> None:
    out = enrich_context({}, client_ip="198.51.100.1", store_ip=True)
    assert out == {"ip": "198.51.100.1"}


def test_client_sent_ip_kept_when_allowed() -> None:
    # A server-side source forwarding its end user's IP knows better than our socket does.
    out = enrich_context({"ip": "203.0.113.7"}, client_ip="198.51.100.1", store_ip=True)
    assert out["ip"] == "203.0.113.7"


def test_no_client_ip_known() -> None:
    assert enrich_context({}, client_ip=None, store_ip=True) == {}


def test_input_not_mutated() -> None:
    device = {"id": "d-3"}
    context: dict[str, Any] = {
        "userAgent": WECHAT_ANDROID,
        "ip": "203.0.113.7",
        "device": device,
        "library": {"name": "analytics.js", "version": "5.2.0"},
    }
    before = copy.deepcopy(context)
    out = enrich_context(context, client_ip="198.51.100.1", store_ip=False)
    assert context == before
    assert device == {"id": "d-3"}
    assert out is not context
    assert out["device"] == {"id": "d-3", "type": "mobile"}
    assert out["device"] is not device
    assert "ip" not in out
    assert out["browser"] == {"name": "WeChat Browser", "version": "8.0.49"}


def test_posthog_user_agent() -> None:
    assert posthog_user_agent({"$raw_user_agent": IPAD_SAFARI, "$user_agent": "x"}) == IPAD_SAFARI
    assert posthog_user_agent({"$user_agent": CURL}) == CURL
    assert posthog_user_agent({"$raw_user_agent": "", "$user_agent": CURL}) == CURL
    assert posthog_user_agent({"$raw_user_agent": 1}) is None
    assert posthog_user_agent({}) is None
