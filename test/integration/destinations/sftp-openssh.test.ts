/**
 * The OpenSSH fast path of SFTP uploads (core/destinations/sftp/sftp-openssh.ts) against a real
 * sshd: it must trust only the host key ssh2 verified, keep every secret out of every process's
 * argv, carry hostile file names intact, and stop its child on cancel and on a stall. The
 * conformance, error and fault suites run against this transport too (entries there).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
	existsSync,
	mkdtempSync,
	readdirSync,
	readFileSync,
	rmSync,
	statSync,
	utimesSync,
	writeFileSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SftpDestination, type SftpConfig } from '../../../core/destinations';
import { OPENSSH_MIN_BYTES } from '../../../core/destinations/sftp/transport';
import {
	classifyStderr,
	findOpensshClient,
	keyType,
	uploadCommand,
	type SpawnFunction,
} from '../../../core/destinations/sftp/sftp-openssh';
import { BackupError } from '../../../core/errors';
import { daemonUnavailable } from '../../../support/daemons';
import { startSshd, type SshdServer } from '../../../support/sshd';

const sshdMissing = daemonUnavailable('/usr/sbin/sshd', 'openssh-server');
const client = findOpensshClient();
const missing = sshdMissing ?? (typeof client === 'string' ? client : undefined);
const test = missing ? it.skip : it;
const title = (what: string) => (missing ? `skipped: ${missing} (${what})` : what);

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

interface Run {
	args: string[];
	env: NodeJS.ProcessEnv;
	child: ChildProcess;
	exit?: { code: number | null; signal: NodeJS.Signals | null };
}

/** A spawn that records every OpenSSH client started (argv, env, exit) and lets a test act on it. */
function recordingSpawn(onSpawn?: (run: Run) => void): { runs: Run[]; spawn: SpawnFunction } {
	const runs: Run[] = [];
	return {
		runs,
		spawn: (command, args, options) => {
			const child = spawn(command, args, options);
			const run: Run = { args: [command, ...args], env: options.env ?? {}, child };
			child.once('close', (code, signal) => (run.exit = { code, signal }));
			runs.push(run);
			onSpawn?.(run);
			return child;
		},
	};
}

/** The private temporary folder of a run (where its known_hosts, key and askpass were). */
const tempFolderOf = (run: Run) =>
	path.dirname(run.args.find((arg) => arg.startsWith('UserKnownHostsFile='))!.slice('UserKnownHostsFile='.length));

/** Every process command line on the machine, as `ps` shows them (NULs as spaces). */
function commandLines(): string[] {
	const lines: string[] = [];
	for (const entry of readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			const text = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
			if (text) lines.push(text);
		} catch {
			// exited meanwhile
		}
	}
	return lines;
}

/** Watches all command lines while `during` runs: those naming `marker`, and any holding a secret. */
async function watchArgv<T>(
	secrets: string[],
	marker: RegExp,
	during: Promise<T>,
): Promise<{ result: T; seen: string[]; leaks: string[] }> {
	const seen = new Set<string>();
	const leaks = new Set<string>();
	let running = true;
	const poller = (async () => {
		while (running) {
			for (const line of commandLines()) {
				if (marker.test(line)) seen.add(line);
				if (secrets.some((secret) => line.includes(secret))) leaks.add(line);
			}
			await new Promise((resolve) => setTimeout(resolve, 5));
		}
	})();
	try {
		return { result: await during, seen: [...seen], leaks: [...leaks] };
	} finally {
		running = false;
		await poller;
	}
}

/** No process left that belongs to this run (sftp or the ssh it started). */
function processesOf(run: Run): string[] {
	const folder = tempFolderOf(run);
	return commandLines().filter((line) => line.includes(folder));
}

describe('SFTP uploads through the OpenSSH client', () => {
	let sshd: SshdServer;
	let scratch: string;
	let bigFile: string;
	let bigData: Buffer;
	const base = (): SftpConfig => ({
		type: 'sftp',
		host: sshd.host,
		port: sshd.port,
		username: sshd.user.name,
		hostKeySha256: sshd.hostKeySha256,
		folder: sshd.user.home,
		timeoutMs: 20_000,
	});
	const onDisk = (remote: string) => path.join(sshd.user.home, remote);

	beforeAll(async () => {
		scratch = mkdtempSync(path.join(os.tmpdir(), 'totvs-sftp-openssh-'));
		// Just above the 'auto' threshold, so 'auto' picks the OpenSSH client.
		bigData = randomBytes(OPENSSH_MIN_BYTES + 4321);
		bigFile = path.join(scratch, 'big.dump');
		writeFileSync(bigFile, bigData);
		if (!missing) sshd = await startSshd();
	});
	afterAll(async () => {
		await sshd?.stop();
		rmSync(scratch, { recursive: true, force: true });
	});

	async function put(
		config: SftpConfig,
		remote: string,
		spawnFn: SpawnFunction,
		file = bigFile,
		options: Parameters<SftpDestination['put']>[2] = {},
	) {
		const destination = new SftpDestination(config, { spawn: spawnFn });
		try {
			return await destination.put(file, remote, options);
		} finally {
			await destination.close();
		}
	}

	test(
		title(
			'password login (auto, large file): sftp carries the bytes, no process ever shows the password, temp files are gone',
		),
		async () => {
			const recorder = recordingSpawn();
			const { result, seen, leaks } = await watchArgv(
				[sshd.user.password],
				/UserKnownHostsFile=/,
				put({ ...base(), password: sshd.user.password }, 'auth/password.dump', recorder.spawn),
			);
			expect(result).toMatchObject({ bytes: bigData.length, sha256: sha256(bigData), verifiedBy: 'sha256' });
			expect(readFileSync(onDisk('auth/password.dump')).equals(bigData)).toBe(true);
			expect(recorder.runs).toHaveLength(1);
			const [run] = recorder.runs;
			expect(run.exit).toEqual({ code: 0, signal: null });
			expect(run.args.join(' ')).not.toContain(sshd.user.password);
			expect(run.args).toEqual(
				expect.arrayContaining([
					'-F',
					'/dev/null',
					'StrictHostKeyChecking=yes',
					'GlobalKnownHostsFile=/dev/null',
					'PreferredAuthentications=password',
					'BatchMode=no',
				]),
			);
			// The scan really watched the client (sftp and the ssh it runs), and found no secret.
			expect(seen.some((line) => /\bsftp\b/.test(line))).toBe(true);
			expect(leaks).toEqual([]);
			expect(existsSync(tempFolderOf(run))).toBe(false);
		},
	);

	test(
		title('private key with passphrase: logs in through SSH_ASKPASS; neither key nor passphrase in any argv'),
		async () => {
			const recorder = recordingSpawn();
			const keyLines = sshd.clientKey.split('\n').filter((line) => line.length > 20 && !line.startsWith('-----'));
			const secrets = [sshd.clientKeyPassphrase, ...keyLines];
			const config = {
				...base(),
				privateKey: sshd.clientKey,
				passphrase: sshd.clientKeyPassphrase,
				transport: 'openssh' as const,
			};
			const { result, seen, leaks } = await watchArgv(
				secrets,
				/UserKnownHostsFile=/,
				put(config, 'auth/key.dump', recorder.spawn),
			);
			expect(result.sha256).toBe(sha256(bigData));
			expect(readFileSync(onDisk('auth/key.dump')).equals(bigData)).toBe(true);
			const [run] = recorder.runs;
			expect(run.exit).toEqual({ code: 0, signal: null });
			expect(run.args).toEqual(
				expect.arrayContaining(['PreferredAuthentications=publickey', 'IdentitiesOnly=yes', 'IdentityAgent=none']),
			);
			expect(run.env).toMatchObject({ SSH_ASKPASS_REQUIRE: 'force' });
			for (const secret of secrets) expect(run.args.join(' ')).not.toContain(secret);
			expect(seen.length).toBeGreaterThan(0);
			expect(leaks).toEqual([]);
			expect(existsSync(tempFolderOf(run))).toBe(false);
		},
	);

	test(title('a wrong passphrase is refused by ssh2 before the OpenSSH client ever runs'), async () => {
		const recorder = recordingSpawn();
		const config = {
			...base(),
			privateKey: sshd.clientKey,
			passphrase: 'wrong-passphrase-1',
			transport: 'openssh' as const,
		};
		await expect(put(config, 'auth/wrong.dump', recorder.spawn)).rejects.toMatchObject({ code: 'AUTH_FAILED' });
		expect(recorder.runs).toHaveLength(0);
	});

	test(title('an unencrypted key needs no askpass: BatchMode=yes and no secret in the environment'), async () => {
		const recorder = recordingSpawn();
		await put(
			{ ...base(), privateKey: readFileSync(sshd.plainClientKeyFile, 'utf8'), transport: 'openssh' },
			'auth/plain.dump',
			recorder.spawn,
		);
		const [run] = recorder.runs;
		expect(run.exit).toEqual({ code: 0, signal: null });
		expect(run.args).toContain('BatchMode=yes');
		expect(run.env.SSH_ASKPASS).toBeUndefined();
		expect(readFileSync(onDisk('auth/plain.dump')).equals(bigData)).toBe(true);
	});

	test(title("'auto' keeps small files on ssh2; 'ssh2' never starts the client"), async () => {
		const small = path.join(scratch, 'small.bin');
		writeFileSync(small, randomBytes(100_000));
		const recorder = recordingSpawn();
		await put({ ...base(), password: sshd.user.password }, 'auto/small.bin', recorder.spawn, small);
		await put({ ...base(), password: sshd.user.password, transport: 'ssh2' }, 'auto/big.bin', recorder.spawn);
		expect(recorder.runs).toHaveLength(0);
		expect(readFileSync(onDisk('auto/big.bin')).equals(bigData)).toBe(true);
	});

	test(
		title(
			"'auto': when the OpenSSH client cannot log in where ssh2 could, the upload goes over ssh2 (and the next ones too)",
		),
		async () => {
			// The wrapper hides the password from the client's askpass: its login fails, as with a key format it cannot read.
			const runs: Run[] = [];
			const withoutPassword: SpawnFunction = (command, args, options) => {
				const child = spawn(command, args, { ...options, env: { ...options.env, TOTVS_SSH_PASSWORD: 'not-it' } });
				const run: Run = { args, env: options.env ?? {}, child };
				child.once('close', (code, signal) => (run.exit = { code, signal }));
				runs.push(run);
				return child;
			};
			const destination = new SftpDestination({ ...base(), password: sshd.user.password }, { spawn: withoutPassword });
			try {
				const first = await destination.put(bigFile, 'fallback/one.dump');
				const second = await destination.put(bigFile, 'fallback/two.dump');
				expect([first.sha256, second.sha256]).toEqual([sha256(bigData), sha256(bigData)]);
				expect(readFileSync(onDisk('fallback/two.dump')).equals(bigData)).toBe(true);
				expect(runs).toHaveLength(1);
				expect(runs[0].exit?.code).not.toBe(0);
			} finally {
				await destination.close();
			}
		},
	);

	test(
		title(
			'host key pinning: a server with another key behind the same address is refused by the OpenSSH client, nothing is uploaded',
		),
		async () => {
			const impostor = await sshd.startImpostor();
			// A proxy in front of the real server; once ssh2 has verified the real key, it sends new
			// connections (the OpenSSH client's) to the impostor — a man in the middle.
			let target = sshd.port;
			const sockets = new Set<net.Socket>();
			const proxy = net.createServer((incoming) => {
				const upstream = net.connect(target, '127.0.0.1');
				for (const socket of [incoming, upstream]) {
					sockets.add(socket);
					socket.on('error', () => undefined);
					socket.on('close', () => sockets.delete(socket));
				}
				incoming.pipe(upstream);
				upstream.pipe(incoming);
			});
			await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
			const recorder = recordingSpawn();
			const destination = new SftpDestination(
				{
					...base(),
					port: (proxy.address() as net.AddressInfo).port,
					password: sshd.user.password,
					transport: 'openssh',
				},
				{ spawn: recorder.spawn },
			);
			try {
				expect(await destination.list('')).toEqual(expect.any(Array));
				target = impostor.port;
				const error = await destination.put(bigFile, 'mitm/set/database.dump').then(
					() => undefined,
					(reason: unknown) => reason,
				);
				expect(error).toBeInstanceOf(BackupError);
				expect(error).toMatchObject({ code: 'HOST_KEY_MISMATCH' });
				expect((error as BackupError).message).toContain(sshd.hostKeySha256);
				expect((error as BackupError).message).toMatch(
					/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/,
				);
				expect((error as BackupError).message).not.toContain(sshd.user.password);
				expect(recorder.runs).toHaveLength(1);
				expect(recorder.runs[0].exit?.code).not.toBe(0);
				// ssh2 made the set folder on the real server; nothing was written into it.
				expect(readdirSync(onDisk('mitm/set'))).toEqual([]);
			} finally {
				await destination.close();
				for (const socket of sockets) socket.destroy();
				await new Promise((resolve) => proxy.close(resolve));
				await impostor.stop();
			}
		},
	);

	test(
		title(
			'hostile file names reach the server intact (quotes, spaces, globs, #, $, non-ASCII, leading dash); a newline goes over ssh2',
		),
		async () => {
			const names = [
				`it's a "quoted" name.dump`,
				'spaces  and\ttab.dump',
				'glob *?[a-z]{x}.dump',
				'#not a comment.dump',
				'$(touch pwned) `id` ; rm -rf x.dump',
				'-rf',
				'ação é 日本語 ✓.dump',
				'mixed"quote\'s #1.dump',
				'!shell.dump',
			];
			const small = path.join(scratch, 'hostile.bin');
			const data = randomBytes(70_000);
			writeFileSync(small, data);
			const recorder = recordingSpawn();
			const config = { ...base(), password: sshd.user.password, transport: 'openssh' as const };
			const destination = new SftpDestination(config, { spawn: recorder.spawn });
			try {
				for (const name of names) {
					const result = await destination.put(small, `hostile/${name}`);
					expect({ name, sha256: result.sha256, verifiedBy: result.verifiedBy }).toEqual({
						name,
						sha256: sha256(data),
						verifiedBy: 'sha256',
					});
					expect(readFileSync(path.join(sshd.user.home, 'hostile', name)).equals(data)).toBe(true);
				}
				expect(recorder.runs.map((run) => run.exit?.code)).toEqual(names.map(() => 0));
				expect(readdirSync(onDisk('hostile')).sort()).toEqual([...names].sort());
				// A newline would end an sftp batch command: that file goes over ssh2, same result.
				await destination.put(small, 'hostile/line\nbreak.dump');
				expect(recorder.runs).toHaveLength(names.length);
				expect(readFileSync(onDisk('hostile/line\nbreak.dump')).equals(data)).toBe(true);
				expect(existsSync(path.join(scratch, 'pwned')) || existsSync(path.join(process.cwd(), 'pwned'))).toBe(false);
			} finally {
				await destination.close();
			}
		},
	);

	test(
		title(
			'cancel (AbortSignal) kills the client: TRANSFER_FAILED, no process left, nothing under the final name, the next put resumes',
		),
		async () => {
			const controller = new AbortController();
			// Abort once sftp has started sending (the partial has bytes), wherever the machine's load puts that.
			const recorder = recordingSpawn();
			const partial = onDisk('cancel/.database.dump.totvs-partial');
			const config = { ...base(), password: sshd.user.password, transport: 'openssh' as const };
			const watcher = setInterval(() => {
				if (recorder.runs.length && existsSync(partial)) controller.abort();
			}, 5);
			try {
				await expect(
					put(config, 'cancel/database.dump', recorder.spawn, bigFile, { signal: controller.signal }),
				).rejects.toMatchObject({ code: 'TRANSFER_FAILED', message: expect.stringMatching(/cancelled/) });
			} finally {
				clearInterval(watcher);
			}
			// Unless sftp happened to finish first, it was stopped by a signal; either way it is gone.
			const [run] = recorder.runs;
			expect(run.exit).toBeDefined();
			expect(processesOf(run)).toEqual([]);
			expect(existsSync(tempFolderOf(run))).toBe(false);
			expect(existsSync(onDisk('cancel/database.dump'))).toBe(false);
			const retry = await put(config, 'cancel/database.dump', recordingSpawn().spawn);
			expect(retry.sha256).toBe(sha256(bigData));
			expect(readFileSync(onDisk('cancel/database.dump')).equals(bigData)).toBe(true);
		},
	);

	test(title('a stalled client (stopped process) is killed after the timeout: TIMEOUT, no process left'), async () => {
		const recorder = recordingSpawn((run) => run.child.kill('SIGSTOP'));
		const config = { ...base(), password: sshd.user.password, transport: 'openssh' as const, timeoutMs: 3000 };
		const error = await put(config, 'stall/database.dump', recorder.spawn).then(
			() => undefined,
			(reason: unknown) => reason,
		);
		expect(error).toMatchObject({ code: 'TIMEOUT', message: expect.stringMatching(/No progress for 3 s/) });
		const [run] = recorder.runs;
		expect(run.exit?.code).not.toBe(0);
		expect(processesOf(run)).toEqual([]);
		expect(existsSync(onDisk('stall/database.dump'))).toBe(false);
	});

	test(
		title('the private key lives only in a 0700 folder of 0600 files while the client runs (askpass 0700, owner only)'),
		async () => {
			const modes: Record<string, number> = {};
			const recorder = recordingSpawn((run) => {
				const folder = tempFolderOf(run);
				modes.folder = statSync(folder).mode & 0o777;
				for (const name of readdirSync(folder)) modes[name] = statSync(path.join(folder, name)).mode & 0o777;
			});
			await put(
				{ ...base(), privateKey: sshd.clientKey, passphrase: sshd.clientKeyPassphrase, transport: 'openssh' },
				'perm/database.dump',
				recorder.spawn,
			);
			expect(modes).toMatchObject({ folder: 0o700, id: 0o600, known_hosts: 0o600, askpass: 0o700 });
			for (const [name, mode] of Object.entries(modes))
				if (name !== 'folder' && name !== 'askpass') expect({ name, mode }).toEqual({ name, mode: 0o600 });
		},
	);

	test(
		title(
			'folders a killed worker left behind (its private key inside) are swept at the next connection; a live one is kept',
		),
		async () => {
			// A worker killed with SIGKILL never runs its cleanup: its folder stays, key and all.
			const deadPid = await new Promise<number>((resolve) => {
				const child = spawn('true');
				child.once('exit', () => resolve(child.pid!));
			});
			const leftover = (owner?: string, ageMs = 0) => {
				const folder = mkdtempSync(path.join(os.tmpdir(), 'totvs-sftp-'));
				if (owner !== undefined) writeFileSync(path.join(folder, 'owner'), owner, { mode: 0o600 });
				writeFileSync(path.join(folder, 'id'), sshd.clientKey, { mode: 0o600 });
				writeFileSync(path.join(folder, 'known_hosts'), 'x', { mode: 0o600 });
				const then = new Date(Date.now() - ageMs);
				utimesSync(folder, then, then);
				return folder;
			};
			const hour = 60 * 60 * 1000;
			const deadOwner = leftover(`${deadPid} ${os.hostname()}\n`);
			const oldWithoutOwner = leftover(undefined, 2 * hour);
			const liveOwner = leftover(`${process.pid} ${os.hostname()}\n`, 2 * hour);
			const freshWithoutOwner = leftover(undefined);
			const destination = new SftpDestination({ ...base(), password: sshd.user.password });
			try {
				await destination.list('');
				expect({
					deadOwner: existsSync(deadOwner),
					oldWithoutOwner: existsSync(oldWithoutOwner),
					liveOwner: existsSync(liveOwner),
					freshWithoutOwner: existsSync(freshWithoutOwner),
				}).toEqual({ deadOwner: false, oldWithoutOwner: false, liveOwner: true, freshWithoutOwner: true });
			} finally {
				await destination.close();
				for (const folder of [deadOwner, oldWithoutOwner, liveOwner, freshWithoutOwner])
					rmSync(folder, { recursive: true, force: true });
			}
		},
	);
});

describe('the sftp batch line and what sftp prints (no server needed)', () => {
	it('quotes paths so sftp takes them literally, and refuses what a batch line cannot carry', () => {
		expect(uploadCommand('/tmp/a b/x.dump', '/srv/it\'s "q" #1 *.dump', false)).toBe(
			'put -f "/tmp/a b/x.dump" "/srv/it\'s \\"q\\" #1 *.dump"\n',
		);
		expect(uploadCommand('/tmp/x.dump', '/srv/x.dump', true)).toBe('reput -f "/tmp/x.dump" "/srv/x.dump"\n');
		// A relative local path is made absolute (a leading '-' would read as a put flag).
		expect(uploadCommand('-x.dump', '/srv/x.dump', false)).toBe(`put -f "${path.resolve('-x.dump')}" "/srv/x.dump"\n`);
		for (const bad of ['/srv/line\nbreak', '/srv/carriage\rreturn', '/srv/back\\slash', `/srv/${'a'.repeat(2100)}`])
			expect(uploadCommand('/tmp/x', bad, false)).toBeUndefined();
	});

	it('classifies what sftp and ssh print on failure', () => {
		expect(
			classifyStderr(
				'@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\nHost key verification failed.\nConnection closed',
			),
		).toBe('host-key');
		expect(classifyStderr('backup@10.0.0.5: Permission denied (publickey,password).\r\nConnection closed')).toBe(
			'auth',
		);
		expect(classifyStderr('ssh: connect to host 10.0.0.5 port 22: Connection refused\r\nConnection closed')).toBe(
			'unreachable',
		);
		expect(classifyStderr('ssh: connect to host 10.0.0.5 port 22: Connection timed out')).toBe('timeout');
		expect(classifyStderr('dest open "/srv/backup/.x.totvs-partial": Permission denied')).toBe('permission');
		expect(classifyStderr('write remote "/srv/backup/.x.totvs-partial": Failure')).toBe('write');
		expect(classifyStderr('Couldn\'t write to remote file "/srv/x": Failure')).toBe('write');
		expect(classifyStderr('client_loop: send disconnect: Broken pipe\r\nConnection closed')).toBe('failed');
	});

	it('reads the key type from an SSH public key blob', () => {
		const blob = Buffer.concat([
			Buffer.from([0, 0, 0, 11]),
			Buffer.from('ssh-ed25519'),
			Buffer.from([0, 0, 0, 32]),
			randomBytes(32),
		]);
		expect(keyType(blob)).toBe('ssh-ed25519');
		expect(() => keyType(Buffer.from([0, 0, 1, 0]))).toThrow(/not an SSH public key/);
	});
});
