"""Names of the registry's stored values as people read them, in the page's language.

The registry's lists and the dashboards' partnership evidence show the same words.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

#: How stored enum values are shown in the lists.
VALUE_LABELS = {
    "kind": {
        "joint_activity": _l("Joint activity"),
        "production_practice": _l("Production training and practice"),
        "targeted_training": _l("Targeted training"),
        "employee_training": _l("Training of the enterprise's employees"),
        "joint_research": _l("Joint research"),
        "internship": _l("Internship"),
        "employment": _l("Employment of graduates"),
        "attestation_commission": _l("Seats on attestation commissions"),
    },
    "level": {
        "vocational": _l("Vocational"),
        "bachelor": _l("Bachelor"),
        "master": _l("Master"),
        "doctoral": _l("Doctoral"),
    },
}

#: Programme levels.
PROGRAMME_LEVEL_NAMES = VALUE_LABELS["level"]
#: Kinds of partnership agreement (the seed paper's forms of cooperation).
AGREEMENT_KIND_NAMES = VALUE_LABELS["kind"]
