# One image for every process of the production topology: web (gunicorn, the
# default CMD), the Celery worker, Celery beat and the one-shot migrate job.
# docker-compose.yml picks the process with `command:`.
FROM python:3.11-slim

# Writable state (the beat schedule; SQLite/outbox only if a deployer opts out
# of PostgreSQL/SMTP) lives outside the code so the code can stay read-only.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MAUTOMATION_VAR_DIR=/var/lib/mautomation

# A fixed, unprivileged uid so volume ownership is predictable across rebuilds.
RUN groupadd --system --gid 10001 mautomation \
    && useradd --system --uid 10001 --gid mautomation --home-dir /app --shell /usr/sbin/nologin mautomation

WORKDIR /app

# Dependencies first: this layer is reused as long as requirements.txt is unchanged.
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY . .

# Static files are collected into the image (STATIC_ROOT=/app/staticfiles) and
# served by whitenoise. settings.py refuses to load in production without a
# SECRET_KEY and ALLOWED_HOSTS, so collectstatic gets throwaway build-time
# values; they are not kept in the image (RUN-scoped variables), and the
# embedded SQLite/broker folders settings.py creates go to a scratch directory.
RUN DJANGO_ENV=production \
    SECRET_KEY=build-time-only-not-a-secret-collectstatic-0123456789abcdefghijklmnop \
    ALLOWED_HOSTS=localhost \
    MAUTOMATION_VAR_DIR=/tmp/build-var \
    python manage.py collectstatic --noinput \
    && rm -rf /tmp/build-var \
    && install -d -o mautomation -g mautomation /var/lib/mautomation

USER mautomation

EXPOSE 8000

# 2 sync workers; access log to stdout so `docker compose logs web` shows requests.
# The control socket (for gunicornc) defaults to $HOME/.gunicorn/, which this
# user cannot write: put it in /tmp instead of starting with a warning.
CMD ["gunicorn", "mautomation.wsgi", "--bind", "0.0.0.0:8000", "--workers", "2", "--worker-class", "sync", \
     "--access-logfile", "-", "--control-socket", "/tmp/gunicorn.ctl"]
