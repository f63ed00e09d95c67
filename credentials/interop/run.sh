#!/usr/bin/env bash
# Interop check: credentials made by the `cairn` binary are verified by Digital Bazaar's
# independent implementation (@digitalbazaar/vc with the eddsa-rdfc-2022 and eddsa-jcs-2022
# cryptosuites, every proof of each proof set checked), and tampered copies are refused by it:
# an edited field, and a corrupted second proof. Needs node and npm; installs the pinned
# packages locally.
#
# Usage: credentials/interop/run.sh [path/to/cairn] [MORE_FILES...]
#   MORE_FILES: further credentials to verify the same way (the end-to-end tests pass the
#   program-signed copies and endorsements a hub made).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cairn="${1:-$root/target/release/cairn}"
shift || true
[ -x "$cairn" ] || { echo "no cairn binary at $cairn (build it with cargo build --release -p cairn-node)"; exit 2; }

(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export CAIRN_DATA="$work/site"
c() { "$cairn" "$@"; }
c init --role site --name "Ellsworth Adult Education" --institution "University of Maine System" >/dev/null
sed -i 's/allow_site_authoring = false/allow_site_authoring = true/' "$CAIRN_DATA/config.toml"
c user add --name ada --role admin,developer,assessor,issuer --pin 246813 >/dev/null
export CAIRN_AS=ada CAIRN_SECRET=246813
for level in 1 2 3; do
  c catalog add achievement --id "css-level-$level" --name "Computer Support Specialist Level $level" \
    --description "Supports computer users" --level "$level" \
    --criteria "Resolves a help-desk ticket end to end" --skill "Troubleshooting|O*NET|15-1232.00" >/dev/null
done
c catalog add pathway --id css --name "Computer Support Specialist" --description "Levels 1-3" \
  --part css-level-1 --part css-level-2 --part css-level-3 >/dev/null
c catalog add recognition --id css-as-cis --for css --recognizer "University of Maine System" \
  --description "9 college credits toward AS Computer Information Systems" --credits 9 >/dev/null
learner=$(c --json learner add --number EAE-1 --given-name "María José" --family-name "O'Neil" --pin 1234 \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["id"])')
echo "ticket log" > "$work/log.txt"
for level in 1 2 3; do
  e=$(c --json enroll --learner "$learner" --achievement "css-level-$level" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["id"])')
  v=$(c --json evidence submit --enrollment "$e" --narrative "Fixed the printer" --file "$work/log.txt" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["id"])')
  c assess --evidence "$v" --decision proficient >/dev/null
  c --json award --enrollment "$e" > "$work/award-$level.json"
done
i=0
for award in $(python3 -c 'import json,sys
for f in sys.argv[1:]:
    for a in json.load(open(f))["result"]["awards"]: print(a["id"])' "$work"/award-*.json); do
  i=$((i+1))
  c credential export "$award" --out "$work/credential-$i.json" >/dev/null
done
c credential export --learner EAE-1 --out "$work/learner-bundle.json" >/dev/null
python3 - "$work" <<'PY'
import json, sys
w = sys.argv[1]
c = json.load(open(f"{w}/credential-1.json"))
assert [p["cryptosuite"] for p in c["proof"]] == ["eddsa-rdfc-2022", "eddsa-jcs-2022"], c["proof"]
edited = json.loads(json.dumps(c))
edited["credentialSubject"]["achievement"]["name"] += " (edited)"
json.dump(edited, open(f"{w}/tampered.json", "w"))
# The second proof's signature replaced by the first's: the rdfc proof still verifies, so a
# verifier that accepts any proof of a set would call it valid.
second = json.loads(json.dumps(c))
second["proof"][1]["proofValue"] = second["proof"][0]["proofValue"]
json.dump(second, open(f"{w}/corrupted-second-proof.json", "w"))
PY
echo "Cairn made $i credentials; verifying them with @digitalbazaar/vc:"
node "$here/verify.mjs" "$work"/credential-*.json "$work/learner-bundle.json" "$@"
echo "and tampered copies must be refused:"
node "$here/verify.mjs" --expect-failure "$work/tampered.json" "$work/corrupted-second-proof.json"
