/**
 * What the sshd and vsftpd harnesses share: a throwaway system user (both daemons log in real
 * system users; root is refused by vsftpd), a daemon process that never outlives the test
 * process (exit hook + detached watchdog, as for PostgreSQL), and waiting for its port.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fsp, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';

export { freePort } from './postgres';

export interface TestUser {
	name: string;
	password: string;
	uid: number;
	gid: number;
	home: string;
	remove(): void;
}

function run(cmd: string, args: string[], input?: string): void {
	const result = spawnSync(cmd, args, { input, encoding: 'utf8' });
	if (result.status !== 0) throw new Error(`${cmd} ${args[0] ?? ''} failed: ${result.stderr || result.error?.message}`);
}

/** Creates a system user with a random password (set through chpasswd's stdin, never argv). */
export async function createTestUser(prefix = 'tvb'): Promise<TestUser> {
	if (process.getuid?.() !== 0) throw new Error('creating a test system user needs root (CI runs as root)');
	const name = `${prefix}${randomBytes(4).toString('hex')}`;
	const password = randomBytes(12).toString('base64url');
	const home = await fsp.mkdtemp(`${os.tmpdir()}/totvs-${name}-`);
	run('useradd', ['--no-create-home', '--home-dir', home, '--shell', '/bin/sh', name]);
	run('chpasswd', [], `${name}:${password}\n`);
	const id = (flag: string) => Number(spawnSync('id', [flag, name], { encoding: 'utf8' }).stdout.trim());
	const uid = id('-u');
	const gid = id('-g');
	await fsp.chown(home, uid, gid);
	await fsp.chmod(home, 0o755);
	let removed = false;
	const remove = () => {
		if (removed) return;
		removed = true;
		spawnSync('userdel', [name], { stdio: 'ignore' });
		rmSync(home, { recursive: true, force: true });
	};
	process.once('exit', remove);
	return { name, password, uid, gid, home, remove };
}

export interface Daemon {
	process: ChildProcess;
	/** What the daemon printed (stderr + stdout), for error messages. */
	output(): string;
	stop(): Promise<void>;
}

/** Spawns a foreground daemon; it is killed when this process exits, even by SIGKILL (watchdog). */
export function spawnDaemon(cmd: string, args: string[]): Daemon {
	const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
	let output = '';
	child.stdout?.on('data', (data: Buffer) => (output = (output + data.toString()).slice(-8000)));
	child.stderr?.on('data', (data: Buffer) => (output = (output + data.toString()).slice(-8000)));
	const watchdog = spawn(
		'/bin/sh',
		[
			'-c',
			'trap "exit 0" TERM; while kill -0 "$1" 2>/dev/null; do sleep 1; done; kill "$2" 2>/dev/null',
			'daemon-watchdog',
			String(process.pid),
			String(child.pid),
		],
		{ detached: true, stdio: 'ignore' },
	);
	watchdog.unref();
	const killSync = () => {
		try {
			child.kill('SIGTERM');
		} catch {
			// gone
		}
	};
	process.once('exit', killSync);
	return {
		process: child,
		output: () => output,
		async stop() {
			process.removeListener('exit', killSync);
			try {
				if (watchdog.pid) process.kill(watchdog.pid, 'SIGTERM');
			} catch {
				// gone
			}
			if (child.exitCode !== null || child.signalCode !== null) return;
			const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
			child.kill('SIGTERM');
			await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000))]);
			if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
		},
	};
}

/** Waits until something accepts TCP connections on the port (and the daemon is still alive). */
export async function waitForPort(port: number, daemon: Daemon, what: string, timeoutMs = 15_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		if (daemon.process.exitCode !== null) throw new Error(`${what} exited: ${daemon.output()}`);
		const open = await new Promise<boolean>((resolve) => {
			const socket = net.connect(port, '127.0.0.1');
			socket.once('connect', () => {
				socket.destroy();
				resolve(true);
			});
			socket.once('error', () => resolve(false));
		});
		if (open) return;
		if (Date.now() > deadline) throw new Error(`${what} did not listen on 127.0.0.1:${port}: ${daemon.output()}`);
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
}

/** Why a daemon-based test cannot run here, or undefined when it can. */
export function daemonUnavailable(binary: string, pkg: string): string | undefined {
	if (process.getuid?.() !== 0) return `needs root to start ${pkg} with a test system user (CI runs as root)`;
	const found = spawnSync('sh', ['-c', `command -v ${binary} || test -x ${binary}`], { encoding: 'utf8' });
	if (found.status !== 0) return `${binary} not installed (apt-get install ${pkg}, or run .ci/run)`;
	return undefined;
}
