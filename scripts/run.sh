#!/usr/bin/env bash
# `make run`: redis-server, a Celery worker and the API on 127.0.0.1:8000, data under ./var.
# Each runs under a small supervisor: one that exits (a crash, kill -9, OOM) is started again
# after a backoff (1 s, doubling to 30 s; back to 1 s once it has run for a minute), and the
# others go on. Ctrl-C stops all three: the API and the worker first (the worker hands running
# experiments back), Redis last. Settings are GRADATLAS_* variables (see README); the worker
# and API commands are the ones docker-compose.yml runs.
#   GRADATLAS_RUN_DIR              where Redis keeps its data and the logs go (default ./var)
#   GRADATLAS_RUN_REDIS_PORT       the port of the redis-server started here (default 6379)
#   GRADATLAS_RUN_REDIS_MAXMEMORY  Redis's maxmemory (default 512mb): past it Redis refuses
#                                  writes (noeviction) and the API answers 503
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
RUN_DIR=${GRADATLAS_RUN_DIR:-var}
REDIS_PORT=${GRADATLAS_RUN_REDIS_PORT:-6379}
REDIS_MAXMEMORY=${GRADATLAS_RUN_REDIS_MAXMEMORY:-512mb}
export GRADATLAS_REDIS_URL=${GRADATLAS_REDIS_URL:-redis://127.0.0.1:${REDIS_PORT}/0}
export GRADATLAS_API_HOST=${GRADATLAS_API_HOST:-127.0.0.1}
export GRADATLAS_API_PORT=${GRADATLAS_API_PORT:-8000}
export PYTHONUNBUFFERED=1

scripts/ensure-redis.sh
mkdir -p "$RUN_DIR/redis"
if redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
  echo "run.sh: something already answers on port $REDIS_PORT;" \
       "stop it or set GRADATLAS_RUN_REDIS_PORT" >&2
  exit 1
fi

# supervise NAME CMD...: run CMD in a session of its own (Ctrl-C reaches only this script,
# which stops things in order) and start it again whenever it exits; SIGTERM stops both.
supervise() {
  local name=$1
  shift
  (
    trap '' INT
    child=''
    trap '[ -n "$child" ] && kill -TERM "$child" 2>/dev/null; wait "$child" 2>/dev/null; exit 0' TERM
    delay=1
    while :; do
      started=$(date +%s)
      setsid "$@" &
      child=$!
      rc=0
      wait "$child" || rc=$?
      if [ $(($(date +%s) - started)) -ge 60 ]; then delay=1; fi
      echo "run.sh: $name exited (status $rc); starting it again in ${delay} s" >&2
      sleep "$delay" &
      wait $! || true
      delay=$((delay * 2 > 30 ? 30 : delay * 2))
    done
  ) &
}

redis_sup='' others=()
stop_all() {
  trap - INT TERM EXIT
  echo "run.sh: stopping api, worker and redis-server" >&2
  for pid in "${others[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${others[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$redis_sup" ]; then
    kill -TERM "$redis_sup" 2>/dev/null || true
    wait "$redis_sup" 2>/dev/null || true
  fi
}
trap stop_all INT TERM EXIT

# Restarted on the same directory, Redis replays its append-only file.
supervise redis-server redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$RUN_DIR/redis" \
  --appendonly yes --appendfsync everysec --maxmemory "$REDIS_MAXMEMORY" \
  --maxmemory-policy noeviction --save ""
redis_sup=$!
for _ in $(seq 100); do
  redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
  sleep 0.1
done
redis-cli -p "$REDIS_PORT" ping >/dev/null

supervise worker "$VENV/bin/celery" -A worker.celery_app worker --loglevel=INFO --pool=prefork
others+=($!)
supervise api "$VENV/bin/python" -m api
others+=($!)

# The first screen's last line, printed once the API answers /healthz and (for up to 15 s
# more) /readyz, so it comes after the components' banners.
"$VENV/bin/python" - "http://${GRADATLAS_API_HOST}:${GRADATLAS_API_PORT}" <<'PY' &
import sys, time, urllib.request
url = sys.argv[1]
def ok(path):
    try:
        return urllib.request.urlopen(url + path, timeout=1).status == 200
    except OSError:
        return False
deadline = time.monotonic() + 120
while not ok("/healthz"):
    if time.monotonic() > deadline:
        sys.exit(0)
    time.sleep(0.2)
ready_by = time.monotonic() + 15
while not ok("/readyz") and time.monotonic() < ready_by:
    time.sleep(0.2)
print(f"gradatlas is up: the lab at {url}/  the API docs at {url}/docs  (Ctrl-C stops everything)",
      file=sys.stderr, flush=True)
PY
# The supervisors never end by themselves: wait for Ctrl-C (or SIGTERM).
wait || true
