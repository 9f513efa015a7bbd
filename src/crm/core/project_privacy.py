"""`Project`'s privacy operations: masking, campaign lists with consent, erasure, the audit
log and backups (docs/privacy.md)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from crm.core.database import write_transaction
from crm.core.project_customers import CustomerOperations

if TYPE_CHECKING:
    from crm.core.audit import AuditEntry
    from crm.core.backup import BackupReport, RestoreReport
    from crm.core.pipeline import SegmentationResult
    from crm.core.privacy.consent import CampaignList
    from crm.core.privacy.erasure import ErasureReport
    from crm.core.privacy.masking import Masker


class PrivacyOperations(CustomerOperations):
    """Consent, masking, erasure, audit and backups of a project."""

    __slots__ = ()

    def masker(self) -> Masker:
        """The `[privacy]` masking rules with this database's secret."""
        from crm.core.privacy.masking import Masker
        from crm.core.privacy.tombstones import database_secret

        with write_transaction(self.engine) as connection:
            return Masker(self.config.privacy, database_secret(connection))

    def campaign_list(
        self,
        result: SegmentationResult,
        only: Mapping[str, Collection[str]] | None = None,
        *,
        channel: str | None = None,
        with_contact: bool = False,
        unmask: bool = False,
    ) -> CampaignList:
        """`crm segment --customers` rows with consent for `channel` applied and, with
        `with_contact`, name, email and phone (masked unless `unmask`, which is audited)."""
        from crm.core.privacy.consent import campaign_list, contact_details
        from crm.core.reports import customer_rows

        rows = customer_rows(result, only)
        contacts = None
        if with_contact:
            with self.engine.connect() as connection:
                contacts = contact_details(connection, self.tables, result.facts.customer_id)
        masker = None if unmask else self.masker()
        campaign = campaign_list(
            rows, result.facts, channel=channel, contacts=contacts, masker=masker
        )
        if with_contact and unmask:
            self._audit_unmasked(customers=len(campaign.table.rows))
        return campaign

    def forget(self, external_id: str) -> ErasureReport:
        """Erase customer `external_id` everywhere, in one transaction (crm.core.privacy.erasure);
        on SQLite the file is then rebuilt so no erased value stays in free pages."""
        from crm.core.privacy.erasure import erase_customer, scrub_sqlite_file

        listener = self.hooks.customer_erased
        with write_transaction(self.engine) as connection:
            report = erase_customer(connection, self.tables, external_id, listener)
        if self.engine.dialect.name == "sqlite":
            with self.engine.connect() as connection:
                scrub_sqlite_file(connection)
        return report

    def audit_log(self, *, action: str | None = None) -> list[AuditEntry]:
        from crm.core.audit import entries

        with self.engine.connect() as connection:
            return entries(connection, action=action)

    def backup(self, path: Path) -> BackupReport:
        from crm.core.backup import backup

        return backup(self.engine, path)

    def restore(self, path: Path) -> RestoreReport:
        from crm.core.backup import restore
        from crm.core.privacy.erasure import scrub_sqlite_file

        report = restore(self.engine, path, self.hooks.customer_erased)
        if report.customers_erased_again and self.engine.dialect.name == "sqlite":
            with self.engine.connect() as connection:
                scrub_sqlite_file(connection)
        return report
