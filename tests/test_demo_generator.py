"""Properties of the demo data, measured on the generated messages themselves."""

from __future__ import annotations

import datetime
import hashlib
import itertools
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import pytest

from userops.demo import generate_messages
from userops.demo.generator import default_end

Message = dict[str, object]

USERS, DAYS, SEED = 800, 45, 7
# Midnight in Shanghai, so simulated days are local calendar days.
END = datetime.datetime(2026, 11, 20, 16, 0, tzinfo=datetime.UTC)
START = END - datetime.timedelta(days=DAYS)
SHANGHAI = ZoneInfo("Asia/Shanghai")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

COMMON = {"type", "messageId", "timestamp", "context"}
FIELDS = {
    "track": COMMON | {"anonymousId", "userId", "event", "properties"},
    "page": COMMON | {"anonymousId", "userId", "name", "properties"},
    "identify": COMMON | {"anonymousId", "userId", "traits"},
    "alias": COMMON | {"previousId", "userId"},
}
REQUIRED = {
    "track": COMMON | {"event", "properties"},
    "page": COMMON | {"name", "properties"},
    "identify": COMMON | {"anonymousId", "userId", "traits"},
    "alias": COMMON | {"previousId", "userId"},
}


@pytest.fixture(scope="module")
def messages() -> list[Message]:
    return list(generate_messages(users=USERS, days=DAYS, seed=SEED, end=END))


def digest(stream: Iterable[Message]) -> str:
    h = hashlib.sha256()
    for msg in stream:
        h.update(json.dumps(msg, ensure_ascii=False).encode())
        h.update(b"\n")
    return h.hexdigest()


def when(msg: Message) -> datetime.datetime:
    return datetime.datetime.fromisoformat(str(msg["timestamp"]))


def local_day(msg: Message) -> datetime.date:
    return when(msg).astimezone(SHANGHAI).date()


def tracks(messages: list[Message], event: str) -> list[Message]:
    return [m for m in messages if m["type"] == "track" and m["event"] == event]


def props(msg: Message) -> dict[str, object]:
    value = msg["properties"]
    assert isinstance(value, dict)
    return value


def context(msg: Message) -> dict[str, object]:
    value = msg["context"]
    assert isinstance(value, dict)
    return value


# --- identity resolution, written independently of the generator -----------------------


class Identities:
    """Union-find over anonymousIds and userIds linked by identify, alias or co-occurrence."""

    def __init__(self, messages: list[Message]) -> None:
        self.parent: dict[str, str] = {}
        for msg in messages:
            ids = [str(msg[k]) for k in ("anonymousId", "userId", "previousId") if k in msg]
            for other in ids[1:]:
                self.union(ids[0], other)

    def find(self, key: str) -> str:
        self.parent.setdefault(key, key)
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def union(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)

    def person(self, msg: Message) -> str:
        return self.find(str(msg.get("userId", msg.get("anonymousId"))))


@dataclass
class Profile:
    source: str
    first_day: datetime.date
    days: set[int] = field(default_factory=set)
    bought: bool = False


def profiles(messages: list[Message]) -> dict[str, Profile]:
    """Per person: first-touch source, days active (relative to first day), bought or not."""
    ids = Identities(messages)
    people: dict[str, Profile] = {}
    for msg in messages:
        if msg["type"] == "alias":
            continue
        key, day = ids.person(msg), local_day(msg)
        if key not in people:
            campaign = context(msg).get("campaign")
            source = campaign["source"] if isinstance(campaign, dict) else "(none)"
            people[key] = Profile(str(source), day)
        people[key].days.add((day - people[key].first_day).days)
        if msg.get("event") == "order_completed":
            people[key].bought = True
    return people


# --- determinism --------------------------------------------------------------------------


def test_same_arguments_give_byte_identical_output(messages: list[Message]) -> None:
    again = generate_messages(users=USERS, days=DAYS, seed=SEED, end=END)
    assert digest(again) == digest(messages)


def test_other_seed_gives_other_output(messages: list[Message]) -> None:
    other = list(generate_messages(users=USERS, days=DAYS, seed=SEED + 1, end=END))
    assert digest(other) != digest(messages)
    assert {m["messageId"] for m in other}.isdisjoint({m["messageId"] for m in messages})


def test_messages_are_independent_objects(messages: list[Message]) -> None:
    first, second = list(generate_messages(users=20, days=3, seed=1, end=END))[:2]
    first_context, second_context = context(first), context(second)
    first_context["ip"] = "10.0.0.1"
    os = first_context["os"]
    assert isinstance(os, dict)
    os["name"] = "mutated"
    assert "ip" not in second_context
    assert second_context["os"] != os


# --- envelope -----------------------------------------------------------------------------


def test_volume_per_user_is_realistic(messages: list[Message]) -> None:
    assert 20 <= len(messages) / USERS <= 60


def test_timestamps_parse_are_sorted_and_inside_window(messages: list[Message]) -> None:
    stamps = [str(m["timestamp"]) for m in messages]
    assert all(TIMESTAMP.match(s) for s in stamps)
    moments = [when(m) for m in messages]
    assert all(a <= b for a, b in itertools.pairwise(moments))
    assert moments[0] >= START and moments[-1] < END
    # Activity spans the window rather than piling up at one end.
    assert moments[0] < START + datetime.timedelta(days=1)
    assert moments[-1] > END - datetime.timedelta(days=1)


def test_message_ids_are_unique(messages: list[Message]) -> None:
    ids = [m["messageId"] for m in messages]
    assert all(isinstance(i, str) and len(i) == 36 for i in ids)
    assert len(set(ids)) == len(ids)


def test_only_spec_fields_and_json_serialisable(messages: list[Message]) -> None:
    for msg in messages:
        kind = msg["type"]
        assert kind in FIELDS, kind
        assert REQUIRED[kind] <= msg.keys() <= FIELDS[kind], msg
        assert "anonymousId" in msg or "userId" in msg
        for key in ("anonymousId", "userId", "previousId"):
            assert key not in msg or (isinstance(msg[key], str) and msg[key])
        json.dumps(msg, ensure_ascii=False, allow_nan=False)
    assert Counter(m["type"] for m in messages).keys() == FIELDS.keys()


def test_page_properties(messages: list[Message]) -> None:
    pages = [m for m in messages if m["type"] == "page"]
    assert pages
    for page in pages:
        p = props(page)
        assert {"url", "path", "title", "referrer"} <= p.keys()
        assert str(p["url"]).startswith("https://") and str(p["path"]).startswith("/")
    # Landing pages carry the channel's referrer and UTM parameters.
    assert any("utm_source=" in str(props(p)["url"]) and props(p)["referrer"] for p in pages)


def test_context_is_realistic(messages: list[Message]) -> None:
    os_names, device_types = Counter[str](), Counter[str]()
    for msg in messages:
        ctx = context(msg)
        assert ctx["locale"] == "zh-CN" and ctx["timezone"] == "Asia/Shanghai"
        assert "ip" not in ctx
        os, device = ctx["os"], ctx["device"]
        assert isinstance(os, dict) and isinstance(device, dict)
        assert os["name"] and os["version"]
        os_names[str(os["name"])] += 1
        device_types[str(device["type"])] += 1
        if device["type"] == "web":
            assert "Mozilla/5.0" in str(ctx["userAgent"])
        else:
            app = ctx["app"]
            assert isinstance(app, dict) and re.match(r"^\d+\.\d+\.\d+$", str(app["version"]))
    assert {"iOS", "Android"} <= os_names.keys()
    assert {"ios", "android", "web"} <= device_types.keys()
    # Android dominates Chinese handsets.
    assert device_types["android"] > device_types["ios"]


# --- acquisition channels -------------------------------------------------------------------


def test_five_or_more_campaign_sources_on_first_touch(messages: list[Message]) -> None:
    first_touch: dict[str, object] = {}
    for msg in messages:
        anonymous_id = msg.get("anonymousId")
        if isinstance(anonymous_id, str) and anonymous_id not in first_touch:
            first_touch[anonymous_id] = context(msg).get("campaign")
    campaigns = [c for c in first_touch.values() if isinstance(c, dict)]
    assert all(set(c) == {"source", "medium", "name"} for c in campaigns)
    sources = Counter(c["source"] for c in campaigns)
    assert len(sources) >= 5, sources
    # Direct/organic visitors arrive without any campaign.
    assert len(campaigns) < len(first_touch)


def test_channels_differ_in_purchase_rate_and_retention(messages: list[Message]) -> None:
    last_day = (END - datetime.timedelta(days=1)).astimezone(SHANGHAI).date()
    by_source: dict[str, list[Profile]] = defaultdict(list)
    for profile in profiles(messages).values():
        # Only cohorts old enough to have had their second week.
        if (last_day - profile.first_day).days >= 14:
            by_source[profile.source].append(profile)
    sizable = {s: ps for s, ps in by_source.items() if len(ps) >= 30}
    assert len(sizable) >= 5, {s: len(ps) for s, ps in by_source.items()}
    buy = {s: sum(p.bought for p in ps) / len(ps) for s, ps in sizable.items()}
    week2 = {
        s: sum(any(7 <= d < 14 for d in p.days) for p in ps) / len(ps) for s, ps in sizable.items()
    }
    assert max(buy.values()) > 1.5 * min(buy.values()), buy
    assert max(week2.values()) > 1.5 * min(week2.values()), week2


def test_some_dormant_people_resurrect(messages: list[Message]) -> None:
    resurrected = 0
    for profile in profiles(messages).values():
        days = sorted(profile.days)
        resurrected += any(b - a >= 10 for a, b in itertools.pairwise(days))
    assert resurrected >= 5


# --- identity -------------------------------------------------------------------------------


def test_anonymous_browsing_precedes_identify(messages: list[Message]) -> None:
    seen_anonymously: set[str] = set()
    identified: set[str] = set()
    preceded = identifies = 0
    for msg in messages:
        anonymous_id = msg.get("anonymousId")
        if not isinstance(anonymous_id, str):
            continue
        if msg["type"] == "identify":
            identifies += 1
            preceded += anonymous_id in seen_anonymously and anonymous_id not in identified
            identified.add(anonymous_id)
        elif "userId" not in msg:
            # Once a device is identified, it keeps sending the userId.
            assert anonymous_id not in identified, msg
            seen_anonymously.add(anonymous_id)
    assert identifies > 0 and preceded > 0.8 * len(identified)


def test_sign_up_is_followed_by_identify_with_traits_and_campaign(messages: list[Message]) -> None:
    identifies = {m["anonymousId"]: m for m in reversed(messages) if m["type"] == "identify"}
    sign_ups = tracks(messages, "sign_up")
    assert len(sign_ups) > 0.1 * USERS
    with_campaign = 0
    for sign_up in sign_ups:
        assert "userId" not in sign_up
        identify = identifies[sign_up["anonymousId"]]
        assert when(identify) >= when(sign_up)
        traits = identify["traits"]
        assert isinstance(traits, dict)
        assert {"name", "gender", "city", "age"} <= traits.keys()
        assert isinstance(traits["age"], int) and 16 <= traits["age"] <= 65
        with_campaign += "campaign" in context(identify)
    assert with_campaign > 0.5 * len(sign_ups)
    cities = {m["traits"]["city"] for m in identifies.values()}  # type: ignore[index]
    assert {"北京", "上海", "深圳"} <= cities


def test_users_switch_devices_and_log_in_again(messages: list[Message]) -> None:
    devices: dict[str, set[str]] = defaultdict(set)
    for msg in messages:
        if msg["type"] == "identify":
            devices[str(msg["userId"])].add(str(msg["anonymousId"]))
    multi = [u for u, anonymous_ids in devices.items() if len(anonymous_ids) >= 2]
    assert len(multi) >= 3
    assert len(multi) < 0.3 * len(devices)  # a minority, as in real apps


def test_alias_links_an_old_login_id_to_a_new_one(messages: list[Message]) -> None:
    aliases = [m for m in messages if m["type"] == "alias"]
    assert aliases
    assert len(aliases) < 0.1 * len(tracks(messages, "sign_up"))  # a small share
    for alias in aliases:
        old, new, at = alias["previousId"], alias["userId"], when(alias)
        assert old != new
        assert any(m.get("userId") == old and when(m) < at for m in messages)
        assert not any(m.get("userId") == old and when(m) > at for m in messages)


# --- purchase funnel --------------------------------------------------------------------------


def test_funnel_drops_off_at_every_step(messages: list[Message]) -> None:
    steps = ["view_item", "add_to_cart", "checkout", "order_completed"]
    counts = [len(tracks(messages, step)) for step in steps]
    assert all(a > b for a, b in itertools.pairwise(counts)), counts
    assert counts[-1] > 0
    for view in tracks(messages, "view_item"):
        p = props(view)
        assert str(p["product_id"]).startswith("sku_") and p["category"]
        assert isinstance(p["price"], float | int) and p["price"] > 0


def test_orders_have_positive_cny_revenue(messages: list[Message]) -> None:
    orders = tracks(messages, "order_completed")
    order_ids = [props(o)["order_id"] for o in orders]
    assert len(set(order_ids)) == len(order_ids)
    for order in orders:
        p = props(order)
        revenue = p["revenue"]
        assert isinstance(revenue, float | int) and not isinstance(revenue, bool)
        assert revenue > 0 and p["currency"] == "CNY"
        assert isinstance(p["products"], int) and p["products"] >= 1
        assert "userId" in order  # paying requires an account
    revenues = sorted(float(props(o)["revenue"]) for o in orders)  # type: ignore[arg-type]
    assert revenues[-1] > 5 * revenues[len(revenues) // 2]  # a long tail of big baskets


# --- incentives and referral --------------------------------------------------------------


def test_daily_check_in_streaks_are_consistent(messages: list[Message]) -> None:
    ids = Identities(messages)  # a person's userId changes after an alias
    last: dict[str, tuple[datetime.date, int]] = {}
    longest = 0
    for check_in in tracks(messages, "check_in"):
        assert "userId" in check_in
        person, day = ids.person(check_in), local_day(check_in)
        streak = props(check_in)["streak_days"]
        assert isinstance(streak, int)
        previous = last.get(person)
        assert previous is None or previous[0] < day  # at most once a local day
        if previous is not None and previous[0] == day - datetime.timedelta(days=1):
            assert streak == previous[1] + 1
        else:
            assert streak == 1
        last[person] = (day, streak)
        longest = max(longest, streak)
    assert len(last) > 20 and longest >= 5


def test_invites_bring_friends_who_sign_up(messages: list[Message]) -> None:
    sent: dict[str, datetime.datetime] = {}
    for invite in tracks(messages, "invite_sent"):
        p = props(invite)
        assert p["channel"] in {"wechat", "wechat_moments", "qq", "weibo", "sms"}
        sent.setdefault(str(p["invite_code"]), when(invite))
    assert sent
    referred: set[str] = set()
    for msg in messages:
        campaign = context(msg).get("campaign")
        if isinstance(campaign, dict) and campaign["source"] == "referral":
            referrer = context(msg)["referrer"]
            assert isinstance(referrer, dict)
            code = str(referrer["id"])
            assert code in sent and sent[code] < when(msg)
            referred.add(str(msg["anonymousId"]))
    referral_sign_ups = [s for s in tracks(messages, "sign_up") if s["anonymousId"] in referred]
    assert referred and referral_sign_ups
    assert all(props(s)["invite_code"] in sent for s in referral_sign_ups)


# --- arguments ------------------------------------------------------------------------------


def test_default_end_is_shanghai_midnight() -> None:
    end = default_end()
    assert end.utcoffset() == datetime.timedelta(0)
    local = end.astimezone(SHANGHAI)
    assert (local.hour, local.minute, local.second) == (0, 0, 0)
    assert end <= datetime.datetime.now(datetime.UTC)
    moments = [when(m) for m in generate_messages(users=10, days=2)]
    later = default_end()  # differs from `end` only if the test straddles midnight
    assert moments and all(end - datetime.timedelta(days=2) <= t < later for t in moments)


def test_rejects_naive_end_and_empty_window() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        generate_messages(users=10, days=2, end=datetime.datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="days"):
        generate_messages(users=10, days=0, end=END)
