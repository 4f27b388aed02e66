// Package deploy holds no code: it is the deployment material (Prometheus rules,
// Grafana dashboard, systemd units, container image, Kubernetes manifests; see
// docs/deploy.md) and the test that keeps the dashboard and the alert rules naming
// metrics the code exports.
package deploy
