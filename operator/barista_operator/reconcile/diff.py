"""Pure comparison of a desired child with the live object: is it ours, and what patch brings it back.

Only fields the operator owns are compared: the labels, annotations and owner references it sets, and
every top-level section of the desired manifest (``spec``, ``data``, ``type``, …). The server may add
fields (defaults, status, other controllers' annotations); those never count as drift, except inside a
map we want empty (``podSelector: {}`` selects every pod; a key added there changes its meaning). Desired lists
must match element-wise (each element a subset of the live one, same length); resource quantities
compare by value (the API server canonicalises ``0.5`` to ``500m``).

The patch is a JSON merge patch: maps merge, lists are replaced wholesale. When the desired manifest's
``applied-hash`` differs from the live one, every owned section is sent in full, so a field removed
from a list element (say a container's limits) disappears too.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from barista_operator import labels as L

_QUANTITY_SECTIONS = {"resources", "requests", "limits", "hard", "default", "defaultRequest", "max", "min"}
_DECIMAL = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal(10**3),
    "M": Decimal(10**6),
    "G": Decimal(10**9),
    "T": Decimal(10**12),
    "P": Decimal(10**15),
    "E": Decimal(10**18),
}
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_SKIPPED_SECTIONS = {"apiVersion", "kind", "metadata", "status"}
#: Every suffix with its factor, longest first (``Mi`` before ``M``).
_SUFFIXES = sorted(
    ((suffix, Decimal(factor)) for suffix, factor in (*_BINARY.items(), *_DECIMAL.items()) if suffix),
    key=lambda kv: -len(kv[0]),
)


def parse_quantity(text: Any) -> Decimal | None:
    """The value of a Kubernetes quantity string (``500m``, ``1Gi``, ``2``), or None if it is not one."""
    if not isinstance(text, str | int | float) or isinstance(text, bool):
        return None
    number, factor = str(text).strip(), Decimal(1)
    for suffix, value in _SUFFIXES:
        if number.endswith(suffix):
            number, factor = number[: -len(suffix)], value
            break
    try:
        return Decimal(number) * factor
    except InvalidOperation:
        return None


def is_subset(desired: Any, live: Any, *, quantities: bool = False) -> bool:
    """Whether ``live`` carries everything ``desired`` says (extra keys in ``live`` are fine)."""
    if isinstance(desired, Mapping):
        if not isinstance(live, Mapping):
            return False
        if not desired:  # an empty map means something ({} selects every pod): it must stay empty
            return not live
        return all(
            key in live and is_subset(value, live[key], quantities=quantities or key in _QUANTITY_SECTIONS)
            for key, value in desired.items()
        )
    if isinstance(desired, list):
        return (
            isinstance(live, list)
            and len(desired) == len(live)
            and all(is_subset(d, v, quantities=quantities) for d, v in zip(desired, live, strict=True))
        )
    if quantities and isinstance(desired, str) and desired != live:
        want, have = parse_quantity(desired), parse_quantity(live)
        return want is not None and want == have
    return bool(desired == live and type(desired) is type(live))


def owned_by(live: Mapping[str, Any], desired: Mapping[str, Any]) -> bool:
    """Whether ``live`` was made by this operator for the same owner as ``desired``."""
    have = live.get("metadata", {}).get("labels") or {}
    want = desired.get("metadata", {}).get("labels") or {}
    return all(have.get(key) == want.get(key) for key in (L.MANAGED_BY, L.OWNER_KIND, L.OWNER_NAME))


def drift_patch(
    desired: Mapping[str, Any], live: Mapping[str, Any], *, create_only: Collection[str] = ()
) -> dict[str, Any] | None:
    """The merge patch that makes ``live`` match ``desired`` in the fields we own; None when in sync.

    ``create_only`` names top-level sections set at creation and never patched (a credentials
    Secret's ``data``: generated once, never rotated by accident).
    """
    want_meta = desired.get("metadata", {})
    have_meta = live.get("metadata", {})
    changed = (want_meta.get("annotations") or {}).get(L.APPLIED_HASH) != (have_meta.get("annotations") or {}).get(
        L.APPLIED_HASH
    )
    patch: dict[str, Any] = {}
    meta_patch: dict[str, Any] = {}
    for field in ("labels", "annotations"):
        want = want_meta.get(field) or {}
        have = have_meta.get(field) or {}
        delta = {k: v for k, v in want.items() if have.get(k) != v}
        if delta:
            meta_patch[field] = delta
    want_refs = want_meta.get("ownerReferences") or []
    have_refs = have_meta.get("ownerReferences") or []
    if want_refs and not all(any(is_subset(w, h) for h in have_refs) for w in want_refs):
        ours = {r.get("uid") for r in want_refs}
        meta_patch["ownerReferences"] = [r for r in have_refs if r.get("uid") not in ours] + list(want_refs)
    if meta_patch:
        patch["metadata"] = meta_patch
    for section, value in desired.items():
        if section in _SKIPPED_SECTIONS or section in create_only:
            continue
        if changed or not is_subset(value, live.get(section), quantities=section in _QUANTITY_SECTIONS):
            patch[section] = value
    return patch or None
