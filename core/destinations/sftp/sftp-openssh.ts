/**
 * The bulk bytes of an SFTP upload through OpenSSH's own `sftp` client, which moves data at
 * about 1.5x the speed of ssh2 (ssh2 spends JS time on every 32 KiB channel packet). Only the
 * transfer runs here; login checks, folders, the remote hash and the rename stay on the ssh2
 * session (session.ts, transport.ts).
 *
 * Trust is never widened: the client may only accept the exact host key that ssh2 already
 * checked against the pinned fingerprint (a one-line known_hosts, StrictHostKeyChecking=yes).
 * Secrets never reach argv: the private key goes into a 0600 file in a private (0700) temporary
 * folder, a password or passphrase into the child's environment, read by a tiny SSH_ASKPASS
 * script. `-F /dev/null` keeps the user's ~/.ssh/config out; the agent is not used. A worker
 * killed with SIGKILL cannot remove its folder: each folder records its owner process, and the
 * next node start or SFTP connection sweeps the folders whose owner is gone (core/secret-folders.ts).
 */
import { spawn as nodeSpawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSecretFolder } from '../../secret-folders';

export type SpawnFunction = (command: string, args: string[], options: SpawnOptions) => ChildProcess;

/** The OpenSSH release that has SSH_ASKPASS_REQUIRE=force (Debian bullseye has 8.4, bookworm 9.2). */
const MIN_VERSION: [number, number] = [8, 4];

export interface OpensshClient {
	sftp: string;
	/** The ssh binary next to it, passed to sftp with -S so both are the same release. */
	ssh: string;
	version: string;
}

let found: OpensshClient | string | undefined;

/** The OpenSSH client on PATH, or why it cannot be used (missing, too old). Looked up once. */
export function findOpensshClient(): OpensshClient | string {
	if (found !== undefined) return found;
	// The askpass helper is a POSIX shell script; Windows' OpenSSH port is not used.
	if (process.platform === 'win32') return (found = 'the OpenSSH client fast path needs a POSIX system');
	// Our temporary files are named in `-o` values, which split at spaces and expand `%` tokens.
	if (!/^[A-Za-z0-9._/-]+$/.test(os.tmpdir()))
		return (found = `the temporary folder ${os.tmpdir()} has characters ssh options cannot carry`);
	const dirs = (process.env.PATH ?? '/usr/bin:/bin').split(path.delimiter).filter(Boolean);
	const executable = (file: string) => {
		try {
			accessSync(file, fsConstants.X_OK);
			return true;
		} catch {
			return false;
		}
	};
	const dir = dirs.find(
		(candidate) => executable(path.join(candidate, 'sftp')) && executable(path.join(candidate, 'ssh')),
	);
	if (!dir) return (found = 'the OpenSSH client (sftp, ssh) is not installed (Debian: apt-get install openssh-client)');
	const ssh = path.join(dir, 'ssh');
	const banner = spawnSync(ssh, ['-V'], { encoding: 'utf8', timeout: 10_000 });
	const match = /OpenSSH_(\d+)\.(\d+)\S*/.exec(`${banner.stderr ?? ''}${banner.stdout ?? ''}`);
	if (!match) return (found = `${ssh} -V did not report an OpenSSH version`);
	const [major, minor] = [Number(match[1]), Number(match[2])];
	if (major < MIN_VERSION[0] || (major === MIN_VERSION[0] && minor < MIN_VERSION[1])) {
		return (found = `${match[0]} is older than OpenSSH ${MIN_VERSION.join('.')} (needed for SSH_ASKPASS_REQUIRE)`);
	}
	return (found = { sftp: path.join(dir, 'sftp'), ssh, version: match[0] });
}

/**
 * Double-quotes a path for a line of an sftp batch, or returns undefined when the batch
 * syntax cannot carry it: a newline or CR would end the command, a backslash is ambiguous
 * (sftp keeps or drops it depending on the next character), NUL cannot be sent. Inside double
 * quotes sftp takes everything literally except `\"` (and escapes glob characters itself).
 */
export function quoteBatchPath(value: string): string | undefined {
	if (/[\n\r\\\0]/.test(value)) return undefined;
	return `"${value.replace(/"/g, '\\"')}"`;
}

/** sftp reads batch lines with fgets(2048): a longer line would be split into two commands. */
const MAX_BATCH_LINE_BYTES = 2000;

/** The one batch command of an upload, or undefined when the paths cannot be expressed. */
export function uploadCommand(localFile: string, remotePath: string, resume: boolean): string | undefined {
	const local = quoteBatchPath(path.resolve(localFile));
	const remote = quoteBatchPath(remotePath);
	if (!local || !remote) return undefined;
	// -f: fsync on the server before close, as the ssh2 path does.
	const line = `${resume ? 'reput' : 'put'} -f ${local} ${remote}\n`;
	return Buffer.byteLength(line) <= MAX_BATCH_LINE_BYTES ? line : undefined;
}

/** User and host values that go into `-o User=` and the command line without any doubt. */
export function plainLoginValues(host: string, username: string): boolean {
	return /^[A-Za-z0-9._:-]+$/.test(host) && !host.startsWith('-') && /^[A-Za-z0-9._][A-Za-z0-9._@+-]*$/.test(username);
}

/** The key type written at the start of an SSH public key blob (`ssh-ed25519`, `ssh-rsa`…). */
export function keyType(blob: Buffer): string {
	const length = blob.length >= 4 ? blob.readUInt32BE(0) : 0;
	if (length <= 0 || length > 64 || blob.length < 4 + length) throw new Error('not an SSH public key blob');
	return blob.subarray(4, 4 + length).toString('latin1');
}

/** HostKeyAlgorithms that let OpenSSH accept only a key of this type (RSA keys sign with SHA-2). */
function hostKeyAlgorithms(type: string): string {
	return type === 'ssh-rsa' ? 'rsa-sha2-512,rsa-sha2-256' : type;
}

/** known_hosts names a non-standard port `[host]:port`; IPv6 literals keep their colons inside. */
function knownHostsName(host: string, port: number): string {
	const name = host.toLowerCase();
	return port === 22 ? name : `[${name}]:${port}`;
}

export type OpensshFailureKind =
	| 'host-key'
	| 'auth'
	| 'unreachable'
	| 'timeout'
	| 'permission'
	| 'write'
	| 'disk-full'
	| 'stalled'
	| 'cancelled'
	| 'failed';

/** Why the OpenSSH client failed, with its stderr (secrets scrubbed) for the message. */
export class OpensshFailure extends Error {
	constructor(
		readonly kind: OpensshFailureKind,
		readonly stderr: string,
	) {
		super(stderr || kind);
		this.name = 'OpensshFailure';
	}
}

/** Classifies what sftp / ssh printed on a failed run. Order matters: login problems first. */
export function classifyStderr(stderr: string): OpensshFailureKind {
	if (
		/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No \S+ host key is known|no matching host key type found|host key mismatch/i.test(
			stderr,
		)
	)
		return 'host-key';
	if (
		/Permission denied \([^)]*\)|Too many authentication failures|incorrect passphrase|Load key .*: (invalid format|error in libcrypto)|No more authentication methods/i.test(
			stderr,
		)
	)
		return 'auth';
	if (
		/Connection refused|Could not resolve hostname|No route to host|Network is unreachable|Name or service not known/i.test(
			stderr,
		)
	)
		return 'unreachable';
	if (/Connection timed out|Operation timed out|Timeout, server .* not responding/i.test(stderr)) return 'timeout';
	if (/No space left on device|Disk quota exceeded/i.test(stderr)) return 'disk-full';
	if (/Permission denied/i.test(stderr)) return 'permission';
	if (/write remote|Couldn't write to remote file|dest open|remote open|close remote|remote fsync/i.test(stderr))
		return 'write';
	return 'failed';
}

export interface OpensshUpload {
	host: string;
	port: number;
	username: string;
	password?: string;
	privateKey?: string;
	passphrase?: string;
	/** The server's host key blob, exactly as ssh2 received and verified it. */
	hostKey: Buffer;
	localFile: string;
	/** Absolute path on the server (the partial name). */
	remotePath: string;
	/** Append to the existing remote file from its current size (`reput`). */
	resume: boolean;
	/** No growth of the remote file for this long: the child is killed (stall). */
	stallTimeoutMs: number;
	keepaliveIntervalMs: number;
	/** Size of the remote file now (over the ssh2 session), undefined when unknown. */
	remoteSize: () => Promise<number | undefined>;
	onProgress?: (bytes: number) => void;
	signal?: AbortSignal;
	/** For tests: records argv, stops the child… Defaults to child_process.spawn. */
	spawn?: SpawnFunction;
}

const ASKPASS = `#!/bin/sh
# Answers OpenSSH's prompts from the environment, so no secret is ever in argv.
[ -n "$SSH_ASKPASS_PROMPT" ] && exit 1
case "$1" in
"Enter passphrase for key "*) printf '%s\\n' "$TOTVS_SSH_PASSPHRASE" ;;
*) printf '%s\\n' "$TOTVS_SSH_PASSWORD" ;;
esac
`;

/** Runs one `sftp -b -` upload; resolves when sftp exits 0, else rejects with OpensshFailure. */
export async function opensshUpload(client: OpensshClient, upload: OpensshUpload): Promise<void> {
	const command = uploadCommand(upload.localFile, upload.remotePath, upload.resume);
	if (!command) throw new Error(`paths cannot be written in an sftp batch: ${upload.remotePath}`);
	if (upload.signal?.aborted) throw new OpensshFailure('cancelled', '');
	// Private (0700) folder for the known_hosts, the key and the askpass script, owner recorded.
	const dir = await createSecretFolder('totvs-sftp-');
	try {
		const knownHosts = path.join(dir, 'known_hosts');
		const type = keyType(upload.hostKey);
		await fsp.writeFile(
			knownHosts,
			`${knownHostsName(upload.host, upload.port)} ${type} ${upload.hostKey.toString('base64')}\n`,
			{ mode: 0o600 },
		);
		const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, LC_ALL: 'C' };
		const usesKey = !!upload.privateKey;
		const needsAskpass = !!upload.password || (usesKey && !!upload.passphrase);
		const options: string[] = [
			'StrictHostKeyChecking=yes',
			`UserKnownHostsFile=${knownHosts}`,
			'GlobalKnownHostsFile=/dev/null',
			`HostKeyAlgorithms=${hostKeyAlgorithms(type)}`,
			'CheckHostIP=no',
			'UpdateHostKeys=no',
			`User=${upload.username}`,
			// Before -b: ssh takes the first value, and -b adds "BatchMode yes" after it.
			`BatchMode=${needsAskpass ? 'no' : 'yes'}`,
			'NumberOfPasswordPrompts=1',
			'IdentitiesOnly=yes',
			'IdentityAgent=none',
			'KbdInteractiveAuthentication=no',
			`PreferredAuthentications=${[usesKey ? 'publickey' : '', upload.password ? 'password' : ''].filter(Boolean).join(',')}`,
			`PubkeyAuthentication=${usesKey ? 'yes' : 'no'}`,
			`PasswordAuthentication=${upload.password ? 'yes' : 'no'}`,
			`ConnectTimeout=${Math.max(1, Math.ceil(upload.stallTimeoutMs / 1000))}`,
			`ServerAliveInterval=${Math.max(1, Math.round(upload.keepaliveIntervalMs / 1000))}`,
			'ServerAliveCountMax=3',
			// AES-GCM first: hardware-accelerated, the cheapest cipher for bulk data.
			'Ciphers=^aes128-gcm@openssh.com,aes256-gcm@openssh.com',
			'LogLevel=ERROR',
		];
		if (usesKey) {
			const keyFile = path.join(dir, 'id');
			const key = upload.privateKey!.replace(/\r\n/g, '\n');
			await fsp.writeFile(keyFile, key.endsWith('\n') ? key : `${key}\n`, { mode: 0o600 });
			options.push(`IdentityFile=${keyFile}`);
		} else {
			options.push('IdentityFile=none');
		}
		if (needsAskpass) {
			const askpass = path.join(dir, 'askpass');
			await fsp.writeFile(askpass, ASKPASS, { mode: 0o700 });
			Object.assign(env, {
				SSH_ASKPASS: askpass,
				SSH_ASKPASS_REQUIRE: 'force',
				TOTVS_SSH_PASSWORD: upload.password ?? '',
				TOTVS_SSH_PASSPHRASE: upload.passphrase ?? '',
			});
		}
		const destination = upload.host.includes(':') ? `[${upload.host}]` : upload.host;
		const args = [
			'-F',
			'/dev/null',
			'-S',
			client.ssh,
			...options.flatMap((option) => ['-o', option]),
			'-P',
			String(upload.port),
			'-b',
			'-',
			destination,
		];
		await runChild(upload, client, args, env, command, [dir]);
	} finally {
		await fsp.rm(dir, { recursive: true, force: true });
	}
}

/** Spawns sftp, feeds the batch, watches growth, maps the exit. Waits for the child to be gone. */
function runChild(
	upload: OpensshUpload,
	client: OpensshClient,
	args: string[],
	env: NodeJS.ProcessEnv,
	command: string,
	scrubPaths: string[],
): Promise<void> {
	const spawn = upload.spawn ?? nodeSpawn;
	const secrets = [
		upload.password,
		upload.passphrase,
		...(upload.privateKey ?? '').split('\n').filter((line) => line.length > 20 && !line.startsWith('-----')),
	].filter((value): value is string => !!value);
	const scrub = (text: string) => {
		let out = text;
		for (const secret of secrets) out = out.split(secret).join('***');
		for (const dir of scrubPaths) out = out.split(dir).join('<temp>');
		return out.trim().slice(-2000);
	};
	return new Promise<void>((resolve, reject) => {
		const child = spawn(client.sftp, args, { env, stdio: ['pipe', 'ignore', 'pipe'] });
		let stderr = '';
		let stopReason: OpensshFailureKind | undefined;
		child.stderr?.on('data', (data: Buffer) => (stderr = (stderr + data.toString('utf8')).slice(-16_000)));
		child.stdin?.on('error', () => undefined); // sftp may exit before reading (refused login)
		child.stdin?.end(command);

		const stop = (reason: OpensshFailureKind) => {
			if (stopReason) return;
			stopReason = reason;
			// SIGTERM makes sftp kill its ssh; SIGCONT in case it was stopped; SIGKILL if it lingers.
			child.kill('SIGTERM');
			child.kill('SIGCONT');
			setTimeout(() => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'), 3000).unref();
		};
		const onAbort = () => stop('cancelled');
		upload.signal?.addEventListener('abort', onAbort);

		// Progress and stall: the remote file's size, polled over the ssh2 session.
		let lastSize = -1;
		let lastGrowth = Date.now();
		let polling = false;
		const poller = setInterval(
			async () => {
				if (polling) return;
				polling = true;
				const size = await upload.remoteSize().catch(() => undefined);
				polling = false;
				if (size !== undefined && size > lastSize) {
					lastSize = size;
					lastGrowth = Date.now();
					upload.onProgress?.(size);
				} else if (Date.now() - lastGrowth > upload.stallTimeoutMs) {
					stop('stalled');
				}
			},
			Math.min(2000, Math.max(250, Math.floor(upload.stallTimeoutMs / 4))),
		);

		let settled = false;
		const settle = (error?: OpensshFailure) => {
			if (settled) return;
			settled = true;
			clearInterval(poller);
			upload.signal?.removeEventListener('abort', onAbort);
			if (error) reject(error);
			else resolve();
		};
		child.once('error', (error) => {
			// Could not start at all (no 'close' follows then).
			if (child.pid === undefined)
				settle(new OpensshFailure('failed', scrub(`cannot run ${client.sftp}: ${error.message}`)));
			else stderr += `\n${error.message}`;
		});
		child.once('close', (code) => {
			const text = scrub(stderr);
			if (stopReason) return settle(new OpensshFailure(stopReason, text));
			if (code === 0) return settle();
			settle(new OpensshFailure(classifyStderr(text), text || `sftp exited with code ${code}`));
		});
	});
}
