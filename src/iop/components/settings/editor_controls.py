"""Editor controls: the context strings that tell the portal which picker to show for a
setting (IRIS's ``Ens.ContextSearch`` selectors), as ``controls.file()`` and the like."""

from __future__ import annotations


def _selector(context: str) -> str:
    return "selector?context={" + context + "}"


class _Picker:
    """A picker whose context string is fixed: calling it gives the string."""

    def __init__(self, context: str, doc: str) -> None:
        self._context = context
        self.__doc__ = doc

    def __call__(self) -> str:
        return self._context


class _HostSearch:
    """An ``Ens.ContextSearch`` query about a host: calling it with the host expression (such
    as ``@currHostId``) gives the context string."""

    def __init__(self, search: str, doc: str) -> None:
        self._search = search
        self.__doc__ = doc

    def __call__(self, host: str) -> str:
        return _selector(f"Ens.ContextSearch/{self._search}?host={host}")


class _Controls:
    """Editor context strings that tell the portal which picker to show for a setting."""

    # The pickers that take no argument, one line each (IRIS's selector names).
    directory = _Picker("directorySelector", "Directory picker.")
    file = _Picker("fileSelector", "File picker.")
    credentials = _Picker("credentialsSelector", "Credentials picker.")
    rule = _Picker("ruleSelector", "Rule definition picker.")
    dtl = _Picker("dtlSelector", "Data transformation picker.")
    schedule = _Picker("scheduleSelector", "Schedule picker.")
    ssl_config = _Picker("sslConfigSelector", "SSL/TLS configuration picker.")
    character_set = _Picker(_selector("Ens.ContextSearch/CharacterSets"),
                            "Character set picker.")
    local_interface = _Picker(_selector("Ens.ContextSearch/TCPLocalInterfaces"),
                              "Picker of the configured TCP local interfaces.")
    schema_category = _HostSearch("SchemaCategories", "Schema categories of ``host``.")
    search_table = _HostSearch("SearchTableClasses", "Search table classes of ``host``.")

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
    def framing(host: str = "@currHostId", prop: str = "Framing") -> str:
        """Display list of the ``prop`` property of ``host``."""
        return _selector(f"Ens.ContextSearch/getDisplayList?host={host}&prop={prop}")

    @staticmethod
    def raw(context: str) -> str:
        """Any editor context string, unchanged."""
        return context


controls = _Controls()
