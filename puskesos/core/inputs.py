"""Inputs declared once: the page form, the API schema and the service's validation are made from one `Input`.

An `Input` says what a user types for an intake field or a workflow event: its kind, its label, its length
limit, its choices, when it is required and with which message. `validate` is what the services run; `form_class`
builds the WTForms form the pages show; `schema_class` builds the marshmallow schema the API (and so its OpenAPI
document) accepts. None of the three repeats a limit, a choice list or a required rule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields
from marshmallow import validate as rules
from wtforms import HiddenField, RadioField, SelectField, StringField, TextAreaField

from puskesos.core.ids import MAX_ID, parse_id
from puskesos.core.pii import mask_numbers
from puskesos.web.validators import MaxLength

KINDS = ("text", "textarea", "choice", "radio", "bool", "date", "id", "int", "hidden_id")

TRUE_WORDS = ("1", "true", "yes", "ya", "y", "on")
FALSE_WORDS = ("0", "false", "no", "tidak", "n", "off")


@dataclass(frozen=True)
class Input:
    """One thing a user types. `required` is True, False, or a function of the other cleaned values."""

    name: str
    label: Any
    kind: str = "text"
    max_length: int | None = None
    choices: Callable[[], list[tuple[str, Any]]] | None = None  # (value, label), in display order
    required: bool | Callable[[dict], bool] = False
    message: Any = None  # said when a required input is missing
    description: Any = None
    minimum: Any = None  # int/date kinds: a value or a function returning one
    maximum: Any = None
    too_early: Any = None  # the messages for values outside minimum/maximum
    too_late: Any = None
    default: Any = None  # the value of an input left empty
    clean: Callable[[str], Any] | None = None  # normalises typed text; raises ValueError with the message
    initial: Callable[..., Any] | None = None  # what a form starts with: initial(case, user)
    options: Callable[..., list[tuple[str, Any]]] | None = None  # choices that depend on the case: options(case, user)
    # Personal data or free text about the person: sealed in the audit log under the case's key, which retention
    # destroys (audit/sealing.py reads this flag; nothing else lists the names).
    personal: bool = False
    masked: bool = False  # shown cut wherever the audit log is read in words (phones; NIK and KK come masked)
    render_kw: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"input {self.name}: unknown kind {self.kind!r}")

    def is_required(self, values: dict) -> bool:
        return self.required(values) if callable(self.required) else bool(self.required)

    def choice_values(self, restricted: Iterable[str] | None = None) -> list[str]:
        values = [str(v) for v, _label in self.choices()] if self.choices else []
        return [v for v in values if v in set(restricted)] if restricted is not None else values

    def bool_choices(self) -> list[tuple[str, Any]]:
        """A yes/no input's two answers: its own words when it declares them (yes first), else Ya/Tidak."""
        return list(self.choices()) if self.choices else [("yes", _l("Ya")), ("no", _l("Tidak"))]

    def choice_label(self, value) -> Any:
        if self.kind == "bool":
            (_yes, yes), (_no, no) = self.bool_choices()
            return {True: yes, False: no}.get(value, value)
        for key, label in (self.choices() if self.choices else ()):
            if str(key) == str(value):
                return label
        return value


def _bound(value):
    return value() if callable(value) else value


# -- validation (the services) --------------------------------------------------------------------------------


def _as_text(raw) -> str:
    return str(raw).strip() if raw is not None else ""


def _clean_one(spec: Input, raw, restricted) -> tuple[Any, Any]:
    """(value, error message or None); an empty input is None."""
    if spec.kind == "bool":
        if isinstance(raw, bool):
            return raw, None
        text = _as_text(raw).lower()
        if not text:
            return None, None
        if text in TRUE_WORDS:
            return True, None
        if text in FALSE_WORDS:
            return False, None
        return None, _l("Pilihan tidak dikenal.")
    if spec.kind == "date":
        if isinstance(raw, dt.datetime):
            raw = raw.date()
        if isinstance(raw, dt.date):
            value = raw
        else:
            text = _as_text(raw)
            if not text:
                return None, None
            try:
                value = dt.date.fromisoformat(text)
            except ValueError:
                return None, _l("Tanggal tidak valid.")
        if spec.minimum is not None and value < _bound(spec.minimum):
            return None, spec.too_early or _l("Tanggal terlalu awal.")
        if spec.maximum is not None and value > _bound(spec.maximum):
            return None, spec.too_late or _l("Tanggal tidak boleh di masa depan.")
        return value, None
    if spec.kind in ("id", "hidden_id"):
        if raw is None or _as_text(raw) == "":
            return None, None
        value = parse_id(raw)
        return (value, None) if value is not None else (None, _l("Pilihan tidak dikenal."))
    if spec.kind == "int":
        text = _as_text(raw)
        if not text:
            return None, None
        try:
            value = int(text)
        except ValueError:
            return None, spec.too_late or _l("Isi dengan angka.")
        if (spec.minimum is not None and value < _bound(spec.minimum)) or (
                spec.maximum is not None and value > _bound(spec.maximum)):
            return None, spec.too_late or _l("Di luar rentang yang diizinkan.")
        return value, None
    text = _as_text(raw)
    if not text:
        return spec.default, None
    if spec.max_length is not None and len(text) > spec.max_length:
        return None, _l("Paling banyak %(n)s karakter.", n=spec.max_length)
    if spec.clean is not None:
        try:
            text = spec.clean(text)
        except ValueError as exc:
            return None, str(exc)
    elif spec.kind in ("text", "textarea"):
        # A NIK or KK belongs in its own, encrypted field: one typed into free text is kept masked.
        text = mask_numbers(text)
    if spec.kind in ("choice", "radio") and spec.choices is not None and text not in spec.choice_values(restricted):
        return None, _l("Pilihan tidak dikenal.")
    return text, None


def validate(specs: Iterable[Input], data: dict, *, restrict: dict | None = None,
             skip: Iterable[str] = ()) -> tuple[dict, dict[str, list]]:
    """Clean every input of `specs` from `data`; returns (values, errors per input). Nothing raises.

    `restrict` narrows an input's choices (a row of a workflow table allows only some outcomes, say);
    `skip` names inputs the caller checks itself (a NIK is more than a string).
    """
    restrict = restrict or {}
    skipped = set(skip)
    values: dict = {}
    errors: dict[str, list] = {}
    specs = [s for s in specs if s.name not in skipped]
    for spec in specs:
        value, error = _clean_one(spec, data.get(spec.name), restrict.get(spec.name))
        values[spec.name] = value
        if error is not None:
            errors[spec.name] = [error]
    for spec in specs:
        if spec.name not in errors and values[spec.name] is None and spec.is_required({**data, **values}):
            errors[spec.name] = [spec.message or _l("Wajib diisi.")]
    return values, errors


# -- page forms -----------------------------------------------------------------------------------------------


BLANK = ("", "—")


class _Marked:
    """Flags a field required (the page marks it, the control says `required`) without checking anything: the
    service decides and says why. Only `required=True` is marked; a conditional requirement is not."""

    field_flags = {"required": True}

    def __call__(self, form, field) -> None:
        pass


def form_field(spec: Input):
    """The WTForms field for one input. Forms check only length: the services decide what is valid."""
    kw = {"description": spec.description or "", "render_kw": dict(spec.render_kw)}
    marked = [_Marked()] if spec.required is True else []
    length = marked + ([MaxLength(spec.max_length)] if spec.max_length else [])
    if spec.kind == "textarea":
        kw["render_kw"].setdefault("rows", 3)
        return TextAreaField(spec.label, validators=length, **kw)
    if spec.kind in ("choice", "int"):
        choices = ([] if spec.default is not None else [BLANK]) + (list(spec.choices()) if spec.choices else [])
        return SelectField(spec.label, choices=choices, validate_choice=False, default=spec.default,
                           validators=marked, **kw)
    if spec.kind == "radio":
        return RadioField(spec.label, choices=spec.choices() if spec.choices else [], validate_choice=False,
                          validators=marked, **kw)
    if spec.kind == "bool":
        return RadioField(spec.label, choices=spec.bool_choices(), validate_choice=False, validators=marked, **kw)
    if spec.kind == "date":
        kw["render_kw"].setdefault("type", "date")
        return StringField(spec.label, validators=[*marked, MaxLength(10)], **kw)
    if spec.kind == "id":
        return SelectField(spec.label, choices=[], validate_choice=False, validators=marked, **kw)
    if spec.kind == "hidden_id":
        return HiddenField(spec.label)
    return StringField(spec.label, validators=length, **kw)


def form_class(name: str, specs: Iterable[Input], base: type) -> type:
    """A form class with one field per input, in order, on top of `base` (which brings version and submit)."""
    return type(name, (base,), {spec.name: form_field(spec) for spec in specs})


def form_value(spec: Input, value) -> Any:
    """A stored value as the form field shows it."""
    if value is None:
        return ""
    if spec.kind == "bool":
        return "yes" if value else "no"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


# -- API schemas ----------------------------------------------------------------------------------------------


def schema_field(spec: Input, *, required: bool = False):
    """The marshmallow field for one input: the same limits, choices and ranges as the form and the service."""
    meta = {"metadata": {"description": str(spec.label)}}
    allow_none = not required
    if spec.kind == "bool":
        return fields.Boolean(required=required, allow_none=allow_none, **meta)
    if spec.kind == "date":
        return fields.Date(required=required, allow_none=allow_none, **meta)
    if spec.kind in ("id", "hidden_id"):
        return fields.Integer(required=required, allow_none=allow_none, validate=rules.Range(min=1, max=MAX_ID),
                              **meta)
    if spec.kind == "int":
        rng = rules.Range(min=_bound(spec.minimum), max=_bound(spec.maximum))
        return fields.Integer(required=required, allow_none=allow_none, validate=rng, **meta)
    checks = []
    if spec.max_length:
        checks.append(rules.Length(max=spec.max_length))
    if spec.kind in ("choice", "radio") and spec.choices is not None:
        checks.append(rules.OneOf(spec.choice_values()))
    return fields.String(required=required, allow_none=allow_none, validate=checks or None, **meta)


def schema_class(name: str, specs: Iterable[Input], *, required: Callable[[Input], bool] = lambda _s: False,
                 base: type = Schema, extra: dict | None = None) -> type:
    """A marshmallow schema with one field per input (the same name declared twice must agree)."""
    attrs: dict = {}
    seen: dict[str, Input] = {}
    for spec in specs:
        if spec.name in seen:
            other = seen[spec.name]
            if (other.kind, other.max_length, other.choice_values()) != (spec.kind, spec.max_length,
                                                                         spec.choice_values()):
                raise AssertionError(f"input {spec.name} is declared twice with different shapes")
            continue
        seen[spec.name] = spec
        attrs[spec.name] = schema_field(spec, required=required(spec))
    attrs.update(extra or {})
    return type(name, (base,), attrs)
