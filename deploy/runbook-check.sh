#!/usr/bin/env bash
# Follow deploy/RUNBOOK.md to the letter against the installed package: run every command of
# every fenced block, in order, on the machine the block names — then check that every file the
# nodes wrote belongs to the `cairn` user and is private to it.
#
#   deploy/runbook-check.sh PATH/TO/cairn_VERSION_ARCH.deb        (as root)
#
# Each block opens with ```sh MACHINE. The machines, all on this one computer:
#   install        root, in a folder holding the package (the block installs it again)
#   hub            the `cairn` user, data in /var/lib/cairn (no --data, no CAIRN_DATA: the
#                  packaged binary's default), service cairn-hub
#   site, site-restored, site2
#                  the `cairn` user, each with its own data folder in a scratch directory (this
#                  computer has one /var/lib/cairn, which the hub has), service cairn-site
#   kiosk          root, with a scratch home folder
# A machine keeps its shell variables from one block to the next (what a block exports stays),
# as a person's terminal would.
#
# Stand-ins for what a script cannot do as a person does:
#   - `systemctl enable --now UNIT`, `systemctl stop UNIT`, `journalctl -u UNIT`: this machine
#     has no running systemd, so they start the installed unit's ExecStart= as its User= with its
#     Environment= (and UMask=), stop it with its KillSignal (SIGTERM), and print its log. The
#     units themselves are checked by `systemd-analyze verify` (.ci/run).
#   - a browser on the site's machine: when `systemctl enable --now cairn-site` starts on an
#     empty folder, the first-run page is filled in (with curl) as the runbook says: the site's
#     name and institution (RUNBOOK_SETUP_SITE, RUNBOOK_SETUP_INSTITUTION), its first staff
#     member `ada` (RUNBOOK_SETUP_STAFF) and the machine's secret as the PIN;
#   - typing a secret: CAIRN_NEW_SECRET (new accounts and PINs) and CAIRN_SECRET (signing in);
#   - reading an id out to the hub operator: $SITE_ID and $NEW_SITE_ID are the `site` and `site2`
#     nodes' ids; carrying the stick: $USB is one scratch folder; addresses: $HUB_ADDRESS is
#     127.0.0.1:7443 and $SITE_ADDRESS 127.0.0.1:8080 (the units' ports, which must be free, as
#     must the hub's web app's 127.0.0.1:7080).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
runbook="$here/RUNBOOK.md"
deb="${1:-}"
if [ "$(id -u)" != 0 ]; then
  echo "error: run as root (the runbook installs the package and acts as the cairn user)" >&2
  exit 2
fi
if [ -z "$deb" ] || [ ! -f "$deb" ]; then
  echo "usage: $0 PATH/TO/cairn_VERSION_ARCH.deb" >&2
  exit 2
fi
deb="$(cd "$(dirname "$deb")" && pwd)/$(basename "$deb")"
for port in 7443 7080 8080; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "error: something already listens on port $port, which the units use" >&2
    exit 2
  fi
done

scratch="$(mktemp -d /tmp/cairn-runbook.XXXXXX)"
chmod 755 "$scratch"
run="$scratch/run" # pid files and logs of the services, written by the cairn user
kiosk_default=/etc/default/cairn-kiosk
kiosk_default_saved="$scratch/cairn-kiosk.default"
[ -f "$kiosk_default" ] && cp -p "$kiosk_default" "$kiosk_default_saved"

cleanup() {
  local pid
  for f in "$run"/*.pid; do
    [ -f "$f" ] || continue
    pid="$(cat "$f")"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  [ -f "$kiosk_default_saved" ] && [ -f "$kiosk_default" ] && cp -p "$kiosk_default_saved" "$kiosk_default"
  rm -rf "$scratch"
}
trap cleanup EXIT

# --- The blocks, in order -------------------------------------------------------------------
mkdir -p "$scratch/blocks"
awk -v out="$scratch/blocks" '
  function fail(msg) { printf "RUNBOOK.md:%d: %s\n", NR, msg > "/dev/stderr"; bad = 1; exit 1 }
  !inside && /^[ \t]*```/ {
    line = $0; sub(/^[ \t]*/, "", line); indent = length($0) - length(line)
    split(substr(line, 4), words, /[ \t]+/)
    if (words[1] != "sh" || words[2] == "") fail("every block is ```sh MACHINE, so the check runs it")
    n++; file = sprintf("%s/%02d-%s.sh", out, n, words[2]); printf "" > file
    inside = 1; next
  }
  inside && /^[ \t]*```[ \t]*$/ { inside = 0; close(file); next }
  inside { print substr($0, indent + 1) >> file }
  END { if (!bad && inside) fail("a block is not closed") }
' "$runbook"
blocks=("$scratch"/blocks/*.sh)
[ -e "${blocks[0]}" ] || { echo "error: no blocks in $runbook" >&2; exit 1; }

# --- The stand-ins, sourced by every block's shell -------------------------------------------
cat >"$scratch/standins.sh" <<'STANDINS'
_unit_file() {
  local f
  for f in "/usr/lib/systemd/system/$1.service" "/lib/systemd/system/$1.service"; do
    [ -f "$f" ] && { echo "$f"; return; }
  done
  echo "stand-in systemctl: no unit $1 installed" >&2
  return 1
}
_unit_key() { sed -n "s/^$2=//p" "$1"; }
_unit_stop() {
  local pidfile="$RUNBOOK_RUN/$1.pid" pid
  [ -f "$pidfile" ] || return 0
  pid="$(cat "$pidfile")"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then echo "stand-in systemctl: $1 did not stop in 20 s" >&2; return 1; fi
  rm -f "$pidfile"
}
_unit_start() {
  local unit="$1" file user data exec envs=() e
  file="$(_unit_file "$unit")"
  user="$(_unit_key "$file" User)"
  [ "$user" = "$(id -un)" ] || { echo "stand-in systemctl: $unit runs as $user, not $(id -un)" >&2; return 1; }
  while IFS= read -r e; do envs+=("$e"); done < <(_unit_key "$file" Environment)
  data="$(printf '%s\n' "${envs[@]}" | sed -n 's/^CAIRN_DATA=//p')"
  # This machine's data folder, where the unit's is taken by the hub on this one computer.
  if [ -n "${MACHINE_DATA:-}" ]; then envs+=("CAIRN_DATA=$MACHINE_DATA"); data="$MACHINE_DATA"; fi
  exec="$(_unit_key "$file" ExecStart)"
  # One node per port: the machine this one replaces is down.
  _unit_stop "$unit"
  local fresh=no
  [ -e "$data/config.toml" ] || fresh=yes
  (
    umask "$(_unit_key "$file" UMask)"
    # shellcheck disable=SC2086
    exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "${envs[@]}" $exec
  ) >>"$RUNBOOK_RUN/$unit.log" 2>&1 </dev/null &
  echo $! >"$RUNBOOK_RUN/$unit.pid"
  if [ "$fresh" = yes ]; then
    # An empty folder: the service serves the first-run page, and the person fills it in.
    _first_run "http://127.0.0.1:$(printf '%s\n' "$exec" | sed -n 's/.*--web [^ ]*:\([0-9]*\).*/\1/p')" || return 1
  fi
  for _ in $(seq 1 300); do
    if ! kill -0 "$(cat "$RUNBOOK_RUN/$unit.pid")" 2>/dev/null; then
      echo "stand-in systemctl: $unit exited:" >&2; cat "$RUNBOOK_RUN/$unit.log" >&2; return 1
    fi
    if [ -S "$data/cairn.sock" ] && cairn --data "$data" status >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "stand-in systemctl: $unit did not come up in 30 s" >&2
  cat "$RUNBOOK_RUN/$unit.log" >&2
  return 1
}
# The person at a browser on the site's machine, on the first-run page: the site's name and
# institution, its first staff member and their PIN (RUNBOOK_SETUP_*, the machine's secret).
_first_run() {
  local url="$1" jar="$RUNBOOK_RUN/first-run.cookies" page="$RUNBOOK_RUN/first-run.html" csrf
  for _ in $(seq 1 300); do
    curl -fsS --max-time 5 -c "$jar" -o "$page" "$url/setup" 2>/dev/null && break
    sleep 0.1
  done
  csrf="$(sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$page" 2>/dev/null | head -n 1)"
  [ -n "$csrf" ] || { echo "stand-in browser: no first-run page at $url/setup" >&2; return 1; }
  curl -fsS --max-time 30 -b "$jar" -H "Origin: $url" -o "$page" \
    --data-urlencode "csrf=$csrf" --data-urlencode lang=en \
    --data-urlencode "site=$RUNBOOK_SETUP_SITE" --data-urlencode "institution=$RUNBOOK_SETUP_INSTITUTION" \
    --data-urlencode "name=$RUNBOOK_SETUP_STAFF" \
    --data-urlencode "pin=$CAIRN_NEW_SECRET" --data-urlencode "pin2=$CAIRN_NEW_SECRET" \
    "$url/setup" || { echo "stand-in browser: the first-run page refused the form" >&2; return 1; }
  grep -q 'id="set-up"' "$page" || { echo "stand-in browser: the first-run page did not set the site up:" >&2; cat "$page" >&2; return 1; }
  echo "(stand-in browser: $url/setup filled in: $RUNBOOK_SETUP_SITE, $RUNBOOK_SETUP_STAFF)"
  rm -f "$jar" "$page"
}
_systemctl() {
  case "${1:-} ${2:-}" in
    "enable --now") _unit_start "$3" ;;
    "start "*|"restart "*) _unit_start "$2" ;;
    "stop "*) _unit_stop "$2" ;;
    *) echo "stand-in systemctl: $* is not in the runbook's vocabulary" >&2; return 1 ;;
  esac
}
_journalctl() {
  [ "${1:-}" = -u ] && [ -n "${2:-}" ] || { echo "stand-in journalctl: use -u UNIT" >&2; return 1; }
  cat "$RUNBOOK_RUN/$2.log"
}
# The block's trace shows `systemctl …` as typed, not the stand-in's insides. (A failing
# stand-in ends the block: it runs under `set -e`.)
systemctl() {
  { local xt=$-; set +x; } 2>/dev/null
  _systemctl "$@"
  { local rc=$?; case $xt in *x*) set -x ;; esac; return $rc; } 2>/dev/null
}
journalctl() {
  { local xt=$-; set +x; } 2>/dev/null
  _journalctl "$@"
  { local rc=$?; case $xt in *x*) set -x ;; esac; return $rc; } 2>/dev/null
}
STANDINS

# --- Machines ---------------------------------------------------------------------------------
as_cairn() { runuser -u cairn -- "$@"; }
node_id() { # the id of the node in folder $1, if there is one
  [ -f "$1/config.toml" ] && as_cairn env -i PATH=/usr/bin:/bin /usr/bin/cairn --data "$1" id || true
}
prepare() { # machine → sets user, home, data for it, creating what the package would
  machine="$1"
  case "$machine" in
    install) user=root; home="$scratch/install"; data="" ;;
    kiosk) user=root; home="$scratch/kiosk-home"; data="" ;;
    hub) user=cairn; home="$scratch/home-hub"; data="" ;;
    site | site-restored | site2) user=cairn; home="$scratch/home-$machine"; data="$scratch/$machine" ;;
    *) echo "error: RUNBOOK.md names an unknown machine: $machine" >&2; exit 1 ;;
  esac
  if [ ! -d "$home" ]; then
    install -d -m 0700 -o "$user" "$home"
    [ "$machine" = install ] && cp "$deb" "$home/"
    : >"$scratch/env-$machine.sh"
    chown "$user" "$scratch/env-$machine.sh"
  fi
  if [ -n "$data" ] && [ ! -d "$data" ]; then
    # What postinst makes on that machine: an empty folder, the cairn user's alone.
    install -d -m 0700 -o cairn -g cairn "$data"
  fi
  if [ ! -d "$run" ] && id cairn >/dev/null 2>&1; then
    install -d -m 0700 -o cairn -g cairn "$run" "$scratch/usb"
  fi
}

commands=0
for block in "${blocks[@]}"; do
  machine="$(basename "$block" .sh)"
  machine="${machine#*-}"
  prepare "$machine"
  secret=""
  case "$machine" in
    hub) secret="correct horse battery staple" ;;
    site*) secret="246810" ;;
  esac
  n="$(grep -cv '^[[:space:]]*\(#.*\)\?$' "$block" || true)"
  commands=$((commands + n))
  echo "== RUNBOOK.md, ${machine}: $n command(s)"
  vars=(
    PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$home" LANG=C.UTF-8 USER="$user"
    USB="$scratch/usb" HUB_ADDRESS=127.0.0.1:7443 SITE_ADDRESS=127.0.0.1:8080
    SITE_ID="$(node_id "$scratch/site")" NEW_SITE_ID="$(node_id "$scratch/site2")"
    CAIRN_NEW_SECRET="$secret" CAIRN_SECRET="$secret"
    RUNBOOK_RUN="$run" MACHINE_DATA="$data" PS4="[$machine] \$ "
    RUNBOOK_SETUP_SITE="Southern Maine Women's Reentry Center"
    RUNBOOK_SETUP_INSTITUTION="University of Maine System" RUNBOOK_SETUP_STAFF=ada
  )
  [ -n "$data" ] && vars+=(CAIRN_DATA="$data")
  runner=()
  [ "$user" = cairn ] && runner=(runuser -u cairn --)
  # The block runs in this machine's shell: what its earlier blocks exported, then the
  # stand-ins' values; what it exports is kept for the next block.
  if ! (cd "$home" && "${runner[@]}" env -i "${vars[@]}" bash --noprofile --norc -c '
        set -euo pipefail
        fresh="$(export -p)"
        . "$1"
        eval "$fresh"
        . "$2"
        set -x
        . "$3"
        { set +x; } 2>/dev/null
        LC_ALL=C comm -13 <(printf "%s\n" "$fresh" | LC_ALL=C sort) \
          <(export -p | grep -Ev "^declare -x (PWD|OLDPWD|SHLVL)=" | LC_ALL=C sort) >"$1"
      ' runbook "$scratch/env-$machine.sh" "$scratch/standins.sh" "$block"); then
    echo "FAILED: the ${machine} block $(basename "$block") of RUNBOOK.md:" >&2
    sed 's/^/    /' "$block" >&2
    exit 1
  fi
done

# --- What the nodes left behind ---------------------------------------------------------------
echo "== the nodes' files"
check_private() { # every file under $1 is the cairn user's, private to it; keys 0600
  local dir="$1" bad
  [ "$(stat -c '%U %a' "$dir")" = "cairn 700" ] || { echo "FAILED: $dir is $(stat -c '%U %a' "$dir"), not cairn 700" >&2; exit 1; }
  bad="$(find "$dir" ! -user cairn -o ! -group cairn -o -perm /077 | head -5)"
  [ -z "$bad" ] || { echo "FAILED: not the cairn user's alone: $bad" >&2; exit 1; }
  [ "$(stat -c %a "$dir/node.key")" = 600 ] || { echo "FAILED: $dir/node.key is not 0600" >&2; exit 1; }
  echo "$dir: $(find "$dir" | wc -l) files and folders, all cairn's, none readable by others"
}
check_private /var/lib/cairn
for m in site site-restored site2; do check_private "$scratch/$m"; done

# Root, as an administrator would be: through the running hub, then on the stopped one.
echo "== root on the hub's folder"
[ "$(env -u CAIRN_DATA cairn --json status | sed -n 's/.*"running": \(true\|false\).*/\1/p')" = true ] ||
  { echo "FAILED: root's cairn status did not reach the running hub" >&2; exit 1; }
as_cairn env RUNBOOK_RUN="$run" bash -c 'set -e; . "$1"; systemctl stop cairn-hub' _ "$scratch/standins.sh"
env -u CAIRN_DATA cairn status >/dev/null
env -u CAIRN_DATA cairn check >/dev/null
check_private /var/lib/cairn
echo "runbook: $commands commands in ${#blocks[@]} blocks on $(basename -a "${blocks[@]}" | sed 's/^[0-9]*-//; s/\.sh$//' | sort -u | wc -l) machines: all passed"
