"""Builds Segment-spec message dicts and buffers one simulated day of them."""

from __future__ import annotations

import bisect
import datetime
import hashlib
from collections.abc import Iterator

from userops.demo.devices import ContextTemplate, Device

Message = dict[str, object]

_MASK48 = (1 << 48) - 1
# Odd multiplier => bijection on 48-bit counters: ids look random yet never collide.
_MIX = 0x9E3779B97F4B
_EPOCH_ORDINAL = datetime.date(1970, 1, 1).toordinal()


class Emitter:
    """Creates messages with unique deterministic ids and millisecond timestamps.

    Messages are buffered per day and released sorted by timestamp; the
    generation sequence number breaks ties so the order is deterministic.
    """

    def __init__(self, run_key: str) -> None:
        h = hashlib.sha256(run_key.encode()).hexdigest()
        variant = "89ab"[int(h[16], 16) % 4]
        self._id_head = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-"
        self._count = 0
        self._dates: dict[int, str] = {}
        self._buffer: list[tuple[int, int, Message]] = []

    def iso(self, ts: int) -> str:
        """ISO-8601 UTC with milliseconds, by arithmetic: this runs for every message."""
        day, ms = divmod(ts, 86_400_000)
        date = self._dates.get(day)
        if date is None:
            date = self._dates[day] = datetime.date.fromordinal(_EPOCH_ORDINAL + day).isoformat()
        hour, ms = divmod(ms, 3_600_000)
        minute, ms = divmod(ms, 60_000)
        second, ms = divmod(ms, 1000)
        return f"{date}T{hour:02d}:{minute:02d}:{second:02d}.{ms:03d}Z"

    def _base(self, kind: str, ts: int) -> Message:
        self._count += 1
        msg: Message = {
            "type": kind,
            "messageId": f"{self._id_head}{(self._count * _MIX) & _MASK48:012x}",
            "timestamp": self.iso(ts),
        }
        self._buffer.append((ts, self._count, msg))
        return msg

    def _ids(self, msg: Message, device: Device) -> None:
        msg["anonymousId"] = device.anonymous_id
        if device.logged_in_as is not None:
            msg["userId"] = device.logged_in_as

    def track(self, ts: int, device: Device, ctx: ContextTemplate, event: str, props: dict[str, object]) -> None:
        msg = self._base("track", ts)
        self._ids(msg, device)
        msg["event"] = event
        msg["properties"] = props
        msg["context"] = ctx.fresh()

    def page(self, ts: int, device: Device, ctx: ContextTemplate, name: str, props: dict[str, object]) -> None:
        msg = self._base("page", ts)
        self._ids(msg, device)
        msg["name"] = name
        msg["properties"] = props
        msg["context"] = ctx.fresh()

    def identify(self, ts: int, device: Device, ctx: ContextTemplate, traits: dict[str, object]) -> None:
        msg = self._base("identify", ts)
        self._ids(msg, device)
        msg["traits"] = traits
        msg["context"] = ctx.fresh()

    def alias(self, ts: int, previous_id: str, user_id: str, ctx: ContextTemplate) -> None:
        msg = self._base("alias", ts)
        msg["previousId"] = previous_id
        msg["userId"] = user_id
        msg["context"] = ctx.fresh()

    def drain(self, until: int) -> Iterator[Message]:
        """Yield buffered messages stamped before `until` in order; keep later ones.

        Sessions that straddle midnight spill into the next day's buffer, so
        the overall stream stays sorted.
        """
        buffer = self._buffer
        buffer.sort()
        cut = bisect.bisect_left(buffer, (until,))
        self._buffer = buffer[cut:]
        for _, _, msg in buffer[:cut]:
            yield msg

    def discard(self) -> None:
        """Drop what falls after the window: the dataset is cut off at `end`."""
        self._buffer = []
