"""Deterministic demo history for UserOps: Segment-spec messages for a Chinese e-commerce app.

`generate_messages` simulates people arriving through acquisition channels of
different quality, browsing anonymously, signing up, buying, checking in,
inviting friends, switching devices and churning, and yields the resulting
track/identify/page/alias messages in timestamp order, one day at a time.
"""

from __future__ import annotations

import bisect
import datetime
import itertools
import math
import random
from collections import Counter
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from userops.demo.catalog import Catalog
from userops.demo.channels import CHANNELS, REFERRAL, Channel
from userops.demo.data import HOUR_WEIGHTS
from userops.demo.devices import Device, new_device
from userops.demo.emitter import Emitter, Message
from userops.demo.people import Person, new_person
from userops.demo.session import SessionRunner

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY_MS = 86_400_000
_SALE_DAYS = {(6, 18), (11, 11), (12, 12)}
_CHANNEL_CUM = list(itertools.accumulate(c.share for c in CHANNELS))


def default_end() -> datetime.datetime:
    """Today's midnight in Asia/Shanghai, as an aware UTC datetime."""
    local_midnight = datetime.datetime.now(SHANGHAI).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    return local_midnight.astimezone(datetime.UTC)


def generate_messages(
    users: int = 2000, days: int = 60, seed: int = 42, end: datetime.datetime | None = None
) -> Iterator[dict[str, object]]:
    """Yield Segment messages for `users` acquired people over the `days` days before `end`.

    Referral invitees arrive on top of `users`. Output is a pure function of
    (users, days, seed, end); only the default `end` depends on the clock.
    """
    if users < 0 or days < 1:
        raise ValueError("users must be >= 0 and days >= 1")
    if end is None:
        end = default_end()
    if end.tzinfo is None:
        raise ValueError("end must be timezone-aware")
    return _Simulation(users, days, seed, end.astimezone(datetime.UTC)).run()


class _Simulation:
    def __init__(self, users: int, days: int, seed: int, end: datetime.datetime) -> None:
        self.rng = random.Random(seed)
        self.days = days
        self.end_ms = _epoch_ms(end)
        self.start_ms = self.end_ms - days * DAY_MS
        start_local = (end - datetime.timedelta(days=days)).astimezone(SHANGHAI)
        self.emitter = Emitter(f"{users}|{days}|{seed}|{end.isoformat()}")
        self.runner = SessionRunner(self.rng, self.emitter, Catalog(self.rng))
        self.people: list[Person] = []
        self.arrivals = _arrival_counts(self.rng, users, days, start_local)
        self.day_boost = _day_boosts(days, start_local)
        offset_hour = start_local.hour
        self.hour_cum = list(
            itertools.accumulate(HOUR_WEIGHTS[(offset_hour + h) % 24] for h in range(24))
        )
        self.curves = _return_curves(days)

    def run(self) -> Iterator[Message]:
        invites: dict[int, list[str]] = {}
        for day in range(self.days):
            day_start = self.start_ms + day * DAY_MS
            self.runner.funnel.buy_boost = self.day_boost[day][1]
            known = len(self.people)
            self._returning(day, day_start, known)
            self._arrive(day, day_start, invites.pop(day, []))
            self._schedule_invites(invites)
            until = min(day_start + DAY_MS, self.end_ms)
            yield from self.emitter.drain(until)
        self.emitter.discard()

    def _schedule_invites(self, invites: dict[int, list[str]]) -> None:
        # About 40% of invitations bring a friend within 1-3 days.
        for sent_day, code in self.runner.invites:
            if self.rng.random() < 0.4:
                invites.setdefault(sent_day + 1 + int(self.rng.random() * 3), []).append(code)
        self.runner.invites.clear()

    def _arrive(self, day: int, day_start: int, invite_codes: list[str]) -> None:
        rng = self.rng
        for index in range(self.arrivals[day] + len(invite_codes)):
            if index < self.arrivals[day]:
                channel: Channel = CHANNELS[
                    bisect.bisect_right(_CHANNEL_CUM, rng.random() * _CHANNEL_CUM[-1])
                ]
                code = None
            else:
                channel, code = REFERRAL, invite_codes[index - self.arrivals[day]]
            device = new_device(rng, rng.random() < channel.web_share)
            person = new_person(rng, len(self.people), channel, day, device, code)
            self.people.append(person)
            self._active_day(person, day, day_start, first=True)

    def _returning(self, day: int, day_start: int, known: int) -> None:
        rng, curves = self.rng, self.curves
        traffic = self.day_boost[day][0]
        for person in itertools.islice(self.people, known):
            curve = curves[person.channel.key, person.loyal]
            p = curve[day - person.arrival_day] * person.engagement * traffic
            if person.user_id is not None:
                p *= 1.3  # account holders have carts, coupons and orders to come back to
            winback = False
            if day <= person.winback_until:
                p = max(p, 0.35)
            elif (
                person.user_id is not None
                and day - person.last_active >= 10
                and rng.random() < 0.004
            ):
                # Dormant members get a win-back push; a week of renewed activity follows.
                person.winback_until, p, winback = day + 7, 1.0, True
            if rng.random() < p:
                self._active_day(person, day, day_start, first=False, winback=winback)

    def _active_day(
        self, person: Person, day: int, day_start: int, first: bool, winback: bool = False
    ) -> None:
        rng = self.rng
        sessions = 1
        while sessions < 4 and rng.random() < min(0.22 * person.engagement, 0.6):
            sessions += 1
        starts = sorted(day_start + self._time_of_day() for _ in range(sessions))
        last_end = 0
        for index, start in enumerate(starts):
            start = max(start, last_end + 60_000 + int(rng.random() * 600_000))
            if start >= day_start + DAY_MS:
                break
            device = self._pick_device(person) if not first else person.devices[0]
            if person.user_id is not None and not person.aliased and rng.random() < 0.004:
                # Never before the day: earlier days have already been yielded.
                self._alias(person, max(start - 1_000, day_start))
            last_end = self.runner.run(
                person, device, start, day, first and index == 0, winback and index == 0
            )
        person.last_active = day

    def _time_of_day(self) -> int:
        rng = self.rng
        hour = bisect.bisect_right(self.hour_cum, rng.random() * self.hour_cum[-1])
        return min(hour, 23) * 3_600_000 + int(rng.random() * 3_600_000)

    def _pick_device(self, person: Person) -> Device:
        rng = self.rng
        if person.user_id is not None and len(person.devices) < 3 and rng.random() < 0.015:
            # A second phone, a tablet or the web shop: a fresh anonymousId to be stitched on login.
            person.devices.append(new_device(rng, rng.random() < 0.45))
            return person.devices[-1]
        if len(person.devices) == 1 or rng.random() < 0.7:
            return person.devices[-1]
        return person.devices[int(rng.random() * (len(person.devices) - 1))]

    def _alias(self, person: Person, ts: int) -> None:
        # Account migration to a WeChat-bound id: the old login id is aliased to the new one.
        assert person.user_id is not None
        old, new = person.user_id, f"wx_{self.rng.getrandbits(64):016x}"
        person.user_id, person.aliased = new, True
        for device in person.devices:
            if device.logged_in_as == old:
                device.logged_in_as = new
        self.emitter.alias(ts, old, new, person.devices[-1].context)


def _return_curves(days: int) -> dict[tuple[str, bool], list[float]]:
    """Daily return probability by (channel, loyal) and days since arrival.

    Precomputed because it is consulted for every person on every day. A
    novelty term decays at the channel's pace; regulars keep a high floor,
    the rest a tiny one, which gives retention curves their flattening tail.
    """
    curves: dict[tuple[str, bool], list[float]] = {}
    for channel in (*CHANNELS, REFERRAL):
        for loyal in (False, True):
            floor = 0.2 if loyal else 0.004
            curves[channel.key, loyal] = [
                channel.return_base * math.exp(-age / channel.return_decay_days) + floor
                for age in range(days + 1)
            ]
    return curves


def _epoch_ms(moment: datetime.datetime) -> int:
    delta = moment - datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def _local_date(start_local: datetime.datetime, day: int) -> datetime.date:
    # Noon avoids any ambiguity if the window does not start at local midnight.
    return (start_local + datetime.timedelta(days=day, hours=12)).date()


def _day_boosts(days: int, start_local: datetime.datetime) -> list[tuple[float, float]]:
    """(traffic, buying) multipliers per day: weekends and shopping festivals."""
    dates = [_local_date(start_local, d) for d in range(days)]
    sale = {d for d, date in enumerate(dates) if (date.month, date.day) in _SALE_DAYS}
    if not sale:
        sale = {(2 * days) // 3}  # a brand "member day" so every window has one spike
    boosts = []
    for d, date in enumerate(dates):
        traffic = 1.15 if date.weekday() >= 5 else 1.0
        boosts.append((traffic * 1.5, 1.8) if d in sale else (traffic, 1.0))
    return boosts


def _arrival_counts(
    rng: random.Random, users: int, days: int, start_local: datetime.datetime
) -> list[int]:
    """New non-referral people per day: growing trend, weekend bumps, festival spikes."""
    boosts = _day_boosts(days, start_local)
    weights = [(1.0 + 0.8 * d / days) * traffic for d, (traffic, _) in enumerate(boosts)]
    counts = Counter(rng.choices(range(days), weights=weights, k=users))
    return [counts.get(d, 0) for d in range(days)]
