# Customer Segmentation Studio: the Streamlit app and its in-process `segmentation` package.
#
#   docker build -t segmentation-studio .
#   docker run --rm -p 8501:8501 -v segmentation-models:/app/models segmentation-studio
#
# Settings come from .streamlit/config.toml; override any of them with STREAMLIT_*
# environment variables (e.g. -e STREAMLIT_SERVER_BASE_URL_PATH=segments). Sign-in and
# roles: mount a secrets file and point STREAMLIT_SECRETS_FILES at it (README, "Sharing
# the studio with a team"; the docker compose example there does both).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    SEGMENTATION_MODELS_DIR=/app/models \
    SEGMENTATION_DATA_DIR=/app/data

# Unprivileged runtime user with a real, writable home (Streamlit may write ~/.streamlit).
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --create-home --home-dir /home/app \
        --shell /usr/sbin/nologin app

WORKDIR /app

# The PDF report: WeasyPrint lays it out with Pango and HarfBuzz, and kaleido draws its
# charts in Debian's Chromium (never a browser downloaded at run time); fonts for both.
# The Spark engine (--engine spark) runs on Java 17.
RUN apt-get update \
    && apt-get install -y --no-install-recommends chromium fonts-liberation \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 openjdk-17-jre-headless \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first, so code changes do not invalidate this layer: the app with sign-in
# (streamlit[auth]), DuckDB and pymc-marketing, and pyspark for the Spark engine.
COPY requirements.txt requirements-spark.txt ./
RUN pip install --no-cache-dir -r requirements.txt -r requirements-spark.txt

# Application code stays root-owned (read-only for the app user); only the model
# store and the data directory are writable.
COPY . .
RUN mkdir -p /app/models /app/data \
    && chown -R app:app /app/models /app/data

USER app

EXPOSE 8501

# No curl in the slim image: use Python for the health check.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=3).read()==b'ok' else 1)"]

CMD ["streamlit", "run", "Home.py", "--server.address=0.0.0.0", "--server.port=8501"]
