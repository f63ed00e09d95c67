// The web app end to end in Debian's headless Chromium (playwright-core, no bundled browser).
// Usage: node web.mjs CONFIG.json (written by tests/tests/web_app.rs).
// Prints one line per check; exits non-zero at the first thing that is not as it should be.
//
// Every page visited goes through `seen`: no message left untranslated (⟦id⟧), no English on a
// Spanish page, no axe-core violation of serious or critical impact, no script that ran (an
// `alert` from a name or file name), and a screenshot in the artifacts folder.
import {chromium} from 'playwright-core';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import {createRequire} from 'node:module';

const require = createRequire(import.meta.url);
const axePath = require.resolve('axe-core/axe.min.js');
const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const {lab, hub, fresh, artifacts, staff} = config;
fs.mkdirSync(artifacts, {recursive: true});

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu'],
});
// bypassCSP lets axe-core be injected; it also means a name that broke out of its escaping
// would run here even where the app's policy would have stopped it, so the test sees it.
let context = await browser.newContext({viewport: {width: 1100, height: 900}, bypassCSP: true});
let page = await context.newPage();
page.setDefaultTimeout(20000);
const scripts = [];
function watch(p) {
  p.on('dialog', async (d) => { scripts.push(d.message()); await d.dismiss(); });
}
watch(page);

let shots = 0;
let lang = 'en';
const HOSTILE = '<script>alert(1)</script>';
// Words of the English interface that must not appear on a Spanish page (learners' names and
// catalog items written only in English are data, not interface, and contain none of these).
const ENGLISH = ['Sign out', 'Sign in', 'Back', 'Search', 'Save', 'Download', 'Not known', 'Learners',
  'Home', 'Awards', 'Catalog', 'Staff', 'Reports', 'Sites', 'Reconcile', 'Send', 'Print', 'Never',
  'Earned', 'In progress', 'Not yet', 'Proficient', 'entries', 'ago',
  // The printed certificate's own words.
  'certifies that', 'has earned', 'Criteria', 'Awarded', 'Save the credential file'];

function check(ok, what) {
  if(!ok) {
    throw new Error(`FAILED: ${what}`);
  }
  console.log(`ok: ${what}`);
}
async function text() {
  return page.locator('body').innerText();
}
async function axe() {
  await page.addScriptTag({path: axePath});
  return page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, {resultTypes: ['violations']});
    return r.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
}
/** Check and keep the page the browser shows now. */
async function seen(name) {
  await page.waitForLoadState('domcontentloaded');
  const body = await text();
  const html = await page.content();
  check(!body.includes('⟦') && !html.includes('⟦'), `${lang} ${name}: every message is translated`);
  if(lang === 'es') {
    const found = ENGLISH.filter((w) => new RegExp(`(^|[^\\p{L}])${w}([^\\p{L}]|$)`, 'u').test(body));
    check(found.length === 0, `${lang} ${name}: no English words (${found.join(', ')})`);
  }
  check(!html.includes(HOSTILE) && !html.includes('<img src=x'), `${lang} ${name}: names are escaped`);
  check(scripts.length === 0, `${lang} ${name}: no script ran (${scripts.join('; ')})`);
  shots++;
  await page.screenshot({path: path.join(artifacts, `${String(shots).padStart(3, '0')}-${lang}-${name}.png`), fullPage: true});
  const violations = await axe();
  check(violations.length === 0, `${lang} ${name}: no serious or critical accessibility violation\n  ${violations.join('\n  ')}`);
}
async function go(base, where, name) {
  const r = await page.goto(`${base}${where}`);
  await seen(name);
  return r;
}
async function signIn(base, who, secret, learner = false) {
  await page.goto(`${base}/signin?lang=${lang}`);
  if(learner) {
    await page.fill('#number', who);
    await page.fill('#pin', secret);
    await page.click('#learner-signin');
  } else {
    await page.fill('#name', who);
    await page.fill('#secret', secret);
    await page.click('#staff-signin');
  }
  await page.waitForURL(learner ? /\/me/ : /\/staff/);
}
async function signOut() {
  await page.click('#signout');
  await page.waitForURL(/\/signin/);
}
/** Press Tab until the focused element matches `selector` (bounded): keyboard only. */
async function tabTo(selector) {
  for(let i = 0; i < 80; i++) {
    await page.keyboard.press('Tab');
    if(await page.evaluate((s) => document.activeElement && document.activeElement.matches(s), selector)) {
      return;
    }
  }
  throw new Error(`FAILED: ${selector} cannot be reached with the Tab key`);
}
/** Submit a form's server-side checks: drop the browser's own `required` checks first. */
async function withoutBrowserChecks() {
  await page.evaluate(() => document.querySelectorAll('[required],[maxlength]').forEach((e) => {
    e.removeAttribute('required');
    e.removeAttribute('maxlength');
  }));
}
async function fetchIn(url) {
  const r = await page.request.get(url);
  return {status: r.status(), headers: r.headers(), body: await r.body()};
}
const words = {
  en: {signinWrong: 'do not match', tooLarge: 'at most 64 MB', emptyEvidence: 'Write what you did',
    givenMissing: 'Given name is missing', rosterLine: 'Line 3 of the roster needs fixing', rosterDone: 'Registered 2 learners', secret: 'at least 6 digits', registered: 'The learner is registered',
    saved: 'The record is saved', pinReset: 'The PIN is reset', enrolled: 'Enrolled', outcome: 'The outcome is recorded',
    sent: 'An assessor will review it', notYet: 'Not yet', earned: 'Earned', awarded: 'Awarded', ago: /Just now|ago/,
    bundleReady: 'is ready', userAdded: 'The staff member is added', applied: 'refused', setupDiffer: 'not the same',
    settled: 'Settled', admitted: 'is admitted', revoked: 'The site is revoked', added: 'Added to the catalog',
    transferred: 'The learner was moved', joined: 'joined the hub', micro: 'Micro-credential earned', pathway: 'Job Ready'},
  es: {signinWrong: 'no coinciden', tooLarge: 'como máximo 64 MB', emptyEvidence: 'Escriba lo que hizo',
    givenMissing: 'Falta Nombre', rosterLine: 'Hay que corregir la línea 3 de la lista', rosterDone: 'Se registraron 2 estudiantes', secret: 'al menos 6 dígitos', registered: 'El estudiante está inscrito',
    saved: 'El registro está guardado', pinReset: 'El PIN está restablecido', enrolled: 'Inscrito', outcome: 'El resultado está registrado',
    sent: 'Un evaluador lo revisará', notYet: 'Todavía no', earned: 'Obtenida', awarded: 'Otorgada', ago: /Ahora mismo|hace/,
    bundleReady: 'está listo', userAdded: 'está añadida', applied: 'rechaz', setupDiffer: 'no son iguales',
    settled: 'Resuelto', admitted: 'está admitido', revoked: 'El sitio está revocado', added: 'Añadido al catálogo',
    transferred: 'fue trasladado', joined: 'se unió al centro', micro: 'Microcredencial obtenida', pathway: 'Listo para el trabajo'},
};

/** A page on another port of this host that posts a form to `base` as soon as it loads. */
async function attackerPage(base, action, fields) {
  const inputs = Object.entries(fields)
    .map(([k, v]) => `<input type="hidden" name="${k}" value="${v}">`).join('');
  const html = `<!DOCTYPE html><form method="post" action="${base}${action}">${inputs}</form>` +
    '<script>document.forms[0].submit()</script>';
  const server = http.createServer((req, res) => { res.setHeader('content-type', 'text/html'); res.end(html); });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const answered = page.waitForResponse((r) => r.url().startsWith(base) && r.request().method() === 'POST');
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  const response = await answered;
  server.close();
  return response.status();
}

/** A new site set up from an empty folder and joined to the hub, in the browser only. */
async function firstRun() {
  const w = words[lang];
  lang = 'es';
  await go(fresh, '/setup?lang=es', 'first-run-setup');
  lang = 'en';
  await go(fresh, '/', 'first-run-setup');
  check(page.url().includes('/setup'), 'an empty folder opens the setup page');
  await page.fill('#site', 'Aroostook Learning Lab');
  await page.fill('#institution', 'Northern Maine Community College');
  await page.fill('#name', 'flo');
  await page.fill('#pin', '246810');
  await page.fill('#pin2', '246811');
  await page.click('#setup');
  await seen('first-run-pins-differ');
  check((await text()).includes(w.setupDiffer), 'two different PINs are refused in words');
  await page.fill('#pin', '246810');
  await page.fill('#pin2', '246810');
  await page.click('#setup');
  await page.waitForSelector('#set-up');
  await seen('first-run-done');
  // The service takes over the same address.
  for(let i = 0; i < 50; i++) {
    const r = await page.goto(`${fresh}/signin?lang=${lang}`).catch(() => null);
    if(r && r.ok() && (await page.content()).includes('learner-signin')) break;
    await page.waitForTimeout(200);
  }
  await signIn(fresh, 'flo', '246810');
  await seen('first-run-join-card');
  check(await page.locator('#join .qr svg').count() === 1, 'the node id is shown as a QR code');
  const id = (await page.innerText('#node-id')).replace(/\s+/g, '');
  check(id.length >= 52, `the node id is shown as text (${id})`);
  return id;
}

async function joinFresh(provisioning) {
  const w = words[lang];
  // (Cookies do not tell ports apart: signing in at the lab ended the session here.)
  await signIn(fresh, 'flo', '246810');
  await page.setInputFiles('#provisioning', provisioning);
  await page.click('#join-hub');
  await page.waitForURL(/done=joined/);
  await seen('first-run-joined');
  check((await text()).includes(w.joined), 'the new site joined the hub from the browser');
  // The first sync brings the catalog.
  let catalog = '';
  for(let i = 0; i < 60 && !catalog.includes('WorkReady'); i++) {
    await page.waitForTimeout(500);
    await page.goto(`${fresh}/staff/catalog`);
    catalog = await text();
  }
  check(catalog.includes('WorkReady'), 'the catalog arrives at the first sync');
  await seen('first-run-catalog');
  await signOut();
}

/** The site admin's day. */
async function siteAdmin(number) {
  const w = words[lang];
  await signIn(lab, ...staff.admin);
  await seen('admin-home');
  await go(lab, '/staff/learners', 'admin-learners');
  await page.fill('#q', 'Kiosk');
  await page.click('form[role=search] button');
  await seen('admin-search');
  check((await text()).includes('K-1'), 'search finds learners by name');
  // A roster: a bad one imports nothing and names the line; a good one registers everyone.
  // (Names differ per pass, or the hub would see likely duplicates.)
  await page.locator('#roster-import summary').click();
  await page.setInputFiles('#roster', {name: 'roster.csv', mimeType: 'text/csv',
    buffer: Buffer.from(`number,given_name,family_name,year_of_birth\nRO-${lang}-1,Uno,Lista ${lang},1990\nRO-${lang}-2,Dos,Lista ${lang},19x0\n`)});
  await page.click('#import-roster');
  await seen('admin-roster-refused');
  check((await text()).includes(w.rosterLine), 'a bad roster names the line to fix');
  await page.goto(`${lab}/staff/learners`);
  await page.locator('#roster-import summary').click();
  await page.setInputFiles('#roster', {name: 'roster.csv', mimeType: 'text/csv',
    buffer: Buffer.from(`number,given_name,family_name,year_of_birth\nRO-${lang}-1,Uno,Lista ${lang},1990\nRO-${lang}-2,Dos,Lista ${lang},1991\n`)});
  await page.click('#import-roster');
  await page.waitForSelector('#roster-done');
  await seen('admin-roster-imported');
  check((await text()).includes(w.rosterDone), 'a roster registers its learners');
  await go(lab, '/staff/learners/new', 'admin-register');
  // A form with its names left empty gets the message that names the fix.
  await withoutBrowserChecks();
  await page.fill('#number', number);
  await page.click('#register');
  await seen('admin-register-empty');
  check((await text()).includes(w.givenMissing), 'an empty registration names the missing field');
  await page.goto(`${lab}/staff/learners/new`);
  await page.fill('#number', number);
  await page.fill('#given_name', HOSTILE);
  // A different family name per pass, or the two passes' learners would be likely duplicates.
  await page.fill('#family_name', lang === 'es' ? 'Ríos' : 'Rivers');
  await page.fill('#year_of_birth', '1990');
  await page.selectOption('#gender', 'female');
  await page.check('input[name=race_ethnicity][value=hispanic-latino]');
  await page.check('input[name=race_ethnicity][value=american-indian-alaska-native]');
  await page.fill('#primary_language', 'Spanish');
  await page.selectOption('#pell_eligible', 'yes');
  await page.fill('#ses_determination', 'Pell eligibility');
  await page.selectOption('#enrollment_status', 'part-time');
  await page.selectOption('#first_generation', 'yes');
  await page.fill('#first_enrollment', '2026-09-14');
  await page.selectOption('#interface_language', lang);
  await page.fill('#pin', '5678');
  await page.click('#register');
  await page.waitForURL(/done=registered/);
  await seen('admin-learner');
  const learnerPage = page.url().split('?')[0];
  check((await text()).includes(w.registered) && (await text()).includes(HOSTILE), 'the learner is registered; the name shows as text');
  await page.selectOption('#achievement', 'workready');
  await page.click('#enroll');
  await page.waitForURL(/done=enrolled/);
  check((await text()).includes(w.enrolled), 'enrolled from the learner page');
  await page.fill('#year_of_birth', '1991');
  await page.selectOption('#pell_eligible', 'no');
  await page.click('#save-profile');
  await page.waitForURL(/done=profile-saved/);
  check((await text()).includes(w.saved), 'the intake record is corrected');
  check(await page.inputValue('#year_of_birth') === '1991', 'the correction shows');
  await page.fill('#pin', '4321');
  await page.click('#reset-pin');
  await page.waitForURL(/done=pin-reset/);
  check((await text()).includes(w.pinReset), 'the PIN is reset');
  await page.selectOption('#kind', 'new-employment');
  await page.fill('#detail', 'Line cook');
  await page.click('form[action$="/outcome"] button');
  await page.waitForURL(/done=outcome-recorded/);
  await seen('admin-learner-updated');
  check((await text()).includes(w.outcome), 'an outcome is recorded');

  await go(lab, '/staff/users', 'admin-staff');
  await page.fill('#name', `sam-${lang}`);
  await page.check('#new-assessor');
  await page.fill('#secret', '12');
  await page.click('#add-user');
  await seen('admin-staff-short-pin');
  check((await text()).includes(w.secret), 'a short staff PIN is refused with the rule');
  await page.goto(`${lab}/staff/users`);
  await page.fill('#name', `sam-${lang}`);
  await page.check('#new-assessor');
  await page.fill('#secret', '135791');
  await page.click('#add-user');
  await page.waitForURL(/done=user-added/);
  await seen('admin-staff-added');
  check((await text()).includes(w.userAdded), 'a staff member is added');

  await go(lab, '/staff/catalog', 'admin-catalog');
  check((await text()).includes(w.pathway), 'the catalog shows the pathway in the person\'s language');
  await go(lab, '/staff/sync', 'admin-sync');
  check(w.ago.test(await page.innerText('#last-contact')), 'the last contact with the hub is said in words');
  await page.click('#make-bundle');
  await page.waitForURL(/\/staff\/bundle\/\d+/);
  await seen('admin-bundle-progress');
  await page.waitForSelector('#bundle-done', {timeout: 60000});
  await seen('admin-bundle-done');
  check((await text()).includes(w.bundleReady) && /\d+(\.\d+)? (kB|MB|B)/.test(await text()), 'the bundle is made in the background, its size in units');
  const bundle = await fetchIn(`${lab}${await page.getAttribute('#download-bundle', 'href')}`);
  check(bundle.status === 200 && bundle.body.subarray(0, 14).toString() === 'CAIRN-BUNDLE 1', 'the bundle downloads');
  await page.goto(`${lab}/staff/sync`);
  await page.setInputFiles('#bundle', {name: 'not-a-bundle.cairn', mimeType: 'application/octet-stream', buffer: Buffer.from('hello')});
  await page.click('#apply-bundle');
  await seen('admin-bundle-refused');
  check((await page.locator('.msg.problem').count()) === 1, 'a file that is not a bundle is refused in words');
  await signOut();
  return learnerPage;
}

/** The learner's day, as far as sending evidence. */
async function learnerSends(number) {
  const w = words[lang];
  await page.goto(`${lab}/signin?lang=${lang}`);
  await page.fill('#number', number);
  await page.fill('#pin', '0000');
  await page.click('#learner-signin');
  await page.waitForURL(/error=/);
  await seen('learner-wrong-pin');
  check((await text()).includes(w.signinWrong), 'a wrong PIN gets a message that says what to do');
  await signIn(lab, number, '4321', true);
  await seen('learner-badges');
  check((await text()).includes(w.pathway), 'badges are grouped by pathway, named in the learner\'s language');
  await withoutBrowserChecks();
  await page.click('form[action="/me/evidence"] button');
  await seen('learner-empty-evidence');
  check((await text()).includes(w.emptyEvidence), 'empty evidence gets the message naming the fix');
  await page.goto(`${lab}/me`);
  await page.setInputFiles('form[action="/me/evidence"] input[type=file]', config.big);
  await page.click('form[action="/me/evidence"] button');
  await page.waitForLoadState();
  await seen('learner-too-large');
  check((await text()).includes(w.tooLarge), 'an oversized upload names the 64 MB limit');
  await page.goto(`${lab}/me`);
  await page.fill('form[action="/me/evidence"] textarea', 'I led the team check-in every morning.');
  await page.setInputFiles('form[action="/me/evidence"] input[type=file]', [
    {name: path.basename(config.evidence), mimeType: 'text/plain', buffer: fs.readFileSync(config.evidence)},
    {name: '../../x.html', mimeType: 'text/html', buffer: Buffer.from('<script>alert(1)</script>')},
  ]);
  await page.click('form[action="/me/evidence"] button');
  await page.waitForURL(/done=evidence-sent/);
  await seen('learner-sent');
  check((await text()).includes(w.sent), 'the evidence and its files are saved');
  await go(lab, '/me/sent', 'learner-what-i-sent');
  check((await text()).includes('x.html') && !(await text()).includes('../'), 'a file name shows without its path');
  await signOut();
}

/** The assessor's decision; keyboard only when `keys`. */
async function assessor(decision, feedback, keys) {
  const w = words[lang];
  await signIn(lab, ...staff.assessor);
  await go(lab, '/staff/queue', `assessor-queue-${decision}`);
  const card = page.locator('section.evidence', {hasText: HOSTILE});
  check(await card.count() === 1, 'the queue names the learner');
  const links = card.locator('a[href^="/staff/file/"]');
  if(decision === 'not-yet') {
    const hrefs = await links.evaluateAll((as) => as.map((a) => [a.textContent, a.getAttribute('href')]));
    for(const [name, href] of hrefs) {
      const f = await fetchIn(`${lab}${href}`);
      const disposition = f.headers['content-disposition'] || '';
      check(f.status === 200 && disposition.includes(`filename="${name}"`) && !disposition.includes('/'), `${name} downloads under its own name (${disposition})`);
      const type = f.headers['content-type'] || '';
      check(name.endsWith('.txt') ? type.startsWith('text/plain') : type.startsWith('text/html'), `${name} is served as what it is (${type})`);
      check((f.headers['content-security-policy'] || '').includes("default-src 'none'"), `${name} cannot run script when opened`);
    }
  }
  const id = await card.locator('input[name=evidence]').inputValue();
  if(keys) {
    await tabTo(`#feedback-${id}`);
    await page.keyboard.type(feedback);
    await tabTo(`section.evidence button[value=${decision}]`);
    await page.keyboard.press('Enter');
  } else {
    await page.fill(`#feedback-${id}`, feedback);
    await card.locator(`button[value=${decision}]`).click();
  }
  await page.waitForURL(/done=assessed/);
  await seen(`assessor-done-${decision}`);
  check((await page.locator('section.evidence', {hasText: HOSTILE}).count()) === 0, 'the decision is recorded');
  await signOut();
}

/** The learner reads "not yet" with the feedback and sends again (keyboard only when `keys`). */
async function learnerTriesAgain(number, feedback, keys) {
  const w = words[lang];
  if(keys) {
    await page.goto(`${lab}/signin?lang=${lang}`);
    await tabTo('#number');
    await page.keyboard.type(number);
    await tabTo('#pin');
    await page.keyboard.type('4321');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/me/);
  } else {
    await signIn(lab, number, '4321', true);
  }
  await seen('learner-not-yet');
  const body = await text();
  check(body.includes(w.notYet) && body.includes(feedback), 'the learner sees "not yet" and the assessor\'s feedback');
  if(keys) {
    await tabTo('form[action="/me/evidence"] textarea');
    await page.keyboard.type('Here is the photo of the log, signed by my supervisor.');
    await tabTo('form[action="/me/evidence"] button');
    await page.keyboard.press('Enter');
  } else {
    await page.fill('form[action="/me/evidence"] textarea', 'Here is the photo of the log.');
    await page.click('form[action="/me/evidence"] button');
  }
  await page.waitForURL(/done=evidence-sent/);
  await seen('learner-sent-again');
  await signOut();
}

async function issuer() {
  const w = words[lang];
  await signIn(lab, ...staff.issuer);
  await go(lab, '/staff/awards', 'issuer-awards');
  const ready = page.locator('section.card', {hasText: HOSTILE});
  check(await ready.count() === 1, 'the issuer sees the badge ready to award, with the learner\'s name');
  await ready.locator('button').click();
  await page.waitForURL(/done=awarded/);
  await seen('issuer-awarded');
  check((await text()).includes(w.awarded), 'the badge is awarded');
  await page.locator('li', {hasText: HOSTILE}).first().locator('a').click();
  await page.waitForSelector('#print');
  await seen('issuer-certificate');
  check((await page.content()).includes('application/vc+ld+json'), 'the certificate carries the signed credential');
  check(await page.locator('.cairn-bar form[action="/signout"]').count() === 1, 'the certificate page has Back, Print and Sign out');
  await page.goto(`${lab}/staff`);
  await signOut();
}

async function learnerEarned(number) {
  const w = words[lang];
  await signIn(lab, number, '4321', true);
  await seen('learner-earned');
  const body = await text();
  check(body.includes(w.earned) && body.includes(w.micro), 'the learner sees the badge and the micro-credential earned');
  await go(lab, '/me/credentials', 'learner-credentials');
  const zip = await fetchIn(`${lab}/me/takeaway`);
  const names = zip.body.toString('latin1');
  check(zip.status === 200 && zip.body.subarray(0, 2).toString() === 'PK' && names.includes('README.txt') &&
    names.includes('all-credentials.json') && names.includes('-certificate.html') && names.includes('verify.html'),
    'the take-away folder holds the credentials, the bundle, the certificates and the verifier page');
  await page.locator('a[href^="/me/certificate/"]').first().click();
  await page.waitForSelector('#print');
  await seen('learner-certificate');
  await page.click('.cairn-bar a');
  await page.waitForURL(/\/me\/credentials/);
  await signOut();
}

/** The hub operator's day: sites, reconcile, transfer, catalog, reports. */
async function operator(freshId) {
  const w = words[lang];
  await signIn(hub, ...staff.operator);
  await seen('hub-home');
  await go(hub, '/hub/sites', 'hub-sites');
  check(w.ago.test(await text()), 'the last contact of each site is said in words');
  const admitId = freshId || config.spareSite;
  const admitName = freshId ? 'Aroostook Learning Lab' : 'Spare Lab';
  await page.fill('#site', 'not-an-id');
  await page.fill('#name', admitName);
  await page.click('#admit-site');
  await seen('hub-admit-bad-id');
  check((await page.locator('.msg.problem').count()) === 1, 'a mistyped site id is refused in words');
  await page.goto(`${hub}/hub/sites`);
  await page.fill('#site', admitId);
  await page.fill('#name', admitName);
  await page.fill('#address', config.hubAddress);
  await page.click('#admit-site');
  await page.waitForSelector('#admitted');
  await seen('hub-admitted');
  check((await text()).includes(w.admitted), 'the site is admitted');
  const prov = await fetchIn(`${hub}${await page.getAttribute('#download-provisioning', 'href')}`);
  check(prov.status === 200 && prov.body.toString().includes('cairn_provisioning'), 'the provisioning file downloads');
  const provFile = path.join(artifacts, `..`, `provisioning-${lang}.json`);
  fs.writeFileSync(provFile, prov.body);
  if(!freshId) {
    await page.goto(`${hub}/hub/sites`);
    const card = page.locator('section.site', {hasText: 'Spare Lab'});
    await card.locator('summary').click();
    await card.locator('input[name^=reason]').fill('Lab closed');
    await card.locator('button.danger').click();
    await page.waitForURL(/done=site-revoked/);
    await seen('hub-revoked');
    check((await text()).includes(w.revoked), 'a site is revoked');
  }
  await go(hub, '/hub/reconcile', 'hub-reconcile');
  await page.locator('section.duplicate button').first().click();
  await page.waitForURL(/done=settled/);
  check((await text()).includes(w.settled), 'two records of one person are merged');
  await page.locator('section.conflict button').first().click();
  await page.waitForURL(/done=settled/);
  check((await text()).includes(w.settled), 'a value is picked');
  const accept = page.locator('form[action="/hub/reconcile"] input[name=action][value=accept]').first();
  await accept.locator('xpath=..').locator('button').click();
  await page.waitForURL(/done=settled/);
  await seen('hub-reconciled');

  // Move a learner to the other site.
  await page.goto(`${hub}/staff/learners?q=R-${lang === 'en' ? 1 : 2}`);
  await page.locator('tbody a').first().click();
  await seen('hub-learner');
  await page.selectOption('#to', {label: 'Ellsworth Adult Education'});
  await page.click('form[action$="/transfer"] button');
  await page.waitForURL(/done=transferred/);
  check((await text()).includes(w.transferred), 'a learner is moved to another site');

  await go(hub, '/staff/catalog', 'hub-catalog');
  await page.fill('#a-id', `forklift-safety-${lang}`);
  await page.fill('#a-name', 'Forklift Safety');
  await page.fill('#a-name-es', 'Seguridad con montacargas');
  await page.fill('#a-description', 'Operates a forklift safely.');
  await page.fill('#a-criteria', 'Passes the practical check.');
  await page.selectOption('#a-level', '2');
  await page.click('#add-achievement-button');
  await page.waitForURL(/done=catalog-added/);
  await seen('hub-catalog-added');
  check((await text()).includes(lang === 'es' ? 'Seguridad con montacargas' : 'Forklift Safety'), 'a badge is added with its Spanish name');

  await go(hub, '/hub/reports', 'hub-reports');
  check(await page.locator('figure.chart svg').count() >= 3, 'completion is drawn as charts (program, site, groups)');
  check((await text()).includes(lang === 'es' ? 'grupo pequeño' : 'small group'), 'small groups are flagged');
  const csv = await fetchIn(`${hub}/hub/reports/codebook.csv`);
  check(csv.status === 200 && (csv.headers['content-type'] || '').startsWith('text/csv') && csv.body.toString().split('\n').length > 10, 'the codebook downloads as CSV');
  await go(hub, '/staff/users', 'hub-staff');
  await signOut();
  return provFile;
}

/** What a shared kiosk must withstand (once). */
async function attacks() {
  lang = 'en';
  const [k1, k1pin] = config.kiosk[0];
  const [k2, k2pin] = config.kiosk[1];
  // Back after signing out shows the sign-in page, not the learner's.
  await signIn(lab, k1, k1pin, true);
  await signOut();
  await page.goBack();
  await page.waitForLoadState();
  check(page.url().includes('/signin') && !(await text()).includes('Kiosk K-1'), 'Back after sign-out does not show the learner\'s page');
  // Login forgery from another origin.
  const loginForgery = await attackerPage(lab, '/signin/learner', {number: k2, pin: k2pin});
  check(loginForgery === 403, `a sign-in posted from another origin is refused (${loginForgery})`);
  const stillOut = await page.goto(`${lab}/me`);
  check(stillOut.url().includes('/signin'), 'the forged sign-in started no session');
  // A learner cannot reach staff pages or another learner's enrollment.
  await signIn(lab, k2, k2pin, true);
  const staffPage = await page.goto(`${lab}/staff/queue`);
  check(staffPage.status() === 403, `a learner is refused the staff pages (${staffPage.status()})`);
  await seen('learner-forbidden');
  await page.goto(`${lab}/me`);
  const csrf = await page.inputValue('input[name=csrf]');
  const forged = await page.request.post(`${lab}/me/evidence`, {
    headers: {origin: lab},
    multipart: {csrf, enrollment: config.foreignEnrollment, narrative: 'not mine'},
  });
  check(forged.status() === 400 || forged.status() === 403, `a learner cannot send evidence to another learner's enrollment (${forged.status()})`);
  const cert = await page.goto(`${lab}/staff/certificate/A-ANY`);
  check(cert.status() === 403, 'a learner cannot open certificates from the staff pages');
  // An idle kiosk returns to the sign-in page.
  await page.goto(`${lab}/me`);
  await page.waitForURL(/expired=1/, {timeout: (config.idle + 15) * 1000});
  await seen('idle-signed-out');
  const after = await page.goto(`${lab}/me`);
  check(after.url().includes('/signin'), 'the old session no longer opens the learner\'s page');
  // PIN guessing is held per account.
  let wrong = 0;
  for(let i = 0; i < 12; i++) {
    await page.goto(`${lab}/signin`);
    await page.fill('#number', k2);
    await page.fill('#pin', '9999');
    await page.click('#learner-signin');
    await page.waitForURL(/error=/);
    if(page.url().includes('error=locked')) break;
    wrong++;
  }
  check(wrong >= 3 && wrong <= 10, `a few wrong PINs are allowed, then the account waits (${wrong})`);
  await seen('pin-held');
  // A forged assessment from another origin.
  await signIn(lab, ...staff.assessor);
  const assessForgery = await attackerPage(lab, '/staff/assess', {evidence: 'V-X', decision: 'proficient'});
  check(assessForgery === 403, `an assessment posted from another origin is refused (${assessForgery})`);
  await page.goto(`${lab}/staff`);
  await signOut();
}

/** Readable at 200 % zoom: a 550 px wide window at twice the pixels, nothing wider than it. */
async function zoomed(learnerNumber) {
  const saved = {context, page};
  context = await browser.newContext({viewport: {width: 550, height: 450}, deviceScaleFactor: 2, bypassCSP: true});
  page = await context.newPage();
  watch(page);
  lang = 'en';
  const wide = async (name) => {
    await seen(`zoom-${name}`);
    const over = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(over <= 1, `${name} at 200 % needs no sideways scrolling (${over}px)`);
  };
  await page.goto(`${lab}/signin`);
  await wide('signin');
  await signIn(lab, learnerNumber, '4321', true);
  await wide('learner');
  await signOut();
  await signIn(lab, ...staff.admin);
  await page.goto(`${lab}/staff/learners/new`);
  await wide('register');
  await page.goto(`${lab}/staff/sync`);
  await wide('sync');
  await signOut();
  await signIn(hub, ...staff.operator);
  await page.goto(`${hub}/hub/reports`);
  await wide('reports');
  await signOut();
  await context.close();
  ({context, page} = saved);
}

try {
  let freshId = null;
  for(lang of ['en', 'es']) {
    const number = `W-${lang}`;
    await go(lab, `/signin?lang=${lang}`, 'signin');
    if(lang === 'en') {
      // Keyboard: the first Tab reaches the skip link, and the learner's number comes next.
      await page.keyboard.press('Tab');
      check(await page.evaluate(() => document.activeElement.classList.contains('skip')), 'the skip link comes first');
      freshId = await firstRun();
    }
    await siteAdmin(number);
    await learnerSends(number);
    await assessor('not-yet', 'Add a photo of the log.', lang === 'en');
    await learnerTriesAgain(number, 'Add a photo of the log.', lang === 'en');
    await assessor('proficient', 'Well done.', lang === 'en');
    await issuer();
    await learnerEarned(number);
    const prov = await operator(lang === 'en' ? freshId : null);
    if(lang === 'en') {
      await joinFresh(prov);
    }
  }
  await attacks();
  await zoomed('W-en');
  console.log(`screenshots: ${shots}`);
  console.log('ALL OK');
} catch(e) {
  await page.screenshot({path: path.join(artifacts, 'zz-failure.png'), fullPage: true}).catch(() => {});
  console.log(`at ${page.url()}`);
  console.log(String(e.stack || e));
  await browser.close();
  process.exit(1);
}
await browser.close();
