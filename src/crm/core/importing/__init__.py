"""Importing customers and interactions from CSV and JSON Lines files.

`import_customers`, `import_interactions` and `import_campaigns` stream a file in batches (memory stays flat), check
every row, and write in one transaction: all or nothing by default, or the good rows with the bad
ones written to a reject file. Re-importing a file adds nothing (see
`crm.core.importing.fingerprint` for how an interaction is recognised).

Canonical fields and what each holds: `CUSTOMER_FIELDS`, `INTERACTION_FIELDS`. A file's columns
are bound to fields by `ImportOptions.mapping` (or by name); other columns are ignored.
"""

from __future__ import annotations

from crm.core.importing.fields import CAMPAIGN_FIELDS, CUSTOMER_FIELDS, INTERACTION_FIELDS, Field
from crm.core.importing.importer import import_campaigns, import_customers, import_interactions
from crm.core.importing.options import DEFAULT_KIND, ImportOptions, ImportReport

__all__ = [
    "CAMPAIGN_FIELDS",
    "CUSTOMER_FIELDS",
    "DEFAULT_KIND",
    "INTERACTION_FIELDS",
    "Field",
    "ImportOptions",
    "ImportReport",
    "import_campaigns",
    "import_customers",
    "import_interactions",
]
