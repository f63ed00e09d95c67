// The verifier page: reads the payload from the address's #fragment (a phone that scanned the
// certificate's QR code opens the page with it) or from what is pasted into the box, checks it
// with verify.js, and shows the verdict. Everything shown goes through textContent: nothing in a
// credential is ever parsed as HTML.
import {decodePayload, verifyCredential, nameMatches, Invalid} from './verify.js';

const $ = id => document.getElementById(id);

function programs() {
  try {
    const list = JSON.parse($('cairn-programs').textContent);
    return Array.isArray(list) ? list.filter(p => typeof p?.id === 'string') : [];
  } catch(e) {
    return [];
  }
}

function row(label, value) {
  if(!value) return;
  const tr = document.createElement('tr');
  const th = document.createElement('th');
  const td = document.createElement('td');
  th.textContent = label;
  td.textContent = value;
  tr.append(th, td);
  $('details').append(tr);
}

let current = null;

function show(text) {
  $('details').replaceChildren();
  $('reason').textContent = '';
  $('name-check').hidden = true;
  $('name-result').textContent = '';
  current = null;
  const verdict = $('verdict');
  const trusted = programs();
  try {
    const credential = decodePayload(text);
    const r = verifyCredential(credential, trusted);
    current = credential;
    if(r.program) {
      verdict.textContent = 'VALID';
      verdict.className = 'valid';
      $('reason').textContent = `Signed and unchanged; ${r.how}.`;
    } else if(trusted.length === 0) {
      verdict.textContent = 'UNCONFIRMED';
      verdict.className = 'unknown';
      $('reason').textContent = 'The signatures are good, but this copy of the page does not know which program to trust. Compare the program identifier below with the one the program publishes.';
    } else {
      throw new Invalid(`it does not come from ${trusted.map(p => p.name || p.id).join(' or ')} (it chains to ${r.chainsTo})`);
    }
    row('Achievement', r.achievement);
    row('Level', r.level);
    row('What it is', r.description);
    row('Program', r.program ? r.program.name || r.program.id : r.chainsToName);
    row('Awarded', r.date);
    row('Program identifier', r.program ? r.program.id : r.chainsTo);
    row('Credential', credential.id);
    $('name-check').hidden = false;
  } catch(e) {
    verdict.textContent = 'INVALID';
    verdict.className = 'invalid';
    $('reason').textContent = e instanceof Invalid ? `Not valid: ${e.message}.` : 'Not valid: the code cannot be read.';
  }
}

$('check').addEventListener('submit', ev => {
  ev.preventDefault();
  show($('payload').value);
});
$('name-form').addEventListener('submit', ev => {
  ev.preventDefault();
  if(!current) return;
  const yes = nameMatches(current, $('name').value);
  $('name-result').textContent = yes
    ? 'The credential was made out to this name.'
    : 'MISMATCH: the credential was not made out to this name (type it exactly as printed).';
  $('name-result').className = yes ? 'valid' : 'invalid';
});
const list = programs();
$('trusts').textContent = list.length
  ? `This page trusts: ${list.map(p => `${p.name || 'a program'} (${p.id})`).join('; ')}.`
  : 'This page trusts no program yet: it checks signatures only.';
if(location.hash.length > 1) {
  show(location.hash);
} else {
  $('verdict').textContent = 'Scan a certificate, or paste its link below.';
}
window.addEventListener('hashchange', () => show(location.hash));
