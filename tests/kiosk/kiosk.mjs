// End-to-end kiosk test in Debian's headless Chromium (playwright-core, no bundled browser).
// Usage: node kiosk.mjs BASE_URL ARTIFACT_DIR EVIDENCE_FILE OTHER_LEARNERS_ENROLLMENT IDLE_SECONDS
// Prints one line per step; exits non-zero at the first thing that is not as it should be.
import {chromium} from 'playwright-core';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

const [base, artifacts, evidenceFile, foreignEnrollment, idleText] = process.argv.slice(2);
const idle = Number(idleText);
fs.mkdirSync(artifacts, {recursive: true});
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu'],
});
const page = await (await browser.newContext({viewport: {width: 1024, height: 900}})).newPage();
page.setDefaultTimeout(15000);

function check(ok, what) {
  if(!ok) {
    throw new Error(`FAILED: ${what}`);
  }
  console.log(`ok: ${what}`);
}
async function shot(name) {
  await page.screenshot({path: path.join(artifacts, `${name}.png`), fullPage: true});
}
async function text() {
  return page.locator('body').innerText();
}
async function learnerSignIn(number, pin, lang = 'en') {
  await page.goto(`${base}/signin?lang=${lang}`);
  await page.fill('#number', number);
  await page.fill('#pin', pin);
  await page.click('#learner-signin');
}
async function staffSignIn(name, secret) {
  await page.goto(`${base}/signin`);
  await page.fill('#name', name);
  await page.fill('#secret', secret);
  await page.click('#staff-signin');
}
async function signOut() {
  await page.click('header form button');
  await page.waitForURL(/\/signin/);
}
// A page on another port of this host (the same "site" for cookies) that posts a form to the
// kiosk as soon as it loads: what a cross-site request forgery looks like.
async function attackerPage(action, fields) {
  const inputs = Object.entries(fields)
    .map(([k, v]) => `<input type="hidden" name="${k}" value="${v}">`).join('');
  const html = `<!DOCTYPE html><form method="post" action="${base}${action}">${inputs}</form>` +
    '<script>document.forms[0].submit()</script>';
  const server = http.createServer((req, res) => { res.setHeader('content-type', 'text/html'); res.end(html); });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${server.address().port}/`;
  const answered = page.waitForResponse((r) => r.url().startsWith(base) && r.request().method() === 'POST');
  await page.goto(url);
  const response = await answered;
  server.close();
  return response.status();
}

try {
  // 1. The sign-in page, in both languages, usable from the keyboard.
  await page.goto(`${base}/signin`);
  await shot('01-signin-en');
  check((await text()).includes('Learners: sign in'), 'the English sign-in page renders');
  await page.keyboard.type('K-1');
  check(await page.evaluate(() => document.activeElement.id) === 'number', 'the learner number field has focus');

  // 2. A learner signs in and submits evidence with a file.
  await learnerSignIn('K-1', '1111');
  await page.waitForURL(/\/me/);
  let body = await text();
  check(body.includes('My badges') && body.includes('WorkReady') && body.includes('In progress'), 'the learner sees their badge in progress');
  await shot('02-learner-home');
  await page.fill('textarea[name=narrative]', 'I led the team check-in every morning.');
  await page.setInputFiles('input[type=file]', evidenceFile);
  await page.click('section.card button');
  await page.waitForURL(/\/me\?/);
  check((await text()).includes('Your evidence was saved'), 'the evidence and its file are saved');
  await shot('03-evidence-sent');
  await signOut();
  // Back after signing out must not show the learner's page from the browser's cache.
  await page.goBack();
  await page.waitForLoadState();
  body = await text();
  check(!body.includes('team check-in') && !body.includes('My badges') && page.url().includes('/signin'), 'Back after sign-out shows the sign-in page, not the learner\'s');

  // Login CSRF: a page elsewhere cannot sign this kiosk into an account of its choosing.
  const loginForgery = await attackerPage('/signin/learner', {number: 'K-2', pin: '2222'});
  check(loginForgery === 403, `a sign-in posted from another origin is refused (${loginForgery})`);
  const stillOut = await page.goto(`${base}/me`);
  check(stillOut.url().includes('/signin'), 'the forged sign-in started no session');

  // 3. A second learner, in Spanish, cannot reach the first learner's pages or records.
  await learnerSignIn('K-2', '2222', 'es');
  await page.waitForURL(/\/me/);
  body = await text();
  check(body.includes('Mis insignias') && body.includes('Enviar evidencia'), 'the Spanish interface renders');
  check(!body.includes('K-1') && !body.includes('team check-in'), 'nothing of the first learner shows');
  await shot('04-learner-es');
  const staffPage = await page.goto(`${base}/staff`);
  check(staffPage.status() === 403, 'a learner is refused the staff pages');
  await shot('05-forbidden');
  // A learner tampering with the form (the page allows no script, so from outside it, with the
  // learner's own cookie and form token).
  const csrf = await page.inputValue('input[name=csrf]');
  const forgedResponse = await page.request.post(`${base}/me/evidence`, {
    headers: {origin: base},
    multipart: {csrf, enrollment: foreignEnrollment, narrative: 'not mine'},
  });
  const forged = {status: forgedResponse.status(), text: await forgedResponse.text()};
  check(forged.status === 400 && forged.text.includes('their own'), 'a learner cannot submit evidence to another learner\'s enrollment');
  const cert = await page.goto(`${base}/staff/certificate/A-ANY`);
  check(cert.status() === 403, 'a learner cannot open certificates from the staff pages');
  await page.goto(`${base}/me`);
  await signOut();

  // 4. The assessor sees the queue and accepts the evidence.
  await staffSignIn('asa', '333333');
  await page.waitForURL(/\/staff/);
  body = await text();
  check(body.includes('Evidence to assess') && body.includes('team check-in'), 'the assessor sees the evidence in the queue');
  check(!body.includes('Ready to award'), 'an assessor is not shown the issuer\'s work');
  await shot('06-assessor-queue');
  const evidenceId = await page.inputValue('section.evidence input[name=evidence]');
  const assessForgery = await attackerPage('/staff/assess', {evidence: evidenceId, decision: 'not-yet'});
  check(assessForgery === 403, `an assessment posted from another origin is refused (${assessForgery})`);
  await page.goto(`${base}/staff`);
  check((await text()).includes('team check-in'), 'the forged assessment recorded nothing');
  await page.click('section.evidence button[value=proficient]');
  await page.waitForURL(/\/staff/);
  check(!(await text()).includes('team check-in'), 'the decision is recorded and the queue is empty');
  await signOut();

  // 5. The issuer awards the badge and prints the certificate.
  await staffSignIn('ivy', '444444');
  await page.waitForURL(/\/staff/);
  check((await text()).includes('Ready to award'), 'the issuer sees what is ready to award');
  await shot('07-issuer');
  await page.click('section.card button');
  await page.waitForURL(/\/staff\?/);
  check((await text()).includes('✓ WorkReady'), 'the badge is awarded');
  await page.click('text=Print certificate');
  check((await text()).includes('WorkReady') && (await page.content()).includes('application/vc+ld+json'), 'the certificate carries the signed credential');
  await shot('08-certificate');
  await page.goto(`${base}/staff`);
  await signOut();

  // 6. The learner sees the badge earned.
  await learnerSignIn('K-1', '1111');
  await page.waitForURL(/\/me/);
  check((await text()).includes('Earned'), 'the learner sees the badge earned');
  await shot('09-learner-earned');

  // 7. A shared kiosk signs the learner out after inactivity.
  await page.waitForTimeout((idle + 2) * 1000);
  await page.waitForURL(/expired=1/, {timeout: 10000});
  check((await text()).includes('signed out after a period without activity'), 'the kiosk signs an idle learner out');
  await shot('10-expired');
  const after = await page.goto(`${base}/me`);
  check(after.url().includes('/signin'), 'the old session no longer opens the learner\'s page');

  // 8. PIN guessing is throttled per account.
  let wrong = 0;
  for(let i = 0; i < 12; i++) {
    await learnerSignIn('K-2', '9999');
    await page.waitForURL(/error=/);
    if(page.url().includes('error=locked')) break;
    wrong++;
  }
  check(wrong >= 3 && wrong <= 10, `a few wrong PINs are allowed, then the account waits (${wrong})`);
  await learnerSignIn('K-2', '2222');
  await page.waitForURL(/error=locked/);
  check((await text()).includes('Too many wrong tries'), 'once held, even the right PIN waits');
  await shot('11-locked');

  // 9. The admin sees sync status and makes a USB bundle.
  await staffSignIn('ada', '222222');
  await page.waitForURL(/\/staff/);
  body = await text();
  check(body.includes('Sync and USB bundles') && body.includes('Last contact with the hub'), 'the admin sees the sync status');
  await page.click('#make-bundle');
  check((await text()).includes('Bundle written'), 'the admin makes a USB bundle');
  await shot('12-admin-bundle');
  const href = await page.getAttribute('#download-bundle', 'href');
  const bundle = await page.request.get(`${base}${href}`);
  const bytes = await bundle.body();
  const download = {status: bundle.status(), start: bytes.subarray(0, 14).toString()};
  check(download.status === 200 && download.start === 'CAIRN-BUNDLE 1', 'the bundle downloads');
  console.log('ALL OK');
} catch(e) {
  await shot('zz-failure').catch(() => {});
  console.log(String(e.stack || e));
  await browser.close();
  process.exit(1);
}
await browser.close();
