"""Test data shared by the suites: the policy of DOMAIN.md, as data."""

from __future__ import annotations

from typing import Any

# The policy document of DOMAIN.md ("The policy, as data"), exactly.
DOMAIN_POLICY: dict[str, Any] = {
    "policy": "XC-2018",
    "version": 1,
    "effective": "2018-03-01",
    "title": "兴城镇棚户区改造房屋征收补偿方案",
    "rates": {
        "building:brick_concrete": "3200.00",
        "building:brick_wood": "2600.00",
        "building:simple": "800.00",
        "land:homestead": "500.00",
    },
    "per_household": {"moving": "2000.00", "temporary_resettlement": "12000.00"},
    "incentives": [
        {"name": "early_signing", "amount": "20000.00", "signed_by": "2018-03-31T23:59:59+08:00"}
    ],
    "required_documents": [
        "id_card",
        "hukou",
        "property_certificate",
        "survey_form",
        "valuation_report",
        "agreement",
        "bank_account",
    ],
    "block_payout_on_open_complaint": True,
}


def policy_document(**changes: Any) -> dict[str, Any]:
    """DOMAIN.md's policy with some fields changed (a fresh copy each time)."""
    return {**DOMAIN_POLICY, **changes}
