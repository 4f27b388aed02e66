# The copytrade image: one static binary (CGO off), run as a non-root user on a
# distroless base. Not built in CI (the CI machines have no Docker daemon); build it with
#   docker build -t copytrade:dev .
# See docs/deploy.md.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/copytrade ./cmd/copytrade

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/copytrade /usr/local/bin/copytrade
# 65532 is distroless' nonroot user; data dirs are mounted volumes it owns.
USER 65532:65532
# raft, CopyTrade RPC, metrics/health
EXPOSE 7001 7101 9101
ENTRYPOINT ["/usr/local/bin/copytrade"]
