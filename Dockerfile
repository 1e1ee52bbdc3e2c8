FROM python:3.11-slim
WORKDIR /app
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
# CPU build of torch, pinned like pyproject.toml, installed before everything else.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY core core
COPY crawlers crawlers
COPY classifier classifier
COPY alerts alerts
COPY api api
RUN pip install .
EXPOSE 8000
CMD ["diemtin", "run"]
