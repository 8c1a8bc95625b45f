"""Imports every model so that metadata, Alembic and relationships see the whole schema."""

from puskesos.accounts.models import User
from puskesos.api.models import ApiToken
from puskesos.audit.models import AuditEvent
from puskesos.cases.models import Assessment, Case, CaseCounter
from puskesos.notifications.models import Notification, NotificationAttempt
from puskesos.referrals.models import Agency, Referral
from puskesos.regions.models import Region
from puskesos.workdays.models import Holiday

__all__ = [
    "Agency", "ApiToken", "Assessment", "AuditEvent", "Case", "CaseCounter", "Holiday", "Notification",
    "NotificationAttempt", "Referral", "Region", "User",
]
