#!/usr/bin/env bash
# Installs the broker's systemd units: ikc-broker.socket as it is, and
# ikc-broker.service from ikc-broker.service.in with the absolute paths of node
# and of the installed CLI's bin/ikc.js, then checks both with
# `systemd-analyze verify`. It does not enable or start them:
#   sudo contrib/systemd/install.sh             # after `npm install -g @ikc/cli`
#   sudo systemctl daemon-reload && sudo systemctl enable --now ikc-broker.socket
# Options: --dest DIR (default /etc/systemd/system), --node PATH (default: the
# node on PATH), --ikc PATH (default: the ikc on PATH, its bin/ikc.js resolved).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dest=/etc/systemd/system
node="" ikc=""
while [ $# -gt 0 ]; do
  case "$1" in
    --dest) dest="${2:?}"; shift 2 ;;
    --node) node="${2:?}"; shift 2 ;;
    --ikc) ikc="${2:?}"; shift 2 ;;
    *) echo "install.sh: EINVAL: unknown argument '$1' (--dest DIR, --node PATH, --ikc PATH)" >&2; exit 2 ;;
  esac
done
if [ -z "$node" ]; then node="$(command -v node)" || { echo "install.sh: ENOENT: no node on PATH; give --node PATH" >&2; exit 1; }; fi
if [ -z "$ikc" ]; then ikc="$(command -v ikc)" || { echo "install.sh: ENOENT: no ikc on PATH (npm install -g @ikc/cli); give --ikc PATH" >&2; exit 1; }; fi
node="$(realpath -e "$node")" && ikc="$(realpath -e "$ikc")" || { echo "install.sh: ENOENT: $node or $ikc does not exist" >&2; exit 1; }
[ -x "$node" ] || { echo "install.sh: EACCES: $node is not executable" >&2; exit 1; }
# The CLI must run under this node before a unit names it.
"$node" "$ikc" --version >/dev/null || { echo "install.sh: ENOEXEC: $node $ikc --version failed" >&2; exit 1; }
case "$node$ikc" in *[[:space:]%\\]*) echo "install.sh: EINVAL: paths with spaces, % or \\ are not supported in ExecStart" >&2; exit 1 ;; esac

# The unit's sandbox hides these trees from the broker (ProtectHome=, PrivateTmp=).
case "$node:$ikc" in /home/*|/root/*|/run/user/*|/tmp/*|/var/tmp/*|*:/home/*|*:/root/*|*:/run/user/*|*:/tmp/*|*:/var/tmp/*)
  echo "install.sh: warning: the unit's ProtectHome=yes and PrivateTmp=yes hide $node or $ikc from the broker; install node and the CLI elsewhere (npm install -g)" >&2 ;;
esac

mkdir -p "$dest"
install -m 0644 "$here/ikc-broker.socket" "$dest/ikc-broker.socket"
sed -e "s|@NODE@|$node|" -e "s|@IKC@|$ikc|" "$here/ikc-broker.service.in" > "$dest/ikc-broker.service.tmp"
chmod 0644 "$dest/ikc-broker.service.tmp"
mv "$dest/ikc-broker.service.tmp" "$dest/ikc-broker.service"
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify "$dest/ikc-broker.socket" "$dest/ikc-broker.service"
fi
echo "installed $dest/ikc-broker.socket and $dest/ikc-broker.service (ExecStart=$node $ikc broker)"
