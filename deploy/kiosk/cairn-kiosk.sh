#!/usr/bin/env bash
# Kiosk launcher: Chromium in kiosk mode pointed at the site's node, restarted if it is closed.
# Run from the kiosk user's graphical session (cairn-kiosk.desktop starts it at login). The
# Debian package installs it as /usr/bin/cairn-kiosk.
#
# The node's address: CAIRN_KIOSK_URL, else the one in /etc/default/cairn-kiosk, else the node on
# this machine (http://127.0.0.1:8080/). A kiosk on the lab's LAN points at the site's node.
#
# `cairn-kiosk --check` says whether the node answers, and starts nothing.
#
# Sourcing this file (`. cairn-kiosk.sh`) defines the functions and starts nothing:
# tests/tests/kiosk_launcher.rs checks the wait against a running node that way.
set -u

# The page the kiosk opens, as given (with or without a trailing slash).
kiosk_url() {
  if [ -z "${CAIRN_KIOSK_URL:-}" ] && [ -r /etc/default/cairn-kiosk ]; then
    # shellcheck disable=SC1091
    . /etc/default/cairn-kiosk
  fi
  printf '%s\n' "${CAIRN_KIOSK_URL:-http://127.0.0.1:8080/}"
}

# Whether the node answers the page Chromium will open: the address itself, redirects followed
# (the home page sends a browser that is not signed in to the sign-in page), ending in a page,
# not an error. Probing the very address Chromium opens means no path is glued on ("//signin"
# answers 404, and the kiosk waited two minutes for nothing).
kiosk_node_ready() {
  curl --fail --silent --show-error --location --max-time 5 --output /dev/null "$1" 2>/dev/null
}

# Wait until the node answers (CAIRN_KIOSK_WAIT_TRIES tries, CAIRN_KIOSK_WAIT_DELAY seconds
# apart: two minutes by default), so the first screen is the sign-in page rather than an error.
# Returns at once when the node is up; non-zero when it never answered (Chromium starts anyway
# and shows the node's page as soon as it reloads).
kiosk_wait_for_node() {
  local url="$1" tries="${CAIRN_KIOSK_WAIT_TRIES:-60}" delay="${CAIRN_KIOSK_WAIT_DELAY:-2}" i
  for ((i = 1; i <= tries; i++)); do
    kiosk_node_ready "$url" && return 0
    [ "$i" -lt "$tries" ] && sleep "$delay"
  done
  echo "cairn-kiosk: $url did not answer after $tries tries; starting the browser anyway" >&2
  return 1
}

kiosk_main() {
  local url browser profile
  url="$(kiosk_url)"
  if [ "${1:-}" = --check ]; then
    # `cairn-kiosk --check`: does the node answer the page the kiosk would open?
    if kiosk_node_ready "$url"; then
      echo "cairn-kiosk: $url answers"
      return 0
    fi
    echo "cairn-kiosk: $url does not answer (is cairn-site running there, and the port open?)" >&2
    return 1
  fi
  browser="$(command -v chromium || command -v chromium-browser)" || {
    echo "cairn-kiosk: Chromium is not installed (apt install chromium)" >&2
    return 1
  }
  kiosk_wait_for_node "$url" || true
  while true; do
    # A throwaway profile: nothing one learner typed is remembered for the next.
    profile="$(mktemp -d)"
    "$browser" --kiosk --incognito --no-first-run --disable-translate --disable-features=Translate \
      --disable-pinch --overscroll-history-navigation=0 --noerrdialogs --disable-session-crashed-bubble \
      --user-data-dir="$profile" "$url"
    rm -rf "$profile"
    sleep 2
  done
}

# Run only when executed, not when sourced.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  kiosk_main "$@"
fi
