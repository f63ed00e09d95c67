// The PouchDB side of Cairn's sync benchmarks (issue 19). Run by run.sh, which installs the
// packages of package.json into a temporary folder, copies this file beside them and passes the
// program's records (JSON lines from `cargo run --release -p cairn-node --example bench_program`).
//
//   node compare.mjs --data FILE --work DIR [--slow-learners 100] [--rtt-ms 100]
//                    [--sites 50,200] [--site-learners 2] [--batches 100,500] [--timeout-s 900]
//                    [--keep-alive] [--check]
//
// Three processes on loopback: this one holds the sites' databases (PouchDB, leveldb on disk) and
// replicates; a server process runs express-pouchdb over PouchDB with leveldb (the hub); a relay
// process between them counts every byte both ways and can delay each direction (a round-trip
// link). By default the sites' HTTP client is PouchDB's own (node-fetch, which closes the
// connection after each request when it is given no agent); --keep-alive gives it a keep-alive
// agent, as a browser would reuse connections. Prints Markdown tables. Every wait is bounded
// (--timeout-s for the whole run, and each replication); exits non-zero on any failure or
// mismatch.

import { fork } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const children = []; // the server and relay processes
let stopping = false;

function fail(e) {
  console.error(`compare.mjs: ${e && e.message ? e.message : e}`);
  for (const c of children) c.kill('SIGKILL');
  process.exit(1);
}

function parseArgs(argv) {
  const o = {
    data: null, work: null, slowLearners: 100, rttMs: 100, sites: [50, 200], siteLearners: 2,
    batches: [100, 500], timeoutS: 900, keepAlive: false, check: false,
  };
  const list = (s) => s.split(',').filter(Boolean).map((x) => {
    const n = Number(x);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`not a positive whole number: ${x}`);
    return n;
  });
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (k === '--keep-alive' || k === '--check') { o[k === '--check' ? 'check' : 'keepAlive'] = true; i -= 1; continue; }
    if (v === undefined) throw new Error(`${k} needs a value`);
    if (k === '--data') o.data = v;
    else if (k === '--work') o.work = v;
    else if (k === '--slow-learners') [o.slowLearners] = list(v);
    else if (k === '--rtt-ms') [o.rttMs] = list(v);
    else if (k === '--sites') o.sites = list(v);
    else if (k === '--site-learners') [o.siteLearners] = list(v);
    else if (k === '--batches') o.batches = list(v);
    else if (k === '--timeout-s') [o.timeoutS] = list(v);
    else throw new Error(`unknown option ${k}`);
  }
  if (!o.check && (!o.data || !o.work)) throw new Error('--data FILE and --work DIR are required');
  return o;
}

// ---- the hub: express-pouchdb over PouchDB (leveldb), counting HTTP requests -----------------

function server(dir) {
  const express = require('express');
  const PouchDB = require('pouchdb');
  fs.mkdirSync(dir, { recursive: true });
  const Hub = PouchDB.defaults({ prefix: dir + path.sep });
  const app = express();
  let requests = 0;
  app.use((req, res, next) => { requests += 1; next(); });
  app.use('/', require('express-pouchdb')(Hub, { mode: 'minimumForPouchDB', inMemoryConfig: true }));
  const s = app.listen(0, '127.0.0.1', () => process.send({ port: s.address().port }));
  process.on('message', (m) => {
    if (m === 'stats') process.send({ requests });
    if (m === 'reset') { requests = 0; process.send({ reset: true }); }
  });
  process.on('disconnect', () => process.exit(0));
}

// ---- the relay: counts bytes both ways; delays each direction by half the round trip ---------

// With a round trip, a new connection also waits one round trip before its first bytes go on (the
// TCP handshake a real link would cost: here the relay accepts on loopback at once).
function relay(target, rttMs) {
  const oneWay = rttMs / 2;
  let bytes = 0;
  let connections = 0;
  const pipe = (from, to, handshake) => {
    // Chunks leave in order, each oneWay ms after it arrived (and not before the handshake).
    const notBefore = performance.now() + handshake;
    const queue = [];
    let timer = null;
    const drain = () => {
      timer = null;
      while (queue.length && queue[0].due <= performance.now()) queue.shift().go();
      if (queue.length) timer = setTimeout(drain, Math.max(0, queue[0].due - performance.now()));
    };
    const send = (go) => {
      if (rttMs === 0) return go();
      queue.push({ due: Math.max(performance.now(), notBefore) + oneWay, go });
      if (!timer) timer = setTimeout(drain, Math.max(0, queue[0].due - performance.now()));
    };
    from.on('data', (chunk) => { bytes += chunk.length; send(() => to.write(chunk)); });
    from.on('end', () => send(() => to.end()));
    from.on('error', () => send(() => to.destroy()));
  };
  const s = net.createServer({ allowHalfOpen: true }, (client) => {
    connections += 1;
    const up = net.connect({ port: target, host: '127.0.0.1', allowHalfOpen: true });
    client.setNoDelay(true);
    up.setNoDelay(true);
    pipe(client, up, rttMs);
    pipe(up, client, 0);
  });
  s.listen(0, '127.0.0.1', () => process.send({ port: s.address().port }));
  process.on('message', (m) => {
    if (m === 'stats') process.send({ bytes, connections });
    if (m === 'reset') { bytes = 0; connections = 0; process.send({ reset: true }); }
  });
  process.on('disconnect', () => process.exit(0));
}

// ---- the sites and the measurements ---------------------------------------------------------

function within(promise, seconds, what) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${seconds} s`)), seconds * 1000);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

async function start(args) {
  const child = fork(new URL(import.meta.url).pathname, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.push(child);
  child.on('exit', (code, signal) => {
    if (!stopping) fail(new Error(`${args[0]} process ended (${code ?? signal})`));
  });
  const ready = await within(new Promise((resolve) => child.once('message', resolve)), 60, `${args[0]} start`);
  const ask = (m) => within(new Promise((resolve) => { child.once('message', resolve); child.send(m); }), 30, `${args[0]} ${m}`);
  return { port: ready.port, ask };
}

async function readProgram(file) {
  const learners = new Map(); // learner id -> its records, in the file's order
  let meta = null;
  const lines = readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const v = JSON.parse(line);
    if (v.meta) { meta = v.meta; continue; }
    if (!learners.has(v.learner)) learners.set(v.learner, []);
    learners.get(v.learner).push(v);
  }
  if (!meta) throw new Error(`${file} has no meta line`);
  return { meta, learners: [...learners.values()] };
}

// Cairn log entries behind a set of records: one per record, except the awards an award entry
// carries beside its achievement's (the pathway's micro-credential).
const entriesOf = (docs) => docs.filter((d) => !(d.type === 'award' && d.kind !== 'achievement')).length;
const jsonBytes = (docs) => docs.reduce((n, d) => n + Buffer.byteLength(JSON.stringify(d)), 0);
const fmt = (n, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const pct = (v, p) => { const s = [...v].sort((a, b) => a - b); return s[Math.round((s.length - 1) * p)]; };

async function main(o) {
  const watchdog = setTimeout(() => fail(new Error(`the whole run took over ${o.timeoutS} s`)), o.timeoutS * 1000);
  const PouchDB = require('pouchdb');
  const { meta, learners } = await readProgram(o.data);
  const all = learners.flat();
  if (learners.length !== meta.learners) throw new Error(`meta says ${meta.learners} learners, the file has ${learners.length}`);
  if (entriesOf(all) !== meta.cairn_entries) throw new Error(`records map to ${entriesOf(all)} entries, Cairn wrote ${meta.cairn_entries}`);
  const maxSites = Math.max(0, ...o.sites);
  if (o.slowLearners > learners.length) throw new Error(`--slow-learners ${o.slowLearners} > ${learners.length} learners in the data`);
  if (maxSites * o.siteLearners > learners.length) throw new Error(`${maxSites} sites x ${o.siteLearners} learners need more than the ${learners.length} learners in the data`);

  const hub = await start(['server', path.join(o.work, 'hub')]);
  const plain = await start(['relay', String(hub.port), '0']);
  const slow = await start(['relay', String(hub.port), String(o.rttMs)]);
  const local = (name) => new PouchDB(path.join(o.work, name));
  let remoteN = 0;
  const remote = (relayPort) => `http://127.0.0.1:${relayPort}/hub${++remoteN}`;
  const agent = new http.Agent({ keepAlive: true });
  const keepAlive = (url, opts) => PouchDB.fetch(url, { ...opts, agent });
  const replicate = async (db, url, opts, what) => {
    const target = o.keepAlive ? new PouchDB(url, { fetch: keepAlive }) : url;
    const r = await within(PouchDB.replicate(db, target, opts), o.timeoutS, what);
    if (!r.ok || r.doc_write_failures) throw new Error(`${what}: ${JSON.stringify(r.errors)}`);
    return r;
  };
  // A database on the hub holds exactly `n` documents (asked directly, not through a relay).
  const holds = async (url, n, what) => {
    const direct = url.replace(/:\d+\//, `:${hub.port}/`);
    const info = await within(new PouchDB(direct).info(), 60, `${what}: info`);
    if (info.doc_count !== n) throw new Error(`${what}: the hub holds ${info.doc_count} documents, expected ${n}`);
  };
  const reset = () => Promise.all([hub.ask('reset'), plain.ask('reset'), slow.ask('reset')]);
  const rows = {};

  console.log(`# PouchDB ${PouchDB.version} (leveldb) against the same program as Cairn's benches`);
  console.log(`\nData: ${learners.length} learners, ${fmt(all.length)} records as JSON documents `
    + `(${fmt(jsonBytes(all))} bytes of JSON), from ${fmt(meta.cairn_entries)} Cairn log entries. `
    + `Node ${process.version}. HTTP client: `
    + (o.keepAlive ? 'keep-alive agent (--keep-alive).' : "PouchDB's default (a new connection per request)."));

  // 5. Local writes: every record put one at a time, as the application writes them.
  const site = local('site');
  let t = performance.now();
  for (const d of all) await within(site.put(d), 60, `put ${d._id}`);
  const writeS = (performance.now() - t) / 1000;
  rows.writes = `${fmt(writeS, 2)} s (${fmt(all.length)} puts, ${fmt(all.length / writeS)}/s; leveldb, no fsync)`;

  // 1-2. First sync of the whole site to an empty database on the hub, per batch size.
  console.log('\n## First sync of one site to an empty hub database (through the counting relay)\n');
  console.log('| batch_size | documents | seconds | Cairn entries/s | documents/s | bytes both ways | HTTP requests | TCP connections |');
  console.log('|---|---|---|---|---|---|---|---|');
  const first = [];
  for (const batch of o.batches) {
    await reset();
    const url = remote(plain.port);
    t = performance.now();
    const r = await replicate(site, url, { batch_size: batch }, `first sync, batch ${batch}`);
    const s = (performance.now() - t) / 1000;
    const [{ bytes, connections }, { requests }] = await Promise.all([plain.ask('stats'), hub.ask('stats')]);
    if (r.docs_written !== all.length) throw new Error(`first sync wrote ${r.docs_written} of ${all.length}`);
    await holds(url, all.length, 'first sync');
    first.push({ batch, s, bytes });
    console.log(`| ${batch} | ${fmt(r.docs_written)} | ${fmt(s, 2)} | ${fmt(meta.cairn_entries / s)} | ${fmt(r.docs_written / s)} | ${fmt(bytes)} | ${fmt(requests)} | ${fmt(connections)} |`);
  }
  rows.rate = first.map((f) => `${fmt(meta.cairn_entries / f.s)} (batch ${f.batch})`).join(', ');
  rows.bytes = first.map((f) => `${fmt(f.bytes / 1e6, 2)} MB (batch ${f.batch})`).join(', ');

  // 7'. A link with a round trip of --rtt-ms: --slow-learners learners' records, then a no-op.
  const some = learners.slice(0, o.slowLearners).flat();
  const slowSite = local('slow-site');
  await within(slowSite.bulkDocs(some), 120, 'slow-link setup');
  const slowUrl = remote(slow.port);
  console.log(`\n## ${o.slowLearners} learners over a ${o.rttMs} ms round-trip link (default batch_size)\n`);
  console.log('| sync | documents | seconds | bytes both ways | HTTP requests | TCP connections |\n|---|---|---|---|---|---|');
  for (const what of ['first', 'no-op']) {
    await reset();
    t = performance.now();
    const r = await replicate(slowSite, slowUrl, {}, `${what} sync over the slow link`);
    const s = (performance.now() - t) / 1000;
    const [{ bytes, connections }, { requests }] = await Promise.all([slow.ask('stats'), hub.ask('stats')]);
    const want = what === 'first' ? some.length : 0;
    if (r.docs_written !== want) throw new Error(`${what} sync over the slow link wrote ${r.docs_written}, expected ${want}`);
    console.log(`| ${what} | ${fmt(r.docs_written)} | ${fmt(s, 2)} | ${fmt(bytes)} | ${requests} | ${connections} |`);
    if (what === 'first') rows.slow = `${fmt(s, 1)} s (${fmt(entriesOf(some))} entries)`;
    else rows.noop = `${fmt(s, 2)} s, ${requests} HTTP requests`;
  }
  await holds(slowUrl, some.length, 'slow link');

  // 6. Many sites at once, each with --site-learners learners' records, to one hub database.
  console.log(`\n## Sites replicating at once to one hub database (each ${o.siteLearners} learners' records)\n`);
  console.log('| sites | documents | Cairn entries | wall s | Cairn entries/s | p50 ms | p95 ms | p99 ms | HTTP requests | TCP connections |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  const at = [];
  for (const n of o.sites) {
    const sites = [];
    for (let i = 0; i < n; i++) {
      const docs = learners.slice(i * o.siteLearners, (i + 1) * o.siteLearners).flat();
      const db = local(`sites${n}-${i}`);
      await within(db.bulkDocs(docs), 60, `site ${i} setup`);
      sites.push({ db, docs });
    }
    const url = remote(plain.port);
    await within(new PouchDB(url).info(), 60, 'create the hub database'); // not timed, as the catalog fetch in Cairn's bench
    await reset();
    t = performance.now();
    const done = await Promise.all(sites.map(async ({ db, docs }, i) => {
      const t0 = performance.now();
      const r = await replicate(db, url, {}, `site ${i} of ${n}`);
      if (r.docs_written !== docs.length) throw new Error(`site ${i} of ${n} wrote ${r.docs_written} of ${docs.length}`);
      return performance.now() - t0;
    }));
    const s = (performance.now() - t) / 1000;
    const [{ connections }, { requests }] = await Promise.all([plain.ask('stats'), hub.ask('stats')]);
    const docs = sites.reduce((k, x) => k + x.docs.length, 0);
    const entries = sites.reduce((k, x) => k + entriesOf(x.docs), 0);
    await holds(url, docs, `${n} sites`);
    console.log(`| ${n} | ${fmt(docs)} | ${fmt(entries)} | ${fmt(s, 2)} | ${fmt(entries / s)} | ${fmt(pct(done, 0.5))} | ${fmt(pct(done, 0.95))} | ${fmt(pct(done, 0.99))} | ${fmt(requests)} | ${fmt(connections)} |`);
    at.push(`${fmt(entries / s)}; p99 ${fmt(pct(done, 0.99) / 1000, 2)} s (${n})`);
    for (const x of sites) await within(x.db.close(), 30, 'close a site');
  }
  rows.sites = at.join(' / ');

  console.log('\n## The PouchDB column of issue 19\'s table\n');
  console.log('| measure | PouchDB replication (express-pouchdb, leveldb) |\n|---|---|');
  console.log(`| first sync, entries/s | ${rows.rate} |`);
  console.log(`| first sync, bytes | ${rows.bytes} |`);
  console.log(`| ${o.slowLearners} learners over a ${o.rttMs} ms round-trip link | ${rows.slow}; no-op ${rows.noop} |`);
  console.log(`| ${o.sites.join(' / ')} sites at once, entries/s | ${rows.sites} |`);
  console.log(`| ${fmt(meta.cairn_entries)} local writes | ${rows.writes} |`);

  await within(Promise.all([site.close(), slowSite.close()]), 30, 'close');
  stopping = true;
  for (const c of children) c.disconnect();
  clearTimeout(watchdog);
  process.exit(0); // the HTTP client's kept-alive sockets would hold the process open
}

// Dispatch last, once every declaration above is initialized.
const role = process.argv[2];
if (role === 'server') server(process.argv[3]);
else if (role === 'relay') relay(Number(process.argv[3]), Number(process.argv[4]));
else {
  // --check: only parse the options (run.sh, before it builds and installs anything).
  await Promise.resolve().then(() => parseArgs(process.argv.slice(2)))
    .then((o) => (o.check ? process.exit(0) : main(o))).catch((e) => fail(e));
}
