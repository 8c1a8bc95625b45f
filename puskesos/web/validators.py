"""WTForms validators with messages from our own catalogue: WTForms ships none in Indonesian."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms.validators import DataRequired, Length


def Required() -> DataRequired:
    return DataRequired(message=_l("Wajib diisi."))


def MaxLength(limit: int) -> Length:
    return Length(max=limit, message=_l("Paling banyak %(n)s karakter.", n=limit))
