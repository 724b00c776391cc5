// Minimal starter of real Debian `docker-registry` instances on loopback for the
// probing bench, with cheap population: one tiny image is pushed once (umoci +
// skopeo), then its repository directory is cloned on disk under many names and
// tags before each registry starts. Storage is the registry's own filesystem
// layout, so what the registry serves is exactly what a push would have left.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync, readFileSync, cpSync, renameSync, readdirSync, openSync, closeSync } from 'node:fs';
import net from 'node:net';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { track } from './proc.mjs';

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000, ...opts });
  if (r.status !== 0) {
    throw new Error(`bench: ${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr || r.error?.message}`);
  }
  return r.stdout;
}

async function waitReady(port, child, logFile, tls) {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`bench: docker-registry exited early (${child.exitCode}); see ${logFile}`);
    const ok = await new Promise((resolve) => {
      const get = tls ? https.get : http.get;
      const req = get({ host: '127.0.0.1', port, path: '/v2/', timeout: 1000, ...(tls && { ca: tls.ca }) }, (res) => {
        res.resume();
        resolve(res.statusCode === 200 || res.statusCode === 401);
      });
      req.on('error', () => resolve(false));
      req.on('timeout', () => {
        req.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`bench: docker-registry on 127.0.0.1:${port} not ready in 15 s; see ${logFile}`);
}

/**
 * Starts docker-registry on a free loopback port over `storageDir`. htpasswd: path to a bcrypt file or undefined.
 * tls: { certFile, keyFile, ca } serves https (HTTP/2 by ALPN unless http2: false); accessLog: one
 * combined-format line per request in registry.log ("HEAD /v2/... HTTP/2.0" 200 ...).
 */
export async function startRegistry({ dir, storageDir, htpasswd, tls, http2 = true, accessLog = false }) {
  const port = await freePort();
  mkdirSync(dir, { recursive: true });
  const config = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    `    disabled: ${!accessLog}`,
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${storageDir}`,
    'http:',
    `  addr: 127.0.0.1:${port}`,
    ...(tls ? ['  tls:', `    certificate: ${tls.certFile}`, `    key: ${tls.keyFile}`, '  http2:', `    disabled: ${!http2}`] : []),
    ...(htpasswd ? ['auth:', '  htpasswd:', '    realm: bench', `    path: ${htpasswd}`] : []),
    '',
  ].join('\n');
  const configFile = join(dir, 'config.yml');
  writeFileSync(configFile, config);
  const logFile = join(dir, 'registry.log');
  const logFd = openSync(logFile, 'w');
  const child = track(spawn('docker-registry', ['serve', configFile], { stdio: ['ignore', logFd, logFd], detached: true }));
  closeSync(logFd);
  try {
    await waitReady(port, child, logFile, tls);
  } catch (err) {
    stopChild(child);
    throw err;
  }
  return {
    port,
    host: `127.0.0.1:${port}`,
    logFile,
    stop: () => stopChild(child),
  };
}

/** Requests in a registry's access log (accessLog: true) from line `from` on: { count, byProtocol, lines }. */
export function accessLogRequests(logFile, from = 0) {
  const lines = readFileSync(logFile, 'utf8').split('\n');
  const byProtocol = {};
  let count = 0;
  lines.forEach((l, i) => {
    if (i < from) return;
    const m = /"(GET|HEAD) \/v2\/\S* (HTTP\/[\d.]+)"/.exec(l);
    if (!m) return;
    count++;
    byProtocol[m[2]] = (byProtocol[m[2]] ?? 0) + 1;
  });
  return { count, byProtocol, lines: lines.length };
}

/** A CA and a server certificate for 127.0.0.1 signed by it (openssl), in `dir`. */
/** A CA and a server certificate for 127.0.0.1, localhost and `ips`. */
export function makeCA(dir, ips = []) {
  mkdirSync(dir, { recursive: true });
  const f = (n) => join(dir, n);
  sh('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-subj', '/CN=ppi bench CA', '-days', '2', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  sh('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=ppi bench registry']);
  const san = ['IP:127.0.0.1', ...ips.map((ip) => `IP:${ip}`), 'DNS:localhost'].join(',');
  writeFileSync(f('ext.cnf'), `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
  sh('openssl', ['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.pem'), '-days', '2', '-extfile', f('ext.cnf')]);
  return { caFile: f('ca.pem'), certFile: f('server.pem'), keyFile: f('server.key'), ca: readFileSync(f('ca.pem'), 'utf8') };
}

function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, 3000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      clearTimeout(t);
      resolve();
    }
  });
}

/**
 * Pushes one tiny image (OCI and Docker v2s2 flavours) into a fresh storage dir with a
 * temporary registry, then returns that storage dir as the seed for cloneRepos().
 */
export async function makeSeedStorage(workDir) {
  const layout = join(workDir, 'oci');
  sh('umoci', ['init', '--layout', layout]);
  sh('umoci', ['new', '--image', `${layout}:latest`]);
  const storageDir = join(workDir, 'seed-store');
  mkdirSync(storageDir, { recursive: true });
  const reg = await startRegistry({ dir: join(workDir, 'seed-registry'), storageDir });
  try {
    sh('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:latest`, `docker://${reg.host}/seed/oci:seed`]);
    sh('skopeo', ['copy', '--quiet', '--format', 'v2s2', '--dest-tls-verify=false', `oci:${layout}:latest`, `docker://${reg.host}/seed/v2s2:seed`]);
  } finally {
    await reg.stop();
  }
  return storageDir;
}

/**
 * Makes a registry storage dir holding `images` ([{ repo, tag }]) by copying the seed's
 * blobs and cloning a seeded repository directory per image (alternating OCI and v2s2).
 */
export function cloneStorage(seedDir, targetDir, images) {
  const v2 = join('docker', 'registry', 'v2');
  cpSync(join(seedDir, v2, 'blobs'), join(targetDir, v2, 'blobs'), { recursive: true });
  images.forEach(({ repo, tag }, i) => {
    const flavour = i % 2 === 0 ? 'oci' : 'v2s2';
    const dest = join(targetDir, v2, 'repositories', repo);
    cpSync(join(seedDir, v2, 'repositories', 'seed', flavour), dest, { recursive: true });
    const tags = join(dest, '_manifests', 'tags');
    renameSync(join(tags, 'seed'), join(tags, tag));
  });
  return readdirSync(join(targetDir, v2, 'repositories')).length;
}

/** bcrypt htpasswd file with one user. */
export function makeHtpasswd(file, user, password) {
  const line = sh('htpasswd', ['-Bbn', user, password]).trim();
  writeFileSync(file, line + '\n');
  return file;
}
