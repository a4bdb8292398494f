// End-to-end test in a real browser: JupyterLab from the project's .venv, the project's kernel
// (`rust-multiproc`), headless Chromium driven by playwright-core.
//
//  1. Q3: opens notebooks/03_*.ipynb, runs Run → Run All Cells, and asserts that "Hello, Alice!"
//     and then "Main process continues..." are on the page, in that order, with every code cell
//     executed. Screenshot: target/browser/q3.png.
//  2. Interrupt: a notebook whose second cell keeps a Pool of 2 busy (each worker prints its pid,
//     then sleeps); presses the toolbar's interrupt button (■) and asserts that the cell stops,
//     the worker processes are gone (checked in /proc), and a following cell runs and prints.
//     Screenshots: target/browser/interrupt.png (after the interrupt), target/browser/recovered.png.
//
// The server runs on 127.0.0.1, a free port, with a random token, on a copy of notebooks/ in
// target/browser/work (so autosave never writes outputs into the repository), with its own
// Jupyter config/data/runtime/settings directories (nothing from the user's ~/.jupyter). Every wait
// has a time limit, and a watchdog ends the whole test if it runs over.
//
// Environment: MULTIPROC_VENV (default .venv), CHROMIUM (default /usr/bin/chromium),
// BROWSER_TEST_TIMEOUT_S (whole-test limit, default 900).
// Run through tests/browser/run.sh, which installs Chromium and playwright-core first.

import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const VENV = path.resolve(ROOT, process.env.MULTIPROC_VENV || '.venv');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const OUT = path.join(ROOT, 'target', 'browser');
const WORK = path.join(OUT, 'work');
const SPEC = 'rust-multiproc';
const LAB_LOG = path.join(OUT, 'jupyterlab.log');
const TEST_LIMIT_S = Number(process.env.BROWSER_TEST_TIMEOUT_S || 900);

// Time limits (ms).
const SERVER_START = 60_000;
const KERNEL_READY = 180_000; // a kernel whose work slot is cold compiles the library first
const RUN_ALL = 240_000;
const WORKERS_UP = 180_000;
const INTERRUPTED = 60_000;
const WORKERS_GONE = 5_000;
const SHUTDOWN = 20_000;

const t0 = Date.now();
const secs = () => ((Date.now() - t0) / 1000).toFixed(1);
const log = (msg) => console.log(`[browser-test ${secs()}s] ${msg}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class TestFailure extends Error {}
function check(cond, msg) {
  if (!cond) throw new TestFailure(msg);
}

/** Polls `fn` until it returns a truthy value; fails with `what` after `ms`. */
async function waitFor(what, ms, fn, every = 250) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      if (e instanceof TestFailure) throw e;
      last = e;
    }
    if (Date.now() > end) {
      throw new TestFailure(`timed out after ${ms / 1000} s waiting for ${what}${last ? ` (last error: ${last.message})` : ''}`);
    }
    await sleep(every);
  }
}

// ---------- files ----------

function findQ3() {
  const dir = path.join(ROOT, 'notebooks');
  const names = fs.readdirSync(dir).filter((n) => n.endsWith('.ipynb')).sort();
  const byName = names.find((n) => /^0?3[_\- ]/.test(n));
  if (byName) return byName;
  const byText = names.find((n) => fs.readFileSync(path.join(dir, n), 'utf8').includes('Hello, Alice!'));
  check(byText, `no Q3 notebook in ${dir} (looked for 03_*.ipynb, then for "Hello, Alice!")`);
  return byText;
}

function codeCell(id, source) {
  return { cell_type: 'code', id, execution_count: null, metadata: {}, outputs: [], source };
}

/** The interrupt notebook: a pool, a long pool cell that prints its workers' pids, a follow-up. */
function interruptNotebook() {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { display_name: 'Rust (multiproc)', language: 'rust', name: SPEC },
      language_info: { name: 'Rust' },
    },
    cells: [
      codeCell(
        'make-pool',
        [
          'let pool = Pool::new(2)?;',
          'println!("runtime pid {}", std::process::id());',
          'println!("first workers {:?}", pool.worker_pids());',
        ].join('\n'),
      ),
      codeCell(
        'long-pool-cell',
        [
          'println!("workers before the long map {:?}", pool.worker_pids());',
          'let done = pool.map(',
          '    |task: u64| {',
          '        println!("worker pid {} sleeping on task {task}", std::process::id());',
          '        std::thread::sleep(std::time::Duration::from_secs(300));',
          '        task',
          '    },',
          '    0..2,',
          ')?;',
          'println!("long map finished without an interrupt: {done:?}");',
        ].join('\n'),
      ),
      codeCell(
        'after-interrupt',
        [
          'let again = Pool::new(2)?;',
          'let squares = again.map(|x: u64| x * x, 0..5)?;',
          'println!("after the interrupt: runtime pid {}, a new pool gives {squares:?}", std::process::id());',
        ].join('\n'),
      ),
    ],
  };
}

function prepareWork() {
  fs.rmSync(WORK, { recursive: true, force: true });
  fs.mkdirSync(WORK, { recursive: true });
  fs.cpSync(path.join(ROOT, 'notebooks'), path.join(WORK, 'notebooks'), { recursive: true });
  fs.writeFileSync(path.join(WORK, 'interrupt-pool.ipynb'), JSON.stringify(interruptNotebook(), null, 1));
  // JupyterLab settings for the test's own settings directory: every cell in the DOM (no
  // windowing, so text checks see all outputs), no news or update checks (closed network).
  const settings = path.join(OUT, 'jupyter', 'settings');
  const write = (rel, obj) => {
    fs.mkdirSync(path.dirname(path.join(settings, rel)), { recursive: true });
    fs.writeFileSync(path.join(settings, rel), JSON.stringify(obj, null, 2));
  };
  write('@jupyterlab/notebook-extension/tracker.jupyterlab-settings', { windowingMode: 'none' });
  write('@jupyterlab/apputils-extension/notification.jupyterlab-settings', { fetchNews: 'false', checkForUpdates: false });
}

// ---------- /proc ----------

/** state, ppid and start time of a pid from /proc/PID/stat, or null if there is no such process. */
function procStat(pid) {
  let text;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: rest[0], ppid: Number(rest[1]), start: rest[19], comm: text.slice(text.indexOf('(') + 1, text.lastIndexOf(')')) };
}

/** 'gone' (no /proc entry, or the pid was reused), 'zombie' (dead, not reaped yet) or 'alive'. */
function procFate(pid, start) {
  const s = procStat(pid);
  if (!s || s.start !== start) return 'gone';
  return s.state === 'Z' || s.state === 'X' ? 'zombie' : 'alive';
}

// ---------- server ----------

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function startServer() {
  const jupyter = path.join(VENV, 'bin', 'jupyter');
  check(fs.existsSync(jupyter), `${jupyter} not found: run scripts/setup.sh first (it creates .venv with JupyterLab)`);
  const specFile = path.join(VENV, 'share', 'jupyter', 'kernels', SPEC, 'kernel.json');
  check(fs.existsSync(specFile), `${specFile} not found: run scripts/setup.sh first (it installs the kernel into .venv)`);

  const port = await freePort();
  const token = randomBytes(24).toString('hex');
  const dirs = Object.fromEntries(['config', 'data', 'runtime', 'settings', 'workspaces'].map((d) => [d, path.join(OUT, 'jupyter', d)]));
  for (const d of Object.values(dirs)) fs.mkdirSync(d, { recursive: true });
  const env = {
    ...process.env,
    PATH: `${path.join(VENV, 'bin')}:${process.env.PATH}`,
    VIRTUAL_ENV: VENV,
    // Only the project's environment: the kernel spec comes from .venv/share/jupyter, never from
    // a copy in the user's Jupyter directories.
    JUPYTER_CONFIG_DIR: dirs.config,
    JUPYTER_DATA_DIR: dirs.data,
    JUPYTER_RUNTIME_DIR: dirs.runtime,
    JUPYTERLAB_SETTINGS_DIR: dirs.settings,
    JUPYTERLAB_WORKSPACES_DIR: dirs.workspaces,
  };
  for (const k of ['JUPYTER_PATH', 'JUPYTER_CONFIG_PATH', 'JUPYTER_PREFER_ENV_PATH', 'JUPYTER_TOKEN']) delete env[k];
  const logFile = LAB_LOG;
  const out = fs.openSync(logFile, 'w');
  const args = [
    'lab',
    '--no-browser',
    '--ip=127.0.0.1',
    `--port=${port}`,
    '--port-retries=0',
    `--IdentityProvider.token=${token}`,
    `--ServerApp.root_dir=${WORK}`,
    '--LabApp.news_url=None',
    '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate',
  ];
  if (process.getuid() === 0) args.push('--allow-root'); // CI runs as root
  log(`starting JupyterLab: ${jupyter} ${args.filter((a) => !a.includes('token')).join(' ')} (log: ${path.relative(ROOT, logFile)})`);
  const child = spawn(jupyter, args, { cwd: WORK, env, stdio: ['ignore', out, out], detached: true });
  fs.closeSync(out);
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  let gone = null;
  exited.then((r) => (gone = r));
  const base = `http://127.0.0.1:${port}`;
  const server = { child, exited, base, token, logFile, port, isGone: () => gone };
  const api = (p, init = {}) =>
    fetch(`${base}${p}`, { ...init, headers: { Authorization: `token ${token}`, ...(init.headers || {}) }, signal: AbortSignal.timeout(10_000) });
  server.api = api;
  await waitFor('JupyterLab to answer /api/status', SERVER_START, async () => {
    if (gone) throw new TestFailure(`JupyterLab exited (${JSON.stringify(gone)}) before it answered; see ${logFile}`);
    const r = await api('/api/status');
    return r.ok;
  });
  const specs = await (await api('/api/kernelspecs')).json();
  const ours = specs.kernelspecs[SPEC];
  check(ours, `JupyterLab does not list the kernel spec ${SPEC} (it has: ${Object.keys(specs.kernelspecs).join(', ')})`);
  log(`JupyterLab up on ${base} (pid ${child.pid}); kernel spec ${SPEC}: "${ours.spec.display_name}", argv[0] ${ours.spec.argv[0]}`);
  return server;
}

async function stopServer(server) {
  if (!server || server.isGone()) return;
  try {
    await server.api('/api/shutdown', { method: 'POST' });
  } catch {
    /* fall through to signals */
  }
  const outcome = await Promise.race([server.exited, sleep(SHUTDOWN).then(() => null)]);
  if (outcome) {
    log('JupyterLab shut down (its kernels with it)');
    return;
  }
  log('JupyterLab did not stop within the limit: SIGTERM, then SIGKILL, to its process group');
  try {
    process.kill(-server.child.pid, 'SIGTERM');
  } catch {}
  if (!(await Promise.race([server.exited, sleep(5000).then(() => null)]))) {
    try {
      process.kill(-server.child.pid, 'SIGKILL');
    } catch {}
  }
}

/** The server's view of the session of notebook `nbPath`: kernel name, id, execution state. */
async function session(server, nbPath) {
  const r = await server.api('/api/sessions');
  if (!r.ok) return null;
  const all = await r.json();
  return all.find((s) => s.path === nbPath || s.notebook?.path === nbPath) || null;
}

// ---------- page helpers ----------

/** Opens a notebook in JupyterLab and waits until its kernel (ours) is idle. */
async function openNotebook(page, server, nbPath) {
  await page.goto(`${server.base}/lab/tree/${nbPath.split('/').map(encodeURIComponent).join('/')}?reset&token=${server.token}`, {
    waitUntil: 'domcontentloaded',
    timeout: 60_000,
  });
  await page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell').first().waitFor({ timeout: 60_000 });
  const s = await waitFor(`a running kernel for ${nbPath}`, KERNEL_READY, async () => {
    await acceptKernelDialog(page);
    const s = await session(server, nbPath);
    return s && s.kernel && s.kernel.execution_state === 'idle' ? s : null;
  }, 500);
  check(s.kernel.name === SPEC, `${nbPath} runs kernel ${s.kernel.name}, not ${SPEC}`);
  log(`${nbPath}: kernel ${s.kernel.name} (${s.kernel.id}) idle`);
  return s;
}

/** If JupyterLab asks which kernel to use, answers with ours. */
async function acceptKernelDialog(page) {
  const dialog = page.locator('.jp-Dialog');
  if (!(await dialog.count())) return;
  const select = dialog.locator('select');
  if (await select.count()) {
    await select.selectOption({ label: 'Rust (multiproc)' }).catch(() => {});
  }
  await dialog.locator('button.jp-mod-accept').click({ timeout: 5000 }).catch(() => {});
}

async function menu(page, top, item) {
  await page.locator('#jp-menu-panel .lm-MenuBar-itemLabel', { hasText: new RegExp(`^${top}$`) }).click();
  await page.locator('.lm-Menu:visible .lm-Menu-itemLabel', { hasText: new RegExp(`^${item}$`) }).first().click();
}

/** Prompt and output text of every code cell of the visible notebook, in order. */
function cells(page) {
  return page.$$eval('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell.jp-CodeCell', (els) =>
    els.map((c) => ({
      prompt: (c.querySelector('.jp-InputPrompt')?.textContent || '').trim(),
      output: Array.from(c.querySelectorAll('.jp-OutputArea-output'))
        .map((o) => o.textContent)
        .join('\n'),
      errorOutput: c.querySelector('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]') !== null,
    })),
  );
}

const executed = (prompt) => /^\[\d+\]:?$/.test(prompt);
const busy = (prompt) => prompt.includes('*');

async function shot(page, locator, file) {
  await locator.scrollIntoViewIfNeeded({ timeout: 5000 }).catch(() => {});
  await sleep(300); // let the scroll settle before the picture
  await page.screenshot({ path: file, timeout: 30_000 });
  log(`screenshot ${path.relative(ROOT, file)}`);
}

// ---------- the two scenarios ----------

async function testQ3(page, server, q3) {
  const nbPath = `notebooks/${q3}`;
  const started = Date.now();
  await openNotebook(page, server, nbPath);
  await menu(page, 'Run', 'Run All Cells');
  log(`${nbPath}: Run → Run All Cells`);
  const HELLO = 'Hello, Alice!';
  const MAIN = 'Main process continues...';
  const final = await waitFor(`"${MAIN}" and every code cell executed`, RUN_ALL, async () => {
    const cs = await cells(page);
    const text = cs.map((c) => c.output).join('\n');
    if (!text.includes(MAIN)) return null;
    if (cs.some((c) => busy(c.prompt) || !executed(c.prompt))) return null;
    const s = await session(server, nbPath);
    return s?.kernel?.execution_state === 'idle' ? cs : null;
  }, 500);
  const notRun = final.filter((c) => !executed(c.prompt));
  check(notRun.length === 0, `${notRun.length} code cells did not run`);
  const text = final.map((c) => c.output).join('\n');
  const hello = text.indexOf(HELLO);
  const main = text.indexOf(MAIN);
  check(hello >= 0, `"${HELLO}" is not in any cell output. Outputs:\n${text}`);
  check(hello < main, `"${HELLO}" (at ${hello}) does not come before "${MAIN}" (at ${main}). Outputs:\n${text}`);
  // The same check on the rendered page as a user sees it (the visible text of the notebook).
  const pageText = await page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook').innerText();
  const outHello = pageText.indexOf(`\n${HELLO}`);
  check(outHello >= 0 && pageText.indexOf(`\n${MAIN}`, outHello) > outHello, 'the page text does not show the two output lines in order');
  log(`${nbPath}: all ${final.length} code cells ran; "${HELLO}" then "${MAIN}" shown (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  const out = page.locator('.jp-OutputArea-output', { hasText: MAIN }).first();
  await shot(page, out, path.join(OUT, 'q3.png'));
}

async function testInterrupt(page, server) {
  const nbPath = 'interrupt-pool.ipynb';
  const started = Date.now();
  await openNotebook(page, server, nbPath);
  await menu(page, 'Run', 'Run All Cells');
  log(`${nbPath}: Run → Run All Cells; waiting for both workers of the long cell`);

  // Both workers print their pid before sleeping; the runtime's pid is printed by the first cell.
  const seen = await waitFor('two workers of the long pool cell to print their pids', WORKERS_UP, async () => {
    const cs = await cells(page);
    if (cs.length < 3) return null;
    const rt = /runtime pid (\d+)/.exec(cs[0].output);
    const workers = [...new Set([...cs[1].output.matchAll(/worker pid (\d+) sleeping/g)].map((m) => Number(m[1])))];
    return rt && workers.length === 2 && busy(cs[1].prompt) ? { runtime: Number(rt[1]), workers, cs } : null;
  }, 500);
  const earlier = [...seen.cs[0].output.matchAll(/first workers \[([\d, ]*)\]/g), ...seen.cs[1].output.matchAll(/workers before the long map \[([\d, ]*)\]/g)]
    .flatMap((m) => m[1].split(',').map((x) => Number(x.trim())).filter(Boolean));
  const watched = new Map();
  for (const pid of new Set([seen.runtime, ...seen.workers, ...earlier])) {
    const s = procStat(pid);
    if (s) watched.set(pid, s);
  }
  for (const pid of seen.workers) {
    const s = watched.get(pid);
    check(s && s.state !== 'Z', `worker ${pid} printed its pid but is not running (${JSON.stringify(s)})`);
    check(s.ppid === seen.runtime, `worker ${pid}'s parent is ${s.ppid}, not the kernel's runtime process ${seen.runtime}`);
  }
  log(`runtime pid ${seen.runtime}; sleeping workers ${seen.workers.join(', ')} (children of the runtime); earlier workers ${[...new Set(earlier)].map((p) => `${p}${watched.has(p) ? '' : ' (already replaced and reaped)'}`).join(', ') || 'none'}`);

  // The toolbar's interrupt button (■); the menu's Kernel → Interrupt Kernel if the toolbar has none.
  const button = page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Toolbar [data-command="notebook:interrupt-kernel"]');
  const pressedAt = Date.now();
  if (await button.count()) {
    await button.first().click();
    log('pressed the toolbar interrupt button');
  } else {
    await menu(page, 'Kernel', 'Interrupt Kernel');
    log('no toolbar interrupt button found: used Kernel → Interrupt Kernel');
  }

  const after = await waitFor('the long cell to stop after the interrupt', INTERRUPTED, async () => {
    const cs = await cells(page);
    if (busy(cs[1].prompt)) return null;
    const s = await session(server, nbPath);
    return s?.kernel?.execution_state === 'idle' ? cs : null;
  }, 250);
  log(`long cell stopped ${((Date.now() - pressedAt) / 1000).toFixed(1)} s after the press (prompt ${after[1].prompt})`);
  check(!after[1].output.includes('long map finished'), 'the long cell finished instead of being interrupted');
  const why = after[1].output.split('\n').filter((l) => /signal|interrupt/i.test(l));
  if (why.length) log(`the long cell's output ends with: ${why.join(' | ')}`);

  // Every process we saw is gone: first, none is running any more (limit WORKERS_GONE); then,
  // for up to the same time again, each leaves /proc (reaped; a reused pid counts as gone). A
  // process that stays a zombie is dead: it is reported with its parent, and fails the test only
  // if that parent is the kernel or the server (they would be failing to reap it).
  const fateList = () => [...watched].map(([pid, s]) => [pid, procFate(pid, s.start)]);
  await waitFor('the workers and the old runtime to stop running', WORKERS_GONE, () => fateList().every(([, f]) => f !== 'alive'), 50).catch((e) => {
    const alive = fateList().filter(([, f]) => f === 'alive').map(([pid]) => `${pid} ${JSON.stringify(procStat(pid))}`);
    throw new TestFailure(`${e.message}; still running: ${alive.join('; ')}`);
  });
  const deadAt = Date.now();
  await waitFor('the dead processes to be reaped', WORKERS_GONE, () => fateList().every(([, f]) => f === 'gone'), 50).catch(() => {});
  const fates = fateList();
  log(`workers and old runtime dead ${((deadAt - pressedAt) / 1000).toFixed(1)} s after the press: ${fates.map(([p, f]) => `${p} ${f}`).join(', ')}`);
  const ours = new Set([server.child.pid, seen.runtime]);
  for (const [pid, fate] of fates) {
    if (fate !== 'zombie') continue;
    const parent = procStat(pid)?.ppid;
    const parentName = parent ? procStat(parent)?.comm : '?';
    log(`note: ${pid} is a zombie of pid ${parent} (${parentName}), which has not reaped it yet`);
    check(!ours.has(parent) && !/multiproc|jupyter|python/.test(parentName || ''), `zombie ${pid} is left unreaped by ${parent} (${parentName})`);
  }
  await shot(page, page.locator('.jp-Cell.jp-CodeCell').nth(1), path.join(OUT, 'interrupt.png'));

  // The kernel is usable again: run the third cell on its own. (Whether Run All Cells went on
  // to run it after the interrupt is the kernel's choice; the run counted here is the one below.)
  const before = (await cells(page))[2].prompt;
  await page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell.jp-CodeCell').nth(2).locator('.jp-InputPrompt').click();
  await menu(page, 'Run', 'Run Selected Cell and Do not Advance').catch(async () => {
    await page.keyboard.press('Escape');
    await menu(page, 'Run', 'Run Selected Cell');
  });
  log(`selected the third cell (prompt ${before || 'empty'}): Run → Run Selected Cell and Do not Advance`);
  const rec = await waitFor('the cell after the interrupt to run and print', KERNEL_READY, async () => {
    const cs = await cells(page);
    const m = /after the interrupt: runtime pid (\d+), a new pool gives \[0, 1, 4, 9, 16\]/.exec(cs[2].output);
    return m && executed(cs[2].prompt) && cs[2].prompt !== before ? { pid: Number(m[1]), cs } : null;
  }, 500);
  check(rec.pid !== seen.runtime, `the cell after the interrupt ran in the old runtime process ${rec.pid}`);
  log(`kernel recovered: the next cell ran in a new runtime (pid ${rec.pid}) and a new pool answered (${((Date.now() - started) / 1000).toFixed(1)} s for this part)`);
  await shot(page, page.locator('.jp-Cell.jp-CodeCell').nth(2), path.join(OUT, 'recovered.png'));
}

// ---------- main ----------

async function main() {
  fs.mkdirSync(OUT, { recursive: true });
  check(fs.existsSync(CHROMIUM), `${CHROMIUM} not found (tests/browser/run.sh installs Debian's chromium package)`);
  fs.rmSync(LAB_LOG, { force: true });
  const q3 = findQ3();
  prepareWork();
  let server;
  let browser;
  const watchdog = setTimeout(async () => {
    console.error(`[browser-test] FAIL: the whole test ran over ${TEST_LIMIT_S} s; stopping`);
    if (browser) await Promise.race([browser.close().catch(() => {}), sleep(5000)]);
    // Ask the server to stop its kernels first; its process group is killed after 30 s at most.
    await Promise.race([stopServer(server).catch(() => {}), sleep(30_000)]);
    try {
      if (server && !server.isGone()) process.kill(-server.child.pid, 'SIGKILL');
    } catch {}
    process.exit(1);
  }, TEST_LIMIT_S * 1000);
  const results = [];
  try {
    server = await startServer();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      timeout: 60_000,
      // Playwright gives every launch a new, empty profile directory (--user-data-dir).
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.setDefaultTimeout(30_000);
    const consoleLog = fs.createWriteStream(path.join(OUT, 'browser-console.log'));
    page.on('console', (m) => consoleLog.write(`${m.type()}: ${m.text()}\n`));
    page.on('pageerror', (e) => consoleLog.write(`pageerror: ${e.message}\n`));

    for (const [name, fn] of [
      ['Q3 notebook, Run All Cells', () => testQ3(page, server, q3)],
      ['interrupt during a pool cell', () => testInterrupt(page, server)],
    ]) {
      const start = Date.now();
      try {
        await fn();
        results.push([name, 'ok', Date.now() - start]);
      } catch (e) {
        results.push([name, 'FAIL', Date.now() - start, e]);
        await page.screenshot({ path: path.join(OUT, `failure-${results.length}.png`) }).catch(() => {});
      }
    }
  } catch (e) {
    results.push(['setup', 'FAIL', 0, e]);
  } finally {
    clearTimeout(watchdog);
    if (browser) await browser.close().catch(() => {});
    await stopServer(server);
  }
  let failed = false;
  for (const [name, status, ms, err] of results) {
    console.log(`[browser-test] ${status.padEnd(4)} ${name} (${(ms / 1000).toFixed(1)} s)${err ? `: ${err.message}` : ''}`);
    if (err && !(err instanceof TestFailure)) console.log(err.stack);
    failed ||= status !== 'ok';
  }
  if (failed && fs.existsSync(LAB_LOG)) {
    const tail = fs.readFileSync(LAB_LOG, 'utf8').split('\n').slice(-40).join('\n');
    console.log(`[browser-test] last lines of ${path.relative(ROOT, LAB_LOG)}:\n${tail}`);
  }
  console.log(`[browser-test] ${failed ? 'FAILED' : 'passed'} in ${secs()} s; screenshots in ${path.relative(ROOT, OUT)}/`);
  process.exit(failed ? 1 : 0);
}

main();
