"""Privacy: consent per purpose, masking of personal fields, erasure with tombstones.

- `consent`: which customers may be contacted on a channel; contact details for campaign lists.
- `masking`: the `[privacy]` table of crm.toml and the partial / hash / drop rules.
- `tombstones`: the database's secret and the keyed hashes of erased customer ids.
- `erasure`: `erase_customer`, the one transaction behind `crm forget`.

What is guaranteed and what is left to the operator: docs/privacy.md.
"""

from __future__ import annotations

#: The customer fields that identify a person: masked in every output unless unmasked.
PERSONAL_FIELDS = ("name", "email", "phone", "birth_date", "city")
#: Channels a campaign can use, each with its `consent_<channel>` column.
CHANNELS = ("email", "sms", "phone")
