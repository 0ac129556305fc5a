# stripetopup: the HTTP API (checkout, webhook, balances, spend API) under uvicorn.
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
ENV DATABASE_URL=sqlite:////data/stripetopup.db
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"

# Settings come from the environment (see .env.example); run `stripetopup db upgrade` on deploy.
ENTRYPOINT ["stripetopup"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
