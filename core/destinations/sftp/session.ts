/**
 * One SSH connection to the server with its SFTP channel: the login (host key pinned, password
 * or private key, keepalive) and the small file operations every other part builds on, as
 * promises, on paths relative to the destination's root folder.
 */
import { Client, type ConnectConfig, type FileEntryWithStats, type SFTPWrapper, type Stats } from 'ssh2';
import type { Readable } from 'node:stream';
import { BackupError } from '../../errors';
import { normalizeRemotePath } from '../destination';
import { loginOf, type SftpContext } from './context';
import { loginError, NO_SUCH_FILE, statusCode } from './errors';

/** What we write on the server is readable by the login user only. */
export const PRIVATE_FILE = 0o600;
export const PRIVATE_FOLDER = 0o700;

/** Single-quotes a string for a POSIX shell. */
function shellQuote(value: string): string {
	return `'${value.replace(/'/g, `'\\''`)}'`;
}

export class SftpSession {
	closed = false;

	constructor(
		readonly client: Client,
		readonly sftp: SFTPWrapper,
		/** Absolute root folder on the server. */
		readonly root: string,
		/** The host key blob the server presented (and that matched the pinned fingerprint). */
		readonly hostKey: Buffer,
	) {
		client.on('close', () => (this.closed = true));
	}

	/** The absolute path on the server of a path relative to the root. */
	abs(remotePath: string, allowRoot = false): string {
		const rel = normalizeRemotePath(remotePath, { allowRoot });
		if (!rel) return this.root;
		return this.root === '/' ? `/${rel}` : `${this.root}/${rel}`;
	}

	call<T>(fn: (cb: (error: Error | undefined | null, value?: T) => void) => void): Promise<T> {
		return new Promise((resolve, reject) => fn((error, value) => (error ? reject(error) : resolve(value as T))));
	}

	/** null when there is no such file. */
	async stat(absPath: string): Promise<Stats | null> {
		try {
			return await this.call<Stats>((cb) => this.sftp.stat(absPath, cb));
		} catch (error) {
			if (statusCode(error) === NO_SUCH_FILE) return null;
			throw error;
		}
	}

	readdir(absPath: string): Promise<FileEntryWithStats[]> {
		return this.call<FileEntryWithStats[]>((cb) => this.sftp.readdir(absPath, cb));
	}

	async mkdirs(relFolder: string): Promise<void> {
		if (!relFolder) return;
		let current = '';
		for (const part of relFolder.split('/')) {
			current = current ? `${current}/${part}` : part;
			const abs = this.abs(current);
			const st = await this.stat(abs);
			if (st?.isDirectory()) continue;
			const made = await this.call((cb) => this.sftp.mkdir(abs, { mode: PRIVATE_FOLDER }, cb)).then(
				() => true,
				async (error) => {
					// Someone else may have made it in between.
					if (!(await this.stat(abs))?.isDirectory()) throw error;
					return false;
				},
			);
			// Servers apply their umask, some ignore the mode: say it again (only for folders we made).
			if (made) await this.makePrivate(abs, PRIVATE_FOLDER);
		}
	}

	/**
	 * chmod on the server; best effort: a server that refuses SETSTAT (some appliances, Windows
	 * servers) keeps its own modes, and the upload goes on.
	 */
	async makePrivate(absPath: string, mode = PRIVATE_FILE): Promise<void> {
		await this.call((cb) => this.sftp.chmod(absPath, mode, cb)).catch(() => undefined);
	}

	/** Renames over an existing target atomically where the server can (posix-rename). */
	async renameOver(from: string, to: string): Promise<void> {
		try {
			await this.call((cb) => this.sftp.ext_openssh_rename(from, to, cb));
		} catch (error) {
			if (!/not supported/i.test((error as Error).message)) throw error;
			await this.unlink(to).catch(() => undefined);
			await this.call((cb) => this.sftp.rename(from, to, cb));
		}
	}

	/** Deletes a file; no error when it is already gone. */
	async unlink(absPath: string): Promise<void> {
		await this.call((cb) => this.sftp.unlink(absPath, cb)).catch((error) => {
			if (statusCode(error) !== NO_SUCH_FILE) throw error;
		});
	}

	async rmdir(absPath: string): Promise<void> {
		await this.call((cb) => this.sftp.rmdir(absPath, cb)).catch((error) => {
			if (statusCode(error) !== NO_SUCH_FILE) throw error;
		});
	}

	/** Writes a small file in one request ('wx': only if the name is free). */
	async writeSmall(absPath: string, data: Buffer, flags: 'wx' | 'w'): Promise<void> {
		const handle = await this.call<Buffer>((cb) => this.sftp.open(absPath, flags, { mode: PRIVATE_FILE }, cb));
		try {
			if (data.length) await this.call((cb) => this.sftp.write(handle, data, 0, data.length, 0, cb));
		} finally {
			await this.call((cb) => this.sftp.close(handle, cb));
		}
	}

	readStream(absPath: string): Readable {
		return this.sftp.createReadStream(absPath, { highWaterMark: 256 * 1024 });
	}

	/** Free bytes for this user in a folder (statvfs@openssh.com). */
	freeBytes(absFolder: string): Promise<number> {
		return new Promise((resolve, reject) =>
			this.sftp.ext_openssh_statvfs(absFolder, (error, info) =>
				error ? reject(error) : resolve(Number(info.f_bavail) * Number(info.f_frsize || info.f_bsize)),
			),
		);
	}

	/** `sha256sum` of a file on the server, or undefined when exec or the tool is not available there. */
	async sha256(context: SftpContext, absPath: string): Promise<string | undefined> {
		if (context.config.remoteHash === false || context.remoteHashWorks === false) return undefined;
		const output = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
			this.client.exec(`LC_ALL=C sha256sum -b -- ${shellQuote(absPath)}`, (error, channel) => {
				if (error) return resolve({ code: null, stdout: '' });
				let stdout = '';
				channel.on('data', (data: Buffer) => (stdout += data.toString()));
				channel.stderr.on('data', () => undefined);
				channel.on('close', (code: number | null) => resolve({ code, stdout }));
			});
		});
		const match = /^([0-9a-f]{64})\s/.exec(output.stdout);
		if (output.code === 0 && match) {
			context.remoteHashWorks = true;
			return match[1];
		}
		// Exec refused or no sha256sum: stop asking on this destination.
		if (output.code === null || output.code === 127 || !context.remoteHashWorks) context.remoteHashWorks = false;
		return undefined;
	}

	/** Stops using this session at once (a request on it stalled); the next call opens a new one. */
	abandon(): void {
		this.closed = true;
		this.client.end();
	}

	/** Ends the connection; resolves when it is closed (or after 2 s). */
	async end(): Promise<void> {
		if (this.closed) return;
		await new Promise<void>((resolve) => {
			this.client.once('close', () => resolve());
			this.client.end();
			setTimeout(resolve, 2000).unref();
		});
	}
}

/** Logs in and opens the SFTP channel; the host key must match the pinned fingerprint. */
export function openSession(context: SftpContext): Promise<SftpSession> {
	const { config } = context;
	return new Promise<SftpSession>((resolve, reject) => {
		const client = new Client();
		let seenKey: Buffer | undefined;
		let settled = false;
		const fail = (error: BackupError) => {
			if (settled) return;
			settled = true;
			client.end();
			reject(error);
		};
		const options: ConnectConfig = {
			...loginOf(config),
			readyTimeout: context.timeoutMs,
			keepaliveInterval: config.keepaliveIntervalMs ?? 10_000,
			keepaliveCountMax: 3,
			hostVerifier: (key: Buffer) => {
				seenKey = key;
				return context.pin.matches(key);
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
				if (error) return fail(loginError(context, error, seenKey));
				const folder = config.folder?.trim() || '.';
				sftp.realpath(folder, (realError, root) => {
					if (realError) {
						return fail(
							new BackupError(
								'SET_NOT_FOUND',
								`Folder "${folder}" does not exist on ${context.describe()}`,
								'Create the folder on the server, or fix the folder in the destination settings.',
								{ cause: realError },
							),
						);
					}
					settled = true;
					resolve(new SftpSession(client, sftp, root.replace(/\/+$/, '') || '/', seenKey!));
				});
			});
		});
		client.on('error', (error) => fail(loginError(context, error, seenKey)));
		client.on('close', () =>
			fail(
				new BackupError(
					'UNREACHABLE',
					`Connection to ${context.describe()} closed during login`,
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
					`Cannot use the private key for ${context.describe()}: ${(error as Error).message}`,
					'Check the private key (OpenSSH or PEM format) and its passphrase.',
					{ cause: error },
				),
			);
		}
	});
}
