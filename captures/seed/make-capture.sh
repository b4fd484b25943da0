#!/usr/bin/env bash
# Makes captures/seed/seed.pcap: the seed scenario (captures/seed/cluster.yaml) as real traffic.
#
# Three network namespaces stand for the pods frontend-0, backend-0 and other-0, with the addresses
# netsieve's loader gives them from cluster.yaml (pod CIDR 10.244.0.0/16, pods sorted by
# namespace/name, .0 and .1 skipped): backend-0 10.244.0.2, frontend-0 10.244.0.3, other-0 10.244.0.4.
# A fourth namespace holds the bridge that joins them, so nothing is added to the host's own network.
# The backend runs a real HTTP server (python3 -m http.server on port 80); the frontend and then the
# other pod fetch a page from it with curl; tcpdump records on the backend's interface. Nothing here
# enforces policy: the capture is what the wire carries, and `netsieve replay` decides per packet.
#
# Needs root, iproute2, tcpdump, curl, python3. Every namespace is removed on exit, also on failure.
# Usage: sudo captures/seed/make-capture.sh [output.pcap]   (default: captures/seed/seed.pcap)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/seed.pcap}
tag="ns7s$$"
sw="$tag-sw"
declare -A ADDR=([backend]=10.244.0.2 [frontend]=10.244.0.3 [other]=10.244.0.4)
work=$(mktemp -d)
pids=()

cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for name in backend frontend other; do ip netns del "$tag-$name" 2>/dev/null || true; done
  ip netns del "$sw" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

for cmd in ip tcpdump curl python3; do
  command -v "$cmd" >/dev/null || { echo "make-capture.sh: $cmd is needed (apt-get install -y iproute2 tcpdump curl python3)" >&2; exit 2; }
done

ip netns add "$sw"
ip -n "$sw" link add br0 type bridge
ip -n "$sw" link set br0 up
# The pod namespaces: one veth each, eth0 inside, its peer on the bridge. IPv6 off, so that only the
# scenario's traffic (and the ARP it needs) is on the wire.
i=0
for name in backend frontend other; do
  ns="$tag-$name"
  i=$((i + 1))
  ip netns add "$ns"
  ip link add "$tag-v$i" netns "$sw" type veth peer name eth0 netns "$ns"
  ip -n "$sw" link set "$tag-v$i" master br0 up
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "${ADDR[$name]}/16" dev eth0
  ip -n "$ns" link set eth0 up
done

# The backend's HTTP server, serving one small page.
mkdir -p "$work/www"
printf '<html><body>backend-0</body></html>\n' > "$work/www/index.html"
ip netns exec "$tag-backend" python3 -m http.server 80 --bind "${ADDR[backend]}" --directory "$work/www" \
  >"$work/httpd.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do
  ip netns exec "$tag-backend" python3 -c "import socket; socket.create_connection(('${ADDR[backend]}', 80), 1)" 2>/dev/null && break
  sleep 0.1
done

# Record on the backend's side: every frame its eth0 sees, full length.
ip netns exec "$tag-backend" tcpdump -i eth0 -s 0 -U -w "$work/seed.pcap" >"$work/tcpdump.log" 2>&1 &
tcpdump_pid=$!
pids+=("$tcpdump_pid")
for _ in $(seq 50); do grep -q listening "$work/tcpdump.log" && break; sleep 0.1; done

# The scenario: the frontend fetches the page (allowed by backend-allow-frontend), then the other pod
# does (no policy admits it). Each is one TCP connection: handshake, GET, 200 reply, close.
ip netns exec "$tag-frontend" curl -sS --max-time 5 -o /dev/null -w 'frontend-0 -> backend-0: HTTP %{http_code}\n' "http://${ADDR[backend]}/"
sleep 0.3
ip netns exec "$tag-other" curl -sS --max-time 5 -o /dev/null -w 'other-0 -> backend-0: HTTP %{http_code}\n' "http://${ADDR[backend]}/"
sleep 0.5

kill -INT "$tcpdump_pid"
wait "$tcpdump_pid" 2>/dev/null || true
cp "$work/seed.pcap" "$out"
echo "make-capture.sh: wrote $out ($(tcpdump -r "$out" 2>/dev/null | wc -l) packets)"
