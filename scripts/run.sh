#!/usr/bin/env bash
# `make run`: redis-server, a Celery worker and the API on 127.0.0.1:8000, data under ./var.
# Ctrl-C stops all three. Settings are GRADATLAS_* variables (see README); the worker and API
# commands are the ones docker-compose.yml runs.
#   GRADATLAS_RUN_DIR         where Redis keeps its data and the logs go (default ./var)
#   GRADATLAS_RUN_REDIS_PORT  the port of the redis-server started here (default 6379)
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
RUN_DIR=${GRADATLAS_RUN_DIR:-var}
REDIS_PORT=${GRADATLAS_RUN_REDIS_PORT:-6379}
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

pids=()
stop_all() {
  trap - INT TERM EXIT
  echo "run.sh: stopping api, worker and redis-server" >&2
  # API and worker first (the worker hands running experiments back), Redis last.
  for pid in "${pids[@]:1}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]:1}"; do wait "$pid" 2>/dev/null || true; done
  kill -TERM "${pids[0]}" 2>/dev/null || true
  wait "${pids[0]}" 2>/dev/null || true
}
trap stop_all INT TERM EXIT

# Its own session: Ctrl-C reaches the API and worker, and Redis stops after them.
setsid redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$RUN_DIR/redis" \
  --appendonly yes --appendfsync everysec --maxmemory-policy noeviction --save "" &
pids+=($!)
for _ in $(seq 100); do
  redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
  sleep 0.1
done
redis-cli -p "$REDIS_PORT" ping >/dev/null

"$VENV/bin/celery" -A worker.celery_app worker --loglevel=INFO --pool=prefork &
pids+=($!)
"$VENV/bin/python" -m api &
pids+=($!)

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
# Whichever stops first (or Ctrl-C), stop the rest.
wait -n "${pids[@]}" || true
