# auditor in a container: Debian slim, WeasyPrint's libraries, the wheel, a non-root user, and the
# reports and history database in the /data volume. Build the wheel first (`make dist`), then:
#   docker build -t auditor:0.1.0 .
#   docker run --rm -v auditor-data:/data -e AZURE_CLIENT_ID=… -e AZURE_TENANT_ID=… \
#     auditor:0.1.0 --source graph
# Recipes (Azure Container Apps job, Kubernetes CronJob): docs/scheduling.md.
# CI has no Docker engine: docker/check-wheel.sh runs these same steps against the built wheel.
FROM python:3.12-slim-bookworm

ARG VERSION=0.1.0
COPY docker/install.sh docker/auditor-monthly /usr/local/lib/auditor/
COPY dist/auditor-${VERSION}-py3-none-any.whl /tmp/
RUN sh /usr/local/lib/auditor/install.sh /tmp/auditor-${VERSION}-py3-none-any.whl /opt/auditor \
    && rm /tmp/auditor-${VERSION}-py3-none-any.whl \
    && install -m 0755 /usr/local/lib/auditor/auditor-monthly /usr/local/bin/auditor-monthly \
    && useradd --system --uid 10001 --user-group --create-home --home-dir /home/auditor auditor \
    && install -d -o auditor -g auditor -m 0750 /data

ENV PATH=/opt/auditor/bin:$PATH \
    HOME=/home/auditor \
    PYTHONDONTWRITEBYTECODE=1 \
    AUDITOR_DATA=/data
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
ENTRYPOINT ["auditor-monthly"]
