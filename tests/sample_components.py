"""Component sources that several test folders run (written into a project's module).

``TILL``: an operation that refuses its orders until a file exists (a bug, then its fix),
for the resend tests of the CLI (tests/cli/test_resend_command.py) and the portal
(tests/browser/test_portal_resend.py). It needs ``os``, ``dataclass`` and iop's
``BusinessOperation``, ``Message``, ``handler`` and ``setting`` imported before it.
"""

from __future__ import annotations

TILL = '''
@dataclass
class Order(Message):
    n: int = 0


@dataclass
class Receipt(Message):
    n: int = 0


class Till(BusinessOperation):
    """Refuses orders until the file named by FixedFlag exists (the bug is fixed); records
    each order it takes in FixedFlag + ".taken"."""

    FixedFlag: str = setting("")

    @handler(Order)
    def take(self, request):
        if not os.path.exists(self.FixedFlag):
            raise RuntimeError(f"till closed for order {request.n}")
        with open(self.FixedFlag + ".taken", "a") as fh:
            fh.write(f"{request.n}\\n")
        return Receipt(request.n)
'''
