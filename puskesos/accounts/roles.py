"""The five roles of DESIGN.md and the kind of area each is bound to."""

from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l


class Role(StrEnum):
    OFFICER = "officer"
    CASEWORKER = "caseworker"
    AGENCY = "agency"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


ROLE_LABELS = {
    Role.OFFICER: _l("Petugas Puskesos"),
    Role.CASEWORKER: _l("Pekerja sosial Dinsos"),
    Role.AGENCY: _l("Petugas instansi rujukan"),
    Role.SUPERVISOR: _l("Supervisor"),
    Role.ADMIN: _l("Admin sistem"),
}

# Region levels (1 province … 4 village) a user of each role may be bound to.
ROLE_REGION_LEVELS: dict[Role, tuple[int, ...]] = {
    Role.OFFICER: (4,),
    Role.CASEWORKER: (2,),
    Role.SUPERVISOR: (1, 2),
    Role.AGENCY: (),
    Role.ADMIN: (),
}
