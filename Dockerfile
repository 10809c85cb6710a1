# syntax=docker/dockerfile:1
# gradatlas: one image for the API and the worker (docker-compose.yml picks the command).

# --- build: install the package and its dependencies into a virtual environment ---
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies first, so editing the code does not reinstall them.
COPY pyproject.toml README.md ./
RUN mkdir -p core api worker gradatlas \
 && touch core/__init__.py api/__init__.py worker/__init__.py gradatlas/__init__.py \
 && pip install . && pip uninstall -y gradatlas
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
    GRADATLAS_API_HOST=0.0.0.0 \
    GRADATLAS_API_PORT=8000
RUN groupadd --system --gid 10001 gradatlas \
 && useradd --system --uid 10001 --gid gradatlas --no-create-home --shell /usr/sbin/nologin gradatlas
COPY --from=build /opt/venv /opt/venv
WORKDIR /tmp
USER 10001:10001
EXPOSE 8000
CMD ["python", "-m", "api"]
