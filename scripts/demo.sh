#!/usr/bin/env bash
# Install iop-engine, migrate and start the demo production on the embedded store, start
# the server with the management portal, send a few orders through, and show where to look.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export IOP_HOME="${IOP_HOME:-$PWD/.iop}"
PORT="${IOP_DEMO_PORT:-52773}"
IOP=.venv/bin/iop
mkdir -p "$IOP_HOME"

# Whatever an earlier run left: the production and the demo server.
$IOP -S >/dev/null 2>&1 || true
if [ -f "$IOP_HOME/demo-server.pid" ]; then
    kill "$(cat "$IOP_HOME/demo-server.pid")" 2>/dev/null || true
    rm -f "$IOP_HOME/demo-server.pid"
fi

$IOP -m examples/demo/settings.py
$IOP -d Demo.Production
$IOP -s Demo.Production -D

# A portal account for this demo, with a fresh random password (there is no default one).
PASSWORD=$(.venv/bin/python -c "import secrets; print(secrets.token_urlsafe(12))")
if $IOP --user-list | grep -q '"name": "demo"'; then
    echo "$PASSWORD" | $IOP --user-password demo --password-stdin >/dev/null
else
    echo "$PASSWORD" | $IOP --user-add demo --user-role developer --password-stdin >/dev/null
fi
nohup $IOP --serve --port "$PORT" >"$IOP_HOME/demo-server.log" 2>&1 &
echo $! >"$IOP_HOME/demo-server.pid"
.venv/bin/python - "$PORT" <<'PY'
import sys, time, urllib.request
for _ in range(150):  # wait until the server answers (at most 30 s)
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/login", timeout=1)
        break
    except OSError:
        time.sleep(0.2)
PY

.venv/bin/python examples/demo/send_orders.py 5
sleep 2
echo "== status";            $IOP -x
echo "== messages by status"; $IOP --messages --count
echo "== last log entries";  $IOP -L 12
cat <<EOT

The demo production is running on the embedded store in $IOP_HOME.

  Portal:  http://127.0.0.1:$PORT/   (user demo, password $PASSWORD)
           configuration diagram, message viewer with visual trace, event log, queues,
           jobs, suspended messages, purge

  IOP_HOME=$IOP_HOME $IOP -L          follow the event log (Ctrl+C to leave)
  IOP_HOME=$IOP_HOME $IOP --messages  message headers as JSON
  IOP_HOME=$IOP_HOME $IOP -q          queue counters
  IOP_HOME=$IOP_HOME $IOP -S          stop the production
  kill \$(cat $IOP_HOME/demo-server.pid)   stop the portal
EOT
