"""What one person does in one session: open, browse, buy, sign up, invite."""

from __future__ import annotations

import random
from dataclasses import dataclass

from userops.demo.catalog import Catalog
from userops.demo.channels import WINBACK_CAMPAIGN
from userops.demo.data import INVITE_CHANNELS, PAYMENT_METHODS, SIGNUP_METHODS, SITE
from userops.demo.devices import ContextTemplate, Device
from userops.demo.emitter import Emitter
from userops.demo.funnel import Funnel
from userops.demo.people import Person, make_traits

_DAY_MS = 86_400_000
# China has kept UTC+8 without daylight saving since 1991, so the offset is exact.
_SHANGHAI_OFFSET_MS = 8 * 3_600_000


@dataclass(slots=True)
class Session:
    person: Person
    device: Device
    ctx: ContextTemplate
    t: int  # epoch milliseconds of the latest event
    day: int
    first: bool
    last_url: str = ""


class SessionRunner:
    """Turns session decisions into messages; all randomness comes from `rng`."""

    def __init__(self, rng: random.Random, emitter: Emitter, catalog: Catalog) -> None:
        self.rng = rng
        self.out = emitter
        self.funnel = Funnel(rng, emitter, catalog, self)
        self.signups = 0
        self.invites: list[tuple[int, str]] = []  # (day sent, invite code)

    def gap(self, s: Session, low: int = 1_500, spread: int = 40_000) -> int:
        s.t += low + int(self.rng.random() * spread)
        return s.t

    def run(
        self,
        person: Person,
        device: Device,
        start: int,
        day: int,
        first: bool,
        winback: bool = False,
    ) -> int:
        """Simulate one session starting at `start`; return its last timestamp."""
        s = Session(
            person, device, _session_context(person, device, first, winback), start, day, first
        )
        self._open(s, winback)
        if person.user_id is not None and device.logged_in_as is None:
            # A known person on a new device browses a little before logging in.
            self.funnel.browse(s, light=True)
            self._login(s)
        if device.logged_in_as is not None:
            self._check_in(s)
        self.funnel.browse(s, light=False)
        if device.logged_in_as is None and self.rng.random() < self._signup_chance(s):
            self.sign_up(s)
        if (
            device.logged_in_as is not None
            and self.rng.random() < person.channel.invite * person.engagement
        ):
            self._invite(s)
        return s.t

    def _signup_chance(self, s: Session) -> float:
        base = s.person.channel.signup * 0.75
        return base if s.first else base * 0.12

    def page(
        self, s: Session, name: str, path: str, extra: dict[str, object] | None = None
    ) -> None:
        url = f"{SITE}{path}"
        props: dict[str, object] = {
            "url": url,
            "path": path.split("?", 1)[0],
            "title": f"{name} - 优选商城",
            "referrer": s.last_url,
        }
        if extra:
            props.update(extra)
        self.out.page(self.gap(s), s.device, s.ctx, name, props)
        s.last_url = url

    def _open(self, s: Session, winback: bool) -> None:
        person = s.person
        props: dict[str, object] = {}
        if s.first and person.inviter_code is not None:
            props["invite_code"] = person.inviter_code
        if winback and not s.device.web:
            self.out.track(
                self.gap(s), s.device, s.ctx, "push_clicked", {"campaign": WINBACK_CAMPAIGN["name"]}
            )
        if s.device.web:
            s.last_url = person.channel.referrer if s.first else ""
            campaign = person.channel.campaign if s.first else None
            query = (
                ""
                if campaign is None
                else (
                    f"?utm_source={campaign['source']}&utm_medium={campaign['medium']}&utm_campaign={campaign['name']}"
                )
            )
            if person.inviter_code is not None and s.first:
                query += f"&invite_code={person.inviter_code}"
            self.page(s, "首页", f"/{query}", props)
        else:
            props["is_first_open"] = s.first
            props["from_background"] = not s.first and self.rng.random() < 0.4
            self.out.track(self.gap(s), s.device, s.ctx, "app_open", props)

    def sign_up(self, s: Session) -> None:
        person, rng = s.person, self.rng
        self.signups += 1
        person.user_id = f"{10_000_000 + self.signups}"
        person.invite_code = f"YX{(person.pid * 0x5DEECE66D) & 0xFFFFFF:06X}"
        person.checkin_habit = rng.random() < (0.55 if person.loyal else 0.12)
        method = rng.choices(SIGNUP_METHODS, weights=[w for _, w in SIGNUP_METHODS])[0][0]
        props: dict[str, object] = {"method": method}
        if person.inviter_code is not None:
            props["invite_code"] = person.inviter_code
        if s.device.web:
            self.page(s, "注册", "/signup")
        self.out.track(self.gap(s), s.device, s.ctx, "sign_up", props)
        created_at = self.out.iso(s.t)
        person.traits = make_traits(rng, person, created_at)
        s.device.logged_in_as = person.user_id
        # Attribution is kept from the first touch, so the identify carries it.
        ctx = _with_campaign(s.ctx, person)
        self.out.identify(self.gap(s, 300, 2_000), s.device, ctx, dict(person.traits))

    def _login(self, s: Session) -> None:
        person = s.person
        assert person.user_id is not None and person.traits is not None
        method = "wechat" if self.rng.random() < 0.5 else "phone"
        s.device.logged_in_as = person.user_id
        self.out.track(self.gap(s), s.device, s.ctx, "login", {"method": method})
        self.out.identify(self.gap(s, 200, 1_500), s.device, s.ctx, dict(person.traits))

    def _check_in(self, s: Session) -> None:
        person = s.person
        if not person.checkin_habit:
            return
        ts = self.gap(s, 1_000, 8_000)
        # Streaks count Shanghai calendar days of the check-in itself: a session
        # begun before midnight may check in after it.
        day = (ts + _SHANGHAI_OFFSET_MS) // _DAY_MS
        if person.last_checkin == day:
            return
        person.streak = person.streak + 1 if person.last_checkin == day - 1 else 1
        person.last_checkin = day
        props: dict[str, object] = {
            "streak_days": person.streak,
            "reward_points": 5 * min(person.streak, 7),
        }
        self.out.track(ts, s.device, s.ctx, "check_in", props)

    def _invite(self, s: Session) -> None:
        person = s.person
        assert person.invite_code is not None
        channel = self.rng.choices(INVITE_CHANNELS, weights=[w for _, w in INVITE_CHANNELS])[0][0]
        if s.device.web:
            self.page(s, "邀请有礼", "/invite")
        props: dict[str, object] = {
            "invite_code": person.invite_code,
            "channel": channel,
            "reward": "20元无门槛券",
        }
        self.out.track(self.gap(s), s.device, s.ctx, "invite_sent", props)
        self.invites.append((s.day, person.invite_code))

    def pay_method(self) -> str:
        return self.rng.choices(PAYMENT_METHODS, weights=[w for _, w in PAYMENT_METHODS])[0][0]


def _with_campaign(ctx: ContextTemplate, person: Person) -> ContextTemplate:
    """The sign-up identify keeps first-touch attribution even in a later session."""
    return ctx if "campaign" in ctx.keys else _first_touch(ctx, person)


def _first_touch(ctx: ContextTemplate, person: Person) -> ContextTemplate:
    campaign = person.channel.campaign
    if campaign is None:
        return ctx
    ctx = ctx.with_part("campaign", campaign)
    if person.inviter_code is not None:
        link = f"{SITE}/invite/{person.inviter_code}"
        ctx = ctx.with_part("referrer", {"type": "invite", "id": person.inviter_code, "link": link})
    return ctx


def _session_context(person: Person, device: Device, first: bool, winback: bool) -> ContextTemplate:
    if winback:
        return device.context.with_part("campaign", WINBACK_CAMPAIGN)
    return _first_touch(device.context, person) if first else device.context
