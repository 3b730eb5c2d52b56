"""Names of the registry's kinds as people read them, in the page's language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

#: Programme levels.
PROGRAMME_LEVEL_NAMES = {
    "vocational": _l("Vocational (college, technikum)"),
    "bachelor": _l("Bachelor's"),
    "master": _l("Master's"),
    "doctoral": _l("Doctoral"),
}

#: Kinds of partnership agreement (the seed paper's forms of cooperation).
AGREEMENT_KIND_NAMES = {
    "joint_activity": _l("Joint activity"),
    "production_practice": _l("Production practice contract"),
    "targeted_training": _l("Targeted training"),
    "employee_training": _l("Joint programmes and employee training"),
    "joint_research": _l("Joint research"),
    "internship": _l("Internships with enterprise mentors"),
    "employment": _l("Employment of graduates"),
    "attestation_commission": _l("Seats on attestation commissions"),
}
