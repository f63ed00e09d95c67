#!/usr/bin/env bash
# Kiosk launcher: Chromium in kiosk mode pointed at the local node, restarted if it is closed.
# Run from the kiosk user's graphical session (see cairn-kiosk.desktop for autostart).
# CAIRN_KIOSK_URL overrides the address (a kiosk on the lab LAN points at the site's node).
set -u
url="${CAIRN_KIOSK_URL:-http://127.0.0.1:8080/}"
browser="$(command -v chromium || command -v chromium-browser)"
# Wait for the node, so the first screen is the sign-in page rather than an error.
for _ in $(seq 1 60); do
  curl -fsS -o /dev/null "$url/signin" 2>/dev/null && break
  sleep 2
done
while true; do
  # A throwaway profile: nothing one learner typed is remembered for the next.
  profile="$(mktemp -d)"
  "$browser" --kiosk --incognito --no-first-run --disable-translate --disable-features=Translate \
    --disable-pinch --overscroll-history-navigation=0 --noerrdialogs --disable-session-crashed-bubble \
    --user-data-dir="$profile" "$url"
  rm -rf "$profile"
  sleep 2
done
