"""Send orders to the running demo production through a Director-created service."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from demo_components import OrderRequest  # noqa: E402

from iop import Director  # noqa: E402

if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    service = Director().get_business_service("OrderService")
    for n in range(1, count + 1):
        response = service.on_process_input(OrderRequest(f"web-{n}", 100.0 * n, ["book"] * n))
        print(f"order web-{n}: accepted={response.accepted} ({response.note})")
