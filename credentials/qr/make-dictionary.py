"""How credentials/qr/dictionary-v1.txt was made (kept for the record: the dictionary is frozen,
and payloads written with it must decode forever; a new dictionary gets a new version digit).

Usage: python3 make-dictionary.py CREDENTIAL.json... > dictionary-v1.txt

Version 1 was made from the credentials `cairn demo --keep DIR` leaves (the facility's learner
SMWRC-0001, Maria): the site-signed copies (`credential` in `learner show`) of a Level badge, the
recognition and the micro-credential, then the program-signed copies (`program_credential`) of
the recognition, the micro-credential and the same Level badge, in that order.

It keeps the shape of real credentials, in JCS key order, with every value that differs from one
credential to the next emptied, or cut to the prefix all such values share (did:key:z6Mk,
urn:uuid:, ni:///sha-256;, sha256$...). The site-signed copy (with the endorsement) comes first
and the program-signed copy last: what most certificates carry after one round trip is then
nearest the payload, where DEFLATE's distances cost fewest bits.
Only the eddsa-jcs-2022 proofs are kept: they are all a payload carries.
"""
import json
import re
import sys

KEEP = {"@context", "type", "cryptosuite", "proofPurpose", "identityType", "achievementType",
        "genre", "targetType", "hashed"}
PREFIXES = ["did:key:z6Mk", "urn:uuid:", "urn:cairn:achievement:", "urn:cairn:pathway:",
            "urn:cairn:recognition:", "urn:cairn:alignment:", "ni:///sha-256;", "sha256$",
            "Evidence 1 (written narrative)", "Evidence 2 (file)", "Level ",
            "This key signs credentials on behalf of ", "https://"]


def skeleton(value, key=None):
    if isinstance(value, dict):
        out = {k: skeleton(v, k) for k, v in value.items()}
        if "Profile" in value.get("type", []):
            # A program's profile usually has an address and a description (the demo's has not).
            out.setdefault("url", "https://")
            out.setdefault("description", "")
        return out
    if isinstance(value, list):
        if key == "proof":
            value = [p for p in value if p.get("cryptosuite") == "eddsa-jcs-2022"]
        return [skeleton(v, key) for v in value[:2]]
    if not isinstance(value, str) or key in KEEP:
        return value
    if key == "verificationMethod":
        return "did:key:z6Mk#z6Mk"
    if key == "proofValue":
        return "z"
    if re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", value):
        return "T00:00:00Z"
    for p in PREFIXES:
        if value.startswith(p):
            return p
    return ""


def jcs(v):
    # For this data (no floats, ASCII keys) JCS is sorted keys with no white space.
    return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


parts = [jcs(skeleton(json.load(open(f)))) for f in sys.argv[1:]]
text = "".join(parts)
assert text.isascii(), "the dictionary must be ASCII (the page reads it as text)"
sys.stdout.write(text)
