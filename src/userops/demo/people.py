"""People: who they are, how they arrived and how likely they come back."""

from __future__ import annotations

import bisect
import itertools
import random
from dataclasses import dataclass, field

from userops.demo.catalog import Product
from userops.demo.channels import Channel
from userops.demo.data import CATEGORIES, CITIES, GIVEN_FEMALE, GIVEN_MALE, SURNAMES
from userops.demo.devices import Device

_CITY_CUM = list(itertools.accumulate(w for _, w in CITIES))
_CATEGORY_NAMES = tuple(c[0] for c in CATEGORIES)


@dataclass(slots=True)
class Person:
    pid: int
    channel: Channel
    arrival_day: int
    devices: list[Device]
    engagement: float  # person-level activity multiplier (heavy vs light users)
    interest: str  # favourite product category
    loyal: bool  # becomes a regular; everyone else drifts away after the novelty fades
    inviter_code: str | None = None
    user_id: str | None = None
    traits: dict[str, object] | None = None
    invite_code: str | None = None
    last_active: int = -1
    checkin_habit: bool = False
    last_checkin: int = -10  # Shanghai calendar day number of the latest check-in
    streak: int = 0
    winback_until: int = -1
    aliased: bool = False
    cart: list[Product] = field(default_factory=list)


def new_person(
    rng: random.Random,
    pid: int,
    channel: Channel,
    day: int,
    device: Device,
    inviter_code: str | None = None,
) -> Person:
    # Log-normal engagement gives the heavy-tailed activity real products show.
    engagement = min(rng.lognormvariate(0.0, 0.55), 4.0)
    interest = rng.choice(_CATEGORY_NAMES)
    loyal = rng.random() < channel.loyal
    return Person(pid, channel, day, [device], engagement, interest, loyal, inviter_code)


def make_traits(rng: random.Random, person: Person, created_at: str) -> dict[str, object]:
    female = rng.random() < 0.56  # e-commerce audiences in China skew female
    given = rng.choice(GIVEN_FEMALE if female else GIVEN_MALE)
    city = CITIES[bisect.bisect_right(_CITY_CUM, rng.random() * _CITY_CUM[-1])][0]
    traits: dict[str, object] = {
        "name": f"{rng.choice(SURNAMES)}{given}",
        "gender": "female" if female else "male",
        "age": max(16, min(65, int(rng.gauss(29, 8)))),
        "city": city,
        "created_at": created_at,
        "signup_channel": person.channel.key,
        "member_level": "普通会员",
        "invite_code": person.invite_code,
    }
    if person.inviter_code is not None:
        traits["referred_by"] = person.inviter_code
    return traits
