FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HUB_VAR_DIR=/var/lib/hub
WORKDIR /app
COPY pyproject.toml README.md ./
COPY config ./config
COPY integrations ./integrations
COPY connectors ./connectors
COPY webhooks ./webhooks
COPY syncjobs ./syncjobs
COPY records ./records
COPY templates ./templates
COPY manage.py ./
RUN pip install --no-cache-dir . \
 && useradd --system --home /var/lib/hub hub && mkdir -p /var/lib/hub && chown hub /var/lib/hub \
 && SECRET_KEY=build-only python manage.py collectstatic --noinput
USER hub
EXPOSE 8000
CMD ["gunicorn", "-c", "python:config.gunicorn_conf", "config.wsgi:application", "-b", "0.0.0.0:8000", "-w", "4"]
