"""A seeded mutator of exchange JSON messages, for the feed fuzzer (``test_feed_fuzz.py``).

Messages are decoded keeping everything the wire had: numbers as their exact text, objects as
lists of pairs (so that keys can be duplicated and order is kept), then one mutation rewrites
the tree (or the encoded bytes), and the result is encoded again byte for byte.

Mutations change a message's *form*, never its meaning: a field dropped, a value of another
JSON type (string, number, array, object, null, boolean), a level given as a string, a
number as a string or the other way round, a number beyond its field's type, non-ASCII digits
or bytes that are not UTF-8, a duplicated key, a symbol nobody subscribed to, deep nesting, a
truncated payload. A well-formed message of other content (another price, one level fewer,
another channel's name, an update ID that still fits) is not generated: no client of an
exchange without a checksum could tell it from the real one.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass


class Num(str):
    """A JSON number, kept as the text the wire had."""

    __slots__ = ()


class Obj(list[tuple[str, object]]):
    """A JSON object as its (key, value) pairs, in wire order (keys may repeat)."""

    __slots__ = ()


@dataclass(frozen=True)
class Raw:
    """Text written into the encoded message as it is (deep nesting)."""

    text: str


def decode(data: bytes) -> object:
    """The tree of a JSON message, with :class:`Num` numbers and :class:`Obj` objects."""
    return json.loads(data, parse_float=Num, parse_int=Num, object_pairs_hook=Obj)


def encode(node: object) -> str:
    """The JSON text of a tree made by :func:`decode` (and mutated)."""
    if isinstance(node, Raw):
        return node.text
    if isinstance(node, Num):
        return str(node)
    if isinstance(node, str):
        return json.dumps(node, ensure_ascii=False)
    if node is None:
        return "null"
    if node is True:
        return "true"
    if node is False:
        return "false"
    if isinstance(node, Obj):
        return "{" + ",".join(f"{json.dumps(k)}:{encode(v)}" for k, v in node) + "}"
    if isinstance(node, list):
        return "[" + ",".join(encode(item) for item in node) + "]"
    raise TypeError(f"cannot encode {node!r}")


#: Keys whose string value names a market, per exchange's wire (wrong ones are generated).
SYMBOL_KEYS = frozenset({"s", "symbol", "instId", "product_id", "topic"})

_WRONG_SYMBOLS = ("DOGEUSDT", "BTC-USDT-SWAP", "", "btcusdt", "orderbook.50.DOGEUSDT", "XBT/USD")
_FULLWIDTH = {ord(c): 0xFF10 + int(c) for c in "0123456789"} | {ord("."): 0xFF0E}
_ARABIC_INDIC = {ord(c): 0x0660 + int(c) for c in "0123456789"}


def _is_decimal_text(value: object) -> bool:
    if not isinstance(value, str) or isinstance(value, Num) or not value:
        return False
    body = value.lstrip("-")
    return body.replace(".", "", 1).isdigit() and body.isascii()


@dataclass
class _Slot:
    """Where a value sits: its container, and its index there (the pair's index for objects)."""

    container: list[object]
    index: int
    key: str | None

    def get(self) -> object:
        item = self.container[self.index]
        return item[1] if self.key is not None else item  # type: ignore[index]

    def set(self, value: object) -> None:
        if self.key is not None:
            self.container[self.index] = (self.key, value)
        else:
            self.container[self.index] = value


def _slots(node: object) -> Iterator[_Slot]:
    if isinstance(node, Obj):
        for index, (key, value) in enumerate(node):
            yield _Slot(node, index, key)
            yield from _slots(value)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield _Slot(node, index, None)
            yield from _slots(value)


def _other_type(value: object, rng: random.Random) -> object:
    """A value of another JSON type than ``value``."""
    candidates: list[object] = [
        "65000",
        "x",
        Num("7"),
        Num("1.5"),
        [],
        [Num("1")],
        Obj(),
        Obj([("price", "1")]),
        None,
        True,
    ]
    kind = _json_type(value)
    return rng.choice([c for c in candidates if _json_type(c) != kind])


def _json_type(value: object) -> str:
    if isinstance(value, Num):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Obj):
        return "object"
    if isinstance(value, list):
        return "array"
    if value is None:
        return "null"
    return "boolean"


def _huge(value: object, rng: random.Random) -> object:
    """A number beyond what its field's type holds (as a number, or as a numeric string)."""
    texts = ["18446744073709551616", "9" * 40, "1e400", "-1e400", "9" * 5_000, "-1"]
    if isinstance(value, Num):
        return Num(rng.choice(texts))
    return rng.choice(texts)


def _non_ascii(value: str, rng: random.Random) -> str:
    choice = rng.randrange(4)
    if choice == 0:
        return value.translate(_FULLWIDTH)
    if choice == 1:
        return value.translate(_ARABIC_INDIC)
    if choice == 2:
        return value + "\u0301"  # a combining accent
    return "\u2212" + value  # a minus sign that is not '-'


Mutation = Callable[[object, random.Random], bool]


def _drop_field(tree: object, rng: random.Random) -> bool:
    fields = [slot for slot in _slots(tree) if slot.key is not None]
    if not fields:
        return False
    slot = rng.choice(fields)
    del slot.container[slot.index]
    return True


def _retype(tree: object, rng: random.Random) -> bool:
    slots = list(_slots(tree))
    if not slots:
        return False
    slot = rng.choice(slots)
    slot.set(_other_type(slot.get(), rng))
    return True


def _level_as_string(tree: object, rng: random.Random) -> bool:
    """A ``[price, size]`` level (or a ``{"price", ...}`` one) becomes its price alone."""
    levels = [
        slot
        for slot in _slots(tree)
        if slot.key is None
        and (
            (isinstance(slot.get(), list) and not isinstance(slot.get(), Obj) and slot.get())
            or (isinstance(slot.get(), Obj) and any(k == "price" for k, _ in slot.get()))  # type: ignore[union-attr]
        )
    ]
    levels = [
        slot
        for slot in levels
        if isinstance(slot.get(), Obj) or isinstance(slot.get()[0], str)  # type: ignore[index]
    ]
    if not levels:
        return False
    slot = rng.choice(levels)
    level = slot.get()
    price = dict(level)["price"] if isinstance(level, Obj) else level[0]  # type: ignore[index]
    slot.set(str(price) if rng.random() < 0.8 else Num(str(price)))
    return True


def _swap_number_and_string(tree: object, rng: random.Random) -> bool:
    candidates = [
        slot for slot in _slots(tree) if isinstance(slot.get(), Num) or _is_decimal_text(slot.get())
    ]
    if not candidates:
        return False
    slot = rng.choice(candidates)
    value = slot.get()
    slot.set(str(value) if isinstance(value, Num) else Num(str(value)))
    return True


def _huge_number(tree: object, rng: random.Random) -> bool:
    candidates = [
        slot for slot in _slots(tree) if isinstance(slot.get(), Num) or _is_decimal_text(slot.get())
    ]
    if not candidates:
        return False
    slot = rng.choice(candidates)
    slot.set(_huge(slot.get(), rng))
    return True


def _non_ascii_text(tree: object, rng: random.Random) -> bool:
    candidates = [
        slot
        for slot in _slots(tree)
        if _is_decimal_text(slot.get()) or (slot.key in SYMBOL_KEYS and isinstance(slot.get(), str))
    ]
    if not candidates:
        return False
    slot = rng.choice(candidates)
    slot.set(_non_ascii(str(slot.get()), rng))
    return True


def _duplicate_key(tree: object, rng: random.Random) -> bool:
    fields = [slot for slot in _slots(tree) if slot.key is not None]
    if not fields:
        return False
    slot = rng.choice(fields)
    pair = (slot.key, _other_type(slot.get(), rng))
    slot.container.insert(slot.index + (1 if rng.random() < 0.5 else 0), pair)
    return True


def _wrong_symbol(tree: object, rng: random.Random) -> bool:
    candidates = [
        slot for slot in _slots(tree) if slot.key in SYMBOL_KEYS and isinstance(slot.get(), str)
    ]
    if not candidates:
        return False
    slot = rng.choice(candidates)
    wrong = [s for s in _WRONG_SYMBOLS if s != slot.get()]
    slot.set(rng.choice(wrong))
    return True


def _deep_nesting(tree: object, rng: random.Random) -> bool:
    slots = list(_slots(tree))
    if not slots:
        return False
    slot = rng.choice(slots)
    depth = rng.choice((200, 2_000, 100_000))
    opener, closer = ("[", "]") if rng.random() < 0.5 else ('{"a":', "}")
    slot.set(Raw(opener * depth + encode(slot.get()) + closer * depth))
    return True


#: The tree mutations, by name.
TREE_MUTATIONS: dict[str, Mutation] = {
    "drop_field": _drop_field,
    "retype": _retype,
    "level_as_string": _level_as_string,
    "number_string_swap": _swap_number_and_string,
    "huge_number": _huge_number,
    "non_ascii": _non_ascii_text,
    "duplicate_key": _duplicate_key,
    "wrong_symbol": _wrong_symbol,
    "deep_nesting": _deep_nesting,
}
#: Every mutation's name, the byte-level ones included.
MUTATIONS = (*TREE_MUTATIONS, "truncate", "not_utf8")


def mutate(data: bytes, rng: random.Random) -> tuple[str, bytes] | None:
    """One seeded mutation of ``data``: its name and the mutated bytes (None if none applies
    or the message came out unchanged)."""
    name = rng.choice(MUTATIONS)
    if name == "truncate":
        if len(data) < 2:
            return None
        return name, data[: rng.randrange(1, len(data))]
    if name == "not_utf8":
        at = rng.randrange(len(data) + 1)
        return name, data[:at] + rng.choice((b"\xff", b"\xc3", b"\xed\xa0\x80")) + data[at:]
    try:
        tree = decode(data)
    except ValueError:
        return None  # not JSON (OKX's text pong): only the byte-level mutations apply
    if not TREE_MUTATIONS[name](tree, rng):
        return None
    mutated = encode(tree).encode()
    return (name, mutated) if mutated != data else None
