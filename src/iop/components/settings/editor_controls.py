"""Editor controls: the context strings that tell the portal which picker to show for a
setting (IRIS's ``Ens.ContextSearch`` selectors), as ``controls.file()`` and the like."""

from __future__ import annotations


def _selector(context: str) -> str:
    return "selector?context={" + context + "}"


class _Controls:
    """Editor context strings that tell the portal which picker to show for a setting."""

    @staticmethod
    def directory() -> str:
        """Directory picker."""
        return "directorySelector"

    @staticmethod
    def file() -> str:
        """File picker."""
        return "fileSelector"

    @staticmethod
    def production_item(
        targets: bool = True, production_name: str = "@productionId", multi_select: bool = False
    ) -> str:
        """Picker of the production's items, for target settings such as TargetConfigNames."""
        context = _selector(
            f"Ens.ContextSearch/ProductionItems?targets={int(bool(targets))}"
            f"&productionName={production_name}"
        )
        if multi_select:
            # IRIS's own classes put multiSelect before the context: selector?multiSelect=1&...
            return context.replace("selector?", "selector?multiSelect=1&", 1)
        return context

    @staticmethod
    def credentials() -> str:
        """Credentials picker."""
        return "credentialsSelector"

    @staticmethod
    def rule() -> str:
        """Rule definition picker."""
        return "ruleSelector"

    @staticmethod
    def dtl() -> str:
        """Data transformation picker."""
        return "dtlSelector"

    @staticmethod
    def schedule() -> str:
        """Schedule picker."""
        return "scheduleSelector"

    @staticmethod
    def ssl_config() -> str:
        """SSL/TLS configuration picker."""
        return "sslConfigSelector"

    @staticmethod
    def framing(host: str = "@currHostId", prop: str = "Framing") -> str:
        """Display list of the ``prop`` property of ``host``."""
        return _selector(f"Ens.ContextSearch/getDisplayList?host={host}&prop={prop}")

    @staticmethod
    def character_set() -> str:
        """Character set picker."""
        return _selector("Ens.ContextSearch/CharacterSets")

    @staticmethod
    def local_interface() -> str:
        """Picker of the configured TCP local interfaces."""
        return _selector("Ens.ContextSearch/TCPLocalInterfaces")

    @staticmethod
    def schema_category(host: str) -> str:
        """Schema categories of ``host`` (a host expression such as ``@currHostId``)."""
        return _selector(f"Ens.ContextSearch/SchemaCategories?host={host}")

    @staticmethod
    def search_table(host: str) -> str:
        """Search table classes of ``host``."""
        return _selector(f"Ens.ContextSearch/SearchTableClasses?host={host}")

    @staticmethod
    def raw(context: str) -> str:
        """Any editor context string, unchanged."""
        return context


controls = _Controls()
