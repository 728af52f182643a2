#!/usr/bin/env bash
# Install iop-engine, migrate and start the demo production on the embedded store,
# send a few orders through it, and show where to look.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export IOP_HOME="${IOP_HOME:-$PWD/.iop}"
IOP=.venv/bin/iop
$IOP -S >/dev/null 2>&1 || true
$IOP -m examples/demo/settings.py
$IOP -d Demo.Production
$IOP -s Demo.Production -D
.venv/bin/python examples/demo/send_orders.py 5
sleep 2
echo "== status";            $IOP -x
echo "== messages by status"; $IOP --messages --count
echo "== last log entries";  $IOP -L 12
cat <<EOT

The demo production is running on the embedded store in $IOP_HOME.
  IOP_HOME=$IOP_HOME $IOP -L          follow the event log (Ctrl+C to leave)
  IOP_HOME=$IOP_HOME $IOP --messages  message headers as JSON
  IOP_HOME=$IOP_HOME $IOP -q          queue counters
  IOP_HOME=$IOP_HOME $IOP -S          stop the production
EOT
