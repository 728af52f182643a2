#!/usr/bin/env bash
# The HL7 example, in one command: an MLLP service that ACKs once a message is stored, a
# router by message type, admissions written to files, lab results posted over HTTP.
#   bash examples/hl7/run.sh            (from the repository; installs like scripts/setup.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/setup.sh
export IOP_HOME="${IOP_HOME:-$PWD/.iop-hl7}"
export HL7_EXAMPLE_MLLP_PORT="${HL7_EXAMPLE_MLLP_PORT:-6661}"
export HL7_EXAMPLE_HTTP_PORT="${HL7_EXAMPLE_HTTP_PORT:-6662}"
export HL7_EXAMPLE_OUT="${HL7_EXAMPLE_OUT:-$IOP_HOME/out}"
PORT="${IOP_EXAMPLE_PORT:-52774}"
IOP=.venv/bin/iop
PY=.venv/bin/python
mkdir -p "$IOP_HOME" "$HL7_EXAMPLE_OUT"

# Whatever an earlier run left: the production, the lab receiver and the portal.
$IOP -S >/dev/null 2>&1 || true
for pidfile in "$IOP_HOME/receiver.pid" "$IOP_HOME/server.pid"; do
    if [ -f "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; rm -f "$pidfile"; fi
done

# The lab system: stores what it receives in $HL7_EXAMPLE_OUT/lab.
nohup $PY examples/hl7/receiver.py "$HL7_EXAMPLE_HTTP_PORT" "$HL7_EXAMPLE_OUT/lab" \
    >"$IOP_HOME/receiver.log" 2>&1 &
echo $! >"$IOP_HOME/receiver.pid"

$IOP -m examples/hl7/settings.py
$IOP -d HL7.Example
$IOP -s HL7.Example -D

PASSWORD=$($PY -c "import secrets; print(secrets.token_urlsafe(12))")
if $IOP --user-list | grep -q '"name": "demo"'; then
    echo "$PASSWORD" | $IOP --user-password demo --password-stdin >/dev/null
else
    echo "$PASSWORD" | $IOP --user-add demo --user-role developer --password-stdin >/dev/null
fi
nohup $IOP --serve --port "$PORT" >"$IOP_HOME/server.log" 2>&1 &
echo $! >"$IOP_HOME/server.pid"

# Wait until the MLLP service listens (at most 30 s), then send six messages.
$PY - "$HL7_EXAMPLE_MLLP_PORT" <<'PY'
import socket, sys, time
for _ in range(300):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
        break
    except OSError:
        time.sleep(0.1)
PY
$PY examples/hl7/send_hl7.py 6 "$HL7_EXAMPLE_MLLP_PORT"
sleep 2
echo "== admissions written by ADTFileOut";  ls "$HL7_EXAMPLE_OUT/adt"
echo "== results received by the lab (HTTP)"; ls "$HL7_EXAMPLE_OUT/lab"
echo "== messages by status";                 $IOP --messages --count
echo "== last log entries";                   $IOP -L 8
cat <<EOT

The HL7 example runs on the embedded store in $IOP_HOME.

  Portal:  http://127.0.0.1:$PORT/   (user demo, password $PASSWORD)
           Messages → a message → Contents: the HL7 message, a segment per line, each
           field named on hover; Visual trace: MLLP in → router → file and HTTP out

  $PY examples/hl7/send_hl7.py 10 $HL7_EXAMPLE_MLLP_PORT    send more
  IOP_HOME=$IOP_HOME $IOP -S                                   stop the production
  kill \$(cat $IOP_HOME/server.pid) \$(cat $IOP_HOME/receiver.pid)   stop the portal and the lab
EOT
