"""Stored events as msgpack: the library's Transcoder hook, with value types
registered as Transcodings, each stored as a msgpack extension type of its own; and
the mapper the read models decode stored events with."""

from __future__ import annotations

import threading
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast
from uuid import UUID

import msgpack
from eventsourcing.persistence import (
    Mapper,
    MapperDeserialisationError,
    StoredEvent,
    Transcoder,
    Transcoding,
    TranscodingNotRegisteredError,
)
from eventsourcing.utils import resolve_topic

from domain.values import shared_zone
from ledger import library

# Extension type codes are part of the stored format: never reuse or renumber one.
DECIMAL, DATETIME, DATE, UUID_CODE = 1, 2, 3, 4
_new_tuple = tuple.__new__


class DecimalAsText(Transcoding):
    type = Decimal
    name = "decimal"

    def encode(self, obj: Decimal) -> bytes:
        return str(obj).encode("ascii")

    def decode(self, data: bytes) -> Decimal:
        return Decimal(data.decode("ascii"))


class DatetimeAsISO(Transcoding):
    """Keeps the UTC offset the time was given with (business times are local)."""

    type = datetime
    name = "datetime"

    def encode(self, obj: datetime) -> bytes:
        return obj.isoformat().encode("ascii")

    def decode(self, data: bytes) -> datetime:
        return shared_zone(datetime.fromisoformat(data.decode("ascii")))


class DateAsISO(Transcoding):
    type = date
    name = "date"

    def encode(self, obj: date) -> bytes:
        return obj.isoformat().encode("ascii")

    def decode(self, data: bytes) -> date:
        return date.fromisoformat(data.decode("ascii"))


class UUIDAsBytes(Transcoding):
    type = UUID
    name = "uuid"

    def encode(self, obj: UUID) -> bytes:
        return obj.bytes

    def decode(self, data: bytes) -> UUID:
        return UUID(bytes=data)


class MsgpackTranscoder(Transcoder):
    """Encodes event state with msgpack. A registered value type is an extension
    type (code, encoded bytes), so no map a user wrote can ever be taken for one."""

    def __init__(self) -> None:
        self.types: dict[type, tuple[int, Transcoding]] = {}
        self.codes: dict[int, Transcoding] = {}
        # A packer made once per thread, not once per event (packb makes one each
        # call): a packer is not safe to share between threads.
        self._local = threading.local()

    def register(self, transcoding: Transcoding, code: int) -> None:
        self.types[transcoding.type] = (code, transcoding)
        self.codes[code] = transcoding

    def encode(self, obj: Any) -> bytes:
        packer = getattr(self._local, "packer", None)
        if packer is None:
            packer = self._local.packer = msgpack.Packer(
                default=self._encode_obj, use_bin_type=True
            )
        # A pack that fails leaves the packer empty for the next (msgpack resets it).
        return cast(bytes, packer.pack(obj))

    def decode(self, data: bytes) -> Any:
        return msgpack.unpackb(data, ext_hook=self._decode_ext, raw=False, strict_map_key=False)

    def decode_transient(self, data: bytes) -> Any:
        """As decode, for state that is read and let go (the read models take each
        time as microseconds or text): a time keeps the tzinfo it is read with, not
        one shared with every time at its offset, which is for what stays in memory
        (domain/values.py shared_zone) and costs a third of decoding."""
        return msgpack.unpackb(
            data, ext_hook=self._decode_ext_transient, raw=False, strict_map_key=False
        )

    def _decode_ext_transient(self, code: int, data: bytes) -> Any:
        if code == DATETIME:
            return datetime.fromisoformat(data.decode("ascii"))
        return self._decode_ext(code, data)

    def _encode_obj(self, obj: Any) -> msgpack.ExtType:
        try:
            code, transcoding = self.types[type(obj)]
        except KeyError:
            msg = f"Object of type {type(obj)} has no registered transcoding."
            raise TranscodingNotRegisteredError(msg) from None
        # ExtType's own constructor checks its arguments in Python, at about the cost
        # of the encoding itself; the code and the bytes here are known good.
        return _new_tuple(msgpack.ExtType, (code, transcoding.encode(obj)))

    def _decode_ext(self, code: int, data: bytes) -> Any:
        try:
            transcoding = self.codes[code]
        except KeyError:
            msg = f"Stored data of extension type {code} has no registered transcoding."
            raise TranscodingNotRegisteredError(msg) from None
        return transcoding.decode(data)


def construct_transcoder() -> MsgpackTranscoder:
    transcoder = MsgpackTranscoder()
    transcoder.register(DecimalAsText(), DECIMAL)
    transcoder.register(DatetimeAsISO(), DATETIME)
    transcoder.register(DateAsISO(), DATE)
    transcoder.register(UUIDAsBytes(), UUID_CODE)
    return transcoder


class ReadMapper(Mapper[UUID]):
    """The application's mapper as the read models use it: the same cipher,
    compressor and transcoder, and the library's upcasting (an event class at
    `class_version = 2` is read through its `upcast_v1_v2`), so the read models see
    every event in its current shape. Two things differ, for speed (a rebuild decodes
    every event of the ledger): a time keeps the tzinfo it is read with
    (MsgpackTranscoder.decode_transient; the read models only turn times into
    numbers and text), and `event` makes the domain event from a row's values, with
    the event class looked up once per topic, where the library's to_domain_event
    (2 us an event more) first needs a StoredEvent."""

    def __init__(self, mapper: Mapper[UUID]) -> None:
        super().__init__(mapper.transcoder, mapper.compressor, mapper.cipher)
        transcoder = mapper.transcoder
        self._decode = (
            transcoder.decode_transient
            if isinstance(transcoder, MsgpackTranscoder)
            else transcoder.decode
        )
        self._classes: dict[str, tuple[type, int]] = {}
        self._plain = not self.cipher and not self.compressor

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        originator_id = stored_event.originator_id
        assert isinstance(originator_id, UUID)
        return self.event(
            originator_id, stored_event.originator_version, stored_event.topic, stored_event.state
        )

    def event(self, originator_id: UUID, version: int, topic: str, state: bytes) -> Any:
        """The domain event of a stored event's values."""
        found = self._classes.get(topic)
        if found is None:
            cls = resolve_topic(topic)
            found = self._classes[topic] = (cls, getattr(cls, "class_version", 1))
        cls, class_version = found
        try:
            if self._plain:
                event_state: dict[str, Any] = self._decode(state)
            else:
                if self.cipher:
                    state = self.cipher.decrypt(state)
                if self.compressor:
                    state = self.compressor.decompress(state)
                event_state = self._decode(state)
        except Exception as e:
            msg = (
                f"Failed to deserialise state of stored event with topic '{topic}', "
                f"originator_id '{originator_id}' and originator_version {version}: {e}"
            )
            raise MapperDeserialisationError(msg) from e
        event_state["originator_id"] = originator_id
        event_state["originator_version"] = version
        return library.domain_event(cls, class_version, event_state)
