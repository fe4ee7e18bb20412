# syntax=docker/dockerfile:1.7
# One image per component, all from this file:
#   docker build --build-arg SERVICE=catalog -t <registry>/shopmesh/catalog:<tag> .
#   docker build --build-arg SERVICE=gateway -t <registry>/shopmesh/gateway:<tag> .
# SERVICE is a directory under services/ or `gateway`.

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS deps
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# Only pyproject.toml here, so this layer is rebuilt when dependencies change, not on every
# source edit. The local launcher (launcher/, with its embedded PostgreSQL and Valkey) is a
# separate distribution and never enters an image.
COPY pyproject.toml ./
RUN python -c 'import tomllib; \
deps = tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]; \
print("\n".join(deps))' > requirements.txt
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install --requirement requirements.txt

FROM ${PYTHON_IMAGE} AS runtime
ARG SERVICE
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app/gen:/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SHOP_STATE_DIR=/tmp/shop-state
WORKDIR /app
RUN groupadd --system --gid 10001 shop \
    && useradd --system --uid 10001 --gid shop --no-create-home --shell /usr/sbin/nologin shop
COPY --from=deps /opt/venv /opt/venv
COPY gen/ gen/
COPY mesh/ mesh/
COPY services/ services/
COPY gateway/ gateway/
# The storefront and back office the gateway serves (static files, no build step).
COPY web/ web/
# Fail the build early on a wrong SERVICE and record the module the container runs.
RUN test -n "${SERVICE}" \
    && if [ "${SERVICE}" = gateway ]; then echo gateway; \
       elif [ -f "services/${SERVICE}/__main__.py" ]; then echo "services.${SERVICE}"; \
       else echo "unknown SERVICE ${SERVICE}" >&2; exit 1; fi > /app/.module \
    && python -c "import mesh"
LABEL org.opencontainers.image.title="shopmesh-${SERVICE}" \
      org.opencontainers.image.source="https://github.com/shopmesh/shopmesh" \
      org.opencontainers.image.licenses="Apache-2.0"
USER 10001:10001
EXPOSE 8080 9080 50051-50059 51051-51059
CMD ["/bin/sh", "-c", "exec python -m \"$(cat /app/.module)\""]
