// The verifier page's core, without the page: read a Cairn QR payload and check the credential
// in it, offline. Mirrors credentials/src/qr.rs (decoding) and the eddsa-jcs-2022 half of
// credentials/src/verify.rs (checking).
//
// payload = <version digit "1"> <digits>; digits: 7 bytes -> 17 decimal digits, a shorter last
// group in the fewest digits that hold it; bytes: raw DEFLATE with the frozen preset dictionary
// v1; inside: the credential as JCS JSON with only its eddsa-jcs-2022 proofs.
import {inflateSync} from 'fflate';
import {sha256, sha512} from '@noble/hashes/sha2.js';
import * as ed from '@noble/ed25519';
import canonicalize from 'canonicalize';
import DICTIONARY_V1 from '../../qr/dictionary-v1.txt';

ed.hashes.sha512 = sha512;

const enc = new TextEncoder();
const WIDTH = [0, 3, 5, 8, 10, 13, 15, 17];
export const MAX_DIGITS = 7089;
export const MAX_JSON = 64 * 1024;
const SKEW_MS = 10 * 60 * 1000;

export class Invalid extends Error {}

export function digitsToBytes(s) {
  if(!/^[0-9]*$/.test(s)) throw new Invalid('the code is damaged (not digits)');
  const out = [];
  for(let i = 0; i < s.length;) {
    const rest = s.length - i;
    const n = rest >= 17 ? 7 : WIDTH.indexOf(rest);
    if(n < 1) throw new Invalid('the code is damaged (its digits do not decode)');
    let v = BigInt(s.slice(i, i + WIDTH[n]));
    if(v >> BigInt(8 * n) !== 0n) throw new Invalid('the code is damaged (its digits do not decode)');
    const group = new Array(n);
    for(let k = n - 1; k >= 0; k--) { group[k] = Number(v & 255n); v >>= 8n; }
    out.push(...group);
    i += WIDTH[n];
  }
  return new Uint8Array(out);
}

// The digits of a link (after its #) or the digits alone.
export function payloadDigits(text) {
  const t = String(text).trim();
  const hash = t.lastIndexOf('#');
  return (hash >= 0 ? t.slice(hash + 1) : t).trim();
}

export function decodePayload(text) {
  const digits = payloadDigits(text);
  if(digits.length === 0 || !/^[0-9]+$/.test(digits)) throw new Invalid('there is no Cairn credential in it');
  if(digits[0] !== '1') throw new Invalid(`it was written in payload version ${digits[0]}, which this page does not know`);
  if(digits.length - 1 > MAX_DIGITS) throw new Invalid('it is longer than any QR code');
  let bytes;
  try {
    bytes = inflateSync(digitsToBytes(digits.slice(1)), {dictionary: enc.encode(DICTIONARY_V1)});
  } catch(e) {
    if(e instanceof Invalid) throw e;
    throw new Invalid('the code is damaged (its compressed data does not inflate)');
  }
  if(bytes.length > MAX_JSON) throw new Invalid('the credential inside is too large');
  try {
    return JSON.parse(new TextDecoder('utf-8', {fatal: true}).decode(bytes));
  } catch(e) {
    throw new Invalid('the code is damaged (the data inside is not a credential)');
  }
}

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
function base58(s) {
  if(typeof s !== 'string' || s.length > 100) throw new Invalid('a key or signature is malformed');
  let n = 0n;
  for(const c of s) {
    const d = B58.indexOf(c);
    if(d < 0) throw new Invalid('a key or signature is malformed');
    n = n * 58n + BigInt(d);
  }
  const bytes = [];
  while(n > 0n) { bytes.unshift(Number(n & 255n)); n >>= 8n; }
  for(const c of s) { if(c !== '1') break; bytes.unshift(0); }
  return new Uint8Array(bytes);
}

function didKeyPublicKey(did) {
  if(typeof did !== 'string' || !did.startsWith('did:key:z')) throw new Invalid('the signer is not a did:key');
  const b = base58(did.slice('did:key:z'.length));
  if(b.length !== 34 || b[0] !== 0xed || b[1] !== 0x01) throw new Invalid('the signer is not an Ed25519 did:key');
  return b.slice(2);
}

const concat = (a, b) => { const r = new Uint8Array(a.length + b.length); r.set(a); r.set(b, a.length); return r; };
const issuerId = doc => typeof doc?.issuer === 'string' ? doc.issuer : doc?.issuer?.id;
const types = v => Array.isArray(v) ? v : (typeof v === 'string' ? [v] : []);

// Verify EVERY proof of `doc`: each must be an eddsa-jcs-2022 DataIntegrityProof by the issuer.
// A proof this page cannot check (an eddsa-rdfc-2022 one) makes the credential not checkable
// here: it is never skipped.
export function verifyProofs(doc, what) {
  if(doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new Invalid(`${what} is not a credential`);
  const proofs = [].concat(doc.proof ?? []);
  if(proofs.length === 0) throw new Invalid(`${what} carries no proof`);
  if(proofs.length > 8) throw new Invalid(`${what} carries too many proofs`);
  const {proof: _, ...unsigned} = doc;
  const issuer = issuerId(doc);
  for(const p of proofs) {
    if(p?.type !== 'DataIntegrityProof' || p?.cryptosuite !== 'eddsa-jcs-2022') {
      throw new Invalid(`${what} carries a proof this page cannot check (${p?.cryptosuite ?? p?.type})`);
    }
    const {proofValue, ...config} = p;
    if(p.proofPurpose !== 'assertionMethod') throw new Invalid(`${what}: the proof does not assert it`);
    if(JSON.stringify(config['@context']) !== JSON.stringify(doc['@context'])) throw new Invalid(`${what}: the proof's @context differs from the credential's`);
    const [did, fragment] = String(p.verificationMethod).split('#');
    if(did !== issuer) throw new Invalid(`${what} was not signed by its issuer`);
    if(fragment !== did.slice('did:key:'.length)) throw new Invalid(`${what}: the signing key is malformed`);
    if(typeof proofValue !== 'string' || proofValue[0] !== 'z') throw new Invalid(`${what}: the signature is malformed`);
    const signature = base58(proofValue.slice(1));
    if(signature.length !== 64) throw new Invalid(`${what}: the signature is malformed`);
    const hash = concat(sha256(enc.encode(canonicalize(config))), sha256(enc.encode(canonicalize(unsigned))));
    let ok = false;
    try { ok = ed.verify(signature, hash, didKeyPublicKey(did)); } catch(e) { ok = false; }
    if(!ok) throw new Invalid(`${what}: the signature does not match (it was changed after it was signed)`);
  }
  return issuer;
}

function checkDates(doc, what, now) {
  const from = Date.parse(doc.validFrom);
  if(Number.isNaN(from)) throw new Invalid(`${what} has no valid date`);
  if(from > now + SKEW_MS) throw new Invalid(`${what} is not valid yet`);
  if(doc.validUntil !== undefined) {
    const until = Date.parse(doc.validUntil);
    if(Number.isNaN(until) || until < now) throw new Invalid(`${what} has expired`);
  }
}

// The whole check. `programs`: [{id: did:key, name}] this page trusts. Returns what to show;
// throws Invalid with the reason when the credential is not valid.
export function verifyCredential(credential, programs = [], now = Date.now()) {
  if(!types(credential?.type).some(t => t === 'OpenBadgeCredential' || t === 'AchievementCredential')) {
    throw new Invalid('it is not an Open Badges credential');
  }
  const signer = verifyProofs(credential, 'the credential');
  checkDates(credential, 'the credential', now);
  const endorsements = [].concat(credential.issuer?.endorsement ?? []);
  if(endorsements.length > 8) throw new Invalid('the credential carries too many endorsements');
  const endorsedBy = endorsements.map(e => {
    if(!types(e?.type).includes('EndorsementCredential')) throw new Invalid('an endorsement is not an EndorsementCredential');
    const program = verifyProofs(e, 'the endorsement of the signing key');
    checkDates(e, 'the endorsement of the signing key', now);
    if(e.credentialSubject?.id !== signer) throw new Invalid('the endorsement is about another key');
    return {id: program, name: e.issuer?.name};
  });
  const trusted = id => programs.find(p => p.id === id);
  let program = null;
  let how = null;
  if(trusted(signer)) {
    program = trusted(signer);
    how = 'signed by the program itself';
  } else {
    const found = endorsedBy.find(e => trusted(e.id));
    if(found) {
      program = trusted(found.id);
      how = 'signed by a key the program endorsed';
    }
  }
  const achievement = credential.credentialSubject?.achievement ?? {};
  return {
    credential,
    signer,
    endorsedBy,
    program,            // null: the page does not know the program this chains to
    chainsTo: endorsedBy.length ? endorsedBy[0].id : signer,
    chainsToName: endorsedBy.length ? endorsedBy[0].name : credential.issuer?.name,
    how,
    achievement: achievement.name,
    description: achievement.description,
    level: [].concat(achievement.tag ?? []).find(t => typeof t === 'string' && t.startsWith('Level ')),
    date: String(credential.validFrom ?? '').slice(0, 10),
  };
}

// Whether `name` (as printed on the certificate) is one the credential was made out to.
export function nameMatches(credential, name) {
  const printed = String(name).normalize('NFC').split(/\s+/).filter(Boolean).join(' ');
  const ids = [].concat(credential.credentialSubject?.identifier ?? []);
  return ids.some(id => {
    if(typeof id?.identityHash !== 'string') return false;
    const salt = typeof id.salt === 'string' ? id.salt : '';
    const hex = Array.from(sha256(enc.encode(printed + salt)), b => b.toString(16).padStart(2, '0')).join('');
    return id.identityHash.toLowerCase() === `sha256$${hex}`;
  });
}
