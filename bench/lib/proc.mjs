// Child processes for the bench: timed runs, optional peak RSS via GNU time,
// timeouts that kill the whole process group, and a registry of everything
// started so that run.mjs can stop it all on exit or error.
import { spawn, spawnSync } from 'node:child_process';
import { openSync, closeSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const live = new Set();

/** Kill every child process group still running (bench exit, error, signal). */
export function killAll() {
  for (const child of live) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      try {
        child.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  live.clear();
}

/** Track a long-lived child (registry) so killAll() stops it. */
export function track(child) {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/**
 * Runs cmd args once. stdin from a file (or ignored), stdout to a file (or /dev/null),
 * stderr captured (bounded). With rss: wraps in /usr/bin/time -f %M -o <file> and
 * returns rssKB (peak resident set size of the child, kilobytes) and cpuMs (user + system
 * CPU time, 10 ms resolution: less sensitive than wall time to other load on the machine).
 * Returns { wallMs, code, signal, timedOut, stderr, rssKB, cpuMs }.
 */
export function run(cmd, args, { stdinFile, stdoutFile, env, cwd, timeoutMs = 600_000, rss = false, tmpDir } = {}) {
  return new Promise((resolve, reject) => {
    let argv = [cmd, ...args];
    let rssFile;
    if (rss) {
      rssFile = join(tmpDir ?? '/tmp', `rss-${process.pid}-${Math.random().toString(36).slice(2)}.txt`);
      argv = ['/usr/bin/time', '-f', '%M %U %S', '-o', rssFile, ...argv];
    }
    const inFd = stdinFile ? openSync(stdinFile, 'r') : 'ignore';
    const outFd = stdoutFile ? openSync(stdoutFile, 'w') : 'ignore';
    let stderr = '';
    let timedOut = false;
    const start = process.hrtime.bigint();
    const child = spawn(argv[0], argv.slice(1), {
      stdio: [inFd, outFd, 'pipe'],
      env: env ?? process.env,
      cwd,
      detached: true, // own process group, so a timeout kills time + its child together
    });
    live.add(child);
    child.stderr.on('data', (d) => {
      if (stderr.length < 64 * 1024) stderr += d.toString();
    });
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      live.delete(child);
      reject(err);
    });
    child.once('close', (code, signal) => {
      const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
      clearTimeout(timer);
      live.delete(child);
      if (typeof inFd === 'number') closeSync(inFd);
      if (typeof outFd === 'number') closeSync(outFd);
      let rssKB;
      let cpuMs;
      if (rssFile && existsSync(rssFile)) {
        // GNU time writes "Command exited with non-zero status N" before the values on failure.
        const lines = readFileSync(rssFile, 'utf8').trim().split('\n');
        const [m, u, sy] = lines[lines.length - 1].split(' ').map(Number);
        if (Number.isFinite(m)) rssKB = m;
        if (Number.isFinite(u) && Number.isFinite(sy)) cpuMs = (u + sy) * 1000;
        rmSync(rssFile, { force: true });
      }
      resolve({ wallMs, code, signal, timedOut, stderr, rssKB, cpuMs });
    });
  });
}

/** Fails loudly, naming the tools, when something the bench needs is missing; installs via apt when root. */
export function ensureTools(tools) {
  // tools: [{ bin, pkg }]
  const missing = tools.filter((t) => spawnSync('sh', ['-c', `command -v ${t.bin}`]).status !== 0);
  if (missing.length === 0) return;
  const pkgs = [...new Set(missing.map((t) => t.pkg))];
  if (process.getuid?.() === 0) {
    process.stderr.write(`bench: installing ${pkgs.join(' ')} with apt-get\n`);
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
    const r = spawnSync('apt-get', ['install', '-y', '-qq', '-o', 'DPkg::Lock::Timeout=300', ...pkgs], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (r.status === 0) {
      const still = missing.filter((t) => spawnSync('sh', ['-c', `command -v ${t.bin}`]).status !== 0);
      if (still.length === 0) return;
      throw new Error(`bench: still missing after apt-get install: ${still.map((t) => t.bin).join(', ')}`);
    }
  }
  throw new Error(
    `bench: missing tools: ${missing.map((t) => `${t.bin} (Debian package ${t.pkg})`).join(', ')}; ` +
      `install them: apt-get install -y ${pkgs.join(' ')}`,
  );
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
