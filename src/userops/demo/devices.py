"""Devices (one anonymousId each) and their Segment `context` templates."""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from userops.demo.data import (
    ANDROID_MODELS,
    ANDROID_VERSIONS,
    APP_NAME,
    APP_VERSIONS,
    CARRIERS,
    IOS_MODELS,
    IOS_VERSIONS,
    WEB_AGENTS,
)

Context = dict[str, object]

_APP_VERSION_CUM = tuple(w for _, _, w in APP_VERSIONS)


@dataclass(slots=True)
class Device:
    anonymous_id: str
    web: bool
    context: ContextTemplate
    # The userId this device is currently logged in as (None: anonymous).
    logged_in_as: str | None = None


def new_device(rng: random.Random, web: bool) -> Device:
    anonymous_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    context = _web_context(rng) if web else _app_context(rng, anonymous_id)
    return Device(anonymous_id, web, ContextTemplate.of(context))


def _common() -> Context:
    return {"locale": "zh-CN", "timezone": "Asia/Shanghai"}


def _app_context(rng: random.Random, anonymous_id: str) -> Context:
    # Android dominates the Chinese handset market; iOS is roughly a quarter.
    if rng.random() < 0.27:
        os = {"name": "iOS", "version": rng.choice(IOS_VERSIONS)}
        device = {
            "id": anonymous_id,
            "manufacturer": "Apple",
            "model": rng.choice(IOS_MODELS),
            "type": "ios",
        }
        library = {"name": "analytics-swift", "version": "1.6.1"}
    else:
        maker, model = rng.choice(ANDROID_MODELS)
        os = {"name": "Android", "version": rng.choice(ANDROID_VERSIONS)}
        device = {"id": anonymous_id, "manufacturer": maker, "model": model, "type": "android"}
        library = {"name": "analytics-kotlin", "version": "1.16.3"}
    version, build, _ = rng.choices(APP_VERSIONS, weights=_APP_VERSION_CUM)[0]
    context = _common()
    context.update(
        {
            "app": {
                "name": APP_NAME,
                "version": version,
                "build": build,
                "namespace": "cn.youxuan.app",
            },
            "device": device,
            "library": library,
            "network": {"carrier": rng.choice(CARRIERS), "wifi": rng.random() < 0.6},
            "os": os,
        }
    )
    return context


def _web_context(rng: random.Random) -> Context:
    os_name, os_version, agent = rng.choices(WEB_AGENTS, weights=(0.3, 0.4, 0.15, 0.05, 0.1))[0]
    context = _common()
    context.update(
        {
            "device": {"type": "web"},
            "library": {"name": "analytics.js", "version": "5.2.0"},
            "os": {"name": os_name, "version": os_version},
            "userAgent": agent,
        }
    )
    return context


@dataclass(frozen=True, slots=True)
class ContextTemplate:
    """A `context` to stamp on many messages: scalars plus one level of sub-dicts.

    `fresh()` returns an independent copy per message (so consumers may mutate a
    message safely) without the cost of a generic deep copy. Keys and parts are
    kept in separate tuples so that the GC can untrack the keys tuple: there is
    a template per device, and each tracked object slows every full collection.
    """

    scalars: Context
    keys: tuple[str, ...]
    parts: tuple[dict[str, object], ...]

    @classmethod
    def of(cls, context: Context) -> ContextTemplate:
        scalars = {k: v for k, v in context.items() if not isinstance(v, dict)}
        nested = [(k, v) for k, v in context.items() if isinstance(v, dict)]
        return cls(scalars, tuple(k for k, _ in nested), tuple(v for _, v in nested))

    def with_part(self, key: str, part: Mapping[str, object]) -> ContextTemplate:
        kept = [i for i, k in enumerate(self.keys) if k != key]
        keys = (*(self.keys[i] for i in kept), key)
        parts = (*(self.parts[i] for i in kept), dict(part))
        return ContextTemplate(self.scalars, keys, parts)

    def fresh(self) -> Context:
        context = self.scalars.copy()
        context.update(zip(self.keys, map(dict.copy, self.parts), strict=True))
        return context
