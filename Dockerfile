# stripetopup: the HTTP API (checkout, webhook, balances, spend API) under uvicorn.
#
# Settings that must be supplied at run time (environment or --env-file; see .env.example):
#   STRIPE_SECRET_KEY         required: sk_live_/rk_live_ (or _test_) key
#   STRIPE_WEBHOOK_SECRET     required: the endpoint's whsec_ signing secret(s)
#   ALLOWED_FRONTEND_ORIGINS  required for checkout: https://app.example.com[,...]
#   DATABASE_URL              default sqlite:////data/stripetopup.db (the /data volume);
#                             postgresql://user:password@host/db for several instances
# Optional: STRIPETOPUP_WORKERS (worker processes, default 1), STRIPETOPUP_LOG_FORMAT=json,
# STRIPETOPUP_METRICS_TOKEN (turns on /metrics for that bearer token);
# STRIPETOPUP_TOPUP_PAGE=true with STRIPETOPUP_TOPUP_LINK_SECRET and STRIPETOPUP_PUBLIC_URL
# (the hosted top-up page; its templates ship in the package).
# Run `stripetopup db upgrade` on every deploy (docker-compose.yml does it before serving).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY stripetopup ./stripetopup
RUN pip install . \
    && useradd --create-home --uid 10001 stripetopup \
    && mkdir -p /data && chown stripetopup /data

USER stripetopup
WORKDIR /data
# With SQLite (the default) the database is /data/stripetopup.db, with its -wal and -shm
# files beside it: keep /data on a volume or every new container starts with an empty ledger.
ENV DATABASE_URL=sqlite:////data/stripetopup.db
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"

ENTRYPOINT ["stripetopup"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
