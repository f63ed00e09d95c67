// The certificate on paper, in Debian's headless Chromium (playwright-core, no bundled browser).
//   node paper.mjs print CERT.html ARTIFACT_DIR
//     screenshots the QR code at print resolution (ARTIFACT_DIR/qr.png), prints the page to PDF
//     as Letter and as A4, and prints one JSON line: {"letter": pages, "a4": pages}.
//   node paper.mjs check VERIFIER.html PAYLOAD [NAME]
//     opens the verifier page from file:// with the payload in its #fragment, with every
//     request that is not the page itself refused (offline), and prints one JSON line:
//     {"verdict": ..., "reason": ..., "details": {...}, "name": ..., "requests": [...]}.
import {chromium} from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import {pathToFileURL} from 'node:url';

const [mode, file, arg, name] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu'],
});
try {
  if(mode === 'print') {
    fs.mkdirSync(arg, {recursive: true});
    // Three device pixels per CSS pixel: the QR code's modules are several pixels wide, as a
    // phone camera sees a printed page.
    const context = await browser.newContext({viewport: {width: 900, height: 1200}, deviceScaleFactor: 3});
    const page = await context.newPage();
    await page.goto(pathToFileURL(file).href);
    await page.emulateMedia({media: 'print'});
    await page.screenshot({path: path.join(arg, 'certificate.png'), fullPage: true});
    await page.locator('.qr svg').screenshot({path: path.join(arg, 'qr.png')});
    const pages = {};
    for(const format of ['Letter', 'A4']) {
      const pdf = await page.pdf({format, printBackground: true});
      fs.writeFileSync(path.join(arg, `certificate-${format}.pdf`), pdf);
      // Each page of a PDF is one object of /Type /Page (the tree's root is /Type /Pages).
      pages[format.toLowerCase()] = (pdf.toString('latin1').match(/\/Type\s*\/Page(?![a-zA-Z])/g) || []).length;
    }
    console.log(JSON.stringify(pages));
  } else if(mode === 'check') {
    const context = await browser.newContext({viewport: {width: 420, height: 900}});
    const requests = [];
    // Offline: anything but the page's own file is refused (and noted).
    await context.route('**/*', route => {
      const url = route.request().url();
      if(url.startsWith('file:')) return route.continue();
      requests.push(url);
      return route.abort();
    });
    const page = await context.newPage();
    const digits = arg.includes('#') ? arg.slice(arg.lastIndexOf('#') + 1) : arg;
    await page.goto(`${pathToFileURL(file).href}#${digits}`);
    await page.waitForFunction(() => /VALID|INVALID|UNCONFIRMED/.test(document.getElementById('verdict').textContent));
    const details = {};
    for(const row of await page.locator('#details tr').all()) {
      details[await row.locator('th').innerText()] = await row.locator('td').innerText();
    }
    let nameResult = null;
    if(name !== undefined) {
      await page.fill('#name', name);
      await page.click('#name-form button');
      nameResult = await page.locator('#name-result').innerText();
    }
    await page.screenshot({path: `${file}.png`, fullPage: true});
    console.log(JSON.stringify({
      verdict: await page.locator('#verdict').innerText(),
      reason: await page.locator('#reason').innerText(),
      details,
      name: nameResult,
      requests,
    }));
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
} finally {
  await browser.close();
}
