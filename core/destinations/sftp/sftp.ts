/**
 * SFTP (ssh2). Host key pinned by SHA-256 fingerprint, password or private key (+ passphrase),
 * keepalive and an idle watchdog so a dead link fails instead of hanging, pipelined writes
 * (many WRITE requests in flight, like OpenSSH's sftp) for throughput, and verification by
 * `sha256sum` over an exec channel when the server allows it. The bytes of large uploads go
 * through OpenSSH's `sftp` client when it is installed (sftp-openssh.ts: ~1.5x faster), pinned
 * to the host key ssh2 verified; everything else stays on the ssh2 session.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { Client, type ConnectConfig, type FileEntryWithStats, type SFTPWrapper, type Stats } from 'ssh2';
import { BackupError } from '../../errors';
import {
	baseName,
	normalizeRemotePath,
	parentOf,
	partialName,
	type Destination,
	type GetResult,
	type PutOptions,
	type PutResult,
	type RemoteEntry,
	type RemoteFileInfo,
	type SftpConfig,
	type StatOptions,
	type TransferOptions,
	type VerificationMethod,
} from '../destination';
import { downloadToLocal } from '../local-download';
import {
	findOpensshClient,
	opensshUpload,
	OpensshFailure,
	plainLoginValues,
	uploadCommand,
	type OpensshClient,
	type SpawnFunction,
} from './sftp-openssh';
import { abortError, checkRemoteCopy, DigestingMeter, hashFileInWorker } from '../verification';

const NO_SUCH_FILE = 2;
const PERMISSION = 3;

/**
 * In 'auto' mode, files from this size go through the OpenSSH client: below it, the client's
 * own SSH handshake costs about what its speed saves.
 */
export const OPENSSH_MIN_BYTES = 8 * 1024 * 1024;

/** For tests: how the OpenSSH client is started (records argv, stops the child…). */
export interface SftpHooks {
	spawn?: SpawnFunction;
}

/** `SHA256:<base64, no padding>` of an SSH public key blob, exactly as `ssh-keygen -lf` prints it. */
export function sshFingerprint(keyBlob: Buffer): string {
	return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

function normalizeFingerprint(value: string): string {
	const trimmed = value.trim();
	const body = trimmed.replace(/^SHA256:/i, '').replace(/=+$/, '');
	return `SHA256:${body}`;
}

/** Single-quotes a string for a POSIX shell. */
function shellQuote(value: string): string {
	return `'${value.replace(/'/g, `'\\''`)}'`;
}

interface Session {
	client: Client;
	sftp: SFTPWrapper;
	/** Absolute root folder on the server. */
	root: string;
	/** The host key blob the server presented (and that matched the pinned fingerprint). */
	hostKey: Buffer;
	closed: boolean;
}

export class SftpDestination implements Destination {
	readonly kind = 'sftp' as const;
	readonly exclusiveCreate = 'atomic' as const;
	private session?: Promise<Session>;
	/** undefined = not probed yet. */
	private remoteHashWorks?: boolean;
	private readonly pinned: string;
	private readonly timeoutMs: number;
	/** Why the OpenSSH client does not work with this server ('auto' then stays on ssh2). */
	private opensshUnusable?: string;

	constructor(
		private readonly config: SftpConfig,
		private readonly hooks: SftpHooks = {},
	) {
		if (!config.hostKeySha256?.trim()) {
			throw new BackupError(
				'INVALID_INPUT',
				`No host key fingerprint given for ${this.describe()}`,
				'Run `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on the server (or `ssh-keyscan host | ssh-keygen -lf -`) and paste the SHA256:… value.',
			);
		}
		if (!config.password && !config.privateKey) {
			throw new BackupError(
				'INVALID_INPUT',
				`No password or private key given for ${this.describe()}`,
				'Set a password or a private key in the SFTP credential.',
			);
		}
		this.pinned = normalizeFingerprint(config.hostKeySha256);
		this.timeoutMs = config.timeoutMs ?? 30_000;
	}

	describe(): string {
		const folder = this.config.folder ? `/${this.config.folder.replace(/^\/+/, '')}` : '';
		return `sftp://${this.config.username}@${this.config.host}:${this.config.port ?? 22}${folder}`;
	}

	private where(remotePath: string): string {
		return `${this.describe()}/${remotePath}`;
	}

	/* ---------------------------------------------------------------- connection */

	private connect(): Promise<Session> {
		const existing = this.session;
		if (existing) {
			return existing.then(
				(session) => (session.closed ? this.openSession() : session),
				() => this.openSession(),
			);
		}
		return this.openSession();
	}

	private openSession(): Promise<Session> {
		this.session = new Promise<Session>((resolve, reject) => {
			const client = new Client();
			let seenFingerprint: string | undefined;
			let seenKey: Buffer | undefined;
			let settled = false;
			const fail = (error: BackupError) => {
				if (settled) return;
				settled = true;
				client.end();
				reject(error);
			};
			const options: ConnectConfig = {
				host: this.config.host,
				port: this.config.port ?? 22,
				username: this.config.username,
				password: this.config.password,
				privateKey: this.config.privateKey,
				passphrase: this.config.passphrase,
				readyTimeout: this.timeoutMs,
				keepaliveInterval: this.config.keepaliveIntervalMs ?? 10_000,
				keepaliveCountMax: 3,
				hostVerifier: (key: Buffer) => {
					seenKey = key;
					seenFingerprint = sshFingerprint(key);
					return seenFingerprint === this.pinned;
				},
				// AES-GCM first: hardware-accelerated in Node's OpenSSL, the fastest for bulk data.
				algorithms: {
					cipher: [
						'aes128-gcm@openssh.com',
						'aes256-gcm@openssh.com',
						'chacha20-poly1305@openssh.com',
						'aes128-ctr',
						'aes256-ctr',
					],
				},
			};
			client.on('ready', () => {
				// SFTP is request/response: without TCP_NODELAY each small request waits for a
				// delayed ACK (~40 ms on Linux), which makes metadata calls 10x slower.
				client.setNoDelay(true);
				client.sftp((error, sftp) => {
					if (error) return fail(this.sshError(error, seenFingerprint));
					const folder = this.config.folder?.trim() || '.';
					sftp.realpath(folder, (realError, root) => {
						if (realError) {
							return fail(
								new BackupError(
									'SET_NOT_FOUND',
									`Folder "${folder}" does not exist on ${this.describe()}`,
									'Create the folder on the server, or fix the folder in the destination settings.',
									{ cause: realError },
								),
							);
						}
						settled = true;
						const session: Session = {
							client,
							sftp,
							root: root.replace(/\/+$/, '') || '/',
							hostKey: seenKey!,
							closed: false,
						};
						client.on('close', () => (session.closed = true));
						resolve(session);
					});
				});
			});
			client.on('error', (error) => fail(this.sshError(error, seenFingerprint)));
			client.on('close', () =>
				fail(
					new BackupError(
						'UNREACHABLE',
						`Connection to ${this.describe()} closed during login`,
						'Check the host, port and that the SSH server accepts connections from this machine.',
					),
				),
			);
			try {
				client.connect(options);
			} catch (error) {
				// ssh2 parses (and decrypts) the private key here: a bad key or passphrase.
				fail(
					new BackupError(
						'AUTH_FAILED',
						`Cannot use the private key for ${this.describe()}: ${(error as Error).message}`,
						'Check the private key (OpenSSH or PEM format) and its passphrase.',
						{ cause: error },
					),
				);
			}
		});
		return this.session;
	}

	private sshError(error: Error & { level?: string; code?: string }, seenFingerprint?: string): BackupError {
		if (seenFingerprint && seenFingerprint !== this.pinned) {
			return new BackupError(
				'HOST_KEY_MISMATCH',
				`Host key of ${this.config.host}:${this.config.port ?? 22} is ${seenFingerprint}, but ${this.pinned} is pinned; connection refused`,
				'If the server was reinstalled or its key rotated, check the new key with the server administrator (ssh-keygen -lf on the server) and update the pinned fingerprint. Otherwise someone may be intercepting the connection.',
				{ cause: error },
			);
		}
		if (error.level === 'client-authentication') {
			return new BackupError(
				'AUTH_FAILED',
				`Login as "${this.config.username}" refused by ${this.describe()}`,
				"Check the username and password or private key (and passphrase), and that the key is in the user's authorized_keys.",
				{ cause: error },
			);
		}
		if (/passphrase|private key|Cannot parse/i.test(error.message)) {
			return new BackupError(
				'AUTH_FAILED',
				`Cannot use the private key for ${this.describe()}: ${error.message}`,
				'Check the key text and its passphrase.',
				{ cause: error },
			);
		}
		if (error.level === 'client-timeout' || /timed out/i.test(error.message)) {
			return new BackupError(
				'TIMEOUT',
				`Timed out connecting to ${this.describe()}`,
				'Check that the host and port are right and that a firewall lets this machine through.',
				{ cause: error },
			);
		}
		return new BackupError(
			'UNREACHABLE',
			`Cannot reach ${this.describe()}: ${error.message}`,
			'Check the host, port and network path to the SSH server.',
			{ cause: error },
		);
	}

	private abs(session: Session, remotePath: string, allowRoot = false): string {
		const rel = normalizeRemotePath(remotePath, { allowRoot });
		if (!rel) return session.root;
		return session.root === '/' ? `/${rel}` : `${session.root}/${rel}`;
	}

	/** Turns an SFTP status error into a BackupError; asks statvfs whether the disk is full. */
	private async fileError(session: Session, error: unknown, action: string, remotePath: string): Promise<BackupError> {
		if (error instanceof BackupError) return error;
		const code = (error as { code?: number }).code;
		const where = this.where(remotePath);
		if (session.closed) {
			return new BackupError(
				'TRANSFER_FAILED',
				`Connection to ${this.describe()} was lost while trying to ${action} ${where}`,
				'Run again: the upload resumes or restarts, and nothing incomplete is left under the final name.',
				{ cause: error },
			);
		}
		if (code === PERMISSION) {
			return new BackupError(
				'PERMISSION_DENIED',
				`Not allowed to ${action} ${where}`,
				'Give the SFTP user write access to the destination folder.',
				{ cause: error },
			);
		}
		const free = await this.freeBytes(session, this.abs(session, parentOf(remotePath), true)).catch(() => undefined);
		if (free !== undefined && free < 1 << 20) {
			return new BackupError(
				'DISK_FULL',
				`The server's disk is full: could not ${action} ${where} (${free} bytes free)`,
				"Free space on the SFTP server (run Prune) or raise the user's quota.",
				{ cause: error },
			);
		}
		return new BackupError(
			'TRANSFER_FAILED',
			`Could not ${action} ${where}: ${(error as Error).message}`,
			'Check the path and the server, then run again.',
			{ cause: error },
		);
	}

	private freeBytes(session: Session, absFolder: string): Promise<number> {
		return new Promise((resolve, reject) =>
			session.sftp.ext_openssh_statvfs(absFolder, (error, info) =>
				error ? reject(error) : resolve(Number(info.f_bavail) * Number(info.f_frsize || info.f_bsize)),
			),
		);
	}

	/* ---------------------------------------------------------------- small promisified calls */

	private call<T>(fn: (cb: (error: Error | undefined | null, value?: T) => void) => void): Promise<T> {
		return new Promise((resolve, reject) => fn((error, value) => (error ? reject(error) : resolve(value as T))));
	}

	private async statAbs(session: Session, absPath: string): Promise<Stats | null> {
		try {
			return await this.call<Stats>((cb) => session.sftp.stat(absPath, cb));
		} catch (error) {
			if ((error as { code?: number }).code === NO_SUCH_FILE) return null;
			throw error;
		}
	}

	private async mkdirs(session: Session, relFolder: string): Promise<void> {
		if (!relFolder) return;
		let current = '';
		for (const part of relFolder.split('/')) {
			current = current ? `${current}/${part}` : part;
			const abs = this.abs(session, current);
			const st = await this.statAbs(session, abs);
			if (st?.isDirectory()) continue;
			await this.call((cb) => session.sftp.mkdir(abs, cb)).catch(async (error) => {
				// Someone else may have made it in between.
				if (!(await this.statAbs(session, abs))?.isDirectory()) throw error;
			});
		}
	}

	/** Renames over an existing target atomically where the server can (posix-rename). */
	private async renameOver(session: Session, from: string, to: string): Promise<void> {
		try {
			await this.call((cb) => session.sftp.ext_openssh_rename(from, to, cb));
		} catch (error) {
			if (!/not supported/i.test((error as Error).message)) throw error;
			await this.call((cb) => session.sftp.unlink(to, cb)).catch(() => undefined);
			await this.call((cb) => session.sftp.rename(from, to, cb));
		}
	}

	/* ---------------------------------------------------------------- remote hash */

	/** `sha256sum` of a file on the server, or undefined when exec is not allowed there. */
	private async remoteSha256(session: Session, absPath: string): Promise<string | undefined> {
		if (this.config.remoteHash === false || this.remoteHashWorks === false) return undefined;
		const output = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
			session.client.exec(`LC_ALL=C sha256sum -b -- ${shellQuote(absPath)}`, (error, channel) => {
				if (error) return resolve({ code: null, stdout: '' });
				let stdout = '';
				channel.on('data', (data: Buffer) => (stdout += data.toString()));
				channel.stderr.on('data', () => undefined);
				channel.on('close', (code: number | null) => resolve({ code, stdout }));
			});
		});
		const match = /^([0-9a-f]{64})\s/.exec(output.stdout);
		if (output.code === 0 && match) {
			this.remoteHashWorks = true;
			return match[1];
		}
		// Exec refused or no sha256sum: stop asking on this destination.
		if (output.code === null || output.code === 127 || !this.remoteHashWorks) this.remoteHashWorks = false;
		return undefined;
	}

	/* ---------------------------------------------------------------- put */

	async put(localFile: string, remotePath: string, options: PutOptions = {}): Promise<PutResult> {
		const started = Date.now();
		const rel = normalizeRemotePath(remotePath);
		const session = await this.connect();
		const target = this.abs(session, rel);
		const partial = this.abs(session, partialName(rel));
		const localSize = (await fsp.stat(localFile)).size;
		try {
			await this.mkdirs(session, parentOf(rel));
			// Resume only when the result can be proven by a hash of the whole remote file.
			const existing = await this.statAbs(session, partial);
			const canProve = this.remoteHashWorks !== false && this.config.remoteHash !== false;
			let offset = existing && existing.size <= localSize && canProve ? existing.size : 0;
			const local = await this.transfer(session, localFile, localSize, partial, offset, options);
			const remote: RemoteFileInfo = { size: (await this.statAbs(session, partial))?.size ?? -1 };
			remote.sha256 = await this.remoteSha256(session, partial);
			let verifiedBy: VerificationMethod;
			try {
				verifiedBy = checkRemoteCopy(local, remote, this.where(rel));
			} catch (error) {
				if (offset === 0) throw error;
				// The resumed prefix was not ours: start over once from byte 0.
				offset = 0;
				const fresh = await this.transfer(session, localFile, localSize, partial, 0, options);
				remote.size = (await this.statAbs(session, partial))?.size ?? -1;
				remote.sha256 = await this.remoteSha256(session, partial);
				verifiedBy = checkRemoteCopy(fresh, remote, this.where(rel));
			}
			if (verifiedBy === 'size' && options.readBack) {
				remote.sha256 = await this.readBackSha256(session, partial);
				verifiedBy = checkRemoteCopy(local, remote, this.where(rel)) === 'sha256' ? 'read-back' : 'size';
			}
			if (options.expectedSha256 && options.expectedSha256 !== local.sha256) {
				throw new BackupError(
					'VERIFY_FAILED',
					`Local file ${localFile} has SHA-256 ${local.sha256}, expected ${options.expectedSha256}`,
					'The staged file changed after it was made; run Verify on the set.',
				);
			}
			await this.renameOver(session, partial, target);
			const final = await this.statAbs(session, target);
			return {
				remotePath: rel,
				bytes: local.bytes,
				sha256: local.sha256,
				verifiedBy,
				remote: { ...remote, modifiedAt: final?.mtime ? new Date(final.mtime * 1000) : undefined },
				resumedFrom: offset,
				durationMs: Date.now() - started,
			};
		} catch (error) {
			throw await this.fileError(session, error, 'upload', rel);
		}
	}

	/** Sends the local file from `offset` into the remote partial: OpenSSH's client or ssh2. */
	private async transfer(
		session: Session,
		localFile: string,
		localSize: number,
		partial: string,
		offset: number,
		options: TransferOptions,
	): Promise<{ bytes: number; sha256: string }> {
		const client = this.opensshFor(localFile, localSize, partial, offset);
		if (!client) return this.upload(session, localFile, localSize, partial, offset, options);
		try {
			return await this.uploadWithOpenssh(client, session, localFile, localSize, partial, offset, options);
		} catch (error) {
			if (
				(this.config.transport ?? 'auto') === 'auto' &&
				error instanceof OpensshFailure &&
				(error.kind === 'auth' || error.kind === 'unreachable')
			) {
				// ssh2 logged in a moment ago with the same settings, so this client cannot (a key
				// format it does not read, a per-user connection limit): stay on ssh2 here.
				this.opensshUnusable = error.stderr;
				return this.upload(session, localFile, localSize, partial, offset, options);
			}
			throw await this.opensshError(session, error, partial);
		}
	}

	/** The OpenSSH client when this transfer should use it; throws when 'openssh' is demanded but missing. */
	private opensshFor(localFile: string, localSize: number, partial: string, offset: number): OpensshClient | undefined {
		const transport = this.config.transport ?? 'auto';
		if (transport === 'ssh2' || (offset > 0 && offset >= localSize)) return undefined;
		if (transport === 'auto' && (this.opensshUnusable !== undefined || localSize - offset < OPENSSH_MIN_BYTES))
			return undefined;
		const client = findOpensshClient();
		if (typeof client === 'string') {
			if (transport === 'auto') return undefined;
			throw new BackupError(
				'UNSUPPORTED_OPTION',
				`Cannot upload to ${this.describe()} with the OpenSSH client: ${client}`,
				'Install the OpenSSH client (openssh-client 8.4 or later), or set the SFTP transport to auto or ssh2.',
			);
		}
		// Names the batch syntax cannot carry (newlines, backslashes, very long) and unusual
		// user or host names go over ssh2, whatever the mode: same result, only slower.
		if (
			!partial.startsWith('/') ||
			!uploadCommand(localFile, partial, offset > 0) ||
			!plainLoginValues(this.config.host, this.config.username)
		)
			return undefined;
		return client;
	}

	/** The OpenSSH client uploads; the local file is hashed in a worker meanwhile. */
	private async uploadWithOpenssh(
		client: OpensshClient,
		session: Session,
		localFile: string,
		localSize: number,
		partial: string,
		offset: number,
		options: TransferOptions,
	): Promise<{ bytes: number; sha256: string }> {
		const hashing = hashFileInWorker(localFile);
		hashing.catch(() => undefined); // awaited below; avoid an unhandled rejection meanwhile
		const started = Date.now();
		const onProgress = options.onProgress;
		await opensshUpload(client, {
			host: this.config.host,
			port: this.config.port ?? 22,
			username: this.config.username,
			password: this.config.password,
			privateKey: this.config.privateKey,
			passphrase: this.config.passphrase,
			hostKey: session.hostKey,
			localFile,
			remotePath: partial,
			resume: offset > 0,
			stallTimeoutMs: this.timeoutMs,
			keepaliveIntervalMs: this.config.keepaliveIntervalMs ?? 10_000,
			remoteSize: async () => (await this.statAbs(session, partial))?.size,
			onProgress: onProgress && ((bytes) => onProgress({ bytes, elapsedMs: Date.now() - started })),
			signal: options.signal,
			spawn: this.hooks.spawn,
		});
		const digest = await hashing;
		if (digest.bytes !== localSize)
			throw new Error(
				`${localFile} changed while it was uploaded (${localSize} bytes expected, ${digest.bytes} hashed)`,
			);
		return digest;
	}

	/** The same BackupError codes as the ssh2 path, with what sftp printed (secrets scrubbed). */
	private async opensshError(session: Session, error: unknown, partial: string): Promise<BackupError> {
		if (!(error instanceof OpensshFailure))
			return error instanceof BackupError ? error : this.fileError(session, error, 'upload', partial);
		const said = error.stderr ? ` (sftp: ${error.stderr})` : '';
		const where = `sftp://${this.config.username}@${this.config.host}:${this.config.port ?? 22}${partial}`;
		switch (error.kind) {
			case 'host-key':
				return new BackupError(
					'HOST_KEY_MISMATCH',
					`The OpenSSH client was shown a host key for ${this.config.host}:${this.config.port ?? 22} other than the pinned ${this.pinned}; connection refused, nothing uploaded${said}`,
					'Someone may be intercepting the connection, or the server has several addresses with different keys. Check with the server administrator before trusting another key.',
					{ cause: error },
				);
			case 'auth':
				return new BackupError(
					'AUTH_FAILED',
					`Login as "${this.config.username}" by the OpenSSH client refused by ${this.describe()}${said}`,
					'Check the password or private key and passphrase; if only the OpenSSH client fails, set the SFTP transport to ssh2.',
					{ cause: error },
				);
			case 'unreachable':
				return new BackupError(
					'UNREACHABLE',
					`The OpenSSH client cannot reach ${this.describe()}${said}`,
					'Check the host, port and network path to the SSH server.',
					{ cause: error },
				);
			case 'timeout':
				return new BackupError(
					'TIMEOUT',
					`The OpenSSH client timed out connecting to ${this.describe()}${said}`,
					'Check that the host and port are right and that a firewall lets this machine through.',
					{ cause: error },
				);
			case 'stalled':
				return new BackupError(
					'TIMEOUT',
					`No progress for ${Math.round(this.timeoutMs / 1000)} s uploading to ${where}; the transfer was stopped${said}`,
					'The server or network stalled; run again (the upload resumes).',
					{ cause: error },
				);
			case 'cancelled':
				return abortError(partial);
			case 'permission':
				return new BackupError(
					'PERMISSION_DENIED',
					`Not allowed to write ${where}${said}`,
					'Give the SFTP user write access to the destination folder.',
					{ cause: error },
				);
			case 'disk-full':
				return new BackupError(
					'DISK_FULL',
					`The server's disk is full: could not write ${where}${said}`,
					"Free space on the SFTP server (run Prune) or raise the user's quota.",
					{ cause: error },
				);
			default: {
				// sftp reports ENOSPC as a plain "Failure": ask statvfs (over ssh2) whether the disk is full.
				const free = session.closed
					? undefined
					: await this.freeBytes(session, partial.slice(0, partial.lastIndexOf('/')) || '/').catch(() => undefined);
				if (free !== undefined && free < 1 << 20) {
					return new BackupError(
						'DISK_FULL',
						`The server's disk is full: could not write ${where} (${free} bytes free)${said}`,
						"Free space on the SFTP server (run Prune) or raise the user's quota.",
						{ cause: error },
					);
				}
				return new BackupError(
					'TRANSFER_FAILED',
					`Upload to ${where} failed${said}`,
					'Run again: the upload resumes or restarts, and nothing incomplete is left under the final name.',
					{ cause: error },
				);
			}
		}
	}

	/**
	 * Streams the local file from `offset` into the remote partial with up to `concurrency`
	 * WRITE requests in flight, while a worker thread hashes the whole local file (the resumed
	 * prefix too), so the digest covers what the remote file should be. Memory: concurrency x chunk.
	 */
	private async upload(
		session: Session,
		localFile: string,
		localSize: number,
		partial: string,
		offset: number,
		options: TransferOptions,
	): Promise<{ bytes: number; sha256: string; md5?: string }> {
		const sftp = session.sftp;
		// The whole file (the resumed prefix too) is hashed in a worker thread, beside the transfer.
		const hashing = hashFileInWorker(localFile);
		hashing.catch(() => undefined); // awaited below; avoid an unhandled rejection meanwhile
		const meter = new DigestingMeter(options.onProgress, offset, 2000, false, false);
		const chunkSize = 255 * 1024; // OpenSSH's maximum write length (limits@openssh.com)
		const concurrency = this.config.concurrency ?? 16;
		const file = await fsp.open(localFile, 'r');
		const handle = await this.call<Buffer>((cb) => sftp.open(partial, offset > 0 ? 'r+' : 'w', { mode: 0o640 }, cb));
		try {
			await new Promise<void>((resolve, reject) => {
				let readPosition = offset;
				let inFlight = 0;
				let reading = false;
				let failed = false;
				let lastProgress = Date.now();
				const watchdog = setInterval(
					() => {
						if (Date.now() - lastProgress > this.timeoutMs) {
							finish(
								new BackupError(
									'TIMEOUT',
									`No progress for ${Math.round(this.timeoutMs / 1000)} s uploading to ${this.describe()}`,
									'The server or network stalled; run again (the upload resumes).',
								),
							);
							session.client.end();
						}
					},
					Math.min(5000, this.timeoutMs),
				);
				const onAbort = () => finish(abortError(partial));
				options.signal?.addEventListener('abort', onAbort);
				const finish = (error?: Error) => {
					if (failed) return;
					if (error) failed = true;
					if (!error && (inFlight > 0 || readPosition < localSize)) return;
					clearInterval(watchdog);
					options.signal?.removeEventListener('abort', onAbort);
					if (error) reject(error);
					else resolve();
				};
				const pump = async () => {
					if (reading) return;
					reading = true;
					try {
						while (!failed && inFlight < concurrency && readPosition < localSize) {
							const length = Math.min(chunkSize, localSize - readPosition);
							const buffer = Buffer.allocUnsafe(length);
							const { bytesRead } = await file.read(buffer, 0, length, readPosition);
							if (bytesRead !== length) throw new Error(`${localFile} changed size while uploading`);
							meter.update(buffer);
							const position = readPosition;
							readPosition += length;
							inFlight++;
							sftp.write(handle, buffer, 0, length, position, (error) => {
								inFlight--;
								lastProgress = Date.now();
								if (error) return finish(error);
								if (readPosition >= localSize) finish();
								else void pump();
							});
						}
						if (readPosition >= localSize) finish();
					} catch (error) {
						finish(error as Error);
					} finally {
						reading = false;
					}
				};
				if (options.signal?.aborted) return onAbort();
				void pump();
			});
			await this.call((cb) => sftp.ext_openssh_fsync(handle, cb)).catch(() => undefined);
		} finally {
			await file.close();
			if (!session.closed) await this.call((cb) => sftp.close(handle, cb)).catch(() => undefined);
		}
		const digest = await hashing;
		if (digest.bytes !== localSize)
			throw new Error(
				`${localFile} changed while it was uploaded (${localSize} bytes expected, ${digest.bytes} hashed)`,
			);
		return digest;
	}

	private async readBackSha256(session: Session, absPath: string): Promise<string> {
		const hash = createHash('sha256');
		for await (const chunk of session.sftp.createReadStream(absPath, { highWaterMark: 256 * 1024 }))
			hash.update(chunk as Buffer);
		return hash.digest('hex');
	}

	/* ---------------------------------------------------------------- the rest */

	async get(remotePath: string, localFile: string, options: TransferOptions = {}): Promise<GetResult> {
		const rel = normalizeRemotePath(remotePath);
		const session = await this.connect();
		const abs = this.abs(session, rel);
		const st = await this.statAbs(session, abs).catch(async (error) => {
			throw await this.fileError(session, error, 'read', rel);
		});
		if (!st)
			throw new BackupError(
				'SET_NOT_FOUND',
				`No file ${this.where(rel)}`,
				'List the destination to see which sets it holds.',
			);
		try {
			return await downloadToLocal(
				() => session.sftp.createReadStream(abs, { highWaterMark: 256 * 1024 }),
				localFile,
				st.size,
				options,
			);
		} catch (error) {
			throw await this.fileError(session, error, 'download', rel);
		}
	}

	async list(folder: string): Promise<RemoteEntry[]> {
		const rel = normalizeRemotePath(folder, { allowRoot: true });
		const session = await this.connect();
		let entries: FileEntryWithStats[];
		try {
			entries = await this.call<FileEntryWithStats[]>((cb) => session.sftp.readdir(this.abs(session, rel, true), cb));
		} catch (error) {
			if ((error as { code?: number }).code === NO_SUCH_FILE) return [];
			throw await this.fileError(session, error, 'list', rel || '.');
		}
		return entries
			.filter((entry) => entry.filename !== '.' && entry.filename !== '..')
			.map((entry) => ({
				name: entry.filename,
				path: rel ? `${rel}/${entry.filename}` : entry.filename,
				isFolder: entry.attrs.isDirectory(),
				size: entry.attrs.isDirectory() ? 0 : entry.attrs.size,
				modifiedAt: new Date(entry.attrs.mtime * 1000),
			}));
	}

	async stat(remotePath: string, options: StatOptions = {}): Promise<RemoteFileInfo | null> {
		const rel = normalizeRemotePath(remotePath);
		const session = await this.connect();
		try {
			const st = await this.statAbs(session, this.abs(session, rel));
			if (!st || !st.isFile()) return null;
			const info: RemoteFileInfo = { size: st.size, modifiedAt: new Date(st.mtime * 1000) };
			if (options.withHash) info.sha256 = await this.remoteSha256(session, this.abs(session, rel));
			return info;
		} catch (error) {
			throw await this.fileError(session, error, 'read', rel);
		}
	}

	async remove(remotePath: string): Promise<void> {
		const rel = normalizeRemotePath(remotePath);
		const session = await this.connect();
		await this.call((cb) => session.sftp.unlink(this.abs(session, rel), cb)).catch(async (error) => {
			if ((error as { code?: number }).code === NO_SUCH_FILE) return;
			throw await this.fileError(session, error, 'delete', rel);
		});
	}

	async removeFolder(remotePath: string): Promise<void> {
		const rel = normalizeRemotePath(remotePath);
		const session = await this.connect();
		for (const entry of await this.list(rel)) {
			if (entry.isFolder) await this.removeFolder(entry.path);
			else await this.remove(entry.path);
		}
		await this.call((cb) => session.sftp.rmdir(this.abs(session, rel), cb)).catch(async (error) => {
			if ((error as { code?: number }).code === NO_SUCH_FILE) return;
			throw await this.fileError(session, error, 'delete', rel);
		});
	}

	async createExclusive(remotePath: string, content: string | Buffer): Promise<boolean> {
		const rel = normalizeRemotePath(remotePath);
		const session = await this.connect();
		const data = Buffer.isBuffer(content) ? content : Buffer.from(content);
		const target = this.abs(session, rel);
		const temp = `${this.abs(session, parentOf(rel), true)}/.${baseName(rel)}.${randomBytes(6).toString('hex')}.tmp`;
		try {
			await this.mkdirs(session, parentOf(rel));
			// Write the whole content under a unique name, then hardlink: atomic, fails when the
			// name exists, and a reader never sees a half-written file. Without the extension,
			// fall back to an exclusive open (CREAT|EXCL, also atomic).
			await this.writeSmall(session, temp, data, 'wx');
			try {
				await this.call((cb) => session.sftp.ext_openssh_hardlink(temp, target, cb));
				return true;
			} catch (error) {
				if (/not supported/i.test((error as Error).message)) {
					await this.writeSmall(session, target, data, 'wx');
					return true;
				}
				if (await this.statAbs(session, target)) return false;
				throw error;
			}
		} catch (error) {
			if ((await this.statAbs(session, target).catch(() => null)) && (error as { code?: number }).code === 4)
				return false;
			throw await this.fileError(session, error, 'create', rel);
		} finally {
			await this.call((cb) => session.sftp.unlink(temp, cb)).catch(() => undefined);
		}
	}

	private async writeSmall(session: Session, absPath: string, data: Buffer, flags: 'wx' | 'w'): Promise<void> {
		const handle = await this.call<Buffer>((cb) => session.sftp.open(absPath, flags, { mode: 0o640 }, cb));
		try {
			if (data.length) await this.call((cb) => session.sftp.write(handle, data, 0, data.length, 0, cb));
		} finally {
			await this.call((cb) => session.sftp.close(handle, cb));
		}
	}

	async readSmallFile(remotePath: string, maxBytes = 1 << 20): Promise<Buffer | null> {
		const rel = normalizeRemotePath(remotePath);
		const info = await this.stat(rel);
		if (!info) return null;
		if (info.size > maxBytes)
			throw new BackupError(
				'INVALID_INPUT',
				`${this.where(rel)} is ${info.size} bytes, more than the ${maxBytes} expected`,
				'This is not the small file expected here (lock or manifest); check the destination.',
			);
		const session = await this.connect();
		return this.call<Buffer>((cb) => session.sftp.readFile(this.abs(session, rel), cb));
	}

	async close(): Promise<void> {
		const pending = this.session;
		this.session = undefined;
		if (!pending) return;
		const session = await pending.catch(() => undefined);
		if (session && !session.closed) {
			await new Promise<void>((resolve) => {
				session.client.once('close', () => resolve());
				session.client.end();
				setTimeout(resolve, 2000).unref();
			});
		}
	}
}
