# Sourced by the client suites' run.sh (`hubport_start <repo> <suite name>`): start a throw-away hubport on a free loopback port with a fresh SQLite
# database, wait for GET /health, mint a token. Sets HUBPORT_URL, HUBPORT_TOKEN, HUBPORT_TMP;
# an EXIT trap stops the server (by its pid) and removes the temp dir.
#   HUBPORT_BIN   hubport binary (default <repo>/target/debug/hubport)

hubport_start() {
  local repo="$1" suite="${2:-client}"
  HUBPORT_BIN="${HUBPORT_BIN:-$repo/target/debug/hubport}"
  [ -x "$HUBPORT_BIN" ] || { echo "hubport binary not found at $HUBPORT_BIN (cargo build, or set HUBPORT_BIN)" >&2; return 1; }
  command -v curl >/dev/null || { echo "curl is required" >&2; return 1; }
  HUBPORT_TMP="$(mktemp -d "${TMPDIR:-/tmp}/hubport-$suite.XXXXXX")"
  trap hubport_stop EXIT
  export DATABASE_URL="sqlite://$HUBPORT_TMP/hubport.db"
  export HUBPORT_DATA_DIR="$HUBPORT_TMP"
  export HUBPORT_JWT_SECRET="${HUBPORT_JWT_SECRET:-$suite-conformance-secret}"
  export HUBPORT_LOG_FORMAT=json
  local attempt port
  for attempt in 1 2 3; do
    port="$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")"
    HUBPORT_URL="http://127.0.0.1:$port"
    "$HUBPORT_BIN" serve --bind "127.0.0.1:$port" >>"$HUBPORT_TMP/server.log" 2>&1 </dev/null &
    HUBPORT_PID=$!
    local i
    for i in $(seq 1 300); do
      if curl -fsS -o /dev/null "$HUBPORT_URL/health" 2>/dev/null; then
        HUBPORT_TOKEN="$("$HUBPORT_BIN" token create --portal 1 </dev/null)"
        export HUBPORT_URL HUBPORT_TOKEN
        echo "== hubport $HUBPORT_BIN at $HUBPORT_URL (db $DATABASE_URL)"
        return 0
      fi
      kill -0 "$HUBPORT_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill "$HUBPORT_PID" 2>/dev/null || true
    wait "$HUBPORT_PID" 2>/dev/null || true
    HUBPORT_PID=
  done
  echo "hubport did not become healthy; server log:" >&2
  tail -n 40 "$HUBPORT_TMP/server.log" >&2
  return 1
}

hubport_stop() {
  if [ -n "${HUBPORT_PID:-}" ]; then
    kill "$HUBPORT_PID" 2>/dev/null || true
    wait "$HUBPORT_PID" 2>/dev/null || true
    HUBPORT_PID=
  fi
  if [ -n "${HUBPORT_TMP:-}" ] && [ -d "$HUBPORT_TMP" ]; then
    if [ "${HUBPORT_KEEP_LOGS:-}" = 1 ]; then echo "== server log kept in $HUBPORT_TMP"; else rm -rf "$HUBPORT_TMP"; fi
  fi
}
