// Build the verifier page: bundle src/page.js (and what it imports) with esbuild, minified,
// and inline it into src/page.html, giving one self-contained file, dist/cairn-verifier.html.
// The output depends only on the sources, the dictionary and the locked packages, so
// `node build.mjs --check` can tell whether the committed file is what its sources give.
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, 'dist', 'cairn-verifier.html');

const bundle = await esbuild.build({
  entryPoints: [path.join(here, 'src', 'page.js')],
  bundle: true,
  minify: true,
  format: 'iife',
  target: 'es2020',
  charset: 'utf8',
  legalComments: 'none',
  loader: {'.txt': 'text'},
  write: false,
});
const script = bundle.outputFiles[0].text.replaceAll('</script', '<\\/script');
const template = fs.readFileSync(path.join(here, 'src', 'page.html'), 'utf8');
const marker = '/* SCRIPT */';
if(!template.includes(marker)) {
  throw new Error('src/page.html has no /* SCRIPT */ marker');
}
const html = template.replace(marker, () => script.trim());

if(process.argv.includes('--check')) {
  const committed = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '';
  if(committed !== html) {
    console.error(`dist/cairn-verifier.html is not what its sources build (${committed.length} bytes committed, ${html.length} built): run npm run build and commit it`);
    process.exit(1);
  }
  console.log(`dist/cairn-verifier.html matches its sources (${html.length} bytes)`);
} else {
  fs.mkdirSync(path.dirname(out), {recursive: true});
  fs.writeFileSync(out, html);
  console.log(`wrote dist/cairn-verifier.html (${html.length} bytes)`);
}
