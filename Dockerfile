# syntax=docker/dockerfile:1
# gradatlas: one image for the API and the worker (docker-compose.yml picks the command).

# --- build: the locked dependencies and the package, in a virtual environment ---
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies first, from the lock file, so editing the code does not reinstall them
# and every image runs the versions the tests ran.
COPY requirements/main.txt ./requirements/main.txt
RUN pip install -r requirements/main.txt
# Then the package itself, without resolving anything again.
COPY pyproject.toml README.md ./
COPY core ./core
COPY api ./api
COPY worker ./worker
COPY gradatlas ./gradatlas
RUN pip install --no-deps .

# --- runtime: the virtual environment only, as an unprivileged user ---
FROM python:3.11-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MPLBACKEND=Agg \
    MPLCONFIGDIR=/tmp/matplotlib \
    NUMBA_CACHE_DIR=/tmp/numba \
    GRADATLAS_API_HOST=0.0.0.0 \
    GRADATLAS_API_PORT=8000
RUN groupadd --system --gid 10001 gradatlas \
 && useradd --system --uid 10001 --gid gradatlas --no-create-home --shell /usr/sbin/nologin gradatlas
COPY --from=build /opt/venv /opt/venv
WORKDIR /tmp
USER 10001:10001
EXPOSE 8000
CMD ["python", "-m", "api"]
