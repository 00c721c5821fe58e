"""The person's own keys ([dashboard.keys] in config.toml), checked before use.

A setting that names no binding, a key name Textual does not know, or a key that
another binding on the same screen already answers to is left out, with one
line saying so: whatever is configured, Stop, Help and "It hurts" keep a key of
their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import field

from textual.binding import Binding, BindingType
from textual.keys import Keys, _character_to_key

from biofeedback.models.record import record

# Bindings that share a key on purpose: never active at the same time.
SHARED = (
    frozenset({"session.pause", "session.resume"}),
    frozenset({"session.stop", "session.close"}),
)
_MODIFIERS = frozenset({"ctrl", "shift", "alt", "meta", "super", "hyper"})
_NAMES = frozenset(k.value for k in Keys) | frozenset(
    _character_to_key(chr(code)) for code in range(33, 127)
)


def valid_key(key: str) -> bool:
    *mods, base = key.strip().split("+")
    if not base or not all(m in _MODIFIERS for m in mods):
        return False
    return (len(base) == 1 and base.isprintable() and not base.isspace()) or base in _NAMES


def _keys(text: str) -> list[str]:
    return [k.strip() for k in text.split(",") if k.strip()]


@record(frozen=True)
class KeymapCheck:
    """The usable part of a keymap setting, and a line for each setting left out."""

    keymap: dict[str, str] = field(default_factory=dict)
    problems: tuple[str, ...] = ()


def _bindings(group: Iterable[BindingType]) -> list[Binding]:
    return [b for b in group if isinstance(b, Binding) and b.id is not None]


def check_keymap(
    keymap: Mapping[str, str], screens: Sequence[Iterable[BindingType]]
) -> KeymapCheck:
    """The usable part of ``keymap`` for bindings grouped by the screen they are
    active on (each group includes the app's own), and a line per setting left out."""
    groups = [_bindings(g) for g in screens]
    known = {b.id: b for g in groups for b in g}
    problems: list[str] = []
    usable: dict[str, str] = {}
    for binding_id, keys in keymap.items():
        if binding_id not in known:
            names = ", ".join(sorted(str(k) for k in known))
            problems.append(
                f"[dashboard.keys] {binding_id!r} is not a key setting; use one of: {names}"
            )
        elif not _keys(keys) or not all(valid_key(k) for k in _keys(keys)):
            problems.append(
                f"[dashboard.keys] {binding_id} = {keys!r} is not a key name"
                ' (e.g. "n", "f5", "ctrl+n"); keeping the default'
            )
        else:
            usable[binding_id] = keys
    changed = True
    while changed:
        changed = False
        for group in groups:
            owner: dict[str, list[str]] = {}
            for b in group:
                assert b.id is not None
                for key in _keys(usable.get(b.id, b.key)):
                    owner.setdefault(key, []).append(b.id)
            for ids in owner.values():
                if len(ids) < 2 or frozenset(ids) in SHARED:
                    continue
                for binding_id in [i for i in ids if i in usable]:
                    others = ", ".join(
                        f"{known[i].description or i} ({i})" for i in ids if i != binding_id
                    )
                    default = known[binding_id].key.replace("question_mark", "?")
                    problems.append(
                        f"[dashboard.keys] {binding_id} = {usable.pop(binding_id)!r} clashes"
                        f" with {others}; keeping {default!r}"
                    )
                    changed = True
                if changed:
                    break
            if changed:
                break
    return KeymapCheck(usable, tuple(problems))
