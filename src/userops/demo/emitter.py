"""Builds Segment-spec message dicts and buffers one simulated day of them."""

from __future__ import annotations

import bisect
import datetime
import hashlib
from collections.abc import Iterator

from userops.demo.devices import ContextTemplate, Device

Message = dict[str, object]
# (timestamp ms, payload index, type, anonymousId, userId, event/name/previousId, context index).
# The payload index grows with generation order, so (timestamp, index) is a unique sort key.
_Record = tuple[int, int, str, str | None, str | None, str, int]
_Payload = dict[str, object] | None

_MASK48 = (1 << 48) - 1
# Odd multiplier => bijection on 48-bit counters: ids look random yet never collide.
_MIX = 0x9E3779B97F4B
_HOUR_MS = 3_600_000
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
# Which message field carries the record's name and payload, per message type.
_FIELDS: dict[str, tuple[str | None, str | None]] = {
    "track": ("event", "properties"),
    "page": ("name", "properties"),
    "identify": (None, "traits"),
    "alias": ("previousId", None),
}


class Emitter:
    """Buffers messages of a simulated day and releases them as Segment dicts in time order.

    The buffer holds flat tuples of atoms and the dicts are built only on
    release. Whole messages living for a simulated day reach the oldest GC
    generation and every full collection rescans them (measured: GC took ~45%
    of the run). CPython untracks tuples holding only atoms (and not even an
    untracked dict), so a record names its payload and context by index into
    side tables instead of holding them.
    """

    def __init__(self, run_key: str) -> None:
        h = hashlib.sha256(run_key.encode()).hexdigest()
        variant = "89ab"[int(h[16], 16) % 4]
        self._id_head = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-"
        self._released = 0
        self._hours: dict[int, str] = {}
        self._buffer: list[_Record] = []
        self._payloads: list[_Payload] = []
        self._contexts: list[ContextTemplate] = []

    def iso(self, ts: int) -> str:
        """ISO-8601 UTC with milliseconds; the date-and-hour prefix is cached."""
        hour, ms = divmod(ts, _HOUR_MS)
        prefix = self._hours.get(hour)
        if prefix is None:
            moment = _EPOCH + datetime.timedelta(hours=hour)
            prefix = self._hours[hour] = moment.strftime("%Y-%m-%dT%H:")
        minute, ms = divmod(ms, 60_000)
        second, ms = divmod(ms, 1000)
        return f"{prefix}{minute:02d}:{second:02d}.{ms:03d}Z"

    def _add(
        self,
        ts: int,
        kind: str,
        anonymous_id: str | None,
        user_id: str | None,
        name: str,
        payload: _Payload,
        ctx: ContextTemplate,
    ) -> None:
        contexts, payloads = self._contexts, self._payloads
        # A session stamps one context on all its messages: store it once.
        if not contexts or contexts[-1] is not ctx:
            contexts.append(ctx)
        payloads.append(payload)
        self._buffer.append(
            (ts, len(payloads), kind, anonymous_id, user_id, name, len(contexts) - 1)
        )

    def track(
        self, ts: int, device: Device, ctx: ContextTemplate, event: str, props: dict[str, object]
    ) -> None:
        self._add(ts, "track", device.anonymous_id, device.logged_in_as, event, props, ctx)

    def page(
        self, ts: int, device: Device, ctx: ContextTemplate, name: str, props: dict[str, object]
    ) -> None:
        self._add(ts, "page", device.anonymous_id, device.logged_in_as, name, props, ctx)

    def identify(
        self, ts: int, device: Device, ctx: ContextTemplate, traits: dict[str, object]
    ) -> None:
        self._add(ts, "identify", device.anonymous_id, device.logged_in_as, "", traits, ctx)

    def alias(self, ts: int, previous_id: str, user_id: str, ctx: ContextTemplate) -> None:
        self._add(ts, "alias", None, user_id, previous_id, None, ctx)

    def drain(self, until: int) -> Iterator[Message]:
        """Yield buffered messages stamped before `until` in order; keep later ones.

        Sessions that straddle midnight spill into the next day's buffer, so
        the overall stream stays sorted.
        """
        buffer, payloads, contexts = self._buffer, self._payloads, self._contexts
        buffer.sort()  # (timestamp, index) is unique: comparison never reaches other fields
        cut = bisect.bisect_left(buffer, (until,))
        self._keep(buffer[cut:], payloads, contexts)
        for record in buffer[:cut]:
            yield self._build(record, payloads[record[1] - 1], contexts[record[6]])

    def _keep(
        self, records: list[_Record], payloads: list[_Payload], contexts: list[ContextTemplate]
    ) -> None:
        """Carry `records` to the next day with side tables of their own."""
        self.discard()
        index: dict[int, int] = {}
        for ts, number, kind, anonymous_id, user_id, name, old in records:
            if old not in index:
                index[old] = len(self._contexts)
                self._contexts.append(contexts[old])
            self._payloads.append(payloads[number - 1])
            self._buffer.append(
                (ts, len(self._payloads), kind, anonymous_id, user_id, name, index[old])
            )

    def discard(self) -> None:
        """Drop what falls after the window: the dataset is cut off at `end`."""
        self._buffer, self._payloads, self._contexts = [], [], []

    def _build(self, record: _Record, payload: _Payload, ctx: ContextTemplate) -> Message:
        ts, _, kind, anonymous_id, user_id, name, _ = record
        # Ids follow release order, so they are stable however generation interleaves.
        self._released += 1
        msg: Message = {
            "type": kind,
            "messageId": f"{self._id_head}{(self._released * _MIX) & _MASK48:012x}",
            "timestamp": self.iso(ts),
        }
        if anonymous_id is not None:
            msg["anonymousId"] = anonymous_id
        if user_id is not None:
            msg["userId"] = user_id
        name_field, payload_field = _FIELDS[kind]
        if name_field is not None:
            msg[name_field] = name
        if payload_field is not None:
            msg[payload_field] = payload
        msg["context"] = ctx.fresh()
        return msg
