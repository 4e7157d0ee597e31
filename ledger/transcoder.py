"""Stored events as msgpack: the library's Transcoder hook, with value types
registered as Transcodings just as its JSON transcoder does."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast
from uuid import UUID

import msgpack
from eventsourcing.persistence import Transcoder, Transcoding, TranscodingNotRegisteredError


class DecimalAsStr(Transcoding):
    type = Decimal
    name = "decimal"

    def encode(self, obj: Decimal) -> str:
        return str(obj)

    def decode(self, data: str) -> Decimal:
        return Decimal(data)


class DatetimeAsISO(Transcoding):
    """Keeps the UTC offset the time was given with (business times are local)."""

    type = datetime
    name = "datetime"

    def encode(self, obj: datetime) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> datetime:
        return datetime.fromisoformat(data)


class DateAsISO(Transcoding):
    type = date
    name = "date"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class UUIDAsBytes(Transcoding):
    type = UUID
    name = "uuid"

    def encode(self, obj: UUID) -> bytes:
        return obj.bytes

    def decode(self, data: bytes) -> UUID:
        return UUID(bytes=data)


class MsgpackTranscoder(Transcoder):
    """Encodes event state with msgpack; registered value types become a small
    {"_type_": name, "_data_": encoded} map, as in the library's JSON transcoder."""

    def __init__(self) -> None:
        self.types: dict[type, Transcoding] = {}
        self.names: dict[str, Transcoding] = {}

    def register(self, transcoding: Transcoding) -> None:
        self.types[transcoding.type] = transcoding
        self.names[transcoding.name] = transcoding

    def encode(self, obj: Any) -> bytes:
        return cast(bytes, msgpack.packb(obj, default=self._encode_obj, use_bin_type=True))

    def decode(self, data: bytes) -> Any:
        return msgpack.unpackb(data, object_hook=self._decode_obj, raw=False, strict_map_key=False)

    def _encode_obj(self, obj: Any) -> dict[str, Any]:
        try:
            transcoding = self.types[type(obj)]
        except KeyError:
            msg = f"Object of type {type(obj)} has no registered transcoding."
            raise TranscodingNotRegisteredError(msg) from None
        return {"_type_": transcoding.name, "_data_": transcoding.encode(obj)}

    def _decode_obj(self, d: dict[str, Any]) -> Any:
        if len(d) == 2 and "_type_" in d and "_data_" in d:
            try:
                transcoding = self.names[d["_type_"]]
            except KeyError:
                msg = f"Stored data of type {d['_type_']!r} has no registered transcoding."
                raise TranscodingNotRegisteredError(msg) from None
            return transcoding.decode(d["_data_"])
        return d


def construct_transcoder() -> MsgpackTranscoder:
    transcoder = MsgpackTranscoder()
    for transcoding in (DecimalAsStr(), DatetimeAsISO(), DateAsISO(), UUIDAsBytes()):
        transcoder.register(transcoding)
    return transcoder
