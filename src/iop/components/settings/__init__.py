"""Component settings: how class attributes become production settings, and how values apply.

Pure metadata and conversion; nothing here touches the store or the engine. The modules:

- :mod:`.declaration`: declaring settings (``Setting``, ``setting()``, ``target()``,
  ``Category``, ``Annotated[T, Setting(...)]``);
- :mod:`.editor_controls`: the portal's editor controls for a setting (``controls.file()``, ...);
- :mod:`.description`: what a class declares, as ``SettingInfo`` records in declaration order;
- :mod:`.coercion`: text coerced to a setting's type, values applied to an instance, required
  settings without a value.
"""

from __future__ import annotations

from iop.components.settings.coercion import apply_settings, coerce_setting_value, missing_required
from iop.components.settings.declaration import (
    Category,
    PortDeclaration,
    Setting,
    install_annotated_defaults,
    setting,
    target,
)
from iop.components.settings.description import (
    EXCLUDED_NAMES,
    PYTHON_ATTRIBUTES,
    SettingInfo,
    describe_settings,
)
from iop.components.settings.editor_controls import controls

__all__ = [
    "EXCLUDED_NAMES",
    "PYTHON_ATTRIBUTES",
    "Category",
    "PortDeclaration",
    "Setting",
    "SettingInfo",
    "apply_settings",
    "coerce_setting_value",
    "controls",
    "describe_settings",
    "install_annotated_defaults",
    "missing_required",
    "setting",
    "target",
]
