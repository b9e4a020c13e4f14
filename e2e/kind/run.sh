#!/usr/bin/env bash
# The end-to-end scenarios on a real kind cluster: create the cluster, build
# the images with docker, load them into kind, install the CRDs and the
# operator chart, run `cargo xtask e2e` against it (faults injected with
# kubectl), and delete the cluster whatever happened.
#
# Needs kind and a running Docker daemon. Environment:
#   KIND_CLUSTER  cluster name (default chronik-e2e)
#   IMAGE_TAG     tag of the images built and loaded (default e2e)
# Extra arguments are passed to the test harness (e.g. a scenario name).
set -euo pipefail

cd "$(dirname "$0")/../.."
cluster="${KIND_CLUSTER:-chronik-e2e}"
tag="${IMAGE_TAG:-e2e}"

for tool in kind docker cargo; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "e2e/kind/run.sh: '$tool' is not installed; this script needs kind and Docker." >&2
        echo "Without them, run the scenarios on the local cluster: cargo xtask e2e" >&2
        exit 2
    fi
done
if ! docker info >/dev/null 2>&1; then
    echo "e2e/kind/run.sh: the Docker daemon is not reachable (docker info failed)." >&2
    exit 2
fi

kubeconfig="$(mktemp)"
cleanup() {
    kind delete cluster --name "$cluster" >/dev/null 2>&1 || true
    rm -f "$kubeconfig"
}
trap cleanup EXIT

kind create cluster --name "$cluster" --kubeconfig "$kubeconfig" --wait 180s
CHRONIK_CONTAINER_ENGINE=docker cargo xtask images --tag "$tag"
# The day-2 scenario rolls the brokers onto a second tag of the same image.
docker tag "chronik-broker:$tag" "chronik-broker:$tag-second"
for image in chronik-broker:"$tag" chronik-broker:"$tag-second" \
    chronik-operator:"$tag" chronik-kafka-client:"$tag"; do
    kind load docker-image --name "$cluster" "$image"
done
export CHRONIK_E2E_BROKER_IMAGE_2="chronik-broker:$tag-second"
cargo xtask e2e --kubeconfig "$kubeconfig" --install-operator --tag "$tag" -- "$@"
