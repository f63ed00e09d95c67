// Verify Cairn's credentials with an independent implementation: Digital Bazaar's
// @digitalbazaar/vc with the eddsa-rdfc-2022 and eddsa-jcs-2022 cryptosuites, resolving did:key
// with @digitalbazaar/did-method-key. The JSON-LD contexts are the very files Cairn ships
// (../contexts), plus the Data Integrity and Multikey contexts from npm: nothing is fetched.
//
// Usage: node verify.mjs [--expect-failure] FILE...
//   Exit 0 when every credential verifies: EVERY proof of its proof set verifies (and there are
//   both an eddsa-rdfc-2022 and an eddsa-jcs-2022 proof, unless the file carries only one
//   proof), and so does every endorsement of its issuer. With --expect-failure, exit 0 only
//   when every file FAILS (tampered copies).
//
// Careful: vc.verifyCredential says `verified: true` when ANY proof of a proof set verifies, so
// a credential whose second proof is corrupted would pass a check of `result.verified` alone.
// Every entry of `result.results` is checked here.
import fs from 'node:fs';
import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as rdfcCryptosuite} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {createVerifyCryptosuite as createJcsVerifyCryptosuite} from '@digitalbazaar/eddsa-jcs-2022-cryptosuite';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import * as DidKey from '@digitalbazaar/did-method-key';
import dataIntegrityContext from '@digitalbazaar/data-integrity-context';
import multikeyContext from '@digitalbazaar/multikey-context';

const contexts = new URL('../contexts/', import.meta.url);
const read = f => JSON.parse(fs.readFileSync(new URL(f, contexts), 'utf8'));
const local = new Map([
  ['https://www.w3.org/ns/credentials/v2', read('credentials-v2.jsonld')],
  ['https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json', read('ob-v3p0-context-3.0.3.json')],
  ['https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json', read('clr-v2p0-context-2.0.1.json')],
  ...dataIntegrityContext.contexts,
  ...multikeyContext.contexts,
]);

const didKeyDriver = DidKey.driver();
didKeyDriver.use({multibaseMultikeyHeader: 'z6Mk', fromMultibase: Ed25519Multikey.from});

async function documentLoader(url) {
  if(url.startsWith('did:key:')) {
    return {contextUrl: null, documentUrl: url, document: await didKeyDriver.get({url})};
  }
  if(local.has(url)) {
    return {contextUrl: null, documentUrl: url, document: structuredClone(local.get(url))};
  }
  throw new Error(`offline: refusing to load ${url}`);
}

// One credential: every proof verified, both suites when it carries several proofs.
async function check(credential) {
  const suite = [
    new DataIntegrityProof({cryptosuite: rdfcCryptosuite}),
    new DataIntegrityProof({cryptosuite: createJcsVerifyCryptosuite()}),
  ];
  const proofs = [].concat(credential.proof ?? []);
  const result = await vc.verifyCredential({credential, suite, documentLoader});
  const results = result.results ?? [];
  const suites = new Set(results.map(r => r.proof?.cryptosuite));
  const ok = result.verified === true && results.length === proofs.length &&
    results.every(r => r.verified === true) &&
    (proofs.length < 2 || (suites.has('eddsa-rdfc-2022') && suites.has('eddsa-jcs-2022')));
  // In the order of the proof set (vc lists results in no fixed order).
  const at = r => proofs.findIndex(p => p.proofValue === r.proof?.proofValue);
  const summary = [...results].sort((a, b) => at(a) - at(b))
    .map(r => `${r.proof?.cryptosuite}:${r.verified}`).join(', ');
  const why = ok ? '' : ' — ' + JSON.stringify(result.error?.errors?.map(e => e.message) ??
    result.error?.message ?? results.map(r => r.error?.message));
  return {ok, summary, why};
}

const args = process.argv.slice(2);
const expectFailure = args[0] === '--expect-failure';
const files = expectFailure ? args.slice(1) : args;
let bad = 0;
for(const file of files) {
  const credential = JSON.parse(fs.readFileSync(file, 'utf8'));
  const t0 = performance.now();
  const outcomes = [await check(credential)];
  for(const e of [].concat(credential.issuer?.endorsement ?? [])) {
    const o = await check(e);
    outcomes.push({...o, summary: `endorsement ${o.summary}`});
  }
  const ms = (performance.now() - t0).toFixed(0);
  const ok = outcomes.every(o => o.ok);
  if(ok === expectFailure) {
    bad++;
  }
  const summary = outcomes.map(o => o.summary).join('; ');
  const why = outcomes.map(o => o.why).join('');
  console.log(`${ok ? 'verified' : 'NOT verified'} (${ms} ms) [${summary}]: ${file}${why}`);
}
process.exit(bad === 0 && files.length > 0 ? 0 : 1);
