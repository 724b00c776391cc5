import { execFileSync, spawnSync } from 'node:child_process';

/** Debian package that provides each tool the registry tests need. */
const PACKAGES: Record<string, string> = {
  'docker-registry': 'docker-registry',
  skopeo: 'skopeo',
  umoci: 'umoci',
  htpasswd: 'apache2-utils',
  openssl: 'openssl',
};

function has(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v '${tool}'`], { stdio: 'ignore' }).status === 0;
}

function apt(args: string[]): void {
  execFileSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 900_000 });
}

/** Installs missing registry tools with apt-get when running as root; otherwise throws a clear error. Never skips. */
export function ensureRegistryTools(tools: readonly string[] = Object.keys(PACKAGES)): void {
  const missing = tools.filter((t) => !has(t));
  if (missing.length === 0) return;
  const pkgs = [...new Set(missing.map((t) => PACKAGES[t] ?? t))];
  if (process.getuid?.() !== 0) {
    throw new Error(`registry tests need ${missing.join(', ')}; install them as root: apt-get install -y ${pkgs.join(' ')}`);
  }
  const install = ['install', '-y', '-o', 'DPkg::Lock::Timeout=300', ...pkgs];
  try {
    apt(install);
  } catch {
    apt(['update']);
    apt(install);
  }
  const still = tools.filter((t) => !has(t));
  if (still.length > 0) throw new Error(`apt-get installed ${pkgs.join(' ')} but ${still.join(', ')} is still missing`);
}
